#include "obs/process_metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace todo::obs {

namespace {

// Field numbers of /proc/<pid>/stat as proc(5) counts them, starting at 1 with the pid.
constexpr std::size_t stat_utime = 14;
constexpr std::size_t stat_stime = 15;
constexpr std::size_t stat_starttime = 22;
constexpr std::size_t stat_vsize = 23;
constexpr std::size_t stat_rss = 24;

// Reads a whole file. Files under /proc report a size of 0, so this reads until end of file.
std::optional<std::string> read_small_file(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;

  std::string content;
  char buffer[4096];
  for (;;) {
    const ssize_t count = ::read(fd, buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (count == 0) break;
    content.append(buffer, static_cast<std::size_t>(count));
  }
  ::close(fd);
  return content;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Returns field `number` of /proc/self/stat. The second field, the command name in
// parentheses, may itself contain spaces and parentheses, so counting starts after the
// last ')' with field 3.
std::optional<std::uint64_t> stat_field(std::string_view stat, std::size_t number) {
  const std::size_t command_end = stat.rfind(')');
  if (command_end == std::string_view::npos || number < 3) return std::nullopt;
  std::string_view rest = stat.substr(command_end + 1);

  std::size_t field = 2;
  while (!rest.empty()) {
    const std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const std::size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    ++field;
    if (field == number) return parse_unsigned(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  return std::nullopt;
}

// Returns the boot time in seconds since the Unix epoch, from the btime line of /proc/stat.
std::optional<std::uint64_t> boot_time_seconds() {
  const auto stat = read_small_file("/proc/stat");
  if (!stat) return std::nullopt;
  constexpr std::string_view prefix = "btime ";
  std::size_t line_start = 0;
  while (line_start < stat->size()) {
    std::size_t line_end = stat->find('\n', line_start);
    if (line_end == std::string::npos) line_end = stat->size();
    const std::string_view line(stat->data() + line_start, line_end - line_start);
    if (line.starts_with(prefix)) return parse_unsigned(line.substr(prefix.size()));
    line_start = line_end + 1;
  }
  return std::nullopt;
}

// Counts the entries of /proc/self/fd, leaving out the descriptor that reads the directory.
std::optional<std::uint64_t> open_descriptor_count() {
  DIR* directory = ::opendir("/proc/self/fd");
  if (directory == nullptr) return std::nullopt;
  const std::string own_descriptor = std::to_string(::dirfd(directory));

  std::uint64_t count = 0;
  while (const dirent* entry = ::readdir(directory)) {
    const std::string_view name = entry->d_name;
    if (name.starts_with('.') || name == own_descriptor) continue;
    ++count;
  }
  ::closedir(directory);
  return count;
}

std::optional<double> max_descriptor_count() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
  if (limit.rlim_cur == RLIM_INFINITY) return std::numeric_limits<double>::infinity();
  return static_cast<double>(limit.rlim_cur);
}

void add_family(std::vector<collected_family>& families, metric_type type, std::string_view name,
                std::string_view help, std::optional<double> value) {
  if (!value) return;
  collected_family family;
  family.name = name;
  family.help = help;
  family.type = type;
  family.samples.push_back({{}, *value});
  families.push_back(std::move(family));
}

}  // namespace

std::vector<collected_family> collect_process_metrics() noexcept {
  std::vector<collected_family> families;
  try {
    const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    const long page_size = ::sysconf(_SC_PAGESIZE);
    const auto stat = read_small_file("/proc/self/stat");
    const std::string_view stat_text = stat ? std::string_view(*stat) : std::string_view();

    std::optional<double> cpu_seconds;
    const auto user_ticks = stat_field(stat_text, stat_utime);
    const auto system_ticks = stat_field(stat_text, stat_stime);
    if (user_ticks && system_ticks && ticks_per_second > 0) {
      cpu_seconds = static_cast<double>(*user_ticks + *system_ticks) / static_cast<double>(ticks_per_second);
    }

    std::optional<double> resident_bytes;
    if (const auto pages = stat_field(stat_text, stat_rss); pages && page_size > 0) {
      resident_bytes = static_cast<double>(*pages) * static_cast<double>(page_size);
    }

    std::optional<double> virtual_bytes;
    if (const auto bytes = stat_field(stat_text, stat_vsize)) virtual_bytes = static_cast<double>(*bytes);

    std::optional<double> start_time;
    const auto start_ticks = stat_field(stat_text, stat_starttime);
    const auto boot_time = boot_time_seconds();
    if (start_ticks && boot_time && ticks_per_second > 0) {
      start_time = static_cast<double>(*boot_time) + static_cast<double>(*start_ticks) / static_cast<double>(ticks_per_second);
    }

    std::optional<double> open_fds;
    if (const auto count = open_descriptor_count()) open_fds = static_cast<double>(*count);

    add_family(families, metric_type::counter, "process_cpu_seconds_total",
               "Total user and system CPU time spent in seconds.", cpu_seconds);
    add_family(families, metric_type::gauge, "process_resident_memory_bytes", "Resident memory size in bytes.",
               resident_bytes);
    add_family(families, metric_type::gauge, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
               virtual_bytes);
    add_family(families, metric_type::gauge, "process_open_fds", "Number of open file descriptors.", open_fds);
    add_family(families, metric_type::gauge, "process_max_fds", "Maximum number of open file descriptors.",
               max_descriptor_count());
    add_family(families, metric_type::gauge, "process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.", start_time);
  } catch (...) {
    // Only allocation can fail here. The families built so far are still returned.
  }
  return families;
}

collector_id add_process_collector(registry& metrics) {
  return metrics.add_collector([] { return collect_process_metrics(); });
}

}  // namespace todo::obs
