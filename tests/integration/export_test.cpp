// Background exports through the real todo-web, todo-worker, PostgreSQL and
// Redis: results, failures, retries, dead workers and a Redis outage.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <csignal>
#include <cstdio>
#include <memory>

namespace todo::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Splits RFC 4180 CSV into records of fields.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      record.push_back(std::move(field));
      field.clear();
      records.push_back(std::move(record));
      record.clear();
      ++i;
    } else {
      field += c;
    }
  }
  EXPECT_TRUE(field.empty()) << "CSV does not end with CRLF";
  EXPECT_TRUE(record.empty()) << "CSV does not end with CRLF";
  return records;
}

std::string start_export(const web_process& web, const std::string& body = {}) {
  auto response = body.empty() ? web.request("POST", "/export") : web.post_json("/export", body);
  EXPECT_EQ(response.status, 202) << response.body;
  if (response.status != 202) return {};
  const std::string id(response.json().at("task_id").as_string());
  EXPECT_EQ(response.header("Location"), "/tasks/" + id);
  return id;
}

// Polls /tasks/<id> until the job is ready (SUCCESS or FAILURE) or `timeout` passes.
json::object wait_until_ready(const web_process& web, const std::string& id, std::chrono::seconds timeout = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  json::object body;
  while (std::chrono::steady_clock::now() < deadline) {
    auto response = web.get("/tasks/" + id);
    EXPECT_EQ(response.status, 200) << response.body;
    body = response.json().as_object();
    if (body.at("ready").as_bool()) return body;
    std::this_thread::sleep_for(50ms);  // polling the job the way clients do
  }
  ADD_FAILURE() << "job " << id << " not ready after " << timeout.count() << " s: " << json::serialize(body);
  return body;
}

std::string scalar(const std::string& sql) {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  auto values = session.column(sql);
  return values.empty() ? std::string() : values.front();
}

// Lines of `process` whose message is `message` and whose job_id is `id`.
std::size_t count_job_logs(const web_process& process, const std::string& message, const std::string& id) {
  std::size_t count = 0;
  for (const auto& line : process.logs_where("job_id", id)) {
    if (line.at("message").as_string() == message) ++count;
  }
  return count;
}

// Counts like count_job_logs, after waiting up to 10 s for at least
// `expected` lines: the worker logs an outcome just after committing it, so
// the line can trail the state that clients poll.
std::size_t wait_for_job_logs(const web_process& process, const std::string& message, const std::string& id,
                              std::size_t expected) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (count_job_logs(process, message, id) < expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // the writer thread flushes asynchronously
  }
  return count_job_logs(process, message, id);
}

void insert_many_todos(int count) {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  session.exec("INSERT INTO todos (text, position) SELECT 'bulk item ' || n, n FROM generate_series(1, " +
               std::to_string(count) + ") AS n");
}

// Runs redis-cli against the test Redis and returns its output.
std::string redis_cli(const std::string& arguments) {
  const std::string command = "redis-cli -u '" + required_env("TODO_TEST_REDIS_URL") + "' " + arguments;
  std::string output;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
    ::pclose(pipe);
  }
  return output;
}

class ExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { worker_ = start_worker().release(); }
  static void TearDownTestSuite() {
    EXPECT_EQ(worker_->stop(SIGTERM), 0);
    delete worker_;
    worker_ = nullptr;
  }
  void SetUp() override { reset_todos(); }

  web_process& web = shared_web();
  static web_process* worker_;
};

web_process* ExportTest::worker_ = nullptr;

TEST_F(ExportTest, CsvRowsEqualTable) {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  session.exec("INSERT INTO todos (text, done, position) VALUES "
               "('plain', false, 1), ('a, \"quoted\" one', true, 2), (E'two\\nlines', false, 3), "
               "('caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80', false, 4), ('=HYPERLINK(\"http://x\")', false, 5), "
               "('+1', false, 6), ('-2', true, 7), ('@SUM(A1)', false, 8)");

  const auto id = start_export(web);
  auto status = wait_until_ready(web, id);
  EXPECT_EQ(status.at("state").as_string(), "SUCCESS");
  EXPECT_EQ(status.at("successful").as_bool(), true);
  EXPECT_EQ(status.at("info").as_int64(), 8);

  auto download = web.get("/download/" + id);
  ASSERT_EQ(download.status, 200);
  EXPECT_EQ(download.header("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(download.header("Content-Disposition"), "attachment; filename=\"todos_" + id + ".csv\"");

  auto records = parse_csv(download.body);
  ASSERT_EQ(records.size(), 9u);
  EXPECT_EQ(records[0], (std::vector<std::string>{"id", "text", "done", "position", "created_at"}));

  auto ids = session.column("SELECT id FROM todos ORDER BY position");
  auto texts = session.column("SELECT text FROM todos ORDER BY position");
  auto done = session.column("SELECT done FROM todos ORDER BY position");
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto& record = records[i + 1];
    ASSERT_EQ(record.size(), 5u);
    EXPECT_EQ(record[0], ids[i]);
    const char first = texts[i].front();
    const bool formula = first == '=' || first == '+' || first == '-' || first == '@';
    EXPECT_EQ(record[1], formula ? "'" + texts[i] : texts[i]) << "row " << i;
    EXPECT_EQ(record[2], done[i] == "t" ? "true" : "false");
    EXPECT_EQ(record[3], std::to_string(i + 1));
    EXPECT_EQ(record[4].back(), 'Z');
  }
  EXPECT_EQ(wait_for_job_logs(*worker_, "job succeeded", id, 1), 1u);
}

TEST_F(ExportTest, FiltersSelectDoneState) {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  session.exec("INSERT INTO todos (text, done, position) VALUES ('open one', false, 1), ('finished', true, 2), "
               "('open two', false, 3)");

  const auto done_id = start_export(web, R"({"filters": {"done": true}})");
  const auto open_id = start_export(web, R"({"filters": {"done": false}})");
  EXPECT_EQ(wait_until_ready(web, done_id).at("info").as_int64(), 1);
  EXPECT_EQ(wait_until_ready(web, open_id).at("info").as_int64(), 2);

  auto done_rows = parse_csv(web.get("/download/" + done_id).body);
  ASSERT_EQ(done_rows.size(), 2u);
  EXPECT_EQ(done_rows[1][1], "finished");
  auto open_rows = parse_csv(web.get("/download/" + open_id).body);
  ASSERT_EQ(open_rows.size(), 3u);
  EXPECT_EQ(open_rows[1][1], "open one");
  EXPECT_EQ(open_rows[2][1], "open two");
}

TEST_F(ExportTest, FormExportShowsLinkOnPage) {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  session.exec("INSERT INTO todos (text, done, position) VALUES ('page export', true, 1), ('not me', false, 2)");

  auto response = web.post_form("/export", "done=true", {{"Accept", "text/html"}});
  ASSERT_EQ(response.status, 303) << response.body;
  const auto location = response.header("Location");
  ASSERT_EQ(location.rfind("/?export=", 0), 0u) << location;
  const auto id = location.substr(std::string("/?export=").size());
  EXPECT_EQ(wait_until_ready(web, id).at("info").as_int64(), 1);

  auto page = web.get(location);
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("href=\"/download/" + id + "\""), std::string::npos);
  EXPECT_NE(page.body.find("Download CSV (1 task)"), std::string::npos);
  EXPECT_EQ(web.post_form("/export", "done=maybe").status, 400);
  EXPECT_EQ(web.get("/?export=not-a-uuid").status, 200);
}

TEST_F(ExportTest, InvalidRequestsAreRejected) {
  EXPECT_EQ(web.post_json("/export", R"({"filters": {"done": "yes"}})").status, 400);
  EXPECT_EQ(web.post_json("/export", R"({"filters": {"owner": 1}})").status, 400);
  EXPECT_EQ(web.post_json("/export", R"({"filters": [true]})").status, 400);
  EXPECT_EQ(web.post_json("/export", R"({"done": true})").status, 400);
  EXPECT_EQ(web.post_json("/export", R"({"filter": {"done": true}})").status, 400);
  EXPECT_EQ(web.post_json("/export", "{not json").status, 400);
  EXPECT_EQ(web.request("POST", "/export", R"({"filters": {}})", {{"Content-Type", "text/plain"}}).status, 415);
  EXPECT_EQ(web.get("/export").status, 405);

  for (const std::string bad : {"not-a-uuid", "00000000-0000-0000-0000-000000000000", "%27%3B--",
                                "401e0891-0cae-461a-acce-1a5ea796108"}) {
    EXPECT_EQ(web.get("/tasks/" + bad).status, 404) << bad;
    EXPECT_EQ(web.get("/download/" + bad).status, 404) << bad;
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM export_jobs WHERE state = 'PENDING' AND filters ? 'owner'"), "0");
}

TEST_F(ExportTest, BackgroundHealthCountsWorkers) {
  auto response = web.get("/healthz/background");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.json().at("redis").as_string(), "ok");
  EXPECT_GE(response.json().at("workers").as_int64(), 1);

  // Database 7 of the same Redis has no worker heartbeats.
  std::string url = required_env("TODO_TEST_REDIS_URL");
  url.replace(url.rfind('/'), std::string::npos, "/7");
  web_process lonely(web_process::environment{{"REDIS_URL", url}});
  auto without = lonely.get("/healthz/background");
  EXPECT_EQ(without.status, 503);
  EXPECT_EQ(without.json().at("redis").as_string(), "ok");
  EXPECT_EQ(without.json().at("workers").as_int64(), 0);
}

// Tests that start and kill their own workers, so no shared worker runs.
class WorkerFaultTest : public ::testing::Test {
 protected:
  void SetUp() override { reset_todos(); }
  web_process& web = shared_web();
};

TEST_F(WorkerFaultTest, DownloadBeforeFinishIs409) {
  const auto id = start_export(web);
  auto status = web.get("/tasks/" + id);
  EXPECT_EQ(status.json().at("state").as_string(), "PENDING");
  EXPECT_EQ(status.json().at("ready").as_bool(), false);
  EXPECT_EQ(web.get("/download/" + id).status, 409);

  auto worker = start_worker();
  EXPECT_EQ(wait_until_ready(web, id).at("state").as_string(), "SUCCESS");
  EXPECT_EQ(worker->stop(SIGTERM), 0);
}

TEST_F(WorkerFaultTest, KilledWorkerJobFinishesOnce) {
  insert_many_todos(200000);
  auto doomed = start_worker({{"EXPORT_BATCH_ROWS", "100"}, {"WORKER_CONCURRENCY", "1"}});
  const auto id = start_export(web);
  ASSERT_TRUE(doomed->wait_for_log("job received", 20s));
  std::this_thread::sleep_for(300ms);  // let the export get under way before the kill
  doomed->stop(SIGKILL);
  EXPECT_EQ(scalar("SELECT state FROM export_jobs WHERE id = '" + id + "'"), "STARTED");

  auto rescuer = start_worker({{"WORKER_CONCURRENCY", "1"}});
  auto status = wait_until_ready(web, id, 90s);
  EXPECT_EQ(status.at("state").as_string(), "SUCCESS");
  EXPECT_EQ(status.at("info").as_int64(), 200000);
  EXPECT_EQ(scalar("SELECT attempts FROM export_jobs WHERE id = '" + id + "'"), "2");
  EXPECT_EQ(wait_for_job_logs(*rescuer, "job succeeded", id, 1), 1u);
  EXPECT_EQ(count_job_logs(*doomed, "job succeeded", id), 0u);

  auto download = web.get("/download/" + id);
  ASSERT_EQ(download.status, 200);
  EXPECT_EQ(parse_csv(download.body).size(), 200001u);
  EXPECT_EQ(rescuer->stop(SIGTERM), 0);
}

TEST_F(WorkerFaultTest, TwoWorkersRunEachJobOnce) {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  session.exec("INSERT INTO todos (text, position) VALUES ('shared', 1)");
  auto first = start_worker();
  auto second = start_worker();

  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(start_export(web));
  for (const auto& id : ids) EXPECT_EQ(wait_until_ready(web, id).at("state").as_string(), "SUCCESS");

  // Stopping both workers flushes every log line they wrote.
  EXPECT_EQ(first->stop(SIGTERM), 0);
  EXPECT_EQ(second->stop(SIGTERM), 0);
  std::size_t by_first = 0;
  for (const auto& id : ids) {
    const auto successes = count_job_logs(*first, "job succeeded", id) + count_job_logs(*second, "job succeeded", id);
    EXPECT_EQ(successes, 1u) << id;
    by_first += count_job_logs(*first, "job succeeded", id);
    EXPECT_EQ(scalar("SELECT attempts FROM export_jobs WHERE id = '" + id + "'"), "1");
  }
  EXPECT_EQ(scalar("SELECT count(DISTINCT job_id) FROM export_chunks WHERE job_id IN (SELECT id FROM export_jobs "
                   "WHERE state = 'SUCCESS')") != "0",
            true);
  std::cout << "first worker ran " << by_first << " of " << ids.size() << " jobs\n";
}

TEST_F(WorkerFaultTest, FailingJobRetriesThenDeadLetters) {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  session.exec("INSERT INTO todos (text, position) VALUES ('x', 1)");
  // Every chunk insert now fails, so every run of the export fails.
  session.exec("ALTER TABLE export_chunks ADD CONSTRAINT test_reject_chunks CHECK (false) NOT VALID");
  auto worker = start_worker({{"JOB_MAX_ATTEMPTS", "3"}, {"JOB_RETRY_BASE_MS", "50"}});

  const auto id = start_export(web);
  auto status = wait_until_ready(web, id);
  session.exec("ALTER TABLE export_chunks DROP CONSTRAINT test_reject_chunks");

  EXPECT_EQ(status.at("state").as_string(), "FAILURE");
  EXPECT_EQ(status.at("successful").as_bool(), false);
  EXPECT_NE(std::string(status.at("info").as_string()).find("test_reject_chunks"), std::string::npos)
      << json::serialize(status);
  EXPECT_EQ(scalar("SELECT attempts FROM export_jobs WHERE id = '" + id + "'"), "3");
  EXPECT_EQ(wait_for_job_logs(*worker, "job failed permanently, moved to the dead-letter stream", id, 1), 1u);
  EXPECT_EQ(count_job_logs(*worker, "job failed, retrying", id), 2u);
  EXPECT_NE(redis_cli("XRANGE todo:jobs:dead - +").find(id), std::string::npos);
  EXPECT_EQ(web.get("/download/" + id).status, 409);
  EXPECT_EQ(worker->stop(SIGTERM), 0);
}

TEST_F(WorkerFaultTest, LostMessageIsPublishedAgain) {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  session.exec("INSERT INTO todos (text, position) VALUES ('orphan', 1)");
  // A job row committed by a web process that died before it published the message.
  const std::string id = session
                             .column("INSERT INTO export_jobs (id, published_at) "
                                     "VALUES (gen_random_uuid(), now() - interval '1 hour') RETURNING id")
                             .at(0);

  auto worker = start_worker({{"JOB_REPUBLISH_AFTER_S", "1"}});
  auto status = wait_until_ready(web, id);
  EXPECT_EQ(status.at("state").as_string(), "SUCCESS");
  EXPECT_EQ(status.at("info").as_int64(), 1);
  EXPECT_EQ(wait_for_job_logs(*worker, "published an unfinished job again because its message may be lost", id, 1), 1u);
  EXPECT_EQ(worker->stop(SIGTERM), 0);
}

TEST_F(WorkerFaultTest, StartedJobWithLostMessageFinishes) {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  session.exec("INSERT INTO todos (text, position) VALUES ('stranded', 1)");
  // A worker died mid-run and Redis then lost the message: the row is STARTED
  // with nothing on the stream.
  const std::string id =
      session
          .column("INSERT INTO export_jobs (id, state, attempts, published_at) "
                  "VALUES (gen_random_uuid(), 'STARTED', 1, now() - interval '1 hour') RETURNING id")
          .at(0);

  auto worker = start_worker({{"JOB_REPUBLISH_AFTER_S", "1"}});
  auto status = wait_until_ready(web, id);
  EXPECT_EQ(status.at("state").as_string(), "SUCCESS");
  EXPECT_EQ(scalar("SELECT attempts FROM export_jobs WHERE id = '" + id + "'"), "2");
  EXPECT_EQ(worker->stop(SIGTERM), 0);
}

TEST_F(WorkerFaultTest, SigtermFinishesRunningJob) {
  insert_many_todos(100000);
  auto worker = start_worker({{"EXPORT_BATCH_ROWS", "100"}, {"SHUTDOWN_TIMEOUT_S", "60"}, {"WORKER_CONCURRENCY", "1"}});
  const auto id = start_export(web);
  ASSERT_TRUE(worker->wait_for_log("job received", 20s));

  EXPECT_EQ(worker->stop(SIGTERM, 90s), 0);
  EXPECT_EQ(count_job_logs(*worker, "job succeeded", id), 1u);
  EXPECT_EQ(scalar("SELECT state FROM export_jobs WHERE id = '" + id + "'"), "SUCCESS");
  EXPECT_TRUE(worker->wait_for_log("todo-worker stopped", 1s));
}

TEST_F(WorkerFaultTest, RedisOutageFailsFastAndRecovers) {
  sql_session session(required_env("TODO_TEST_APP_DATABASE_URL"));
  session.exec("INSERT INTO todos (text, position) VALUES ('before outage', 1)");
  auto worker = start_worker();
  const auto before = start_export(web);
  EXPECT_EQ(wait_until_ready(web, before).at("state").as_string(), "SUCCESS");

  run_env_command("TODO_TEST_REDIS_STOP");
  for (int i = 0; i < 3; ++i) {
    auto response = web.request("POST", "/export");
    EXPECT_EQ(response.status, 503) << response.body;
    EXPECT_FALSE(response.header("Retry-After").empty());
  }
  EXPECT_EQ(web.get("/").status, 200);
  EXPECT_EQ(web.get("/api/todos").status, 200);
  auto background = web.get("/healthz/background");
  EXPECT_EQ(background.status, 503);
  EXPECT_EQ(background.json().at("redis").as_string(), "unavailable");
  EXPECT_EQ(scalar("SELECT count(*) FROM export_jobs WHERE state = 'PENDING'"), "0");

  run_env_command("TODO_TEST_REDIS_START");
  std::string after;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (after.empty() && std::chrono::steady_clock::now() < deadline) {
    auto response = web.request("POST", "/export");
    if (response.status == 202) after = std::string(response.json().at("task_id").as_string());
    else std::this_thread::sleep_for(200ms);  // the web's Redis client reconnects in the background
  }
  ASSERT_FALSE(after.empty()) << "POST /export did not recover within 30 s";
  EXPECT_EQ(wait_until_ready(web, after).at("state").as_string(), "SUCCESS");
  EXPECT_EQ(worker->stop(SIGTERM), 0);
}

}  // namespace
}  // namespace todo::testing
