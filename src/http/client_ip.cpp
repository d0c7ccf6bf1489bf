#include "http/client_ip.hpp"

#include <algorithm>
#include <optional>
#include <string>

namespace todo::http {

namespace {

namespace ip = boost::asio::ip;

// Longer than any address with a bracketed IPv6 form, a zone id and a port.
constexpr std::size_t max_entry_length = 100;

ip::address unmap_v4(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_port(std::string_view text) {
  return !text.empty() && text.size() <= 5 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<ip::address> parse_address(std::string_view text) {
  boost::system::error_code ec;
  auto address = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return unmap_v4(address);
}

// Parses one X-Forwarded-For entry: "1.2.3.4", "1.2.3.4:5678", "::1",
// "[::1]" or "[::1]:1234". Returns nullopt for anything else, such as
// "unknown" or an obfuscated identifier.
std::optional<ip::address> parse_entry(std::string_view entry) {
  if (entry.size() > max_entry_length) return std::nullopt;

  // The address parser stops at a NUL, so "1.2.3.4\0junk" would pass as
  // 1.2.3.4 without this check. IPv6 zone ids ("%eth0") are rejected too.
  if (entry.find_first_not_of("0123456789abcdefABCDEF.:[]") != std::string_view::npos) return std::nullopt;

  if (!entry.empty() && entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto after = entry.substr(close + 1);
    if (!after.empty() && !(after.front() == ':' && is_port(after.substr(1)))) return std::nullopt;

    return parse_address(entry.substr(1, close - 1));
  }

  // Exactly one colon means IPv4 with a port, because IPv6 has at least two.
  const auto colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    if (!is_port(entry.substr(colon + 1))) return std::nullopt;
    auto address = parse_address(entry.substr(0, colon));
    if (!address || !address->is_v4()) return std::nullopt;
    return address;
  }

  return parse_address(entry);
}

bool is_trusted(const ip::address& address, const std::vector<config::cidr>& trusted_proxies) {
  return std::any_of(trusted_proxies.begin(), trusted_proxies.end(),
                     [&](const config::cidr& network) { return network.contains(address); });
}

}  // namespace

std::string resolve_client_ip(const ip::address& peer, std::string_view forwarded_for,
                              const std::vector<config::cidr>& trusted_proxies) {
  ip::address client = unmap_v4(peer);
  if (!is_trusted(client, trusted_proxies)) return client.to_string();

  // Each trusted hop appended the address it received the request from, so
  // the right-most untrusted entry is the first one no proxy of ours vouches for.
  while (!forwarded_for.empty()) {
    const auto comma = forwarded_for.rfind(',');
    const auto entry = trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for = comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);

    // Empty list elements are allowed in HTTP field lists and carry nothing.
    if (entry.empty()) continue;

    const auto address = parse_entry(entry);
    if (!address) break;

    client = *address;
    if (!is_trusted(client, trusted_proxies)) break;
  }
  return client.to_string();
}

}  // namespace todo::http
