#pragma once

#include "todo/todo_item.hpp"

#include <mutex>
#include <string>
#include <vector>

namespace todo::domain {

/// One read of the whole list, which the requests that coalesced on it share
/// (todo_store::list_shared). The page's list markup and the JSON array are
/// made on first use and kept with it, so a batch renders each once.
/// Immutable after construction; every member is safe to call from any thread.
class list_snapshot {
 public:
  explicit list_snapshot(std::vector<todo_item> items) : items_(std::move(items)) {}

  const std::vector<todo_item>& items() const noexcept { return items_; }

  /// The page's task section (render_task_section).
  const std::string& task_section_html() const;

  /// The items as the JSON array of GET /api/todos.
  const std::string& json_array() const;

 private:
  std::vector<todo_item> items_;
  mutable std::once_flag html_once_;
  mutable std::string html_;
  mutable std::once_flag json_once_;
  mutable std::string json_;
};

}  // namespace todo::domain
