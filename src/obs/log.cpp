#include "obs/log.hpp"

#include "obs/json_escape.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace todo::obs {

namespace {

// The writer thread and its bounded queue. Callers format a line on their own
// thread and only take the lock to move it into the queue.
// Lines wait at most this long before the writer thread writes them.
constexpr std::chrono::milliseconds flush_interval{20};
// A queue this large wakes the writer at once.
constexpr std::size_t wake_threshold_bytes = 64 * 1024;

class log_writer {
 public:
  void start(int fd, std::size_t capacity_bytes) {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) return;
    fd_ = fd;
    capacity_bytes_ = capacity_bytes;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (!thread_.joinable()) return;
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  void push(std::string line) {
    {
      std::lock_guard lock(mutex_);
      if (!thread_.joinable()) {
        // Before start or after stop, write synchronously so nothing is lost.
        write_all(line);
        return;
      }
      if (queued_bytes_ + line.size() > capacity_bytes_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      queued_bytes_ += line.size();
      queue_.push_back(std::move(line));
      // The writer wakes by itself every flush_interval. Waking it for each
      // line cost a futex call and a thread switch per request under load.
      if (queued_bytes_ < wake_threshold_bytes) return;
    }
    wake_.notify_one();
  }

  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  void run() {
    std::deque<std::string> batch;
    std::uint64_t reported_drops = 0;
    for (;;) {
      bool stopping = false;
      {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, flush_interval,
                       [&] { return stopping_ || queued_bytes_ >= wake_threshold_bytes; });
        if (queue_.empty() && !stopping_) continue;
        batch.swap(queue_);
        queued_bytes_ = 0;
        stopping = stopping_;
      }

      std::string buffer;
      for (auto& line : batch) buffer.append(line);
      batch.clear();

      const std::uint64_t drops = dropped();
      if (drops != reported_drops) {
        buffer.append(format_log_line(log_level::warning, "todo.log", {}, "log lines dropped because output was slow",
                                      {{"dropped_total", drops}, {"dropped_since_last_report", drops - reported_drops}}));
        reported_drops = drops;
      }
      write_all(buffer);

      if (stopping) {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) return;
      }
    }
  }

  void write_all(std::string_view data) const {
    while (!data.empty()) {
      ssize_t written = ::write(fd_, data.data(), data.size());
      if (written < 0) {
        if (errno == EINTR) continue;
        return;  // Nowhere left to report a failing stdout.
      }
      data.remove_prefix(static_cast<std::size_t>(written));
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t capacity_bytes_ = 0;
  bool stopping_ = false;
  int fd_ = 1;
  std::thread thread_;
  std::atomic<std::uint64_t> dropped_{0};
};

log_writer& writer() {
  static log_writer instance;
  return instance;
}

std::atomic<int> min_level{static_cast<int>(log_level::info)};

std::string_view level_name(log_level level) {
  switch (level) {
    case log_level::debug: return "DEBUG";
    case log_level::info: return "INFO";
    case log_level::warning: return "WARNING";
    case log_level::error: return "ERROR";
    case log_level::critical: return "CRITICAL";
  }
  return "INFO";
}

void append_string_field(std::string& out, std::string_view key, std::string_view value) {
  out.append(",\"");
  append_json_escaped(out, key);
  out.append("\":\"");
  append_json_escaped(out, value);
  out.push_back('"');
}

// Writes `value` as exactly `width` decimal digits, zero-padded.
void append_digits(std::string& out, unsigned value, int width) {
  char digits[8];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, static_cast<std::size_t>(width));
}

}  // namespace

// Calendar arithmetic rather than gmtime_r and snprintf, which took a few
// thousand instructions per log line.
void append_utc_timestamp(std::string& out) {
  using namespace std::chrono;
  const auto now = floor<milliseconds>(system_clock::now());
  const auto day = floor<days>(now);
  const year_month_day date{day};
  const hh_mm_ss time{now - day};
  append_digits(out, static_cast<unsigned>(static_cast<int>(date.year())), 4);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(date.month()), 2);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(date.day()), 2);
  out.push_back('T');
  append_digits(out, static_cast<unsigned>(time.hours().count()), 2);
  out.push_back(':');
  append_digits(out, static_cast<unsigned>(time.minutes().count()), 2);
  out.push_back(':');
  append_digits(out, static_cast<unsigned>(time.seconds().count()), 2);
  out.push_back('.');
  append_digits(out, static_cast<unsigned>(time.subseconds().count()), 3);
  out.push_back('Z');
}

std::string utc_timestamp_now() {
  std::string text;
  text.reserve(24);
  append_utc_timestamp(text);
  return text;
}

std::optional<log_level> parse_log_level(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (upper == "DEBUG") return log_level::debug;
  if (upper == "INFO") return log_level::info;
  if (upper == "WARNING" || upper == "WARN") return log_level::warning;
  if (upper == "ERROR") return log_level::error;
  if (upper == "CRITICAL") return log_level::critical;
  return std::nullopt;
}

void log_value::append_json(std::string& out) const {
  switch (kind_) {
    case kind::string:
      out.push_back('"');
      append_json_escaped(out, text_);
      out.push_back('"');
      return;
    case kind::integer: {
      char digits[24];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, integer_);
      out.append(digits, end);
      return;
    }
    case kind::real: {
      if (!std::isfinite(real_)) {
        out.append("null");
        return;
      }
      char digits[32];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, real_, std::chars_format::fixed, 3);
      out.append(digits, end);
      return;
    }
    case kind::boolean:
      out.append(boolean_ ? "true" : "false");
      return;
  }
}

std::string format_log_line(log_level level, std::string_view logger, const log_context& context,
                            std::string_view message, std::initializer_list<log_field> fields) {
  std::string line;
  line.reserve(256);
  line.append("{\"timestamp\":\"");
  append_utc_timestamp(line);
  line.append("\",\"level\":\"");
  line.append(level_name(level));
  line.push_back('"');
  append_string_field(line, "logger", logger);
  append_string_field(line, "message", message);
  if (!context.request_id.empty()) append_string_field(line, "request_id", context.request_id);
  if (!context.trace_id.empty()) append_string_field(line, "trace_id", context.trace_id);
  if (!context.span_id.empty()) append_string_field(line, "span_id", context.span_id);
  for (const auto& field : fields) {
    line.append(",\"");
    append_json_escaped(line, field.key);
    line.append("\":");
    field.value.append_json(line);
  }
  line.append("}\n");
  return line;
}

void start_logging(log_level level, int fd, std::size_t capacity_bytes) {
  min_level.store(static_cast<int>(level), std::memory_order_relaxed);
  writer().start(fd, capacity_bytes);
}

void stop_logging() { writer().stop(); }

bool log_enabled(log_level level) noexcept {
  return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed);
}

std::uint64_t dropped_log_lines() noexcept { return writer().dropped(); }

void write_log(log_level level, std::string_view logger, const log_context& context,
               std::string_view message, std::initializer_list<log_field> fields) noexcept {
  try {
    writer().push(format_log_line(level, logger, context, message, fields));
  } catch (...) {
    // Out of memory while formatting: dropping the line is all that is left.
  }
}

}  // namespace todo::obs
