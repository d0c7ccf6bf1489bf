#pragma once

#include "db/pool.hpp"
#include "db/shared_read.hpp"
#include "obs/tracer.hpp"
#include "todo/list_snapshot.hpp"
#include "todo/todo_item.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace todo::domain {

/// The todos table. Every method is one statement or one transaction, uses
/// prepared statements with parameters, and throws db::error on failure.
class todo_store {
 public:
  using item_list = std::vector<todo_item>;

  /// `max_list_reads` bounds the list queries that run at once for
  /// list_shared(); 0 gives every caller a query of its own.
  explicit todo_store(std::shared_ptr<db::pool> database, std::size_t max_list_reads = 0);

  /// All todos, by position ascending, then newest first.
  boost::asio::awaitable<item_list> list(const obs::trace_parent& trace = {});

  using shared_list = db::shared_read<list_snapshot>;

  /// The same list, read with request coalescing (db::shared_read): under
  /// load, callers that arrive while `max_list_reads` list queries run share
  /// the next one, and its snapshot. `shared` is true when another
  /// request's query produced the result, so the caller's trace has no query
  /// span of its own.
  boost::asio::awaitable<shared_list::outcome> list_shared(const obs::trace_parent& trace = {});

  /// Inserts at the end (position = max + 1) and returns the new row.
  boost::asio::awaitable<todo_item> add(const std::string& text, const obs::trace_parent& trace = {});

  boost::asio::awaitable<std::optional<todo_item>> find(std::int64_t id, const obs::trace_parent& trace = {});

  /// Flips done; nullopt when the id is unknown.
  boost::asio::awaitable<std::optional<todo_item>> toggle(std::int64_t id, const obs::trace_parent& trace = {});

  /// Sets text and/or done; nullopt when the id is unknown.
  boost::asio::awaitable<std::optional<todo_item>> update(std::int64_t id, std::optional<std::string> text,
                                                          std::optional<bool> done, const obs::trace_parent& trace = {});

  /// Deletes; false when the id is unknown.
  boost::asio::awaitable<bool> remove(std::int64_t id, const obs::trace_parent& trace = {});

  /// In one transaction: the listed ids get positions 1..n in list order and
  /// every other todo follows in its current order. When any listed id is
  /// unknown nothing changes and the unknown ids are returned.
  boost::asio::awaitable<std::vector<std::int64_t>> reorder(const std::vector<std::int64_t>& order, const obs::trace_parent& trace = {});

 private:
  std::shared_ptr<db::pool> database_;
  std::shared_ptr<shared_list> list_reads_;  // null when max_list_reads is 0
};

}  // namespace todo::domain
