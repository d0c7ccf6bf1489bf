// list_snapshot: the list markup and JSON made once and shared by threads.
#include "todo/list_snapshot.hpp"

#include "todo/html.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace {

using todo::domain::list_snapshot;
using todo::domain::todo_item;

std::vector<todo_item> sample_items() {
  std::vector<todo_item> items(2);
  items[0].id = 7;
  items[0].text = "buy <milk> & \"eggs\"";
  items[0].position = 1;
  items[0].created_at = "2026-01-02T03:04:05.678Z";
  items[1].id = 3;
  items[1].text = "caf\xC3\xA9";
  items[1].done = true;
  items[1].position = 2;
  items[1].created_at = "2026-01-02T03:04:06.000Z";
  return items;
}

TEST(ListSnapshot, JsonArrayKeepsItemOrder) {
  const list_snapshot snapshot(sample_items());
  const auto parsed = boost::json::parse(snapshot.json_array());
  ASSERT_TRUE(parsed.is_array());
  const auto& array = parsed.as_array();
  ASSERT_EQ(array.size(), 2u);
  EXPECT_EQ(array[0].at("id").as_int64(), 7);
  EXPECT_EQ(array[0].at("text").as_string(), "buy <milk> & \"eggs\"");
  EXPECT_EQ(array[0].at("done").as_bool(), false);
  EXPECT_EQ(array[0].at("created_at").as_string(), "2026-01-02T03:04:05.678Z");
  EXPECT_EQ(array[1].at("id").as_int64(), 3);
  EXPECT_EQ(array[1].at("text").as_string(), "caf\xC3\xA9");
  EXPECT_EQ(array[1].at("done").as_bool(), true);
}

TEST(ListSnapshot, EmptyListGivesEmptyArray) {
  const list_snapshot snapshot({});
  EXPECT_EQ(snapshot.json_array(), "[]");
}

TEST(ListSnapshot, TaskSectionMatchesPage) {
  const auto items = sample_items();
  const list_snapshot snapshot(items);
  const auto& section = snapshot.task_section_html();
  EXPECT_EQ(section, todo::domain::render_task_section(items));
  EXPECT_NE(section.find("buy &lt;milk&gt; &amp; &quot;eggs&quot;"), std::string::npos);
  EXPECT_EQ(section.find("<milk>"), std::string::npos);
  // The page built around the section is the page built from the items.
  EXPECT_EQ(todo::domain::render_index_page_around(section), todo::domain::render_index_page(items));
}

TEST(ListSnapshot, ThreadsShareRenderedStrings) {
  const list_snapshot snapshot(sample_items());
  std::vector<const std::string*> html(8), json(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < html.size(); ++i) {
    threads.emplace_back([&, i] {
      html[i] = &snapshot.task_section_html();
      json[i] = &snapshot.json_array();
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t i = 1; i < html.size(); ++i) {
    EXPECT_EQ(html[i], html[0]);
    EXPECT_EQ(json[i], json[0]);
  }
  EXPECT_FALSE(html[0]->empty());
}

}  // namespace
