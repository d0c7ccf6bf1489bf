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
  std::vector<std::string> params;  // decoded values of {…} segments
  std::string allow;                // for method_not_allowed: "GET, POST"
};

/// Maps (method, path) to a named handler. Templates are literal segments
/// and {name} segments that match one non-empty segment; a template ending in
/// "/*" matches any rest of the path. HEAD is answered by GET routes.
class router {
 public:
  void add(boost::beast::http::verb method, std::string route_template, std::string name, handler target);

  /// Matches the path only (no query string); percent-decoding of segments is done here.
  route_match match(boost::beast::http::verb method, std::string_view path) const;

 private:
  struct route {
    boost::beast::http::verb method;
    std::string route_template;
    std::vector<std::string> segments;
    bool prefix = false;
    std::string name;
    handler target;
  };
  std::vector<route> routes_;
};

}  // namespace todo::http
