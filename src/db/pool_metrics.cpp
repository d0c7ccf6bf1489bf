#include "db/pool_metrics.hpp"

namespace todo::db {

namespace {

// From 0.1 ms, for the common case of an idle connection at hand, to the
// 5 s default timeout.
constexpr std::array<double, 12> wait_buckets_seconds{0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025,  0.05,   0.1,   0.25,   1,     5};

}  // namespace

obs::histogram& add_pool_wait_histogram(obs::registry& registry) {
  return registry
      .add_histogram("db_pool_wait_seconds", "Time spent waiting for a PostgreSQL connection from the pool.", {},
                     wait_buckets_seconds)
      .with({});
}

obs::collector_id add_pool_collector(obs::registry& registry, std::weak_ptr<const pool> database) {
  return registry.add_collector([database = std::move(database)]() {
    std::vector<obs::collected_family> families;
    auto owner = database.lock();
    if (!owner) return families;

    const auto stats = owner->stats();
    families.push_back(obs::collected_family{
        "db_pool_connections",
        "PostgreSQL connections of the pool, by state.",
        obs::metric_type::gauge,
        {"state"},
        {{{"in_use"}, static_cast<double>(stats.in_use)}, {{"idle"}, static_cast<double>(stats.idle)}}});
    families.push_back(obs::collected_family{"db_pool_waiting",
                                             "Requests waiting for a PostgreSQL connection right now.",
                                             obs::metric_type::gauge,
                                             {},
                                             {{{}, static_cast<double>(stats.waiting)}}});
    families.push_back(obs::collected_family{"db_pool_available",
                                             "1 while PostgreSQL is reachable, 0 while the pool reconnects.",
                                             obs::metric_type::gauge,
                                             {},
                                             {{{}, stats.available ? 1.0 : 0.0}}});
    return families;
  });
}

}  // namespace todo::db
