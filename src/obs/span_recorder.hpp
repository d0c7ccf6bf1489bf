#pragma once

#include "obs/tracer.hpp"

#include <mutex>
#include <vector>

namespace todo::obs {

/// Span processor that keeps every ended span in memory, in the order they
/// ended. Used by tests to look at the spans a piece of code produces.
class span_recorder final : public span_processor {
 public:
  void on_end(span&& finished) noexcept override {
    std::lock_guard lock(mutex_);
    spans_.push_back(std::move(finished));
  }

  /// Returns a copy of the spans ended so far.
  std::vector<span> spans() const {
    std::lock_guard lock(mutex_);
    return spans_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<span> spans_;
};

}  // namespace todo::obs
