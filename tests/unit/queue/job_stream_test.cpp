#include "queue/job_stream.hpp"

#include "queue/error.hpp"
#include "redis_test_support.hpp"
#include "reply_printer.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <set>
#include <string>

namespace todo::queue {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::io_runner;

const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

job_message make_job(const std::string& id) { return {id, "export", 1, traceparent, "req-" + id}; }

// The fields of a stream entry as a map, for checks that ignore order.
std::map<std::string, std::string> field_map(const stream_fields& fields) {
  return {fields.begin(), fields.end()};
}

class JobStream : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto url = testing::env_value("TODO_TEST_REDIS_URL");
    if (!url) GTEST_FAIL() << testing::missing_redis_message();
    client_options options;
    options.url = parse_redis_url(*url);
    options.size = 4;
    options.timeout = 5s;
    redis_ = client::create(io_.executor(), options);
    auto names = job_stream_names::from_prefix(testing::unique_prefix("jobs"));
    names.worker_prefix = names.stream + ":w*rk:";
    jobs_.emplace(redis_, names);
  }

  void TearDown() override {
    if (jobs_) {
      const auto& names = jobs_->names();
      run_command({"DEL", names.stream, names.dead, names.delayed});
    }
    if (redis_) redis_->close();
    io_.stop();
  }

  reply run_command(command_args args) {
    return io_.run([&]() -> asio::awaitable<reply> { co_return co_await redis_->command(args); }());
  }

  template <typename T>
  T run(asio::awaitable<T> operation) {
    return io_.run(std::move(operation));
  }

  std::vector<stream_entry> dead_entries() {
    return parse_stream_entries(run_command({"XRANGE", jobs_->names().dead, "-", "+"}), "XRANGE");
  }

  // Makes the entry look idle for `idle` without waiting, with XCLAIM's IDLE option.
  void age_entry(const std::string& entry_id, const std::string& owner, std::chrono::milliseconds idle) {
    const auto& names = jobs_->names();
    const reply claimed = run_command({"XCLAIM", names.stream, names.group, owner, "0", entry_id, "IDLE",
                                       std::to_string(idle.count()), "JUSTID"});
    ASSERT_EQ(claimed, reply::make_array({reply::make_bulk(entry_id)}));
  }

  io_runner io_{2};
  std::shared_ptr<client> redis_;
  std::optional<job_stream> jobs_;
};

TEST_F(JobStream, PublishReadAck) {
  run(jobs_->ensure_group());
  const auto first_id = run(jobs_->publish(make_job("1")));
  const auto second_id = run(jobs_->publish(make_job("2")));
  EXPECT_NE(first_id, second_id);

  const auto received = run(jobs_->read("worker-a", 10, 0ms));
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].entry_id, first_id);
  EXPECT_EQ(received[0].message, make_job("1"));
  EXPECT_EQ(received[0].delivery_count, 1);
  EXPECT_EQ(received[1].entry_id, second_id);
  EXPECT_EQ(received[1].message, make_job("2"));

  EXPECT_TRUE(run(jobs_->ack(first_id)));
  EXPECT_FALSE(run(jobs_->ack(first_id))) << "a second ack finds nothing pending";
  const auto depth = run(jobs_->depth());
  EXPECT_EQ(depth.waiting, 0);
  EXPECT_EQ(depth.pending, 1);
  EXPECT_EQ(run_command({"XLEN", jobs_->names().stream}), reply::make_integer(1)) << "acked entries are deleted";
  EXPECT_TRUE(run(jobs_->read("worker-a", 10, 0ms)).empty()) << "nothing new to read";
}

TEST_F(JobStream, EnsureGroupTwiceIsHarmless) {
  run(jobs_->ensure_group());
  run(jobs_->publish(make_job("1")));
  run(jobs_->ensure_group());
  EXPECT_EQ(run(jobs_->read("w", 10, 0ms)).size(), 1u) << "the second call must not reset the group";
}

TEST_F(JobStream, GroupDeliversEarlierEntries) {
  run_command({"XADD", jobs_->names().stream, "*", "job_id", "old", "job_type", "export", "attempt", "1"});
  run(jobs_->ensure_group());
  const auto received = run(jobs_->read("w", 10, 0ms));
  ASSERT_EQ(received.size(), 1u) << "a job published before the group existed must still be delivered";
  EXPECT_EQ(received[0].message.job_id, "old");
}

TEST_F(JobStream, ReadRecreatesMissingGroup) {
  const auto received = run(jobs_->read("w", 10, 0ms));
  EXPECT_TRUE(received.empty());
  const reply groups = run_command({"XINFO", "GROUPS", jobs_->names().stream});
  ASSERT_EQ(groups.type, reply_type::array);
  EXPECT_EQ(groups.elements.size(), 1u);
}

TEST_F(JobStream, BlockingReadWakesOnPublish) {
  run(jobs_->ensure_group());
  const auto [received, published_id] =
      run([&]() -> asio::awaitable<std::pair<std::vector<delivery>, std::string>> {
        std::vector<delivery> got;
        std::string id;
        auto reader = [&]() -> asio::awaitable<void> { got = co_await jobs_->read("blocked", 1, 20000ms); };
        auto publisher = [&]() -> asio::awaitable<void> {
          // Publish only once the reader is blocked in Redis, seen by CLIENT LIST.
          for (int round = 0; round < 1000; ++round) {
            command_args list{"CLIENT", "LIST"};
            const reply clients = co_await redis_->command(std::move(list));
            if (clients.as_string("CLIENT LIST").find("cmd=xreadgroup") != std::string::npos) break;
          }
          id = co_await jobs_->publish(make_job("late"));
        };
        const auto executor = co_await asio::this_coro::executor;
        co_await asio::experimental::make_parallel_group(asio::co_spawn(executor, reader(), asio::deferred),
                                                         asio::co_spawn(executor, publisher(), asio::deferred))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
        co_return std::pair{got, id};
      }());
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].entry_id, published_id);
  EXPECT_EQ(received[0].message.job_id, "late");
}

TEST_F(JobStream, BlockingReadReturnsEmptyAfterBlockTime) {
  run(jobs_->ensure_group());
  EXPECT_TRUE(run(jobs_->read("idle-worker", 5, 100ms)).empty());
}

TEST_F(JobStream, ConsumersGetDistinctJobs) {
  run(jobs_->ensure_group());
  for (int i = 0; i < 4; ++i) run(jobs_->publish(make_job(std::to_string(i))));
  const auto first = run(jobs_->read("a", 2, 0ms));
  const auto second = run(jobs_->read("b", 10, 0ms));
  ASSERT_EQ(first.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  std::set<std::string> ids;
  for (const auto& job : first) ids.insert(job.message.job_id);
  for (const auto& job : second) ids.insert(job.message.job_id);
  EXPECT_EQ(ids, (std::set<std::string>{"0", "1", "2", "3"}));
}

TEST_F(JobStream, UnackedJobIsReclaimedAfterMinIdle) {
  run(jobs_->ensure_group());
  const auto stale_id = run(jobs_->publish(make_job("stale")));
  const auto fresh_id = run(jobs_->publish(make_job("fresh")));
  ASSERT_EQ(run(jobs_->read("dead-worker", 10, 0ms)).size(), 2u);

  EXPECT_TRUE(run(jobs_->reclaim("rescuer", 60s, 10)).empty()) << "nothing has been idle for a minute yet";

  age_entry(stale_id, "dead-worker", 120s);
  const auto reclaimed = run(jobs_->reclaim("rescuer", 60s, 10));
  ASSERT_EQ(reclaimed.size(), 1u);
  EXPECT_EQ(reclaimed[0].entry_id, stale_id);
  EXPECT_EQ(reclaimed[0].message, make_job("stale"));
  EXPECT_EQ(reclaimed[0].delivery_count, 2) << "read once, reclaimed once";

  const reply owner = run_command({"XPENDING", jobs_->names().stream, jobs_->names().group, stale_id, stale_id, "1"});
  ASSERT_EQ(owner.elements.size(), 1u);
  EXPECT_EQ(owner.elements[0].elements[1], reply::make_bulk("rescuer"));

  age_entry(stale_id, "rescuer", 120s);
  const auto again = run(jobs_->reclaim("third", 60s, 10));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].delivery_count, 3);

  EXPECT_TRUE(run(jobs_->ack(stale_id)));
  EXPECT_EQ(run(jobs_->depth()).pending, 1) << "only " << fresh_id << " is still pending";
}

TEST_F(JobStream, ReclaimHonoursCount) {
  run(jobs_->ensure_group());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(run(jobs_->publish(make_job(std::to_string(i)))));
  ASSERT_EQ(run(jobs_->read("gone", 10, 0ms)).size(), 5u);
  for (const auto& id : ids) age_entry(id, "gone", 120s);

  EXPECT_EQ(run(jobs_->reclaim("r", 60s, 2)).size(), 2u);
  EXPECT_EQ(run(jobs_->reclaim("r", 60s, 10)).size(), 3u) << "the first three were claimed and are no longer idle";
}

TEST_F(JobStream, InvalidMessagesGoToDeadLetterStream) {
  run(jobs_->ensure_group());
  const auto& names = jobs_->names();
  const reply missing_type = run_command({"XADD", names.stream, "*", "job_id", "7", "attempt", "1"});
  const reply forged = run_command({"XADD", names.stream, "*", "job_id", "8", "job_type", "export", "attempt",
                                    "zero", "dead_reason", "forged"});
  const auto good_id = run(jobs_->publish(make_job("9")));

  const auto received = run(jobs_->read("w", 10, 0ms));
  ASSERT_EQ(received.size(), 1u) << "only the valid message is handed out";
  EXPECT_EQ(received[0].entry_id, good_id);

  const auto dead = dead_entries();
  ASSERT_EQ(dead.size(), 2u);
  auto first = field_map(dead[0].fields);
  EXPECT_EQ(first["dead_original_id"], missing_type.text);
  EXPECT_EQ(first["dead_reason"], "invalid job message: field job_type is missing");
  EXPECT_EQ(first["job_id"], "7");
  auto second = field_map(dead[1].fields);
  EXPECT_EQ(second["dead_original_id"], forged.text);
  EXPECT_EQ(second["dead_reason"], "invalid job message: field attempt must be a number from 1 to 1000");
  EXPECT_EQ(second["attempt"], "zero") << "the original fields are kept for inspection";
  std::size_t reasons = 0;
  for (const auto& [name, value] : dead[1].fields) reasons += name == "dead_reason" ? 1 : 0;
  EXPECT_EQ(reasons, 1u) << "a forged dead_reason is dropped";

  const auto depth = run(jobs_->depth());
  EXPECT_EQ(depth.pending, 1) << "bad entries are acknowledged";
  EXPECT_EQ(depth.dead, 2);
}

TEST_F(JobStream, DeadLetterMovesAndAcknowledges) {
  run(jobs_->ensure_group());
  const auto entry_id = run(jobs_->publish(make_job("42")));
  const auto received = run(jobs_->read("w", 1, 0ms));
  ASSERT_EQ(received.size(), 1u);

  const std::string long_reason(5000, 'r');
  const auto dead_id = run(jobs_->dead_letter(entry_id, received[0].message, long_reason));

  const auto dead = dead_entries();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, dead_id);
  stream_fields expected = encode_job_message(make_job("42"));
  expected.emplace_back("dead_reason", std::string(1000, 'r'));
  expected.emplace_back("dead_original_id", entry_id);
  EXPECT_EQ(dead[0].fields, expected);

  const auto depth = run(jobs_->depth());
  EXPECT_EQ(depth.pending, 0);
  EXPECT_EQ(depth.waiting, 0);
  EXPECT_EQ(depth.dead, 1);
  EXPECT_EQ(run_command({"XLEN", jobs_->names().stream}), reply::make_integer(0));
}

TEST_F(JobStream, DepthCountsEachState) {
  EXPECT_EQ(run(jobs_->depth()).waiting, 0) << "no stream yet";
  run(jobs_->ensure_group());
  for (int i = 0; i < 5; ++i) run(jobs_->publish(make_job(std::to_string(i))));
  const auto received = run(jobs_->read("w", 2, 0ms));
  ASSERT_EQ(received.size(), 2u);
  ASSERT_TRUE(run(jobs_->retry_later(received[0], 1h)));

  const auto depth = run(jobs_->depth());
  EXPECT_EQ(depth.waiting, 3);
  EXPECT_EQ(depth.pending, 1);
  EXPECT_EQ(depth.delayed, 1);
  EXPECT_EQ(depth.dead, 0);
}

TEST_F(JobStream, DepthWithoutGroupCountsAllAsWaiting) {
  run_command({"XADD", jobs_->names().stream, "*", "job_id", "1", "job_type", "export", "attempt", "1"});
  const auto depth = run(jobs_->depth());
  EXPECT_EQ(depth.waiting, 1);
  EXPECT_EQ(depth.pending, 0);
}

TEST_F(JobStream, RetryLaterWaitsInDelayedSet) {
  run(jobs_->ensure_group());
  const auto entry_id = run(jobs_->publish(make_job("slow")));
  const auto received = run(jobs_->read("w", 1, 0ms));
  ASSERT_EQ(received.size(), 1u);

  EXPECT_TRUE(run(jobs_->retry_later(received[0], 1h)));
  EXPECT_FALSE(run(jobs_->retry_later(received[0], 1h))) << "the entry is no longer pending";
  EXPECT_EQ(run(jobs_->promote_due(10)), 0u) << "not due for an hour";

  const auto depth = run(jobs_->depth());
  EXPECT_EQ(depth.pending, 0);
  EXPECT_EQ(depth.waiting, 0);
  EXPECT_EQ(depth.delayed, 1) << "the second retry_later must not add a duplicate";
  EXPECT_EQ(run_command({"XLEN", jobs_->names().stream}), reply::make_integer(0)) << entry_id << " was deleted";
}

TEST_F(JobStream, DueRetryIsPromotedWithNextAttempt) {
  run(jobs_->ensure_group());
  const auto entry_id = run(jobs_->publish(make_job("flaky")));
  const auto received = run(jobs_->read("w", 1, 0ms));
  ASSERT_EQ(received.size(), 1u);
  ASSERT_TRUE(run(jobs_->retry_later(received[0], 0ms)));

  EXPECT_EQ(run(jobs_->promote_due(10)), 1u);
  EXPECT_EQ(run(jobs_->promote_due(10)), 0u) << "a job is promoted once";
  const auto retried = run(jobs_->read("w", 1, 0ms));
  ASSERT_EQ(retried.size(), 1u);
  auto expected = make_job("flaky");
  expected.attempt = 2;
  EXPECT_EQ(retried[0].message, expected);
  EXPECT_NE(retried[0].entry_id, entry_id);
  EXPECT_EQ(run(jobs_->depth()).delayed, 0);
}

TEST_F(JobStream, PromoteDueHonoursLimit) {
  run(jobs_->ensure_group());
  for (int i = 0; i < 3; ++i) run(jobs_->publish(make_job(std::to_string(i))));
  for (const auto& job : run(jobs_->read("w", 10, 0ms))) ASSERT_TRUE(run(jobs_->retry_later(job, 0ms)));
  EXPECT_EQ(run(jobs_->promote_due(2)), 2u);
  EXPECT_EQ(run(jobs_->promote_due(2)), 1u);
  EXPECT_EQ(run(jobs_->promote_due(0)), 0u);
}

TEST_F(JobStream, InvalidDelayedMemberIsDeadLettered) {
  run(jobs_->ensure_group());
  const auto& names = jobs_->names();
  run_command({"ZADD", names.delayed, "0", "not json"});
  run_command({"ZADD", names.delayed, "0", "[\"odd\"]"});
  run_command({"ZADD", names.delayed, "0", "[\"job_id\",\"5\",\"job_type\",\"export\",\"attempt\",\"2\"]"});

  EXPECT_EQ(run(jobs_->promote_due(10)), 1u);
  const auto dead = dead_entries();
  ASSERT_EQ(dead.size(), 2u);
  std::set<std::string> raw;
  for (const auto& entry : dead) {
    auto fields = field_map(entry.fields);
    EXPECT_EQ(fields["dead_reason"], "invalid delayed job");
    raw.insert(fields["dead_raw"]);
  }
  EXPECT_EQ(raw, (std::set<std::string>{"not json", "[\"odd\"]"}));
  EXPECT_EQ(run(jobs_->depth()).delayed, 0);
  const auto received = run(jobs_->read("w", 10, 0ms));
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].message.attempt, 2);
}

TEST_F(JobStream, RetryBeyondMaximumAttemptIsRejected) {
  run(jobs_->ensure_group());
  auto message = make_job("x");
  message.attempt = max_job_attempt;
  run(jobs_->publish(message));
  const auto received = run(jobs_->read("w", 1, 0ms));
  ASSERT_EQ(received.size(), 1u);
  EXPECT_THROW(run(jobs_->retry_later(received[0], 0ms)), std::invalid_argument);
  EXPECT_EQ(run(jobs_->depth()).pending, 1) << "the job stays pending for dead-lettering";
}

TEST_F(JobStream, PublishRejectsInvalidMessage) {
  auto message = make_job("bad id");
  EXPECT_THROW(run(jobs_->publish(message)), std::invalid_argument);
  EXPECT_EQ(run_command({"EXISTS", jobs_->names().stream}), reply::make_integer(0));
}

TEST_F(JobStream, ReadRejectsInvalidArguments) {
  EXPECT_THROW(run(jobs_->read("", 1, 0ms)), std::invalid_argument);
  EXPECT_THROW(run(jobs_->read("has space", 1, 0ms)), std::invalid_argument);
  EXPECT_THROW(run(jobs_->read("w", 0, 0ms)), std::invalid_argument);
  EXPECT_THROW(run(jobs_->read("w", 1, -1ms)), std::invalid_argument);
}

TEST_F(JobStream, HeartbeatsListLiveWorkers) {
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  run(jobs_->heartbeat("host-b:12", 30s));
  run(jobs_->heartbeat("host-a:7", 30s));
  run(jobs_->heartbeat("host-a:7", 30s));
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();

  // The worker prefix contains '*'; a key that an unescaped pattern would match must not be listed.
  const auto& names = jobs_->names();
  std::string decoy_prefix = names.worker_prefix;
  decoy_prefix[decoy_prefix.find('*')] = 'X';
  run_command({"SET", decoy_prefix + "decoy", "1"});

  const auto workers = run(jobs_->live_workers());
  ASSERT_EQ(workers.size(), 2u);
  EXPECT_EQ(workers[0].worker_id, "host-a:7");
  EXPECT_EQ(workers[1].worker_id, "host-b:12");
  for (const auto& worker : workers) {
    EXPECT_GE(worker.unix_ms, before);
    EXPECT_LE(worker.unix_ms, after);
  }

  const reply ttl = run_command({"TTL", names.worker_prefix + "host-a:7"});
  ASSERT_EQ(ttl.type, reply_type::integer);
  EXPECT_GT(ttl.integer, 0);
  EXPECT_LE(ttl.integer, 30);

  run_command({"DEL", names.worker_prefix + "host-a:7", names.worker_prefix + "host-b:12", decoy_prefix + "decoy"});
  EXPECT_TRUE(run(jobs_->live_workers()).empty());
}

TEST_F(JobStream, HeartbeatRejectsHostileIds) {
  EXPECT_THROW(run(jobs_->heartbeat("a*", 30s)), std::invalid_argument);
  EXPECT_THROW(run(jobs_->heartbeat("", 30s)), std::invalid_argument);
  EXPECT_THROW(run(jobs_->heartbeat("a b", 30s)), std::invalid_argument);
  EXPECT_THROW(run(jobs_->heartbeat(std::string(129, 'a'), 30s)), std::invalid_argument);
  EXPECT_THROW(run(jobs_->heartbeat("ok", 0s)), std::invalid_argument);
}

TEST_F(JobStream, UnparsableHeartbeatTimeIsZero) {
  const auto& names = jobs_->names();
  run_command({"SET", names.worker_prefix + "odd", "yesterday", "EX", "30"});
  const auto workers = run(jobs_->live_workers());
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].worker_id, "odd");
  EXPECT_EQ(workers[0].unix_ms, 0);
  run_command({"DEL", names.worker_prefix + "odd"});
}

}  // namespace
}  // namespace todo::queue
