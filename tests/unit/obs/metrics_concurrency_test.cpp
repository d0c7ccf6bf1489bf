#include "obs/metrics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace todo::obs {
namespace {

constexpr int thread_count = 4;
constexpr int observations_per_thread = 100'000;

// Runs `work(thread_index)` on four threads that start together, so that they contend.
template <class Work>
void run_on_threads(Work work) {
  std::latch start(thread_count);
  std::vector<std::thread> threads;
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      work(t);
    });
  }
  for (auto& thread : threads) thread.join();
}

TEST(MetricsConcurrency, ExactTotalsFromFourThreads) {
  registry metrics;
  counter& requests = metrics.add_counter("todo_requests_total", "Requests.").with({});
  gauge& in_flight = metrics.add_gauge("todo_in_flight", "In flight.").with({});
  const std::array<double, 4> bounds{0.25, 0.5, 1, 10};
  histogram& latency = metrics.add_histogram("todo_latency_seconds", "Latency.", {}, bounds).with({});

  // One value per finite bucket. Multiples of 1/8 keep every partial sum exact in a double.
  const std::array<double, 4> values{0.125, 0.5, 0.75, 3};
  const std::array<std::string, 4> trace_ids{
      "10000000000000000000000000000001", "20000000000000000000000000000002",
      "30000000000000000000000000000003", "40000000000000000000000000000004"};

  run_on_threads([&](int t) {
    for (int i = 0; i < observations_per_thread; ++i) {
      requests.inc();
      in_flight.inc(2);
      in_flight.dec();
      const double value = values[static_cast<std::size_t>(i % 4)];
      if (i % 100 < 4) {
        latency.observe(value, exemplar{trace_ids[static_cast<std::size_t>(t)], "00f067aa0ba902b7", {}});
      } else {
        latency.observe(value);
      }
    }
  });

  constexpr auto total = static_cast<std::uint64_t>(thread_count) * observations_per_thread;
  EXPECT_EQ(requests.value(), static_cast<double>(total));
  EXPECT_EQ(in_flight.value(), static_cast<double>(total));

  const auto snapshot = latency.snapshot();
  EXPECT_EQ(snapshot.cumulative_counts,
            (std::vector<std::uint64_t>{total / 4, total / 2, total / 4 * 3, total, total}));
  EXPECT_EQ(snapshot.count, total);
  EXPECT_EQ(snapshot.sum, static_cast<double>(total / 4) * (0.125 + 0.5 + 0.75 + 3));

  // Every exemplar must be one whole write: the trace id of one thread with the value of its bucket.
  for (std::size_t bucket = 0; bucket < 4; ++bucket) {
    ASSERT_TRUE(snapshot.exemplars[bucket]) << "bucket " << bucket;
    const auto& record = *snapshot.exemplars[bucket];
    EXPECT_EQ(record.value, values[bucket]);
    EXPECT_EQ(record.span_id, "00f067aa0ba902b7");
    EXPECT_NE(std::find(trace_ids.begin(), trace_ids.end(), record.trace_id), trace_ids.end()) << record.trace_id;
  }
  EXPECT_FALSE(snapshot.exemplars[4]);
}

TEST(MetricsConcurrency, ConcurrentLookupsReturnOneChild) {
  registry metrics;
  auto& family = metrics.add_counter("todo_lookups_total", "Lookups.", {"route"}, 50);
  std::array<counter*, thread_count> shared{};

  run_on_threads([&](int t) {
    for (int i = 0; i < 1000; ++i) {
      counter& child = family.with({"shared"});
      child.inc();
      shared[static_cast<std::size_t>(t)] = &child;
      family.with({"route" + std::to_string(i % 100)}).inc();
    }
  });

  for (const counter* child : shared) EXPECT_EQ(child, shared[0]);
  EXPECT_EQ(shared[0]->value(), thread_count * 1000.0);

  // Every thread looks up "shared" before any route, so "shared" always gets its own child
  // and 49 of the 100 routes get one too. Each of the other 51 routes was looked up 40 times,
  // and all of those lookups were folded, whichever routes they were.
  const std::string out = metrics.render(exposition_format::text);
  EXPECT_NE(out.find("todo_lookups_total{route=\"shared\"} 4000\n"), std::string::npos) << out;
  EXPECT_NE(out.find("todo_lookups_total{route=\"other\"} 2040\n"), std::string::npos) << out;
  EXPECT_NE(out.find("todo_metrics_series_overflow_total{family=\"todo_lookups_total\"} 2040\n"), std::string::npos)
      << out;

  std::size_t route_children = 0;
  for (auto at = out.find("{route=\"route"); at != std::string::npos; at = out.find("{route=\"route", at + 1)) {
    ++route_children;
  }
  EXPECT_EQ(route_children, 49u) << out;
}

TEST(MetricsConcurrency, RenderWhileRecording) {
  registry metrics;
  auto& family = metrics.add_histogram("todo_render_race_seconds", "Race.", {"route"}, request_duration_buckets_seconds);
  std::atomic<bool> stop{false};

  std::thread renderer([&] {
    while (!stop.load()) {
      const std::string out = metrics.render(exposition_format::openmetrics);
      EXPECT_TRUE(out.ends_with("# EOF\n"));
    }
  });
  run_on_threads([&](int t) {
    for (int i = 0; i < 20'000; ++i) {
      family.with({"r" + std::to_string((t * 7 + i) % 20)}).observe(0.001 * (i % 50));
    }
  });
  stop.store(true);
  renderer.join();

  std::uint64_t count = 0;
  for (int r = 0; r < 20; ++r) count += family.with({"r" + std::to_string(r)}).snapshot().count;
  EXPECT_EQ(count, static_cast<std::uint64_t>(thread_count) * 20'000);
}

}  // namespace
}  // namespace todo::obs
