#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace todo::config {

/// An invalid configuration value. The message names the variable, the value
/// and what the variable accepts, so the operator can fix it from the log line.
class config_error : public std::runtime_error {
 public:
  config_error(std::string variable, const std::string& message)
      : std::runtime_error(variable + ": " + message), variable_(std::move(variable)) {}

  const std::string& variable() const noexcept { return variable_; }

 private:
  std::string variable_;
};

/// Read access to environment variables. Tests build one from a map instead of
/// changing the process environment.
class env {
 public:
  using lookup_fn = std::function<std::optional<std::string>(std::string_view)>;

  explicit env(lookup_fn lookup) : lookup_(std::move(lookup)) {}

  static env from_process();
  static env from_map(std::map<std::string, std::string> values);

  /// Returns the value, or nullopt when the variable is unset or empty.
  std::optional<std::string> get(std::string_view name) const;

  std::string get_string(std::string_view name, std::string_view fallback) const;

  /// Parses a decimal integer in [min, max]; throws config_error otherwise.
  std::int64_t get_int(std::string_view name, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const;

  /// Accepts true/false, 1/0, yes/no, on/off in any case.
  bool get_bool(std::string_view name, bool fallback) const;

 private:
  lookup_fn lookup_;
};

}  // namespace todo::config
