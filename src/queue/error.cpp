#include "queue/error.hpp"

namespace todo::queue {

namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "todo.queue"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::unavailable: return "Redis unavailable";
      case errc::timeout: return "Redis operation timed out";
      case errc::shutting_down: return "Redis client is shutting down";
      case errc::server_error: return "Redis returned an error";
      case errc::protocol_error: return "invalid reply from Redis";
    }
    return "unknown queue error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace todo::queue
