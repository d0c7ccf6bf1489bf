#include "obs/metrics.hpp"

#include "obs/process_metrics.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

namespace todo::obs {
namespace {

// Returns the path of `program` in a PATH directory where it is executable.
std::optional<std::string> find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream directories(path != nullptr ? path : "/usr/bin:/bin");
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    const std::string candidate = (directory.empty() ? "." : directory) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

struct promtool_result {
  int exit_code = -1;
  std::string output;
};

// Runs `promtool check metrics` with `exposition` on standard input.
promtool_result check_metrics(const std::string& promtool, const std::string& exposition) {
  const std::string base = ::testing::TempDir() + "metrics_promtool_" + std::to_string(::getpid());
  const std::string input_path = base + ".prom";
  const std::string output_path = base + ".out";
  std::ofstream(input_path, std::ios::binary) << exposition;

  const std::string command = "'" + promtool + "' check metrics < '" + input_path + "' > '" + output_path + "' 2>&1";
  const int status = std::system(command.c_str());

  promtool_result result;
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  std::ifstream output(output_path, std::ios::binary);
  result.output.assign(std::istreambuf_iterator<char>(output), std::istreambuf_iterator<char>());
  std::remove(input_path.c_str());
  std::remove(output_path.c_str());
  return result;
}

// Fills a registry with every kind of line the exposition can contain.
void populate(registry& metrics) {
  auto& requests = metrics.add_counter("todo_http_requests_total", "HTTP requests handled, by \"route\".\nSecond line \\ backslash.",
                                       {"method", "route", "status"}, 3);
  requests.with({"GET", "index", "200"}).inc(3);
  requests.with({"GET", "a\"b\\c\nd", "404"}).inc();
  requests.with({"POST", "caf\xC3\xA9", "201"}).inc();
  requests.with({"PUT", "folded", "201"}).inc();

  metrics.add_gauge("todo_queue_depth", "Jobs waiting in the stream.").with({}).set(std::nan(""));
  auto& offsets = metrics.add_gauge("todo_clock_offset_seconds", "Offset from the reference clock.", {"source"});
  offsets.with({"low"}).set(-std::numeric_limits<double>::infinity());
  offsets.with({"high"}).set(std::numeric_limits<double>::infinity());
  offsets.with({"exact"}).set(0.1);

  auto& latency = metrics.add_histogram("todo_http_request_duration_seconds", "Time to handle an HTTP request.", {"route"},
                                        request_duration_buckets_seconds);
  latency.with({"index"}).observe(0.003, exemplar{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", {}});
  latency.with({"index"}).observe(0.2);
  latency.with({"index"}).observe(20);
  latency.with({"export"});

  add_process_collector(metrics);
}

TEST(MetricsPromtool, TextFormatPassesCheckMetrics) {
  const auto promtool = find_on_path("promtool");
  ASSERT_TRUE(promtool) << "promtool was not found in PATH; install it with: apt-get install -y prometheus";

  registry metrics;
  populate(metrics);
  const std::string text = metrics.render(exposition_format::text);

  const auto result = check_metrics(*promtool, text);
  EXPECT_EQ(result.exit_code, 0) << "promtool output:\n" << result.output << "\nexposition:\n" << text;
  EXPECT_EQ(result.output, "");
  // promtool 2.42 parses only the 0.0.4 text format. It rejects the exemplars and the escaped
  // double quotes in HELP that OpenMetrics requires, so the OpenMetrics output is not piped.
}

TEST(MetricsPromtool, CheckMetricsRejectsBrokenInput) {
  const auto promtool = find_on_path("promtool");
  ASSERT_TRUE(promtool) << "promtool was not found in PATH; install it with: apt-get install -y prometheus";

  // Proves that the check above can fail: an unescaped quote ends the label value early.
  const auto result = check_metrics(*promtool, "# HELP todo_x X.\n# TYPE todo_x gauge\ntodo_x{a=\"b\"c\"} 1\n");
  EXPECT_NE(result.exit_code, 0) << result.output;
}

}  // namespace
}  // namespace todo::obs
