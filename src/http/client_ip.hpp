#pragma once

#include "config/cidr.hpp"

#include <boost/asio/ip/address.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace todo::http {

/// Returns the client address for logs. When the peer is a trusted proxy,
/// X-Forwarded-For is read from right to left and the first entry that is
/// not itself trusted is the client; unparsable entries stop the walk and
/// the last trusted hop is used. Otherwise the peer address is the client.
std::string resolve_client_ip(const boost::asio::ip::address& peer, std::string_view forwarded_for,
                              const std::vector<config::cidr>& trusted_proxies);

}  // namespace todo::http
