#include "todo/export_csv.hpp"

#include <gtest/gtest.h>

namespace todo::domain {
namespace {

std::string field(std::string_view value) {
  std::string out;
  append_csv_field(out, value);
  return out;
}

TEST(CsvField, PlainTextIsUnchanged) {
  EXPECT_EQ(field("Buy milk"), "Buy milk");
  EXPECT_EQ(field("caf\xC3\xA9 \xE2\x9C\x93"), "caf\xC3\xA9 \xE2\x9C\x93");
  EXPECT_EQ(field("a=b"), "a=b");
  EXPECT_EQ(field(""), "");
}

TEST(CsvField, QuotesSpecialCharacters) {
  EXPECT_EQ(field("a,b"), "\"a,b\"");
  EXPECT_EQ(field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(field("cr\rinside"), "\"cr\rinside\"");
}

TEST(CsvField, NeutralizesFormulas) {
  EXPECT_EQ(field("=SUM(A1:A2)"), "\"'=SUM(A1:A2)\"");
  EXPECT_EQ(field("+1"), "\"'+1\"");
  EXPECT_EQ(field("-2"), "\"'-2\"");
  EXPECT_EQ(field("@cmd"), "\"'@cmd\"");
  EXPECT_EQ(field("\tindent"), "\"'\tindent\"");
  EXPECT_EQ(field("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
}

TEST(CsvRow, WritesAllColumnsWithCrlf) {
  std::string out;
  append_csv_row(out, todo_item{42, "a, \"b\"", true, 3, "2026-12-04T19:46:10.123Z"});
  EXPECT_EQ(out, "42,\"a, \"\"b\"\"\",true,3,2026-12-04T19:46:10.123Z\r\n");
}

TEST(CsvHeader, NamesTheColumns) { EXPECT_EQ(csv_header, "id,text,done,position,created_at\r\n"); }

}  // namespace
}  // namespace todo::domain
