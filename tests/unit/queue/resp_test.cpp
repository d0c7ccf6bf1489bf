#include "queue/resp.hpp"

#include "queue/error.hpp"
#include "reply_printer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace todo::queue {
namespace {

using namespace std::string_literals;

// Feeds `bytes` in one piece and returns every complete reply.
std::vector<reply> parse_all(const std::string& bytes) {
  reply_reader reader;
  reader.feed(bytes.data(), bytes.size());
  std::vector<reply> replies;
  while (auto next = reader.next()) replies.push_back(std::move(*next));
  return replies;
}

reply parse_one(const std::string& bytes) {
  const auto replies = parse_all(bytes);
  EXPECT_EQ(replies.size(), 1u) << "for " << bytes;
  return replies.empty() ? reply{} : replies.front();
}

errc parse_error_code(const std::string& bytes) {
  try {
    parse_all(bytes);
  } catch (const error& e) {
    return e.code_value();
  }
  return errc{};
}

TEST(EncodeCommand, WritesRespArrayOfBulkStrings) {
  EXPECT_EQ(encode_command({"SET", "key", "value"}), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n");
}

TEST(EncodeCommand, IsBinarySafe) {
  const std::string value = "a\0b\r\nc\xff"s;
  ASSERT_EQ(value.size(), 7u);
  EXPECT_EQ(encode_command({"SET", "k", value}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$7\r\n" + value + "\r\n");
}

TEST(EncodeCommand, KeepsEmptyArguments) {
  EXPECT_EQ(encode_command({"SET", "", ""}), "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n");
}

TEST(EncodeCommand, RejectsEmptyCommand) {
  EXPECT_THROW(encode_command({}), std::invalid_argument);
}

TEST(ReplyReader, ParsesScalarTypes) {
  EXPECT_EQ(parse_one("+OK\r\n"), reply::make_status("OK"));
  EXPECT_EQ(parse_one("-ERR wrong number of arguments\r\n"), reply::make_error("ERR wrong number of arguments"));
  EXPECT_EQ(parse_one(":42\r\n"), reply::make_integer(42));
  EXPECT_EQ(parse_one(":-9223372036854775808\r\n"), reply::make_integer(INT64_MIN));
  EXPECT_EQ(parse_one("$5\r\nhello\r\n"), reply::make_bulk("hello"));
  EXPECT_EQ(parse_one("$0\r\n\r\n"), reply::make_bulk(""));
}

TEST(ReplyReader, NilBulkAndNilArrayAreNil) {
  EXPECT_EQ(parse_one("$-1\r\n").type, reply_type::nil);
  EXPECT_EQ(parse_one("*-1\r\n").type, reply_type::nil);
}

TEST(ReplyReader, BulkStringKeepsBinaryBytes) {
  const std::string payload = "a\0b\r\n\r\nc\xff\x01"s;
  const auto parsed = parse_one("$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n");
  ASSERT_EQ(parsed.type, reply_type::bulk_string);
  EXPECT_EQ(parsed.text.size(), payload.size());
  EXPECT_EQ(parsed.text, payload);
}

TEST(ReplyReader, ParsesNestedArrays) {
  // The shape of XREADGROUP: [[stream, [[id, [field, value]]]]], with a nil and an error inside.
  const auto parsed = parse_one(
      "*2\r\n"
      "*2\r\n$4\r\njobs\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
      "*3\r\n$-1\r\n-ERR inner\r\n*0\r\n");
  const auto expected = reply::make_array(
      {reply::make_array(
           {reply::make_bulk("jobs"),
            reply::make_array({reply::make_array(
                {reply::make_bulk("1-0"), reply::make_array({reply::make_bulk("f"), reply::make_bulk("v")})})})}),
       reply::make_array({reply::make_nil(), reply::make_error("ERR inner"), reply::make_array({})})});
  EXPECT_EQ(parsed, expected);
}

TEST(ReplyReader, AcceptsBytesOneAtATime) {
  const std::string bytes = "*3\r\n:1\r\n$6\r\nab\r\ncd\r\n+PONG\r\n";
  reply_reader reader;
  std::optional<reply> parsed;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    ASSERT_FALSE(parsed) << "a reply was complete before its last byte, at " << i;
    reader.feed(&bytes[i], 1);
    parsed = reader.next();
  }
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, reply::make_array({reply::make_integer(1), reply::make_bulk("ab\r\ncd"),
                                        reply::make_status("PONG")}));
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(ReplyReader, SplitsSeveralRepliesInOneFeed) {
  const auto replies = parse_all("+OK\r\n+QUEUED\r\n*2\r\n:1\r\n:0\r\n");
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0], reply::make_status("OK"));
  EXPECT_EQ(replies[1], reply::make_status("QUEUED"));
  EXPECT_EQ(replies[2], reply::make_array({reply::make_integer(1), reply::make_integer(0)}));
}

TEST(ReplyReader, CountsBytesOfAnUnfinishedReply) {
  reply_reader reader;
  const std::string bytes = "+OK\r\n$10\r\nabc";
  reader.feed(bytes.data(), bytes.size());
  EXPECT_EQ(reader.next(), reply::make_status("OK"));
  EXPECT_FALSE(reader.next());
  EXPECT_GT(reader.buffered_bytes(), 0u);
}

TEST(ReplyReader, RejectsUnknownTypeByte) {
  EXPECT_EQ(parse_error_code("HTTP/1.1 400 Bad Request\r\n"), errc::protocol_error);
  EXPECT_EQ(parse_error_code("?\r\n"), errc::protocol_error);
}

TEST(ReplyReader, RejectsArraysNestedTooDeep) {
  std::string bytes;
  for (int i = 0; i < 9; ++i) bytes += "*1\r\n";
  bytes += ":1\r\n";
  EXPECT_EQ(parse_error_code(bytes), errc::protocol_error);
}

TEST(ReplyReader, AcceptsEightLevelsOfNesting) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += "*1\r\n";
  bytes += ":1\r\n";
  reply parsed = parse_one(bytes);
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(parsed.type, reply_type::array) << "level " << i;
    ASSERT_EQ(parsed.elements.size(), 1u);
    reply inner = parsed.elements.front();
    parsed = std::move(inner);
  }
  EXPECT_EQ(parsed, reply::make_integer(1));
}

TEST(ReplyReader, RejectsNonNumericLengths) {
  EXPECT_EQ(parse_error_code("$abc\r\nxyz\r\n"), errc::protocol_error);
  EXPECT_EQ(parse_error_code(":12x\r\n"), errc::protocol_error);
}

TEST(ReplyAccessors, WrongTypeIsProtocolError) {
  try {
    reply::make_integer(1).as_string("GET");
    FAIL() << "as_string accepted an integer";
  } catch (const error& e) {
    EXPECT_EQ(e.code_value(), errc::protocol_error);
    EXPECT_NE(std::string(e.what()).find("GET"), std::string::npos) << e.what();
  }
}

TEST(ReplyAccessors, ErrorReplyIsServerErrorWithText) {
  try {
    reply::make_error("WRONGTYPE Operation against a key holding the wrong kind of value").as_array("XRANGE");
    FAIL() << "as_array accepted an error reply";
  } catch (const error& e) {
    EXPECT_EQ(e.code_value(), errc::server_error);
    EXPECT_FALSE(e.is_transient());
    EXPECT_NE(std::string(e.what()).find("WRONGTYPE"), std::string::npos) << e.what();
  }
}

TEST(ReplyAccessors, LoadingReplyIsTransient) {
  const auto failure = error_from_reply(reply::make_error("LOADING Redis is loading the dataset in memory"), "GET");
  EXPECT_EQ(failure.code_value(), errc::unavailable);
  EXPECT_TRUE(failure.is_transient());
  EXPECT_EQ(error_from_reply(reply::make_error("LOADINGX odd"), "GET").code_value(), errc::server_error);
}

TEST(QueueError, CategoryAndTransience) {
  const error timed_out(errc::timeout, "x");
  EXPECT_STREQ(timed_out.code().category().name(), "todo.queue");
  EXPECT_TRUE(timed_out.is_transient());
  EXPECT_TRUE(error(errc::unavailable, "x").is_transient());
  EXPECT_TRUE(error(errc::shutting_down, "x").is_transient());
  EXPECT_FALSE(error(errc::server_error, "x").is_transient());
  EXPECT_FALSE(error(errc::protocol_error, "x").is_transient());
  EXPECT_EQ(std::error_code(errc::timeout), timed_out.code());
}

}  // namespace
}  // namespace todo::queue
