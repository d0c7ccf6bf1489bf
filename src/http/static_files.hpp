#pragma once

#include "http/types.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace todo::http {

/// Serves the files of one folder from memory, loaded once at start. Each
/// file gets a content type from its extension, a strong ETag (a hash of the
/// content), Cache-Control "public, max-age=3600" and nosniff. A matching
/// If-None-Match gives 304, and HEAD gets the headers of GET with no body.
class static_files {
 public:
  /// Loads regular files below `root`, skipping symlinks. Throws
  /// std::runtime_error when `root` is not a folder or a file cannot be read.
  explicit static_files(const std::filesystem::path& root);

  /// `relative` is the decoded path after "/static/". Returns a JSON 404 for
  /// unknown files and for paths that are absolute or empty. The same goes
  /// for a path with a "." or ".." segment, an empty segment, a backslash, a
  /// NUL or a '%', which after the router's decoding means double encoding.
  response serve(const request& req, std::string_view relative) const;

  std::size_t size() const noexcept { return files_.size(); }

 private:
  struct file {
    std::string content_type;
    std::string body;
    std::string etag;
  };
  std::unordered_map<std::string, file> files_;
};

}  // namespace todo::http
