#include "queue/job_message.hpp"

#include "queue/backoff.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace todo::queue {
namespace {

const std::string valid_traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

job_message sample_message() {
  return {"42", "export", 1, valid_traceparent, "req-7"};
}

TEST(JobMessage, EncodesFiveFieldsInOrder) {
  const auto fields = encode_job_message(sample_message());
  const stream_fields expected{{"job_id", "42"},
                               {"job_type", "export"},
                               {"attempt", "1"},
                               {"traceparent", valid_traceparent},
                               {"request_id", "req-7"}};
  EXPECT_EQ(fields, expected);
}

TEST(JobMessage, RoundTrips) {
  const auto message = sample_message();
  const auto decoded = decode_job_message(encode_job_message(message));
  ASSERT_TRUE(decoded.message) << decoded.problem;
  EXPECT_EQ(*decoded.message, message);
}

TEST(JobMessage, OptionalFieldsMayBeEmptyOrMissing) {
  const job_message bare{"a-1", "export", 3, "", ""};
  const auto decoded = decode_job_message(encode_job_message(bare));
  ASSERT_TRUE(decoded.message) << decoded.problem;
  EXPECT_EQ(*decoded.message, bare);

  const auto minimal = decode_job_message({{"job_id", "9"}, {"job_type", "export"}, {"attempt", "1"}});
  ASSERT_TRUE(minimal.message) << minimal.problem;
  EXPECT_EQ(minimal.message->traceparent, "");
  EXPECT_EQ(minimal.message->request_id, "");
}

TEST(JobMessage, IgnoresUnknownFields) {
  const auto decoded = decode_job_message(
      {{"job_id", "9"}, {"retry_of", "1-0"}, {"job_type", "export"}, {"attempt", "2"}, {"future", "x"}});
  ASSERT_TRUE(decoded.message) << decoded.problem;
  EXPECT_EQ(decoded.message->attempt, 2);
}

TEST(JobMessage, DropsInvalidTraceparentAndRequestId) {
  const auto decoded = decode_job_message({{"job_id", "9"},
                                           {"job_type", "export"},
                                           {"attempt", "1"},
                                           {"traceparent", "garbage"},
                                           {"request_id", "bad id\n"}});
  ASSERT_TRUE(decoded.message) << decoded.problem;
  EXPECT_EQ(decoded.message->traceparent, "");
  EXPECT_EQ(decoded.message->request_id, "");
}

TEST(JobMessage, ReportsWhatIsWrong) {
  const std::vector<std::pair<stream_fields, std::string>> cases{
      {{}, "job_id is missing"},
      {{{"job_type", "export"}, {"attempt", "1"}}, "job_id is missing"},
      {{{"job_id", ""}, {"job_type", "export"}, {"attempt", "1"}}, "job_id is invalid"},
      {{{"job_id", "a b"}, {"job_type", "export"}, {"attempt", "1"}}, "job_id is invalid"},
      {{{"job_id", std::string(129, 'a')}, {"job_type", "export"}, {"attempt", "1"}}, "job_id is invalid"},
      {{{"job_id", std::string("a\0b", 3)}, {"job_type", "export"}, {"attempt", "1"}}, "job_id is invalid"},
      {{{"job_id", "1"}, {"attempt", "1"}}, "job_type is missing"},
      {{{"job_id", "1"}, {"job_type", "ex/port"}, {"attempt", "1"}}, "job_type is invalid"},
      {{{"job_id", "1"}, {"job_type", "export"}}, "attempt is missing"},
      {{{"job_id", "1"}, {"job_type", "export"}, {"attempt", "0"}}, "attempt must be"},
      {{{"job_id", "1"}, {"job_type", "export"}, {"attempt", "-1"}}, "attempt must be"},
      {{{"job_id", "1"}, {"job_type", "export"}, {"attempt", "1001"}}, "attempt must be"},
      {{{"job_id", "1"}, {"job_type", "export"}, {"attempt", "99999999999999999999"}}, "attempt must be"},
      {{{"job_id", "1"}, {"job_type", "export"}, {"attempt", "1x"}}, "attempt must be"},
      {{{"job_id", "1"}, {"job_type", "export"}, {"attempt", " 1"}}, "attempt must be"},
      {{{"job_id", "1"}, {"job_id", "2"}, {"job_type", "export"}, {"attempt", "1"}}, "job_id appears more than once"},
  };
  for (const auto& [fields, expected] : cases) {
    const auto decoded = decode_job_message(fields);
    EXPECT_FALSE(decoded.message) << "accepted, expected: " << expected;
    EXPECT_NE(decoded.problem.find(expected), std::string::npos) << decoded.problem << " / expected " << expected;
  }
}

TEST(JobMessage, EncodeRejectsInvalidFields) {
  auto message = sample_message();
  message.job_id = "";
  EXPECT_THROW(encode_job_message(message), std::invalid_argument);

  message = sample_message();
  message.job_type = "export\r\n";
  EXPECT_THROW(encode_job_message(message), std::invalid_argument);

  message = sample_message();
  message.attempt = max_job_attempt + 1;
  EXPECT_THROW(encode_job_message(message), std::invalid_argument);

  message = sample_message();
  message.traceparent = "00-xyz";
  EXPECT_THROW(encode_job_message(message), std::invalid_argument);

  message = sample_message();
  message.request_id = "has space";
  EXPECT_THROW(encode_job_message(message), std::invalid_argument);
}

TEST(Traceparent, AcceptsValidVersions) {
  EXPECT_TRUE(is_valid_traceparent(valid_traceparent));
  EXPECT_TRUE(is_valid_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
}

TEST(Traceparent, RejectsMalformedValues) {
  EXPECT_FALSE(is_valid_traceparent(""));
  EXPECT_FALSE(is_valid_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(is_valid_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(is_valid_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(is_valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
  EXPECT_FALSE(is_valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  EXPECT_FALSE(is_valid_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"));
}

TEST(CappedBackoff, DoublesUpToMaximum) {
  using std::chrono::milliseconds;
  const milliseconds first{100};
  const milliseconds cap{5000};
  EXPECT_EQ(capped_backoff(1, first, cap), milliseconds(100));
  EXPECT_EQ(capped_backoff(2, first, cap), milliseconds(200));
  EXPECT_EQ(capped_backoff(3, first, cap), milliseconds(400));
  EXPECT_EQ(capped_backoff(6, first, cap), milliseconds(3200));
  EXPECT_EQ(capped_backoff(7, first, cap), milliseconds(5000));
  EXPECT_EQ(capped_backoff(1000000, first, cap), milliseconds(5000));
  EXPECT_EQ(capped_backoff(0, first, cap), milliseconds(100));
  EXPECT_EQ(capped_backoff(5, milliseconds(0), cap), milliseconds(0));
}

}  // namespace
}  // namespace todo::queue
