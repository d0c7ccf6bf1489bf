#include "http/request_id.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using todo::http::choose_request_id;
using todo::http::is_safe_request_id;
using todo::http::random_uuid;

const std::regex uuid_v4_pattern("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

TEST(RequestId, SafeTokensAreAccepted) {
  EXPECT_TRUE(is_safe_request_id("a"));
  EXPECT_TRUE(is_safe_request_id("abc-123"));
  EXPECT_TRUE(is_safe_request_id("Req_1.2-XYZ"));
  EXPECT_TRUE(is_safe_request_id("0123456789abcdefABCDEF._-"));
}

TEST(RequestId, LengthLimitIs64) {
  EXPECT_TRUE(is_safe_request_id(std::string(64, 'a')));
  EXPECT_FALSE(is_safe_request_id(std::string(65, 'a')));
  EXPECT_FALSE(is_safe_request_id(""));
}

TEST(RequestId, UnsafeCharactersAreRejected) {
  for (const std::string candidate :
       {"a b", "a/b", "a\nb", "a\r\nX-Evil: 1", "a\"b", "a<b>", "caf\xC3\xA9", "a;b", "a,b", "a\tb", "a%20b", "a:b"}) {
    EXPECT_FALSE(is_safe_request_id(candidate)) << candidate;
  }
  EXPECT_FALSE(is_safe_request_id(std::string("a\0b", 3)));
}

TEST(RequestId, SafeIncomingIdIsKept) {
  EXPECT_EQ(choose_request_id("abc-123"), "abc-123");
  EXPECT_EQ(choose_request_id(std::string(64, 'z')), std::string(64, 'z'));
}

TEST(RequestId, UnsafeIncomingIdIsReplaced) {
  for (const std::string& incoming : {std::string(), std::string(65, 'a'), std::string("bad id"), std::string("x\r\ny")}) {
    const auto chosen = choose_request_id(incoming);
    EXPECT_NE(chosen, incoming);
    EXPECT_TRUE(std::regex_match(chosen, uuid_v4_pattern)) << chosen;
  }
}

TEST(RequestId, UuidHasVersion4Format) {
  for (int i = 0; i < 200; ++i) {
    const auto uuid = random_uuid();
    ASSERT_EQ(uuid.size(), 36u);
    EXPECT_TRUE(std::regex_match(uuid, uuid_v4_pattern)) << uuid;
    EXPECT_TRUE(is_safe_request_id(uuid));
  }
}

TEST(RequestId, UuidsAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(random_uuid());
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(RequestId, UuidsDifferAcrossThreads) {
  // Engines seeded the same way on each thread would repeat each other.
  constexpr int thread_count = 4;
  constexpr int per_thread = 1000;
  std::vector<std::vector<std::string>> results(thread_count);
  std::vector<std::thread> threads;
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&results, t] {
      for (int i = 0; i < per_thread; ++i) results[t].push_back(random_uuid());
    });
  }
  for (auto& thread : threads) thread.join();

  std::set<std::string> seen;
  for (const auto& batch : results) seen.insert(batch.begin(), batch.end());
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(thread_count * per_thread));
}

}  // namespace
