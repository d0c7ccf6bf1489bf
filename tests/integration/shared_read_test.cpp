// Shared list reads (DB_SHARED_READ_LIMIT) against the real todo-web and
// PostgreSQL: under concurrent reads and writes, every read still shows each
// write that was acknowledged before it was sent.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <set>
#include <thread>

namespace todo::testing {
namespace {

namespace json = boost::json;

std::set<std::string> texts_of(const json::array& todos) {
  std::set<std::string> texts;
  for (const auto& todo : todos) texts.emplace(todo.at("text").as_string());
  return texts;
}

TEST(SharedReads, ReadsShowAcknowledgedWrites) {
  reset_todos();
  // One list query at a time, so that nearly every read waits for one.
  web_process web(web_process::environment{{"DB_SHARED_READ_LIMIT", "1"}});

  constexpr int writers = 4;
  constexpr int readers = 8;
  constexpr int rounds = 25;
  std::atomic<bool> writing{true};
  std::atomic<int> missing{0};
  std::atomic<int> failed{0};
  std::atomic<int> reads{0};

  std::vector<std::thread> threads;
  for (int writer = 0; writer < writers; ++writer) {
    threads.emplace_back([&, writer] {
      for (int round = 0; round < rounds; ++round) {
        const std::string text = "w" + std::to_string(writer) + "-" + std::to_string(round);
        const auto added = web.post_json("/api/todos", json::serialize(json::object{{"text", text}}));
        if (added.status != 201) {
          ++failed;
          continue;
        }
        // Acknowledged: the next list and the next page must both show it.
        const auto listed = web.get("/api/todos");
        if (listed.status != 200) {
          ++failed;
        } else if (!texts_of(listed.json().as_array()).contains(text)) {
          ++missing;
        }
        const auto page = web.get("/");
        if (page.status != 200) {
          ++failed;
        } else if (page.body.find(">" + text + "</span>") == std::string::npos) {
          ++missing;
        }
      }
    });
  }
  // Plain readers keep the list queries busy, so the writers' reads share.
  for (int reader = 0; reader < readers; ++reader) {
    threads.emplace_back([&] {
      while (writing) {
        const auto listed = web.get("/api/todos");
        if (listed.status != 200 || !listed.json().is_array()) ++failed;
        ++reads;
      }
    });
  }
  for (int writer = 0; writer < writers; ++writer) threads[writer].join();
  writing = false;
  for (std::size_t i = writers; i < threads.size(); ++i) threads[i].join();

  EXPECT_EQ(failed, 0);
  EXPECT_EQ(missing, 0) << "a read did not show a write acknowledged before it";
  EXPECT_GT(reads, 0);
  const auto final_list = web.get("/api/todos");
  ASSERT_EQ(final_list.status, 200);
  EXPECT_EQ(final_list.json().as_array().size(), static_cast<std::size_t>(writers * rounds));

  const auto started = web.logs_where("message", "starting todo-web");
  ASSERT_FALSE(started.empty());
  EXPECT_EQ(started.front().at("db_shared_read_limit").as_int64(), 1);
}

}  // namespace
}  // namespace todo::testing
