#pragma once

// The metrics registry that todo-web and todo-worker both start with.

#include "obs/metrics.hpp"
#include "obs/process_metrics.hpp"

#include <memory>

namespace todo::app {

/// Creates the registry with the process metrics (read from /proc at each
/// scrape) and todo_build_info{version, revision} = 1.
inline std::shared_ptr<obs::registry> make_metrics_registry() {
  auto registry = std::make_shared<obs::registry>();
  obs::add_process_collector(*registry);
  registry->add_gauge("todo_build_info", "Version and git revision of the running binary; always 1.",
                      {"version", "revision"})
      .with({TODO_VERSION, TODO_REVISION})
      .set(1);
  return registry;
}

}  // namespace todo::app
