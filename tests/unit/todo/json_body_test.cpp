#include "todo/json_body.hpp"

#include "todo/content_type.hpp"

#include <gtest/gtest.h>

#include <string>

namespace todo::domain {
namespace {

using status = http::beast_http::status;

constexpr std::string_view json_type = "application/json";

boost::json::object parse_object(std::string_view body) {
  auto parsed = parse_json_object(json_type, body);
  EXPECT_TRUE(parsed.ok()) << body << ": " << parsed.error;
  return parsed.object;
}

// ---- Content-Type ------------------------------------------------------------

TEST(ContentType, MediaTypeIsLowerCasedWithoutParameters) {
  EXPECT_EQ(media_type("Application/JSON; charset=UTF-8"), "application/json");
  EXPECT_EQ(media_type("  text/html  "), "text/html");
  EXPECT_EQ(media_type(""), "");
}

TEST(ContentType, JsonAcceptsUtf8CharsetOnly) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("application/json; charset=utf-8"));
  EXPECT_TRUE(is_json_content_type("APPLICATION/JSON;CHARSET=\"UTF-8\""));
  EXPECT_TRUE(is_json_content_type("application/json; charset=utf8"));
  EXPECT_TRUE(is_json_content_type("application/json; foo=bar"));
  EXPECT_FALSE(is_json_content_type("application/json; charset=latin1"));
  EXPECT_FALSE(is_json_content_type("text/json"));
  EXPECT_FALSE(is_json_content_type("application/jsonx"));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type(""));
}

TEST(ContentType, FormAcceptsParameters) {
  EXPECT_TRUE(is_form_content_type("application/x-www-form-urlencoded"));
  EXPECT_TRUE(is_form_content_type("application/x-www-form-urlencoded; charset=UTF-8"));
  EXPECT_FALSE(is_form_content_type("multipart/form-data; boundary=x"));
  EXPECT_FALSE(is_form_content_type("application/json"));
}

// ---- parse_json_object ---------------------------------------------------------

TEST(ParseJsonObject, WrongContentTypeIs415) {
  for (std::string_view type : {"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16"}) {
    auto parsed = parse_json_object(type, R"({"text":"x"})");
    EXPECT_EQ(parsed.status, status::unsupported_media_type) << type;
    EXPECT_NE(parsed.error.find("application/json"), std::string::npos) << parsed.error;
  }
}

TEST(ParseJsonObject, MalformedJsonIs400) {
  for (std::string_view body : {"", "{", "{\"text\": }", "[1,2", "nul", "{\"text\":\"x\"} trailing", "\xff\xfe",
                                "{\"a\":1,}", "// comment\n{}", "{'text':'x'}", "{\"text\":\"bad \xC3\"}"}) {
    auto parsed = parse_json_object(json_type, body);
    EXPECT_EQ(parsed.status, status::bad_request) << testing::PrintToString(std::string(body));
    EXPECT_EQ(parsed.error.rfind("invalid JSON", 0), 0u) << parsed.error;
  }
}

TEST(ParseJsonObject, NonObjectIs400) {
  for (std::string_view body : {"[]", "\"text\"", "5", "null", "true"}) {
    auto parsed = parse_json_object(json_type, body);
    EXPECT_EQ(parsed.status, status::bad_request) << body;
    EXPECT_EQ(parsed.error, "expected a JSON object");
  }
}

TEST(ParseJsonObject, NestingBombIsRejected) {
  const std::string bomb = std::string(100000, '[') + std::string(100000, ']');
  auto parsed = parse_json_object(json_type, bomb);
  EXPECT_EQ(parsed.status, status::bad_request);
  EXPECT_EQ(parsed.error, "invalid JSON: nested deeper than 8 levels");

  const std::string object_bomb = "{\"text\":" + std::string(50, '[') + std::string(50, ']') + "}";
  EXPECT_EQ(parse_json_object(json_type, object_bomb).status, status::bad_request);
}

TEST(ParseJsonObject, AcceptsNestingUpToLimit) {
  // The object is level 1, so seven arrays inside reach the limit of 8.
  const std::string body = "{\"a\":" + std::string(7, '[') + std::string(7, ']') + "}";
  EXPECT_TRUE(parse_json_object(json_type, body).ok());
}

// ---- read_todo_text ----------------------------------------------------------------

TEST(ReadTodoText, ReturnsTrimmedText) {
  auto text = read_todo_text(parse_object(R"({"text": "  new text  ", "extra": 1})"));
  ASSERT_TRUE(text.ok()) << text.error;
  EXPECT_EQ(text.value, "new text");
}

TEST(ReadTodoText, RejectsMissingAndWrongTypes) {
  EXPECT_EQ(read_todo_text(parse_object("{}")).error, "missing field \"text\"");
  EXPECT_EQ(read_todo_text(parse_object(R"({"TEXT": "x"})")).error, "missing field \"text\"");
  for (std::string_view body : {R"({"text": 5})", R"({"text": null})", R"({"text": ["a"]})", R"({"text": {"a": 1}})",
                                R"({"text": true})"}) {
    EXPECT_EQ(read_todo_text(parse_object(body)).error, "\"text\" must be a string") << body;
  }
}

TEST(ReadTodoText, AppliesTextRules) {
  EXPECT_EQ(read_todo_text(parse_object(R"({"text": "   "})")).error, "text must not be empty");
  EXPECT_EQ(read_todo_text(parse_object(R"({"text": "line\nbreak"})")).error,
            "text must not contain control characters (found U+000A)");
  EXPECT_EQ(read_todo_text(parse_object(R"({"text": "nul \u0000 byte"})")).error,
            "text must not contain control characters (found U+0000)");
  EXPECT_EQ(read_todo_text(parse_object(R"({"text": "c1 \u0085 next line"})")).error,
            "text must not contain control characters (found U+0085)");
}

TEST(ReadTodoText, LoneSurrogateEscapeIsMalformed) {
  auto parsed = parse_json_object(json_type, R"({"text": "a\ud800b"})");
  EXPECT_EQ(parsed.status, status::bad_request);
  EXPECT_EQ(parsed.error.rfind("invalid JSON", 0), 0u) << parsed.error;
}

TEST(ReadTodoText, SurrogatePairEscapeDecodes) {
  auto text = read_todo_text(parse_object(R"({"text": "smile \ud83d\ude00"})"));
  ASSERT_TRUE(text.ok()) << text.error;
  EXPECT_EQ(text.value, "smile \xF0\x9F\x98\x80");
}

TEST(ReadTodoText, CountsEscapedCharacters) {
  std::string body = "{\"text\": \"";
  for (int i = 0; i < 500; ++i) body += "\\u00e9";
  EXPECT_TRUE(read_todo_text(parse_object(body + "\"}")).ok());
  EXPECT_EQ(read_todo_text(parse_object(body + "x\"}")).error, "text is too long: 501 characters, the maximum is 500");
}

// ---- read_reorder_ids ------------------------------------------------------------------

TEST(ReadReorderIds, ReturnsIdsInOrder) {
  auto ids = read_reorder_ids(parse_object(R"({"order": [3, 1, 9223372036854775807], "ignored": true})"));
  ASSERT_TRUE(ids.ok()) << ids.error;
  EXPECT_EQ(ids.value, (std::vector<std::int64_t>{3, 1, INT64_MAX}));
}

TEST(ReadReorderIds, EmptyListIsAccepted) {
  auto ids = read_reorder_ids(parse_object(R"({"order": []})"));
  ASSERT_TRUE(ids.ok()) << ids.error;
  EXPECT_TRUE(ids.value.empty());
}

TEST(ReadReorderIds, RejectsWrongShapes) {
  EXPECT_EQ(read_reorder_ids(parse_object("{}")).error, "missing field \"order\": expected {\"order\": [id, ...]}");
  for (std::string_view body : {R"({"order": 5})", R"({"order": "1,2"})", R"({"order": null})", R"({"order": {"0": 1}})"}) {
    EXPECT_EQ(read_reorder_ids(parse_object(body)).error, "\"order\" must be an array of todo ids") << body;
  }
}

TEST(ReadReorderIds, RejectsEntriesThatAreNotIds) {
  for (std::string_view body : {R"({"order": ["1"]})", R"({"order": [1.5]})", R"({"order": [1.0]})",
                                R"({"order": [1e3]})", R"({"order": [-1]})", R"({"order": [0]})",
                                R"({"order": [null]})", R"({"order": [true]})", R"({"order": [[1]]})",
                                R"({"order": [9223372036854775808]})", R"({"order": [99999999999999999999999]})"}) {
    auto ids = read_reorder_ids(parse_object(body));
    EXPECT_EQ(ids.error, "order[0] is not a valid todo id: expected an integer from 1 to 9223372036854775807") << body;
  }
  EXPECT_EQ(read_reorder_ids(parse_object(R"({"order": [1, 2, "x"]})")).error.rfind("order[2] ", 0), 0u);
}

TEST(ReadReorderIds, RejectsDuplicates) {
  auto ids = read_reorder_ids(parse_object(R"({"order": [4, 5, 4]})"));
  EXPECT_EQ(ids.error, "order lists todo id 4 more than once");
}

// ---- read_todo_patch ---------------------------------------------------------------------

TEST(ReadTodoPatch, ReadsEitherOrBothFields) {
  auto both = read_todo_patch(parse_object(R"({"done": true, "text": " renamed "})"));
  ASSERT_TRUE(both.ok()) << both.error;
  EXPECT_EQ(both.value.text, "renamed");
  EXPECT_EQ(both.value.done, true);

  auto done_only = read_todo_patch(parse_object(R"({"done": false})"));
  ASSERT_TRUE(done_only.ok()) << done_only.error;
  EXPECT_EQ(done_only.value.text, std::nullopt);
  EXPECT_EQ(done_only.value.done, false);

  auto text_only = read_todo_patch(parse_object(R"({"text": "t"})"));
  ASSERT_TRUE(text_only.ok()) << text_only.error;
  EXPECT_EQ(text_only.value.text, "t");
  EXPECT_EQ(text_only.value.done, std::nullopt);
}

TEST(ReadTodoPatch, RejectsEmptyAndWrongTypes) {
  EXPECT_EQ(read_todo_patch(parse_object("{}")).error, "expected at least one of the fields \"text\" and \"done\"");
  EXPECT_EQ(read_todo_patch(parse_object(R"({"other": 1})")).error,
            "expected at least one of the fields \"text\" and \"done\"");
  EXPECT_EQ(read_todo_patch(parse_object(R"({"done": "yes"})")).error, "\"done\" must be true or false");
  EXPECT_EQ(read_todo_patch(parse_object(R"({"done": 1})")).error, "\"done\" must be true or false");
  EXPECT_EQ(read_todo_patch(parse_object(R"({"text": null, "done": true})")).error, "\"text\" must be a string");
  EXPECT_EQ(read_todo_patch(parse_object(R"({"text": "", "done": true})")).error, "text must not be empty");
}

}  // namespace
}  // namespace todo::domain
