#include "obs/log.hpp"

#include "obs/json_escape.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <unistd.h>

#include <chrono>
#include <ctime>

#include <string>

namespace todo::obs {
namespace {

boost::json::object parse_line(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "a log line must be one line";
  return boost::json::parse(line).as_object();
}

TEST(LogLine, HasStandardFields) {
  const auto line = format_log_line(log_level::warning, "todo.test", {"req-1", "", ""}, "hello",
                                    {{"count", 3}, {"ratio", 0.5}, {"flag", true}, {"name", "x"}});
  const auto object = parse_line(line);
  EXPECT_EQ(object.at("level").as_string(), "WARNING");
  EXPECT_EQ(object.at("logger").as_string(), "todo.test");
  EXPECT_EQ(object.at("message").as_string(), "hello");
  EXPECT_EQ(object.at("request_id").as_string(), "req-1");
  EXPECT_EQ(object.at("count").as_int64(), 3);
  EXPECT_DOUBLE_EQ(object.at("ratio").as_double(), 0.5);
  EXPECT_EQ(object.at("flag").as_bool(), true);
  EXPECT_EQ(object.at("name").as_string(), "x");
  EXPECT_FALSE(object.contains("trace_id")) << "empty ids are left out";
}

TEST(LogLine, TimestampIsUtcWithMilliseconds) {
  const auto object = parse_line(format_log_line(log_level::info, "t", {}, "m", {}));
  const std::string timestamp(object.at("timestamp").as_string());
  ASSERT_EQ(timestamp.size(), 24u) << timestamp;  // 2026-12-04T19:46:10.123Z
  EXPECT_EQ(timestamp[10], 'T');
  EXPECT_EQ(timestamp[19], '.');
  EXPECT_EQ(timestamp.back(), 'Z');

  // The same instant as the system clock, read the slow way with timegm.
  std::tm parts{};
  ASSERT_NE(strptime(timestamp.c_str(), "%Y-%m-%dT%H:%M:%S", &parts), nullptr) << timestamp;
  const auto written = std::chrono::system_clock::from_time_t(timegm(&parts)) +
                       std::chrono::milliseconds(std::stoi(timestamp.substr(20, 3)));
  const auto difference = std::chrono::system_clock::now() - written;
  EXPECT_GE(difference, std::chrono::milliseconds(0)) << timestamp;
  EXPECT_LT(difference, std::chrono::seconds(5)) << timestamp;
}

TEST(LogLine, HostileTextCannotForgeFields) {
  const std::string hostile = "x\",\"level\":\"CRITICAL\"}\n{\"forged\":true\r\x01\x7f\\";
  const auto line = format_log_line(log_level::info, "t", {hostile, "", ""}, hostile, {{hostile, hostile}});
  const auto object = parse_line(line);
  EXPECT_EQ(object.at("level").as_string(), "INFO");
  EXPECT_EQ(object.at("message").as_string(), hostile);
  EXPECT_EQ(object.at("request_id").as_string(), hostile);
  EXPECT_FALSE(object.contains("forged"));
}

TEST(JsonEscape, ReplacesInvalidUtf8) {
  std::string out;
  append_json_escaped(out, std::string("a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82", 12));
  EXPECT_EQ(out, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "d\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(JsonEscape, KeepsValidMultibyteText) {
  std::string out;
  append_json_escaped(out, "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80");
  EXPECT_EQ(out, "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80");
}

TEST(JsonEscape, EscapesControlCharacters) {
  std::string out;
  append_json_escaped(out, std::string("\0\x1f\t\"", 4));
  EXPECT_EQ(out, "\\u0000\\u001f\\t\\\"");
}

TEST(LogLevel, ParsesNamesInAnyCase) {
  EXPECT_EQ(parse_log_level("debug"), log_level::debug);
  EXPECT_EQ(parse_log_level("Warn"), log_level::warning);
  EXPECT_EQ(parse_log_level("ERROR"), log_level::error);
  EXPECT_EQ(parse_log_level("verbose"), std::nullopt);
}

TEST(LogWriter, FullBufferDropsAndCounts) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  // Nobody reads the pipe, so the writer thread blocks once the pipe fills
  // and the small queue overflows; callers must still return at once.
  start_logging(log_level::info, pipe_fds[1], 4096);
  const std::string big(1000, 'x');
  for (int i = 0; i < 2000; ++i) log_info("todo.test", {}, big);
  EXPECT_GT(dropped_log_lines(), 0u);

  // Draining the pipe lets the writer finish, so stop_logging can join it.
  std::thread reader([fd = pipe_fds[0]] {
    char buffer[65536];
    while (::read(fd, buffer, sizeof buffer) > 0) {
    }
  });
  stop_logging();
  ::close(pipe_fds[1]);
  reader.join();
  ::close(pipe_fds[0]);
}

}  // namespace
}  // namespace todo::obs
