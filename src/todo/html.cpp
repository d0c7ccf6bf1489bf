#include "todo/html.hpp"

#include "todo/validation.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>

namespace todo::domain {

using namespace std::string_view_literals;

namespace {

// Browser-side checks of task text, so that a form without script stops
// blank and too long text before the server rejects it and the typed text is
// lost. maxlength counts UTF-16 units, so it can stop a little earlier than
// the server's limit of 500 characters for text with emoji.
const std::string text_limits = "maxlength=\"" + std::to_string(max_text_characters) +
                                "\" pattern=\".*\\S.*\" title=\"Enter some text, not only spaces.\"";

// Every piece of user text goes through append_html_escaped, in element
// content and in attribute values alike.

// A hash of the files under static/ at build time (see CMakeLists.txt), so
// that each release links its assets under new URLs.
#ifndef TODO_ASSET_VERSION
#define TODO_ASSET_VERSION "dev"
#endif
constexpr std::string_view asset_version = TODO_ASSET_VERSION;

void append_head(std::string& out, std::string_view title) {
  out += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
  append_html_escaped(out, title);
  out += "</title>\n<link rel=\"stylesheet\" href=\"/static/app.css?v=";
  out += asset_version;
  out += "\">\n<link rel=\"icon\" href=\"/static/favicon.svg?v=";
  out += asset_version;
  out += "\" type=\"image/svg+xml\">\n<script src=\"/static/app.js?v=";
  out += asset_version;
  out += "\" defer></script>\n</head>\n<body>\n";
}

// Appends every part, given as string views, so that literals cost no
// strlen and no temporary string is built.
template <class... Parts>
void append(std::string& out, const Parts&... parts) {
  (out.append(std::string_view(parts)), ...);
}

// One item's values as they go into the markup: the id as text and the text
// already escaped, because each item repeats its text eight times.
struct item_markup {
  std::string_view id;
  std::string_view text;  // escaped
  bool done = false;
};

// The text between curly quotes: U+201C and U+201D.
void append_quoted(std::string& out, std::string_view escaped) {
  append(out, "\xE2\x80\x9C"sv, escaped, "\xE2\x80\x9D"sv);
}

void append_toggle_form(std::string& out, const item_markup& item) {
  append(out, "<form class=\"toggle-form\" method=\"post\" action=\"/toggle/"sv, item.id,
         "\"><button type=\"submit\" class=\"toggle\" aria-pressed=\""sv, item.done ? "true"sv : "false"sv,
         "\" aria-label=\"Mark "sv);
  append_quoted(out, item.text);
  append(out, item.done ? " not done"sv : " done"sv,
         "\"><span class=\"check\" aria-hidden=\"true\"></span></button></form>\n"sv);
}

void append_edit_control(std::string& out, const item_markup& item) {
  append(out, "<details class=\"edit\"><summary>Edit<span class=\"visually-hidden\"> "sv);
  append_quoted(out, item.text);
  append(out, "</span></summary>\n<form class=\"edit-form\" method=\"post\" action=\"/edit/"sv, item.id,
         "\"><label class=\"visually-hidden\" for=\"edit-"sv, item.id, "\">New text for "sv);
  append_quoted(out, item.text);
  append(out, "</label><input id=\"edit-"sv, item.id, "\" name=\"text\" type=\"text\" required "sv, text_limits,
         " autocomplete=\"off\" value=\""sv, item.text,
         // Without the script the summary closes the form, so Cancel is for
         // the script's in-place editing only. app.css hides it, like the
         // drag handle and the move buttons, when scripting is off.
         "\"><button type=\"submit\">Save</button>"
         "<button type=\"button\" class=\"cancel-edit\">Cancel</button></form>\n</details>\n"sv);
}

void append_drag_handle(std::string& out) {
  append(out, "<span class=\"drag-handle\" draggable=\"true\" title=\"Drag to reorder\" aria-hidden=\"true\"></span>\n"sv);
}

void append_move_buttons(std::string& out, const item_markup& item) {
  append(out,
         "<span class=\"move\"><button type=\"button\" class=\"move-up\" aria-keyshortcuts=\"Alt+ArrowUp\" "
         "aria-label=\"Move "sv);
  append_quoted(out, item.text);
  append(out,
         " up\">\xE2\x86\x91</button><button type=\"button\" class=\"move-down\" "
         "aria-keyshortcuts=\"Alt+ArrowDown\" aria-label=\"Move "sv);
  append_quoted(out, item.text);
  append(out, " down\">\xE2\x86\x93</button></span>\n"sv);
}

void append_delete_form(std::string& out, const item_markup& item) {
  append(out, "<form class=\"delete-form\" method=\"post\" action=\"/delete/"sv, item.id,
         "\"><button type=\"submit\" class=\"delete\" aria-label=\"Delete "sv);
  append_quoted(out, item.text);
  append(out, "\">Delete</button></form>\n"sv);
}

// `scratch` receives the escaped text. The caller reuses it for every item.
void append_item(std::string& out, const todo_item& item, std::string& scratch) {
  char id_text[24];
  const auto [end, ec] = std::to_chars(std::begin(id_text), std::end(id_text), item.id);
  scratch.clear();
  append_html_escaped(scratch, item.text);
  const item_markup markup{std::string_view(id_text, static_cast<std::size_t>(end - id_text)), scratch, item.done};

  append(out, "<li class=\"todo"sv, item.done ? " done"sv : ""sv, "\" data-id=\""sv, markup.id, "\">\n"sv);
  append_drag_handle(out);
  append_toggle_form(out, markup);
  append(out, "<span class=\"text\">"sv, markup.text, "</span>\n"sv);
  append_edit_control(out, markup);
  append_move_buttons(out, markup);
  append_delete_form(out, markup);
  append(out, "</li>\n"sv);
}

// Returns the reason phrase of the statuses that handlers send as HTML pages.
std::string_view reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// Buffer size estimates: a page without its task section is under 2 KB, the
// section without items under 1 KB, and each item, the template's included,
// adds about 1.4 KB of markup plus eight copies of its escaped text.
constexpr std::size_t page_markup_bytes = 2560;
constexpr std::size_t section_markup_bytes = 1024;
constexpr std::size_t item_markup_bytes = 1536;
constexpr std::size_t text_copies_per_item = 8;

}  // namespace

void append_html_escaped(std::string& out, std::string_view text) {
  // Copies each run of characters that need no escaping in one append.
  constexpr std::string_view special = "&<>\"'";
  std::size_t start = 0;
  while (start < text.size()) {
    const auto next = text.find_first_of(special, start);
    if (next == std::string_view::npos) {
      out.append(text.substr(start));
      return;
    }
    out.append(text.substr(start, next - start));
    switch (text[next]) {
      case '&': out.append("&amp;"sv); break;
      case '<': out.append("&lt;"sv); break;
      case '>': out.append("&gt;"sv); break;
      case '"': out.append("&quot;"sv); break;
      default: out.append("&#39;"sv); break;
    }
    start = next + 1;
  }
}

namespace {

// The export form and its live status line. Without script the form posts
// and the page comes back with ?export=<id>, which renders the job's state.
void append_export_section(std::string& out, const export_job* job) {
  out += "<section class=\"export\" aria-labelledby=\"export-heading\">\n";
  out += "<h2 id=\"export-heading\">Export</h2>\n";
  out += "<form class=\"export-form\" method=\"post\" action=\"/export\">";
  out += "<label for=\"export-done\">Include</label>";
  out += "<select id=\"export-done\" name=\"done\"><option value=\"\">All</option>"
         "<option value=\"false\">Open</option><option value=\"true\">Done</option></select>";
  out += "<button type=\"submit\">Export as CSV</button></form>\n";

  out += "<p id=\"export-status\" class=\"export-status\" role=\"status\" aria-live=\"polite\">";
  if (job != nullptr) {
    if (job->state == job_state::success) {
      out += "Export ready: <a href=\"/download/";
      append_html_escaped(out, job->id);
      out += "\" download>Download CSV (";
      out += std::to_string(job->row_count.value_or(0));
      out += job->row_count.value_or(0) == 1 ? " task)</a>" : " tasks)</a>";
    } else if (job->state == job_state::failure) {
      out += "Export failed: ";
      append_html_escaped(out, job->error.value_or("unknown error"));
    } else {
      out += "Export ";
      out += job->state == job_state::pending ? "queued" : "running";
      out += ". <a href=\"/?export=";
      append_html_escaped(out, job->id);
      out += "\">Refresh</a>";
    }
  }
  out += "</p>\n</section>\n";
}

// The add form and the #status live region below it, which shows `notice`
// as an error and later the script's messages.
void append_add_form(std::string& out, std::string_view notice) {
  out += "<form class=\"add-form\" method=\"post\" action=\"/add\">\n";
  out += "<label for=\"new-task\">New task</label>\n";
  out += "<div class=\"add-row\"><input id=\"new-task\" name=\"task\" type=\"text\" required ";
  out += text_limits;
  out += " autocomplete=\"off\" "
         "placeholder=\"What needs doing?\">";
  out += "<button type=\"submit\">Add</button></div>\n</form>\n";

  out += "<p id=\"status\" class=\"status";
  out += notice.empty() ? "" : " error";
  out += "\" role=\"status\" aria-live=\"polite\">";
  append_html_escaped(out, notice);
  out += "</p>\n";
}

// "2 of 5 done". The script writes the same text when the list changes.
void append_task_count(std::string& out, const std::vector<todo_item>& todos) {
  const auto done = std::count_if(todos.begin(), todos.end(), [](const todo_item& item) { return item.done; });
  out += "<p id=\"task-count\" class=\"task-count\"";
  out += todos.empty() ? " hidden>" : ">";
  out += std::to_string(done) + " of " + std::to_string(todos.size()) + " done</p>\n";
}

// The list, its heading and empty state, and a <template> with the markup
// of one item (id 0, empty text), which the script fills in for a new task.
void append_task_section(std::string& out, const std::vector<todo_item>& todos) {
  out += "<section class=\"tasks\" aria-labelledby=\"tasks-heading\">\n";
  out += "<div class=\"tasks-header\"><h2 id=\"tasks-heading\">Tasks</h2>\n";
  append_task_count(out, todos);
  out += "</div>\n";
  out += "<p id=\"reorder-hint\" class=\"hint\"";
  out += todos.size() < 2 ? " hidden" : "";
  out += ">Reorder by dragging a task\xE2\x80\x99s handle, with its "
         "\xE2\x86\x91 and \xE2\x86\x93 buttons, or with Alt+\xE2\x86\x91 and Alt+\xE2\x86\x93.</p>\n";
  out += "<p id=\"empty-state\" class=\"empty\"";
  out += todos.empty() ? "" : " hidden";
  out += ">Nothing to do yet. Add a task above.</p>\n";

  out += "<ul id=\"todo-list\" class=\"todo-list\">\n";
  std::string scratch;
  for (const auto& item : todos) append_item(out, item, scratch);
  out += "</ul>\n";

  out += "<template id=\"todo-template\">";
  append_item(out, todo_item{}, scratch);
  out += "</template>\n</section>\n";
}

}  // namespace

std::string render_task_section(const std::vector<todo_item>& todos) {
  std::size_t text_bytes = 0;
  for (const auto& item : todos) text_bytes += item.text.size();
  std::string out;
  out.reserve(section_markup_bytes + (todos.size() + 1) * item_markup_bytes + text_bytes * text_copies_per_item);
  append_task_section(out, todos);
  return out;
}

std::string render_index_page_around(std::string_view task_section, std::string_view notice,
                              const export_job* export_status) {
  std::string out;
  out.reserve(page_markup_bytes + task_section.size() + notice.size() * 6);
  append_head(out, "Todo");
  out += "<header class=\"site-header\"><h1>Todo</h1></header>\n<main>\n";
  append_add_form(out, notice);
  out += task_section;
  append_export_section(out, export_status);
  out += "</main>\n</body>\n</html>\n";
  return out;
}

std::string render_index_page(const std::vector<todo_item>& todos, std::string_view notice,
                              const export_job* export_status) {
  return render_index_page_around(render_task_section(todos), notice, export_status);
}

std::string render_error_page(int status, std::string_view message) {
  const std::string title = std::to_string(status) + " " + std::string(reason_phrase(status));

  std::string out;
  out.reserve(1024 + message.size() * 6);
  append_head(out, title);
  out += "<header class=\"site-header\"><h1>";
  append_html_escaped(out, title);
  out += "</h1></header>\n<main>\n<p class=\"error\" role=\"alert\">";
  append_html_escaped(out, message);
  out += "</p>\n<p><a href=\"/\">Back to the list</a></p>\n</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace todo::domain
