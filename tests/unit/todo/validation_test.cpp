#include "todo/validation.hpp"

#include <gtest/gtest.h>

#include <string>

namespace todo::domain {
namespace {

std::string repeat(std::string_view piece, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += piece;
  return out;
}

// ---- check_todo_text ------------------------------------------------------

TEST(CheckTodoText, TrimsSurroundingWhiteSpace) {
  auto check = check_todo_text("  \t buy milk \r\n ");
  ASSERT_TRUE(check.ok()) << check.error;
  EXPECT_EQ(check.text, "buy milk");
  EXPECT_EQ(check.problem, text_problem::none);
}

TEST(CheckTodoText, TrimsUnicodeWhiteSpace) {
  // U+00A0 no-break space, U+3000 ideographic space, U+0085 next line, U+2028 line separator.
  auto check = check_todo_text("\xC2\xA0\xE3\x80\x80tea\xC2\x85\xE2\x80\xA8");
  ASSERT_TRUE(check.ok()) << check.error;
  EXPECT_EQ(check.text, "tea");
}

TEST(CheckTodoText, KeepsInnerSpacesAndSymbols) {
  const std::string text = "a  b <c> & 'd' \"e\" \\ caf\xC3\xA9 \xF0\x9F\x98\x80";
  auto check = check_todo_text(text);
  ASSERT_TRUE(check.ok()) << check.error;
  EXPECT_EQ(check.text, text);
}

TEST(CheckTodoText, RejectsEmptyAndBlank) {
  for (std::string_view raw : {"", " ", "\t\n\r ", "\xC2\xA0", "\xE3\x80\x80 \xC2\x85"}) {
    auto check = check_todo_text(raw);
    EXPECT_EQ(check.problem, text_problem::empty) << '"' << raw << '"';
    EXPECT_EQ(check.error, "text must not be empty");
    EXPECT_FALSE(check.ok());
  }
}

TEST(CheckTodoText, AcceptsExactly500CodePoints) {
  const std::string accented = repeat("\xC3\xA9", 500);  // 1000 bytes
  auto two_byte = check_todo_text(accented);
  ASSERT_TRUE(two_byte.ok()) << two_byte.error;
  EXPECT_EQ(two_byte.text, accented);

  const std::string emoji = repeat("\xF0\x9F\x98\x80", 500);  // 2000 bytes, 1000 UTF-16 units
  auto four_byte = check_todo_text(emoji);
  ASSERT_TRUE(four_byte.ok()) << four_byte.error;
  EXPECT_EQ(four_byte.text.size(), 2000u);

  EXPECT_TRUE(check_todo_text(std::string(500, 'a')).ok());
}

TEST(CheckTodoText, Rejects501CodePoints) {
  auto accented = check_todo_text(repeat("\xC3\xA9", 500) + "x");
  EXPECT_EQ(accented.problem, text_problem::too_long);
  EXPECT_EQ(accented.error, "text is too long: 501 characters, the maximum is 500");

  auto emoji = check_todo_text(repeat("\xF0\x9F\x98\x80", 501));
  EXPECT_EQ(emoji.problem, text_problem::too_long);

  EXPECT_EQ(check_todo_text(std::string(501, 'a')).problem, text_problem::too_long);
}

TEST(CheckTodoText, CountsLengthAfterTrimming) {
  auto check = check_todo_text("   " + std::string(500, 'a') + "   ");
  ASSERT_TRUE(check.ok()) << check.error;
  EXPECT_EQ(check.text.size(), 500u);
}

TEST(CheckTodoText, RejectsInvalidUtf8) {
  const std::string cases[] = {
      "bad \xFF byte",            // never valid
      "\x80 stray continuation",  // continuation without a lead byte
      "cut \xC3",                 // truncated two-byte sequence
      "cut \xE2\x82",             // truncated three-byte sequence
      "\xC0\xAF",                 // overlong '/'
      "\xC1\xBF",                 // overlong U+007F
      "\xE0\x80\xAF",             // overlong three-byte '/'
      "\xF0\x82\x82\xAC",         // overlong four-byte U+20AC
      "\xED\xA0\x80",             // surrogate U+D800
      "\xED\xBF\xBF",             // surrogate U+DFFF
      "\xF4\x90\x80\x80",         // U+110000, above the Unicode range
      "\xF8\x88\x80\x80\x80",     // five-byte form
      "\xC3\x28",                 // lead byte followed by ASCII
  };
  for (const auto& raw : cases) {
    auto check = check_todo_text(raw);
    EXPECT_EQ(check.problem, text_problem::invalid_utf8) << testing::PrintToString(raw);
    EXPECT_EQ(check.error, "text is not valid UTF-8");
  }
}

TEST(CheckTodoText, RejectsInnerControlCharacters) {
  const std::pair<std::string, std::string> cases[] = {
      {std::string("a\0b", 3), "U+0000"},
      {"a\tb", "U+0009"},
      {"a\nb", "U+000A"},
      {"a\rb", "U+000D"},
      {"a\x1b[31mb", "U+001B"},
      {"a\x7f" "b", "U+007F"},
      {"a\xC2\x85" "b", "U+0085"},
      {"a\xC2\x9F" "b", "U+009F"},
  };
  for (const auto& [raw, name] : cases) {
    auto check = check_todo_text(raw);
    EXPECT_EQ(check.problem, text_problem::control_character) << testing::PrintToString(raw);
    EXPECT_EQ(check.error, "text must not contain control characters (found " + name + ")");
  }
}

TEST(CheckTodoText, RejectsControlCharacterAtEdge) {
  // Only White_Space characters are trimmed, so other controls are rejected wherever they are.
  EXPECT_EQ(check_todo_text("\x01task").problem, text_problem::control_character);
  EXPECT_EQ(check_todo_text("task\x7f").problem, text_problem::control_character);
}

TEST(CheckTodoText, ChecksEncodingBeforeLength) {
  auto check = check_todo_text(std::string(600, 'a') + "\xFF");
  EXPECT_EQ(check.problem, text_problem::invalid_utf8);
}

// ---- parse_todo_id ---------------------------------------------------------

TEST(ParseTodoId, AcceptsPositiveIntegers) {
  EXPECT_EQ(parse_todo_id("1"), 1);
  EXPECT_EQ(parse_todo_id("42"), 42);
  EXPECT_EQ(parse_todo_id("007"), 7);
  EXPECT_EQ(parse_todo_id("9223372036854775807"), INT64_MAX);
}

TEST(ParseTodoId, RejectsEverythingElse) {
  for (std::string_view text : {"", "0", "00", "-1", "+1", "1e3", "1.0", "1.5", " 1", "1 ", "0x10", "abc", "1a",
                                "9223372036854775808", "99999999999999999999", "18446744073709551616", "\xEF\xBC\x91"}) {
    EXPECT_EQ(parse_todo_id(text), std::nullopt) << testing::PrintToString(std::string(text));
  }
  EXPECT_EQ(parse_todo_id(std::string_view("1\0", 2)), std::nullopt);
}

// ---- parse_form -------------------------------------------------------------

TEST(ParseForm, DecodesPlusAndPercent) {
  auto form = parse_form("task=buy+milk%20now&other=%2B1%26%3D");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->at("task"), "buy milk now");
  EXPECT_EQ(form->at("other"), "+1&=");
}

TEST(ParseForm, DecodesMultibyteAndKeepsRawBytes) {
  auto form = parse_form("task=caf%C3%A9&bad=%FF");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->at("task"), "caf\xC3\xA9");
  EXPECT_EQ(form->at("bad"), "\xFF");  // check_todo_text rejects it later
}

TEST(ParseForm, DecodesHexInEitherCase) {
  auto form = parse_form("a=%2f%2F");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->at("a"), "//");
}

TEST(ParseForm, RejectsBadEscapes) {
  for (std::string_view body : {"task=%", "task=%2", "task=%zz", "task=%g0", "task=ok&x=%", "%=1", "task=100%"}) {
    EXPECT_EQ(parse_form(body), std::nullopt) << body;
  }
}

TEST(ParseForm, KeepsFirstDuplicate) {
  auto form = parse_form("task=first&task=second");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->size(), 1u);
  EXPECT_EQ(form->at("task"), "first");
}

TEST(ParseForm, HandlesEmptyPartsAndMissingValues) {
  auto form = parse_form("&&task=&flag&=orphan&");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->at("task"), "");
  EXPECT_EQ(form->at("flag"), "");
  EXPECT_EQ(form->at(""), "orphan");
  EXPECT_EQ(form->count("missing"), 0u);
}

TEST(ParseForm, EmptyBodyHasNoFields) {
  auto form = parse_form("");
  ASSERT_TRUE(form);
  EXPECT_TRUE(form->empty());
}

TEST(ParseForm, ValueMayContainEquals) {
  auto form = parse_form("task=a=b");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->at("task"), "a=b");
}

TEST(ParseForm, DecodedNulIsKept) {
  auto form = parse_form("task=a%00b");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->at("task"), std::string("a\0b", 3));
  EXPECT_EQ(check_todo_text(form->at("task")).problem, text_problem::control_character);
}

}  // namespace
}  // namespace todo::domain
