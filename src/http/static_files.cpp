#include "http/static_files.hpp"

#include <boost/beast/core/string.hpp>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace todo::http {

namespace {

namespace fs = std::filesystem;

// The pages reference assets with a "?v=" query that changes with each
// release, so an hour of caching only delays assets referenced without it.
constexpr std::string_view cache_control = "public, max-age=3600";

std::string_view content_type_for(const fs::path& path) {
  const auto extension = path.extension().string();
  const auto is = [&](std::string_view candidate) { return boost::beast::iequals(extension, candidate); };

  if (is(".css")) return "text/css; charset=utf-8";
  if (is(".js")) return "text/javascript; charset=utf-8";
  if (is(".html")) return "text/html; charset=utf-8";
  if (is(".txt")) return "text/plain; charset=utf-8";
  if (is(".svg")) return "image/svg+xml; charset=utf-8";
  if (is(".json") || is(".map")) return "application/json";
  if (is(".png")) return "image/png";
  if (is(".ico")) return "image/x-icon";
  if (is(".woff2")) return "font/woff2";
  return "application/octet-stream";
}

// FNV-1a (64 bit) of the content plus its length. It only has to change when
// the content changes, and it is the same in every process that loads the
// same file, so replicas agree on it.
std::string strong_etag(std::string_view content) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : content) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }

  std::ostringstream text;
  text << '"' << std::hex << hash << '-' << content.size() << '"';
  return text.str();
}

std::string read_file(const fs::path& path) {
  std::ifstream input(path, std::ios::binary);
  if (!input) throw std::runtime_error("cannot open static file '" + path.string() + "'");

  std::string content{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  if (input.bad()) throw std::runtime_error("cannot read static file '" + path.string() + "'");
  return content;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The router has percent-decoded the path once already, so a '%' left here
// can only come from double encoding such as "%252e%252e".
bool is_safe_relative_path(std::string_view relative) {
  if (relative.empty() || relative.front() == '/') return false;
  if (relative.find_first_of(std::string_view("\\%\0", 3)) != std::string_view::npos) return false;

  while (true) {
    const auto slash = relative.find('/');
    const auto segment = relative.substr(0, slash);
    if (segment.empty() || segment == "." || segment == "..") return false;
    if (slash == std::string_view::npos) return true;
    relative.remove_prefix(slash + 1);
  }
}

// If-None-Match uses the weak comparison, so W/ prefixes are ignored.
bool matches_if_none_match(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    auto candidate = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);

    if (candidate == "*") return true;
    if (candidate.substr(0, 2) == "W/") candidate.remove_prefix(2);
    if (candidate == etag) return true;
  }
  return false;
}

response make_not_found(const request& req) {
  response res{beast_http::status::not_found, req.version()};
  res.set(beast_http::field::content_type, "application/json");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = R"({"error":"not found"})";
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

}  // namespace

static_files::static_files(const fs::path& root) {
  if (!fs::is_directory(root)) {
    throw std::runtime_error("static folder '" + root.string() + "' is not a directory");
  }

  // Symlinks are skipped, files and folders alike, so nothing outside `root`
  // can be served by linking to it.
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_symlink()) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;

    auto body = read_file(it->path());
    auto etag = strong_etag(body);
    files_.emplace(it->path().lexically_relative(root).generic_string(),
                   file{std::string(content_type_for(it->path())), std::move(body), std::move(etag)});
  }
}

response static_files::serve(const request& req, std::string_view relative) const {
  if (!is_safe_relative_path(relative)) return make_not_found(req);

  const auto found = files_.find(std::string(relative));
  if (found == files_.end()) return make_not_found(req);
  const auto& entry = found->second;

  const auto if_none_match = req[beast_http::field::if_none_match];
  const bool not_modified = !if_none_match.empty() && matches_if_none_match(if_none_match, entry.etag);

  response res{not_modified ? beast_http::status::not_modified : beast_http::status::ok, req.version()};
  res.set(beast_http::field::content_type, entry.content_type);
  res.set(beast_http::field::etag, entry.etag);
  res.set(beast_http::field::cache_control, cache_control);
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(req.keep_alive());

  // 304 and HEAD carry the length a full GET would have, and no body.
  if (not_modified || req.method() == beast_http::verb::head) {
    res.content_length(entry.body.size());
    return res;
  }

  res.body() = entry.body;
  res.prepare_payload();
  return res;
}

}  // namespace todo::http
