#include "db/error.hpp"

#include <gtest/gtest.h>

#include <system_error>

namespace {

using todo::db::errc;

TEST(DbErrorCategory, HasItsNameAndAMessagePerCode) {
  const std::error_category& category = todo::db::error_category();
  EXPECT_STREQ(category.name(), "todo.db");
  EXPECT_EQ(category.message(static_cast<int>(errc::unavailable)), "database unavailable");
  EXPECT_EQ(category.message(static_cast<int>(errc::timeout)), "database operation timed out");
  EXPECT_EQ(category.message(static_cast<int>(errc::shutting_down)), "database pool is shutting down");
  EXPECT_EQ(category.message(static_cast<int>(errc::query_failed)), "database query failed");
  EXPECT_EQ(category.message(999), "unknown database error");
}

TEST(DbErrorCategory, ErrcConvertsToErrorCode) {
  std::error_code code = errc::timeout;
  EXPECT_EQ(&code.category(), &todo::db::error_category());
  EXPECT_EQ(code.value(), static_cast<int>(errc::timeout));
  EXPECT_EQ(code, todo::db::make_error_code(errc::timeout));
  EXPECT_NE(code, todo::db::make_error_code(errc::unavailable));
}

TEST(DbError, CarriesDetailSqlstateAndTransience) {
  const todo::db::error failed(errc::query_failed, "duplicate key", "23505");
  EXPECT_EQ(failed.code_value(), errc::query_failed);
  EXPECT_EQ(failed.detail(), "duplicate key");
  EXPECT_EQ(failed.sqlstate(), "23505");
  EXPECT_FALSE(failed.is_transient());
  EXPECT_NE(std::string(failed.what()).find("duplicate key"), std::string::npos);

  EXPECT_TRUE(todo::db::error(errc::unavailable, "down").is_transient());
  EXPECT_TRUE(todo::db::error(errc::timeout, "slow").is_transient());
  EXPECT_TRUE(todo::db::error(errc::shutting_down, "bye").is_transient());
}

}  // namespace
