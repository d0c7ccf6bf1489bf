#include "db/error.hpp"

namespace todo::db {

namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "todo.db"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::unavailable: return "database unavailable";
      case errc::timeout: return "database operation timed out";
      case errc::shutting_down: return "database pool is shutting down";
      case errc::query_failed: return "database query failed";
    }
    return "unknown database error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace todo::db
