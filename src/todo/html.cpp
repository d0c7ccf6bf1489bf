#include "todo/html.hpp"

#include "todo/validation.hpp"

#include <algorithm>

namespace todo::domain {

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

void append_quoted(std::string& out, std::string_view text) {
  out += "\xE2\x80\x9C";  // U+201C left double quotation mark
  append_html_escaped(out, text);
  out += "\xE2\x80\x9D";  // U+201D right double quotation mark
}

void append_toggle_form(std::string& out, const todo_item& item, const std::string& id) {
  out += "<form class=\"toggle-form\" method=\"post\" action=\"/toggle/" + id + "\">";
  out += "<button type=\"submit\" class=\"toggle\" aria-pressed=\"";
  out += item.done ? "true" : "false";
  out += "\" aria-label=\"";
  out += "Mark ";
  append_quoted(out, item.text);
  out += item.done ? " not done" : " done";
  out += "\"><span class=\"check\" aria-hidden=\"true\"></span></button></form>\n";
}

void append_edit_control(std::string& out, const todo_item& item, const std::string& id) {
  out += "<details class=\"edit\"><summary>Edit<span class=\"visually-hidden\"> ";
  append_quoted(out, item.text);
  out += "</span></summary>\n";
  out += "<form class=\"edit-form\" method=\"post\" action=\"/edit/" + id + "\">";
  out += "<label class=\"visually-hidden\" for=\"edit-" + id + "\">New text for ";
  append_quoted(out, item.text);
  out += "</label><input id=\"edit-" + id + "\" name=\"text\" type=\"text\" required " + text_limits +
         " autocomplete=\"off\" value=\"";
  append_html_escaped(out, item.text);
  // Without the script the summary closes the form, so Cancel is for the
  // script's in-place editing only. app.css hides it, like the drag handle
  // and the move buttons, when scripting is off.
  out += "\"><button type=\"submit\">Save</button>"
         "<button type=\"button\" class=\"cancel-edit\">Cancel</button></form>\n</details>\n";
}

void append_drag_handle(std::string& out) {
  out += "<span class=\"drag-handle\" draggable=\"true\" title=\"Drag to reorder\" aria-hidden=\"true\"></span>\n";
}

void append_move_buttons(std::string& out, const todo_item& item) {
  out += "<span class=\"move\"><button type=\"button\" class=\"move-up\" aria-keyshortcuts=\"Alt+ArrowUp\" "
         "aria-label=\"Move ";
  append_quoted(out, item.text);
  out += " up\">\xE2\x86\x91</button><button type=\"button\" class=\"move-down\" "
         "aria-keyshortcuts=\"Alt+ArrowDown\" aria-label=\"Move ";
  append_quoted(out, item.text);
  out += " down\">\xE2\x86\x93</button></span>\n";
}

void append_delete_form(std::string& out, const todo_item& item, const std::string& id) {
  out += "<form class=\"delete-form\" method=\"post\" action=\"/delete/" + id + "\">";
  out += "<button type=\"submit\" class=\"delete\" aria-label=\"Delete ";
  append_quoted(out, item.text);
  out += "\">Delete</button></form>\n";
}

void append_item(std::string& out, const todo_item& item) {
  const std::string id = std::to_string(item.id);

  out += "<li class=\"todo";
  out += item.done ? " done" : "";
  out += "\" data-id=\"" + id + "\">\n";
  append_drag_handle(out);
  append_toggle_form(out, item, id);
  out += "<span class=\"text\">";
  append_html_escaped(out, item.text);
  out += "</span>\n";
  append_edit_control(out, item, id);
  append_move_buttons(out, item);
  append_delete_form(out, item, id);
  out += "</li>\n";
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

// Buffer size estimates: a page without items is about 2.9 KB, the item
// template included, and each item adds about 1.4 KB of markup plus eight
// copies of its escaped text.
constexpr std::size_t page_markup_bytes = 4096;
constexpr std::size_t item_markup_bytes = 1536;
constexpr std::size_t text_copies_per_item = 8;

}  // namespace

void append_html_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c; break;
    }
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
  for (const auto& item : todos) append_item(out, item);
  out += "</ul>\n";

  out += "<template id=\"todo-template\">";
  append_item(out, todo_item{});
  out += "</template>\n</section>\n";
}

}  // namespace

std::string render_index_page(const std::vector<todo_item>& todos, std::string_view notice,
                              const export_job* export_status) {
  std::string out;
  std::size_t text_bytes = 0;
  for (const auto& item : todos) text_bytes += item.text.size();
  out.reserve(page_markup_bytes + todos.size() * item_markup_bytes + text_bytes * text_copies_per_item);

  append_head(out, "Todo");
  out += "<header class=\"site-header\"><h1>Todo</h1></header>\n<main>\n";
  append_add_form(out, notice);
  append_task_section(out, todos);
  append_export_section(out, export_status);
  out += "</main>\n</body>\n</html>\n";
  return out;
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
