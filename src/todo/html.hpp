#pragma once

#include "todo/export_job.hpp"
#include "todo/todo_item.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace todo::domain {

/// Appends `text` with &, <, >, " and ' escaped for HTML text and attributes.
void append_html_escaped(std::string& out, std::string_view text);

/// The todo page: add form, list with toggle, edit and delete controls, and
/// the export control. `notice` is an optional error shown above the list.
/// `export_status`, when given, is the job the no-script export form started:
/// its state, and a download link once it has succeeded.
std::string render_index_page(const std::vector<todo_item>& todos, std::string_view notice = {},
                              const export_job* export_status = nullptr);

/// The same page around a task section rendered before, which the requests
/// sharing one read of the list also share (list_snapshot).
std::string render_index_page_around(std::string_view task_section, std::string_view notice = {},
                              const export_job* export_status = nullptr);

/// The page's task section: heading and count, the list, its empty state and
/// the <template> of one item that the script clones.
std::string render_task_section(const std::vector<todo_item>& todos);

/// A small page for a form error, with a link back to the list.
std::string render_error_page(int status, std::string_view message);

}  // namespace todo::domain
