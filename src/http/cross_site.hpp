#pragma once

#include "http/types.hpp"

#include <optional>
#include <string>

namespace todo::http {

/// Rejects state-changing requests sent by another site. Returns the reason
/// when `Sec-Fetch-Site` is cross-site or same-site, or when `Origin` is
/// present and its host differs from the Host header (or is "null").
/// Requests without either header, as curl sends them, pass. Safe methods
/// (GET, HEAD, OPTIONS) always pass.
std::optional<std::string> cross_site_rejection(const request& req);

}  // namespace todo::http
