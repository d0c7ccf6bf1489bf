#include "http/router.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>

namespace todo::http {

namespace {

using boost::beast::http::verb;

constexpr int literal_rank = 2;
constexpr int parameter_rank = 1;
constexpr int wildcard_rank = 0;

// Splits "/a/b" into {"a", "b"}. The root "/" has no segments, and "/a/"
// ends with an empty segment.
std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  path.remove_prefix(1);
  if (path.empty()) return segments;

  for (;;) {
    const auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return segments;
    path.remove_prefix(slash + 1);
  }
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes one path segment. Returns nullopt for a malformed escape,
// an escape that decodes to '/', and a NUL whether raw or escaped.
std::optional<std::string> decode_segment(std::string_view raw) {
  std::string decoded;
  decoded.reserve(raw.size());

  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\0') return std::nullopt;
    if (raw[i] != '%') {
      decoded.push_back(raw[i]);
      continue;
    }

    if (i + 2 >= raw.size()) return std::nullopt;
    const int high = hex_digit_value(raw[i + 1]);
    const int low = hex_digit_value(raw[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;

    const auto byte = static_cast<char>(high * 16 + low);
    if (byte == '/' || byte == '\0') return std::nullopt;
    decoded.push_back(byte);
    i += 2;
  }
  return decoded;
}

bool is_parameter(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

bool accepts(verb route_method, verb request_method) {
  return route_method == request_method || (request_method == verb::head && route_method == verb::get);
}

// Orders the Allow header the way people read it, with unusual methods last.
int method_order(verb method) {
  static constexpr std::array<verb, 7> usual{verb::get,   verb::head,   verb::post,   verb::put,
                                             verb::patch, verb::delete_, verb::options};
  const auto found = std::find(usual.begin(), usual.end(), method);
  return static_cast<int>(found - usual.begin());
}

std::string format_allow(std::vector<verb> methods) {
  if (std::find(methods.begin(), methods.end(), verb::get) != methods.end()) methods.push_back(verb::head);
  std::sort(methods.begin(), methods.end(), [](verb left, verb right) {
    const int left_order = method_order(left);
    const int right_order = method_order(right);
    if (left_order != right_order) return left_order < right_order;
    return boost::beast::http::to_string(left) < boost::beast::http::to_string(right);
  });
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());

  std::string allow;
  for (const verb method : methods) {
    if (!allow.empty()) allow.append(", ");
    allow.append(boost::beast::http::to_string(method));
  }
  return allow;
}

}  // namespace

void router::add(verb method, std::string route_template, std::string name, handler target) {
  if (route_template.empty() || route_template.front() != '/') {
    throw std::invalid_argument("route template '" + route_template + "' must start with '/'");
  }

  route entry{method, route_template, {}, {}, false, std::move(name), std::move(target)};
  const auto parts = split_segments(route_template);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto part = parts[i];
    if (part.empty()) {
      throw std::invalid_argument("route template '" + route_template + "' has an empty segment");
    }

    if (part == "*") {
      if (i + 1 != parts.size()) {
        throw std::invalid_argument("route template '" + route_template + "' has '*' before the last segment");
      }
      entry.prefix = true;
      entry.specificity.push_back(wildcard_rank);
      continue;
    }

    if (is_parameter(part)) {
      if (part.size() == 2) {
        throw std::invalid_argument("route template '" + route_template + "' has a parameter without a name");
      }
      entry.segments.emplace_back();
      entry.specificity.push_back(parameter_rank);
      continue;
    }

    if (part.find_first_of("{}*") != std::string_view::npos) {
      throw std::invalid_argument("route template '" + route_template + "' mixes literal text with '{', '}' or '*'");
    }
    entry.segments.emplace_back(part);
    entry.specificity.push_back(literal_rank);
  }

  for (const auto& existing : routes_) {
    if (existing.method == method && existing.segments == entry.segments &&
        existing.specificity == entry.specificity) {
      throw std::invalid_argument("route " + std::string(boost::beast::http::to_string(method)) + " '" +
                                  route_template + "' repeats '" + existing.route_template + "'");
    }
  }
  routes_.push_back(std::move(entry));
}

route_match router::match(verb method, std::string_view path) const {
  route_match result;
  result.name = "not_found";
  if (path.empty() || path.front() != '/') return result;

  std::vector<std::string> decoded;
  for (const auto raw : split_segments(path)) {
    auto segment = decode_segment(raw);
    if (!segment) return result;
    decoded.push_back(std::move(*segment));
  }

  const route* best = nullptr;
  std::vector<std::string> best_params;
  std::vector<verb> path_methods;
  for (const auto& candidate : routes_) {
    const auto count = candidate.segments.size();
    if (candidate.prefix ? decoded.size() <= count : decoded.size() != count) continue;

    std::vector<std::string> params;
    bool matched = true;
    for (std::size_t i = 0; i < count && matched; ++i) {
      if (candidate.specificity[i] == literal_rank) {
        matched = decoded[i] == candidate.segments[i];
        continue;
      }
      matched = !decoded[i].empty();
      params.push_back(decoded[i]);
    }
    if (!matched) continue;

    path_methods.push_back(candidate.method);
    if (!accepts(candidate.method, method)) continue;

    // Ties between equally specific routes go to an exact method match, so
    // an explicit HEAD route beats the GET route that would also match it.
    const bool better = best == nullptr || best->specificity < candidate.specificity ||
                        (best->specificity == candidate.specificity && best->method != method &&
                         candidate.method == method);
    if (!better) continue;

    if (candidate.prefix) {
      std::string rest;
      for (std::size_t i = count; i < decoded.size(); ++i) {
        if (i > count) rest.push_back('/');
        rest.append(decoded[i]);
      }
      params.push_back(std::move(rest));
    }
    best = &candidate;
    best_params = std::move(params);
  }

  if (best != nullptr) {
    result.outcome = route_match::status::found;
    result.target = &best->target;
    result.name = best->name;
    result.route_template = best->route_template;
    result.params = std::move(best_params);
    return result;
  }

  if (path_methods.empty()) return result;

  result.outcome = route_match::status::method_not_allowed;
  result.name = "method_not_allowed";
  result.allow = format_allow(std::move(path_methods));
  return result;
}

}  // namespace todo::http
