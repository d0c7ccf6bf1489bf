// db::shared_read: request coalescing of one read, on Asio coroutines. No
// database: the read is a coroutine that counts its runs and waits on a timer.
#include "db/shared_read.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using read_counter = todo::db::shared_read<int>;

// A read that takes `duration` and returns its own run number, starting at 1.
// Run `fail_run` throws instead.
struct counted_read {
  std::atomic<int> runs{0};
  std::atomic<int> running{0};
  std::atomic<int> max_concurrent{0};
  std::chrono::milliseconds duration{20ms};
  int fail_run = 0;

  asio::awaitable<std::shared_ptr<const int>> operator()() {
    const int run = ++runs;
    const int now = ++running;
    int seen = max_concurrent.load();
    while (now > seen && !max_concurrent.compare_exchange_weak(seen, now)) {
    }
    asio::steady_timer wait(co_await asio::this_coro::executor, duration);
    co_await wait.async_wait(asio::use_awaitable);
    --running;
    if (run == fail_run) throw std::runtime_error("read failed");
    co_return std::make_shared<const int>(run);
  }
};

struct caller_result {
  std::optional<int> value;
  bool shared = false;
  std::string error;
};

asio::awaitable<void> call_after(read_counter& reads, std::chrono::milliseconds delay, caller_result& result) {
  asio::steady_timer wait(co_await asio::this_coro::executor, delay);
  co_await wait.async_wait(asio::use_awaitable);
  try {
    const auto got = co_await reads.get({});
    result.value = *got.value;
    result.shared = got.shared;
  } catch (const std::exception& failure) {
    result.error = failure.what();
  }
}

std::shared_ptr<read_counter> make_reads(std::size_t max_running, counted_read& read) {
  return std::make_shared<read_counter>(max_running, [&read](const todo::obs::trace_parent&) { return read(); });
}

TEST(DbSharedRead, SequentialCallersReadAlone) {
  asio::io_context io;
  counted_read read;
  auto reads = make_reads(1, read);
  caller_result first, second;
  asio::co_spawn(io, call_after(*reads, 0ms, first), asio::detached);
  asio::co_spawn(io, call_after(*reads, 50ms, second), asio::detached);
  io.run();

  EXPECT_EQ(read.runs, 2);
  EXPECT_EQ(first.value, 1);
  EXPECT_FALSE(first.shared);
  EXPECT_EQ(second.value, 2);
  EXPECT_FALSE(second.shared);
}

TEST(DbSharedRead, BusyCallersShareNextRead) {
  asio::io_context io;
  counted_read read;
  auto reads = make_reads(1, read);
  caller_result a, b, c, d, e;
  asio::co_spawn(io, call_after(*reads, 0ms, a), asio::detached);   // read 1, 0..20 ms
  asio::co_spawn(io, call_after(*reads, 5ms, b), asio::detached);   // waits, then leads read 2
  asio::co_spawn(io, call_after(*reads, 8ms, c), asio::detached);   // shares read 2
  asio::co_spawn(io, call_after(*reads, 10ms, d), asio::detached);  // shares read 2
  asio::co_spawn(io, call_after(*reads, 30ms, e), asio::detached);  // read 2 runs: waits for read 3
  io.run();

  EXPECT_EQ(read.runs, 3);
  EXPECT_EQ(read.max_concurrent, 1);
  EXPECT_EQ(a.value, 1);
  // b, c and d called while read 1 ran; none of them gets read 1's result,
  // which may predate their requests.
  EXPECT_EQ(b.value, 2);
  EXPECT_FALSE(b.shared);
  EXPECT_EQ(c.value, 2);
  EXPECT_TRUE(c.shared);
  EXPECT_EQ(d.value, 2);
  EXPECT_TRUE(d.shared);
  EXPECT_EQ(e.value, 3);
  EXPECT_FALSE(e.shared);
}

TEST(DbSharedRead, ReadsRunAloneUpToLimit) {
  asio::io_context io;
  counted_read read;
  auto reads = make_reads(3, read);
  std::vector<caller_result> results(5);
  for (auto& result : results) asio::co_spawn(io, call_after(*reads, 0ms, result), asio::detached);
  io.run();

  // Three run at once; the fourth and fifth call share the fourth read.
  EXPECT_EQ(read.runs, 4);
  EXPECT_EQ(read.max_concurrent, 3);
  int shared = 0;
  for (const auto& result : results) {
    ASSERT_TRUE(result.value.has_value());
    shared += result.shared ? 1 : 0;
  }
  EXPECT_EQ(shared, 1);
  EXPECT_EQ(results[3].value, 4);
  EXPECT_EQ(results[4].value, 4);
}

TEST(DbSharedRead, FailedReadFailsWholeBatch) {
  asio::io_context io;
  counted_read read;
  read.fail_run = 2;
  auto reads = make_reads(1, read);
  caller_result a, b, c, later;
  asio::co_spawn(io, call_after(*reads, 0ms, a), asio::detached);
  asio::co_spawn(io, call_after(*reads, 5ms, b), asio::detached);
  asio::co_spawn(io, call_after(*reads, 6ms, c), asio::detached);
  asio::co_spawn(io, call_after(*reads, 100ms, later), asio::detached);
  io.run();

  EXPECT_EQ(a.value, 1);
  EXPECT_EQ(b.error, "read failed");
  EXPECT_FALSE(b.value.has_value());
  EXPECT_EQ(c.error, "read failed");
  EXPECT_FALSE(c.value.has_value());
  EXPECT_EQ(later.value, 3);
  EXPECT_EQ(later.error, "");
}

// A read that runs alone and fails still hands its slot to the waiting batch,
// so the batch runs its own read and every member gets that read's value.
TEST(DbSharedRead, FailedLoneReadStartsWaitingBatch) {
  asio::io_context io;
  counted_read read;
  read.fail_run = 1;
  auto reads = make_reads(1, read);
  caller_result a, b, c, later;
  asio::co_spawn(io, call_after(*reads, 0ms, a), asio::detached);
  asio::co_spawn(io, call_after(*reads, 5ms, b), asio::detached);
  asio::co_spawn(io, call_after(*reads, 6ms, c), asio::detached);
  asio::co_spawn(io, call_after(*reads, 100ms, later), asio::detached);
  // A slot that the failed read kept would leave the batch waiting forever,
  // so the test stops after 5 s and fails instead of hanging.
  io.run_for(5s);

  EXPECT_EQ(a.error, "read failed");
  EXPECT_FALSE(a.value.has_value());
  EXPECT_EQ(b.value, 2);
  EXPECT_EQ(c.value, 2);
  EXPECT_NE(b.shared, c.shared);
  EXPECT_EQ(later.value, 3);
  EXPECT_FALSE(later.shared);
  EXPECT_EQ(read.max_concurrent.load(), 1);
}

// Many callers on four threads: each result comes from a read that started
// after its caller called, and no more than the limit run at once.
TEST(DbSharedRead, ThreadsNeverGetOlderResults) {
  asio::thread_pool threads(4);
  counted_read read;
  read.duration = 1ms;
  auto reads = make_reads(2, read);

  constexpr int callers = 2000;
  std::atomic<int> finished{0};
  std::atomic<int> stale{0};
  std::atomic<int> shared{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < callers; ++i) {
    asio::co_spawn(
        threads,
        [&]() -> asio::awaitable<void> {
          const int runs_before = read.runs.load();
          try {
            const auto got = co_await reads->get({});
            if (*got.value <= runs_before) ++stale;
            if (got.shared) ++shared;
          } catch (...) {
            ++failed;
          }
          ++finished;
        },
        asio::detached);
  }
  threads.join();

  EXPECT_EQ(finished, callers);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(stale, 0);
  EXPECT_LE(read.max_concurrent, 2);
  EXPECT_LT(read.runs, callers);
  EXPECT_EQ(shared + read.runs, callers);
}

}  // namespace
