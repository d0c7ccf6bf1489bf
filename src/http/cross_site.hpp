#pragma once

#include "http/types.hpp"

#include <optional>
#include <string>

namespace todo::http {

/// Rejects state-changing requests sent by another site. Returns the reason
/// when `Sec-Fetch-Site` is cross-site, same-site or an unknown value. When
/// that header is missing, returns the reason when `Origin` is "null", is not
/// a valid origin, or has a host and port that differ from the Host header
/// (a missing port means the default of the Origin's scheme). A request
/// with `Sec-Fetch-Site` same-origin or none passes, and `Origin` is not checked.
/// Requests without either header, as curl sends them, pass. Safe methods
/// (GET, HEAD, OPTIONS) always pass.
std::optional<std::string> cross_site_rejection(const request& req);

}  // namespace todo::http
