#pragma once

#include "http/router.hpp"
#include "obs/metrics.hpp"

#include <memory>

namespace todo::http {

/// A handler for GET /metrics: the registry in Prometheus text format 0.0.4,
/// or in OpenMetrics 1.0 (with exemplars) when the Accept header requests it.
handler metrics_handler(std::shared_ptr<const obs::registry> registry);

}  // namespace todo::http
