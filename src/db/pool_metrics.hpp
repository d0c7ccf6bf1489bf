#pragma once

#include "db/pool.hpp"
#include "obs/metrics.hpp"

#include <memory>

namespace todo::db {

/// Registers db_pool_wait_seconds, the histogram of time spent waiting for a
/// pooled connection, and returns it for pool_options::wait_seconds.
obs::histogram& add_pool_wait_histogram(obs::registry& registry);

/// Reports db_pool_connections{state="in_use"|"idle"} and db_pool_waiting at
/// every scrape from pool::stats(). The pool may be destroyed first.
obs::collector_id add_pool_collector(obs::registry& registry, std::weak_ptr<const pool> database);

}  // namespace todo::db
