#include "todo/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace todo::domain {
namespace {

// Decodes text that must be valid and returns its single code point.
char32_t single_code_point(const std::string& text) {
  auto decoded = decode_utf8(text);
  EXPECT_TRUE(decoded.has_value()) << testing::PrintToString(text);
  if (!decoded || decoded->size() != 1) return 0xFFFFFFFF;
  EXPECT_EQ((*decoded)[0].length, text.size());
  return (*decoded)[0].value;
}

TEST(DecodeUtf8, DecodesEachLengthBoundary) {
  EXPECT_EQ(single_code_point("\x7F"), 0x7Fu);
  EXPECT_EQ(single_code_point("\xC2\x80"), 0x80u);
  EXPECT_EQ(single_code_point("\xDF\xBF"), 0x7FFu);
  EXPECT_EQ(single_code_point("\xE0\xA0\x80"), 0x800u);
  EXPECT_EQ(single_code_point("\xED\x9F\xBF"), 0xD7FFu);
  EXPECT_EQ(single_code_point("\xEE\x80\x80"), 0xE000u);
  EXPECT_EQ(single_code_point("\xEF\xBF\xBF"), 0xFFFFu);
  EXPECT_EQ(single_code_point("\xF0\x90\x80\x80"), 0x10000u);
  EXPECT_EQ(single_code_point("\xF4\x8F\xBF\xBF"), 0x10FFFFu);
}

TEST(DecodeUtf8, RecordsOffsets) {
  auto decoded = decode_utf8("a\xC3\xA9\xF0\x9F\x98\x80z");
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->size(), 4u);
  EXPECT_EQ((*decoded)[1].offset, 1u);
  EXPECT_EQ((*decoded)[1].length, 2u);
  EXPECT_EQ((*decoded)[2].offset, 3u);
  EXPECT_EQ((*decoded)[2].value, 0x1F600u);
  EXPECT_EQ((*decoded)[3].offset, 7u);
}

TEST(DecodeUtf8, EmptyInputIsValid) {
  auto decoded = decode_utf8("");
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->empty());
}

TEST(DecodeUtf8, RejectsMalformedSequences) {
  for (std::string text : {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x9F\xBF", "\xF0\x8F\xBF\xBF",
                           "\xED\xA0\x80", "\xED\xB0\x80", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFE", "\xFF",
                           "\xC2", "\xE2\x82", "\xF0\x9F\x98", "\xC2\xC2\x80", "\xE2\x28\xA1"}) {
    EXPECT_EQ(decode_utf8(text), std::nullopt) << testing::PrintToString(text);
  }
}

TEST(DecodeUtf8, RejectsSurrogatePairEncodedAsUtf8) {
  // CESU-8 style: U+1F600 written as two three-byte surrogates.
  EXPECT_EQ(decode_utf8("\xED\xA0\xBD\xED\xB8\x80"), std::nullopt);
}

TEST(CharacterClasses, WhiteSpaceAndControls) {
  EXPECT_TRUE(is_unicode_white_space(U' '));
  EXPECT_TRUE(is_unicode_white_space(U'\t'));
  EXPECT_TRUE(is_unicode_white_space(0x85));
  EXPECT_TRUE(is_unicode_white_space(0x3000));
  EXPECT_FALSE(is_unicode_white_space(0x200B));  // zero width space has no White_Space property
  EXPECT_FALSE(is_unicode_white_space(U'a'));

  EXPECT_TRUE(is_control_character(0x00));
  EXPECT_TRUE(is_control_character(0x1F));
  EXPECT_TRUE(is_control_character(0x7F));
  EXPECT_TRUE(is_control_character(0x80));
  EXPECT_TRUE(is_control_character(0x9F));
  EXPECT_FALSE(is_control_character(0x20));
  EXPECT_FALSE(is_control_character(0xA0));
  EXPECT_FALSE(is_control_character(0x2028));
}

}  // namespace
}  // namespace todo::domain
