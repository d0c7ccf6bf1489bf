#pragma once

#include "http/types.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace todo::http {

using handler = std::function<boost::asio::awaitable<response>(const request&, request_context&)>;

/// The outcome of matching a method and a path against the routes.
struct route_match {
  enum class status { found, not_found, method_not_allowed };

  status outcome = status::not_found;
  const handler* target = nullptr;
  std::string name;                 // route name; "not_found" or "method_not_allowed" otherwise
  std::string route_template;
  std::vector<std::string> params;  // decoded values of {…} segments, then the "*" rest
  std::string allow;                // for method_not_allowed: "GET, POST"
};

/// Maps (method, path) to a named handler. Templates are literal segments
/// and {name} segments that match one non-empty segment. A template ending in
/// "/*" matches one or more further segments, and their decoded text joined
/// by '/' becomes the last element of `params`. HEAD is answered by GET routes.
///
/// When several templates match a path, the most specific wins: at the first
/// segment where they differ, a literal beats a {name}, which beats "*". A
/// route whose method differs is skipped, so "DELETE /api/todos/export" can
/// reach "/api/todos/{id}" even though "GET /api/todos/export" exists.
class router {
 public:
  /// Registers a route. Throws std::invalid_argument for a template that does
  /// not start with '/', has an empty segment or an empty {}, has a '*' that is
  /// not the whole last segment, or repeats the method and shape of an earlier route.
  void add(boost::beast::http::verb method, std::string route_template, std::string name, handler target);

  /// Matches the path only (no query string); percent-decoding of segments is
  /// done here. A segment with an invalid %-escape, a NUL (raw or escaped) or
  /// an escaped '/' makes the path not_found: "a%2Fb" is neither split into two
  /// segments nor passed to a handler as one value containing a separator.
  route_match match(boost::beast::http::verb method, std::string_view path) const;

 private:
  struct route {
    boost::beast::http::verb method;
    std::string route_template;
    std::vector<std::string> segments;  // literal text, or "" for a {name} segment
    std::vector<int> specificity;       // per segment: 2 literal, 1 {name}, 0 for a final "*"
    bool prefix = false;
    std::string name;
    handler target;
  };
  std::vector<route> routes_;
};

}  // namespace todo::http
