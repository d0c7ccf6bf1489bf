#include "obs/process_metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

namespace todo::obs {
namespace {

// Returns each collected family by name, checking that each has one sample without labels.
std::map<std::string, collected_family> families_by_name() {
  std::map<std::string, collected_family> by_name;
  for (auto& family : collect_process_metrics()) {
    EXPECT_EQ(family.samples.size(), 1u) << family.name;
    EXPECT_TRUE(family.label_names.empty()) << family.name;
    by_name.emplace(family.name, std::move(family));
  }
  return by_name;
}

double value_of(const std::map<std::string, collected_family>& families, const std::string& name) {
  const auto found = families.find(name);
  if (found == families.end() || found->second.samples.empty()) {
    ADD_FAILURE() << name << " is missing";
    return -1;
  }
  return found->second.samples.front().value;
}

TEST(ProcessMetrics, AllStandardMetricsPresent) {
  const auto families = families_by_name();
  EXPECT_EQ(families.size(), 6u);
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                           "process_open_fds", "process_max_fds", "process_start_time_seconds"}) {
    EXPECT_TRUE(families.contains(name)) << name;
  }
  EXPECT_EQ(families.at("process_cpu_seconds_total").type, metric_type::counter);
  EXPECT_EQ(families.at("process_open_fds").type, metric_type::gauge);
  EXPECT_EQ(families.at("process_cpu_seconds_total").help, "Total user and system CPU time spent in seconds.");
}

TEST(ProcessMetrics, ValuesAreSane) {
  const auto families = families_by_name();

  EXPECT_GE(value_of(families, "process_cpu_seconds_total"), 0.0);
  const double resident = value_of(families, "process_resident_memory_bytes");
  EXPECT_GT(resident, 0.0);
  EXPECT_GE(value_of(families, "process_virtual_memory_bytes"), resident);

  const double open_fds = value_of(families, "process_open_fds");
  EXPECT_GT(open_fds, 0.0);
  EXPECT_GE(value_of(families, "process_max_fds"), open_fds);

  // The start time is the whole-second btime plus clock ticks, so it can differ from the
  // wall clock by a second or so. The 5 s margin leaves room for that.
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = value_of(families, "process_start_time_seconds");
  EXPECT_LE(start, now + 5);
  EXPECT_GT(start, now - 24 * 3600);
}

TEST(ProcessMetrics, OpenFdsCountsNewDescriptor) {
  const double before = value_of(families_by_name(), "process_open_fds");
  FILE* file = std::fopen("/proc/self/stat", "r");
  ASSERT_NE(file, nullptr);
  const double during = value_of(families_by_name(), "process_open_fds");
  std::fclose(file);
  EXPECT_EQ(during, before + 1);
}

TEST(ProcessMetrics, CollectorRendersThroughRegistry) {
  registry metrics;
  add_process_collector(metrics);

  const std::string text = metrics.render(exposition_format::text);
  EXPECT_NE(text.find("# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                      "# TYPE process_cpu_seconds_total counter\n"
                      "process_cpu_seconds_total "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nprocess_resident_memory_bytes "), std::string::npos) << text;

  const std::string openmetrics = metrics.render(exposition_format::openmetrics);
  EXPECT_NE(openmetrics.find("# TYPE process_cpu_seconds counter\n"), std::string::npos) << openmetrics;
  EXPECT_NE(openmetrics.find("\nprocess_cpu_seconds_total "), std::string::npos) << openmetrics;
}

}  // namespace
}  // namespace todo::obs
