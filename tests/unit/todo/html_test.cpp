#include "todo/html.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace todo::domain {
namespace {

todo_item make_item(std::int64_t id, std::string text, bool done = false) {
  todo_item item;
  item.id = id;
  item.text = std::move(text);
  item.done = done;
  item.position = id;
  item.created_at = "2024-01-02T03:04:05.678Z";
  return item;
}

// Every markup tag of the page, from '<' to '>', with the text of quoted
// attribute values removed. Escaped user text contains neither '<' nor '"',
// so what is left are the page's own tag and attribute names.
std::vector<std::string> tags_of(const std::string& page) {
  std::vector<std::string> tags;
  std::size_t start = page.find('<');
  while (start != std::string::npos) {
    const std::size_t end = page.find('>', start);
    if (end == std::string::npos) break;
    tags.push_back(std::regex_replace(page.substr(start, end - start + 1), std::regex("\"[^\"]*\""), "\"\""));
    start = page.find('<', end);
  }
  return tags;
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++count;
  return count;
}

std::string escaped(std::string_view text) {
  std::string out;
  append_html_escaped(out, text);
  return out;
}

// ---- append_html_escaped ------------------------------------------------------

TEST(AppendHtmlEscaped, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(escaped("<"), "&lt;");
  EXPECT_EQ(escaped(">"), "&gt;");
  EXPECT_EQ(escaped("&"), "&amp;");
  EXPECT_EQ(escaped("\""), "&quot;");
  EXPECT_EQ(escaped("'"), "&#39;");
  EXPECT_EQ(escaped("a <b> & \"c\" 'd'"), "a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;");
}

TEST(AppendHtmlEscaped, LeavesOtherTextUnchanged) {
  const std::string text = "plain caf\xC3\xA9 \xF0\x9F\x98\x80 / = ` \\";
  EXPECT_EQ(escaped(text), text);
  EXPECT_EQ(escaped(""), "");
}

TEST(AppendHtmlEscaped, EscapesAmpersandOfExistingEntities) {
  EXPECT_EQ(escaped("&lt;"), "&amp;lt;");
}

TEST(AppendHtmlEscaped, AppendsToExistingContent) {
  std::string out = "x=";
  append_html_escaped(out, "<");
  EXPECT_EQ(out, "x=&lt;");
}

// ---- render_index_page ------------------------------------------------------------

TEST(RenderIndexPage, AddFieldChecksTextInTheBrowser) {
  const auto page = render_index_page({});
  EXPECT_NE(page.find("<input id=\"new-task\" name=\"task\" type=\"text\" required maxlength=\"500\" "
                      "pattern=\".*\\S.*\""),
            std::string::npos);
}

TEST(RenderIndexPage, HasDocumentHead) {
  const auto page = render_index_page({});
  EXPECT_EQ(page.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(page.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(page.find("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"), std::string::npos);
  EXPECT_NE(page.find("<header"), std::string::npos);
  EXPECT_NE(page.find("<main>"), std::string::npos);
}

TEST(RenderIndexPage, AssetLinksCarryContentVersion) {
  const auto page = render_index_page({});
  std::smatch css;
  std::smatch icon;
  std::smatch js;
  ASSERT_TRUE(std::regex_search(page, css, std::regex(R"re(<link rel="stylesheet" href="/static/app\.css\?v=([0-9a-f]{12})">)re")));
  ASSERT_TRUE(std::regex_search(page, icon, std::regex(R"re(<link rel="icon" href="/static/favicon\.svg\?v=([0-9a-f]{12})")re")));
  ASSERT_TRUE(std::regex_search(page, js, std::regex(R"re(<script src="/static/app\.js\?v=([0-9a-f]{12})" defer></script>)re")));
  EXPECT_EQ(css[1], js[1]);
  EXPECT_EQ(css[1], icon[1]);
}

TEST(RenderIndexPage, HasAddFormWithLabel) {
  const auto page = render_index_page({});
  EXPECT_NE(page.find("<form class=\"add-form\" method=\"post\" action=\"/add\">"), std::string::npos);
  EXPECT_NE(page.find("<label for=\"new-task\">"), std::string::npos);
  EXPECT_NE(page.find("id=\"new-task\" name=\"task\""), std::string::npos);
}

TEST(RenderIndexPage, EmptyListShowsEmptyState) {
  const auto page = render_index_page({});
  EXPECT_NE(page.find("<p id=\"empty-state\" class=\"empty\">"), std::string::npos);
  EXPECT_NE(page.find("<p id=\"task-count\" class=\"task-count\" hidden>"), std::string::npos);
  // The only item is the one inside the template.
  EXPECT_EQ(count_of(page, "<li "), 1u);
  EXPECT_LT(page.find("<template id=\"todo-template\">"), page.find("<li "));
}

TEST(RenderIndexPage, NonEmptyListHidesEmptyState) {
  const auto page = render_index_page({make_item(1, "a")});
  EXPECT_NE(page.find("<p id=\"empty-state\" class=\"empty\" hidden>"), std::string::npos);
}

TEST(RenderIndexPage, HasLiveRegionAndExportForm) {
  const auto page = render_index_page({});
  EXPECT_NE(page.find("id=\"status\""), std::string::npos);
  EXPECT_NE(page.find("aria-live=\"polite\""), std::string::npos);
  EXPECT_NE(page.find("<form class=\"export-form\" method=\"post\" action=\"/export\">"), std::string::npos);
}

TEST(RenderIndexPage, ListsItemsInGivenOrder) {
  const auto page = render_index_page({make_item(30, "third-text"), make_item(7, "first-text"),
                                       make_item(12, "second-text")});
  const auto first = page.find("<li class=\"todo\" data-id=\"30\">");
  const auto second = page.find("<li class=\"todo\" data-id=\"7\">");
  const auto third = page.find("<li class=\"todo\" data-id=\"12\">");
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(second, std::string::npos);
  ASSERT_NE(third, std::string::npos);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_LT(page.find("third-text"), page.find("first-text"));
  EXPECT_EQ(count_of(page, "<li "), 4u);  // three items and the template's
}

TEST(RenderIndexPage, ItemHasAllControls) {
  const auto page = render_index_page({make_item(42, "walk", true)});
  EXPECT_NE(page.find("<li class=\"todo done\" data-id=\"42\">"), std::string::npos);
  EXPECT_NE(page.find("<form class=\"toggle-form\" method=\"post\" action=\"/toggle/42\">"), std::string::npos);
  EXPECT_NE(page.find("aria-pressed=\"true\""), std::string::npos);
  EXPECT_NE(page.find("aria-label=\"Mark \xE2\x80\x9Cwalk\xE2\x80\x9D not done\""), std::string::npos);
  EXPECT_NE(page.find("<details class=\"edit\">"), std::string::npos);
  EXPECT_NE(page.find("<form class=\"edit-form\" method=\"post\" action=\"/edit/42\">"), std::string::npos);
  EXPECT_NE(page.find("name=\"text\" type=\"text\" required maxlength=\"500\" pattern=\".*\\S.*\" "
                      "title=\"Enter some text, not only spaces.\" autocomplete=\"off\" value=\"walk\""), std::string::npos);
  EXPECT_NE(page.find("<label class=\"visually-hidden\" for=\"edit-42\">"), std::string::npos);
  EXPECT_NE(page.find("<form class=\"delete-form\" method=\"post\" action=\"/delete/42\">"), std::string::npos);
  EXPECT_NE(page.find("aria-label=\"Delete \xE2\x80\x9Cwalk\xE2\x80\x9D\""), std::string::npos);
  EXPECT_NE(page.find("class=\"move-up\""), std::string::npos);
  EXPECT_NE(page.find("class=\"move-down\""), std::string::npos);
  EXPECT_NE(page.find("class=\"drag-handle\" draggable=\"true\""), std::string::npos);
}

TEST(RenderIndexPage, ItemControlsFollowVisualOrder) {
  const auto page = render_index_page({make_item(5, "tidy")});
  const auto item = page.find("<li class=\"todo\" data-id=\"5\">");
  ASSERT_NE(item, std::string::npos);
  const std::vector<std::string> in_order{"class=\"drag-handle\"", "class=\"toggle-form\"", "class=\"text\"",
                                          "<details class=\"edit\">", "class=\"move\"", "class=\"delete-form\""};
  std::size_t previous = item;
  for (const auto& marker : in_order) {
    const auto at = page.find(marker, item);
    ASSERT_NE(at, std::string::npos) << marker;
    EXPECT_GT(at, previous) << marker;
    previous = at;
  }
}

// app.css removes these when scripting is off. The page must not hide them,
// because they would then appear only once the script runs, moving the rows.
TEST(RenderIndexPage, ScriptOnlyControlsAreNotHidden) {
  const auto page = render_index_page({make_item(5, "tidy")});
  EXPECT_NE(page.find("<span class=\"drag-handle\" draggable=\"true\" title="), std::string::npos);
  EXPECT_NE(page.find("<span class=\"move\"><button"), std::string::npos);
  EXPECT_NE(page.find("<button type=\"button\" class=\"cancel-edit\">Cancel</button>"), std::string::npos);
}

TEST(RenderIndexPage, ReorderHintNeedsTwoTasks) {
  EXPECT_NE(render_index_page({make_item(5, "tidy")}).find("<p id=\"reorder-hint\" class=\"hint\" hidden>"),
            std::string::npos);
  EXPECT_NE(render_index_page({make_item(5, "tidy"), make_item(6, "wash")}).find("<p id=\"reorder-hint\" class=\"hint\">"),
            std::string::npos);
}

TEST(RenderIndexPage, MoveButtonsNameTheirShortcuts) {
  const auto page = render_index_page({make_item(5, "tidy")});
  EXPECT_NE(page.find("class=\"move-up\" aria-keyshortcuts=\"Alt+ArrowUp\""), std::string::npos);
  EXPECT_NE(page.find("class=\"move-down\" aria-keyshortcuts=\"Alt+ArrowDown\""), std::string::npos);
}

TEST(RenderIndexPage, CountsDoneTasks) {
  const auto page = render_index_page({make_item(1, "a", true), make_item(2, "b"), make_item(3, "c", true)});
  EXPECT_NE(page.find("<p id=\"task-count\" class=\"task-count\">2 of 3 done</p>"), std::string::npos);
}

TEST(RenderIndexPage, TemplateHoldsBlankItem) {
  const auto page = render_index_page({make_item(9, "nine")});
  const auto start = page.find("<template id=\"todo-template\">");
  const auto end = page.find("</template>");
  ASSERT_NE(start, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  const auto blank = page.substr(start, end - start);
  EXPECT_NE(blank.find("<li class=\"todo\" data-id=\"0\">"), std::string::npos);
  EXPECT_NE(blank.find("action=\"/toggle/0\""), std::string::npos);
  EXPECT_NE(blank.find("<span class=\"text\"></span>"), std::string::npos);
  EXPECT_EQ(blank.find("nine"), std::string::npos);
  EXPECT_GT(start, page.find("</ul>"));
}

TEST(RenderIndexPage, OpenItemOffersMarkDone) {
  const auto page = render_index_page({make_item(1, "open")});
  EXPECT_NE(page.find("aria-pressed=\"false\""), std::string::npos);
  EXPECT_NE(page.find("aria-label=\"Mark \xE2\x80\x9Copen\xE2\x80\x9D done\""), std::string::npos);
}

TEST(RenderIndexPage, EscapesHostileText) {
  const std::string hostile = "<script>alert(1)</script>";
  const std::string attribute_breaker = "\" onmouseover=\"alert(2)\" x='";
  const auto page = render_index_page({make_item(1, hostile), make_item(2, attribute_breaker)}, "<img src=x onerror=alert(3)>");

  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(page.find("onmouseover=\"alert(2)\""), std::string::npos);
  EXPECT_NE(page.find("&quot; onmouseover=&quot;alert(2)&quot; x=&#39;"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_NE(page.find("&lt;img src=x onerror=alert(3)&gt;"), std::string::npos);
  // The text is shown, used as the edit value, and named in the toggle, edit
  // summary, edit label, move-up, move-down and delete controls.
  EXPECT_EQ(count_of(page, "&lt;script&gt;alert(1)&lt;/script&gt;"), 8u);
}

TEST(RenderIndexPage, HasNoInlineScriptStyleOrHandlers) {
  const auto page = render_index_page({make_item(1, "<script>x</script>"), make_item(2, "a\" style=\"color:red", true)},
                                      "notice");
  const std::regex handler_or_style(R"(\s(on[a-z]+|style)\s*=)", std::regex::icase);
  for (const auto& tag : tags_of(page)) {
    EXPECT_FALSE(std::regex_search(tag, handler_or_style)) << tag;
    EXPECT_EQ(tag.rfind("<style", 0), std::string::npos) << tag;
    if (tag.rfind("<script", 0) == 0) {
      EXPECT_NE(tag.find(" src="), std::string::npos) << tag;
    }
    EXPECT_EQ(tag.find("javascript:"), std::string::npos) << tag;
  }
  EXPECT_EQ(count_of(page, "<script"), 1u);
}

TEST(RenderIndexPage, NoticeIsShownAsError) {
  const auto page = render_index_page({}, "text is too long");
  EXPECT_NE(page.find("class=\"status error\""), std::string::npos);
  EXPECT_NE(page.find(">text is too long</p>"), std::string::npos);
}

TEST(RenderIndexPage, TagsAreBalanced) {
  const auto page = render_index_page({make_item(1, "a"), make_item(2, "b", true)});
  for (std::string name :
       {"li", "ul", "form", "details", "summary", "button", "label", "main", "section", "header", "template"}) {
    EXPECT_EQ(count_of(page, "<" + name + ">") + count_of(page, "<" + name + " "), count_of(page, "</" + name + ">"))
        << name;
  }
}

// ---- render_error_page -----------------------------------------------------------------

TEST(RenderErrorPage, ShowsStatusAndEscapedMessage) {
  const auto page = render_error_page(400, "text <b>too</b> long");
  EXPECT_EQ(page.rfind("<!doctype html>", 0), 0u);
  EXPECT_NE(page.find("<title>400 Bad Request</title>"), std::string::npos);
  EXPECT_NE(page.find("text &lt;b&gt;too&lt;/b&gt; long"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"/\">"), std::string::npos);
}

TEST(RenderErrorPage, UnknownStatusHasGenericTitle) {
  EXPECT_NE(render_error_page(418, "x").find("<title>418 Error</title>"), std::string::npos);
  EXPECT_NE(render_error_page(404, "x").find("<title>404 Not Found</title>"), std::string::npos);
}

}  // namespace
}  // namespace todo::domain
