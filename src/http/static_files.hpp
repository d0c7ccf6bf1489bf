#pragma once

#include "http/types.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace todo::http {

/// Serves the files of one folder from memory, loaded once at start. Each
/// file gets a content type from its extension, a strong ETag and
/// Cache-Control; a matching If-None-Match gives 304.
class static_files {
 public:
  /// Loads regular files below `root` (no symlinks followed out of it).
  explicit static_files(const std::filesystem::path& root);

  /// `relative` is the path after "/static/". Returns 404 for unknown files
  /// and any path with "..", a backslash or a NUL.
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
