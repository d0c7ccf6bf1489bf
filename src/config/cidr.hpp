#pragma once

#include <boost/asio/ip/address.hpp>

#include <string_view>
#include <vector>

namespace todo::config {

/// An IPv4 or IPv6 network such as 10.0.0.0/8 or ::1/128.
struct cidr {
  boost::asio::ip::address network;
  unsigned prefix_length = 0;

  /// Tells whether `address` lies in this network. An IPv4-mapped IPv6
  /// address (::ffff:a.b.c.d) matches the IPv4 network it maps.
  bool contains(const boost::asio::ip::address& address) const;
};

/// Parses one network. A bare address is a network of one host. Throws
/// std::invalid_argument with the offending text.
cidr parse_cidr(std::string_view text);

/// Parses a comma-separated list; blanks around entries are ignored.
std::vector<cidr> parse_cidr_list(std::string_view text);

}  // namespace todo::config
