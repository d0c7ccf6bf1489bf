// result accessors on PGresults built in memory: no server needed.
#include "db/error.hpp"
#include "db/result.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

using todo::db::errc;

// A one-row text result whose columns hold `values` (nullopt = NULL).
todo::db::result make_row(const std::vector<std::optional<std::string>>& values) {
  PGresult* raw = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
  std::vector<PGresAttDesc> columns(values.size());
  std::vector<std::string> names;
  for (std::size_t i = 0; i < values.size(); ++i) names.push_back(std::string(1, static_cast<char>('a' + i)));
  for (std::size_t i = 0; i < values.size(); ++i) {
    columns[i] = PGresAttDesc{};
    columns[i].name = names[i].data();
    columns[i].format = 0;
    columns[i].typid = 25;  // text
    columns[i].typlen = -1;
    columns[i].atttypmod = -1;
  }
  EXPECT_TRUE(PQsetResultAttrs(raw, static_cast<int>(columns.size()), columns.data()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i]) {
      EXPECT_TRUE(PQsetvalue(raw, 0, static_cast<int>(i), const_cast<char*>(values[i]->data()),
                             static_cast<int>(values[i]->size())));
    } else {
      EXPECT_TRUE(PQsetvalue(raw, 0, static_cast<int>(i), nullptr, -1));
    }
  }
  return todo::db::result(raw);
}

template <typename F>
void expect_query_failed(F&& f) {
  try {
    f();
    ADD_FAILURE() << "expected db::error query_failed";
  } catch (const todo::db::error& e) {
    EXPECT_EQ(e.code_value(), errc::query_failed) << e.what();
  }
}

TEST(DbResult, EmptyResultHasNoRowsAndNoAffectedRows) {
  todo::db::result empty;
  EXPECT_EQ(empty.rows(), 0);
  EXPECT_EQ(empty.columns(), 0);
  EXPECT_EQ(empty.affected_rows(), 0);
  expect_query_failed([&] { (void)empty.text(0, 0); });

  todo::db::result command(PQmakeEmptyPGresult(nullptr, PGRES_COMMAND_OK));
  EXPECT_EQ(command.affected_rows(), 0);
}

TEST(DbResult, ReadsTextIntegersBooleansAndNulls) {
  auto row = make_row({"hello", "42", "-9223372036854775808", "t", "f", std::nullopt, ""});
  ASSERT_EQ(row.rows(), 1);
  ASSERT_EQ(row.columns(), 7);
  EXPECT_EQ(row.text(0, 0), "hello");
  EXPECT_EQ(row.integer(0, 1), 42);
  EXPECT_EQ(row.integer(0, 2), INT64_MIN);
  EXPECT_TRUE(row.boolean(0, 3));
  EXPECT_FALSE(row.boolean(0, 4));
  EXPECT_TRUE(row.is_null(0, 5));
  EXPECT_FALSE(row.is_null(0, 6));
  EXPECT_EQ(row.text(0, 6), "");
}

TEST(DbResult, TextKeepsEmbeddedLength) {
  auto row = make_row({std::string("a,b")});
  EXPECT_EQ(row.text(0, 0).size(), 3u);
}

TEST(DbResult, BadIntegersThrowQueryFailed) {
  auto row = make_row({"12x", "", " 1", "99999999999999999999", "1.5", std::nullopt, "+1"});
  for (int column = 0; column < row.columns(); ++column) {
    expect_query_failed([&] { (void)row.integer(0, column); });
  }
}

TEST(DbResult, BadBooleansThrowQueryFailed) {
  auto row = make_row({"true", "1", "", std::nullopt, "T"});
  for (int column = 0; column < row.columns(); ++column) {
    expect_query_failed([&] { (void)row.boolean(0, column); });
  }
}

TEST(DbResult, OutOfRangeFieldsThrowQueryFailed) {
  auto row = make_row({"1"});
  expect_query_failed([&] { (void)row.text(1, 0); });
  expect_query_failed([&] { (void)row.text(0, 1); });
  expect_query_failed([&] { (void)row.integer(-1, 0); });
}

TEST(DbResult, CopiesShareTheResult) {
  auto row = make_row({"7"});
  todo::db::result copy = row;
  row = todo::db::result();
  EXPECT_EQ(copy.integer(0, 0), 7);
}

}  // namespace
