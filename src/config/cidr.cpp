#include "config/cidr.hpp"

#include <charconv>
#include <stdexcept>
#include <string>

namespace todo::config {

namespace {

boost::asio::ip::address unmap_v4(const boost::asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

template <typename Bytes>
bool prefix_matches(const Bytes& network, const Bytes& candidate, unsigned prefix_length) {
  unsigned full_bytes = prefix_length / 8;
  unsigned rest_bits = prefix_length % 8;
  for (unsigned i = 0; i < full_bytes; ++i) {
    if (network[i] != candidate[i]) return false;
  }
  if (rest_bits == 0) return true;
  auto mask = static_cast<unsigned char>(0xFF << (8 - rest_bits));
  return (network[full_bytes] & mask) == (candidate[full_bytes] & mask);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

bool cidr::contains(const boost::asio::ip::address& address) const {
  auto candidate = unmap_v4(address);
  if (candidate.is_v4() != network.is_v4()) return false;
  if (candidate.is_v4()) {
    return prefix_matches(network.to_v4().to_bytes(), candidate.to_v4().to_bytes(), prefix_length);
  }
  return prefix_matches(network.to_v6().to_bytes(), candidate.to_v6().to_bytes(), prefix_length);
}

cidr parse_cidr(std::string_view text) {
  text = trim(text);
  const auto slash = text.find('/');
  const std::string address_text(text.substr(0, slash));

  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(address_text, ec);
  if (ec) throw std::invalid_argument("invalid network address '" + std::string(text) + "'");
  address = unmap_v4(address);

  const unsigned max_prefix = address.is_v4() ? 32 : 128;
  unsigned prefix_length = max_prefix;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, parse_ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix_length);
    if (digits.empty() || parse_ec != std::errc{} || end != digits.data() + digits.size() ||
        prefix_length > max_prefix) {
      throw std::invalid_argument("invalid prefix length in '" + std::string(text) + "', expected 0 to " +
                                  std::to_string(max_prefix));
    }
  }
  return cidr{address, prefix_length};
}

std::vector<cidr> parse_cidr_list(std::string_view text) {
  std::vector<cidr> networks;
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto entry = trim(text.substr(0, comma));
    if (!entry.empty()) networks.push_back(parse_cidr(entry));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return networks;
}

}  // namespace todo::config
