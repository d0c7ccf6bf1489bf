#include "todo/list_snapshot.hpp"

#include "todo/handler_support.hpp"
#include "todo/html.hpp"

#include <boost/json/serialize.hpp>

namespace todo::domain {

const std::string& list_snapshot::task_section_html() const {
  std::call_once(html_once_, [this] { html_ = render_task_section(items_); });
  return html_;
}

const std::string& list_snapshot::json_array() const {
  std::call_once(json_once_, [this] {
    boost::json::array body;
    body.reserve(items_.size());
    for (const auto& item : items_) body.emplace_back(todo_to_json(item));
    json_ = boost::json::serialize(body);
  });
  return json_;
}

}  // namespace todo::domain
