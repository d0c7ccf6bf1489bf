#include "db/query_span.hpp"

#include "obs/span_recorder.hpp"

#include "db/connection.hpp"
#include "db/pool.hpp"
#include "db_test_support.hpp"

#include <gtest/gtest.h>


namespace todo::db {
namespace {

namespace asio = boost::asio;

std::string text_attribute(const obs::span& item, std::string_view key) {
  for (const auto& entry : item.attributes) {
    if (entry.key == key) return std::get<std::string>(entry.value);
  }
  return "(missing)";
}

std::int64_t integer_attribute(const obs::span& item, std::string_view key) {
  for (const auto& entry : item.attributes) {
    if (entry.key == key) return std::get<std::int64_t>(entry.value);
  }
  return -1;
}

TEST(QuerySpan, OperationIsTheFirstKeyword) {
  EXPECT_EQ(operation_name("SELECT id FROM todos"), "SELECT");
  EXPECT_EQ(operation_name("  \n insert into todos (text) VALUES ($1)"), "INSERT");
  EXPECT_EQ(operation_name("-- why\nUPDATE todos SET done = true"), "UPDATE");
  EXPECT_EQ(operation_name("BEGIN"), "BEGIN");
  EXPECT_EQ(operation_name("(SELECT 1)"), "SELECT");
  EXPECT_EQ(operation_name(""), "");
  EXPECT_EQ(operation_name("$1"), "");
}

TEST(QuerySpan, CollectionIsTheTableOfSimpleStatements) {
  EXPECT_EQ(collection_name("SELECT id, text FROM todos WHERE id = $1"), "todos");
  EXPECT_EQ(collection_name("SELECT to_char(created_at, 'YYYY FROM x') FROM todos"), "todos");
  EXPECT_EQ(collection_name("INSERT INTO export_jobs (id) VALUES ($1)"), "export_jobs");
  EXPECT_EQ(collection_name("UPDATE todos AS t SET position = 1"), "todos");
  EXPECT_EQ(collection_name("DELETE FROM export_chunks WHERE job_id = $1"), "export_chunks");
  EXPECT_EQ(collection_name("SELECT * FROM (SELECT 1) AS sub"), "");
  EXPECT_EQ(collection_name("SELECT pg_advisory_xact_lock(1)"), "");
  EXPECT_EQ(collection_name("SELECT n FROM generate_series(1, 3) AS n"), "");
  EXPECT_EQ(collection_name("UPDATE todos AS t SET position = o.n FROM unnest($1::bigint[]) AS o(id)"), "todos");
  EXPECT_EQ(collection_name("BEGIN"), "");
}

class QuerySpanOnServer : public todo_test::pg_test {};

TEST_F(QuerySpanOnServer, StatementsUnderAParentBecomeClientSpansWithoutValues) {
  auto processor = std::make_shared<obs::span_recorder>();
  obs::tracer tracer(obs::sampler{obs::sampler_kind::always_on, 1.0}, processor);

  auto database = pool::create(io.get_executor(), pool_options{url, 2, std::chrono::milliseconds(5000)});
  const auto database_name = todo_test::run(io, [&]() -> asio::awaitable<std::string> {
    auto rows = co_await database->query("SELECT current_database()");
    co_return std::string(rows.text(0, 0));
  }());
  auto root = tracer.start_span("GET /", obs::span_kind::server, std::nullopt);
  const auto parent = root.as_parent();

  todo_test::run(io, [&]() -> asio::awaitable<void> {
        const params secret{"s3cret-value"};
        const params no_values;
        co_await database->query("SELECT $1::text AS echoed FROM generate_series(1, 3)", secret, parent);
        co_await with_transaction(*database, parent, [](connection& conn) -> asio::awaitable<void> {
          const params none;
          co_await conn.query("SELECT 1", none, std::chrono::milliseconds(5000));
        });
        co_await database->query("SELECT 2");  // no parent: no span
        bool failed = false;
        try {
          co_await database->query("SELECT * FROM no_such_table_here", no_values, parent);
        } catch (const error&) {
          failed = true;
        }
        EXPECT_TRUE(failed);
  }());
  database->close();
  root.end();

  const auto spans = processor->spans();
  ASSERT_EQ(spans.size(), 6u) << "SELECT, BEGIN, SELECT, COMMIT, failing SELECT, then the root";
  const auto& select = spans[0];
  EXPECT_EQ(select.name, "SELECT");
  EXPECT_EQ(select.kind, obs::span_kind::client);
  EXPECT_EQ(select.context.trace_id, root.context().trace_id);
  EXPECT_EQ(*select.parent_span_id, root.context().span_id);
  EXPECT_EQ(text_attribute(select, "db.system"), "postgresql");
  EXPECT_EQ(text_attribute(select, "db.namespace"), database_name);
  EXPECT_EQ(text_attribute(select, "db.operation.name"), "SELECT");
  EXPECT_EQ(text_attribute(select, "db.query.text"), "SELECT $1::text AS echoed FROM generate_series(1, 3)");
  EXPECT_EQ(text_attribute(select, "server.address"), "127.0.0.1");
  EXPECT_GT(integer_attribute(select, "server.port"), 0);
  EXPECT_EQ(integer_attribute(select, "db.response.returned_rows"), 3);
  for (const auto& entry : select.attributes) {
    if (const auto* text = std::get_if<std::string>(&entry.value)) {
      EXPECT_EQ(text->find("s3cret"), std::string::npos) << entry.key << " carries a parameter value";
    }
  }

  EXPECT_EQ(spans[1].name, "BEGIN");
  EXPECT_EQ(spans[2].name, "SELECT");
  EXPECT_EQ(spans[3].name, "COMMIT");

  const auto& failure = spans[4];
  EXPECT_EQ(failure.name, "SELECT no_such_table_here");
  EXPECT_EQ(text_attribute(failure, "db.collection.name"), "no_such_table_here");
  EXPECT_EQ(failure.status.code, obs::span_status_code::error);
  EXPECT_EQ(text_attribute(failure, "error.type"), "42P01");
  EXPECT_EQ(text_attribute(failure, "db.response.status_code"), "42P01");
}

}  // namespace
}  // namespace todo::db
