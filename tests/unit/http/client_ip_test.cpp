#include "http/client_ip.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using boost::asio::ip::make_address;
using todo::config::parse_cidr_list;
using todo::http::resolve_client_ip;

const auto loopback_proxies = parse_cidr_list("127.0.0.1/32, ::1/128");
const auto private_proxies = parse_cidr_list("10.0.0.0/8, 127.0.0.1/32, fd00::/8");

TEST(ClientIp, UntrustedPeerIgnoresForwardedFor) {
  EXPECT_EQ(resolve_client_ip(make_address("203.0.113.9"), "1.2.3.4", loopback_proxies), "203.0.113.9");
}

TEST(ClientIp, NoTrustedProxiesUsesPeer) {
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), "1.2.3.4", {}), "127.0.0.1");
}

TEST(ClientIp, TrustedPeerWithoutHeaderUsesPeer) {
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), "", loopback_proxies), "127.0.0.1");
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), " , ,", loopback_proxies), "127.0.0.1");
}

TEST(ClientIp, TrustedPeerUsesForwardedEntry) {
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), "198.51.100.7", loopback_proxies), "198.51.100.7");
}

TEST(ClientIp, SpoofedLeftEntriesAreIgnored) {
  // The client sent "6.6.6.6", and the proxy appended the address it saw.
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), "6.6.6.6, 198.51.100.7", loopback_proxies),
            "198.51.100.7");
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), "127.0.0.1, 6.6.6.6, 198.51.100.7", loopback_proxies),
            "198.51.100.7");
}

TEST(ClientIp, TrustedHopsAreSkipped) {
  EXPECT_EQ(resolve_client_ip(make_address("10.0.0.1"), "198.51.100.7, 10.1.2.3, 10.0.0.2", private_proxies),
            "198.51.100.7");
}

TEST(ClientIp, AllTrustedGivesLeftMostEntry) {
  EXPECT_EQ(resolve_client_ip(make_address("10.0.0.1"), "10.9.9.9, 10.0.0.2", private_proxies), "10.9.9.9");
}

TEST(ClientIp, GarbageStopsAtLastTrustedHop) {
  EXPECT_EQ(resolve_client_ip(make_address("10.0.0.1"), "198.51.100.7, garbage, 10.0.0.2", private_proxies),
            "10.0.0.2");
  EXPECT_EQ(resolve_client_ip(make_address("10.0.0.1"), "198.51.100.7, unknown", private_proxies), "10.0.0.1");
  EXPECT_EQ(resolve_client_ip(make_address("10.0.0.1"), "999.1.1.1", private_proxies), "10.0.0.1");
}

TEST(ClientIp, SpacesAndTabsAreTrimmed) {
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), " \t198.51.100.7 \t", loopback_proxies), "198.51.100.7");
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), "6.6.6.6 ,198.51.100.7  ,  ", loopback_proxies),
            "198.51.100.7");
}

TEST(ClientIp, PortsAreRemoved) {
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), "198.51.100.7:5678", loopback_proxies), "198.51.100.7");
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), "[2001:db8::1]:1234", loopback_proxies), "2001:db8::1");
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), "[2001:db8::2]", loopback_proxies), "2001:db8::2");
}

TEST(ClientIp, BareIpv6EntryIsAccepted) {
  EXPECT_EQ(resolve_client_ip(make_address("::1"), "2001:db8::5", loopback_proxies), "2001:db8::5");
}

TEST(ClientIp, MalformedPortsAndBracketsAreGarbage) {
  for (const std::string entry : {"198.51.100.7:", "198.51.100.7:abc", "198.51.100.7:1234567", "[2001:db8::1",
                                  "[2001:db8::1]x", "[2001:db8::1]:", "[]", "[garbage]:80", "[", "]", ":80"}) {
    EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), entry, loopback_proxies), "127.0.0.1") << entry;
  }
}

TEST(ClientIp, MappedPeerIsPrintedAsIpv4) {
  EXPECT_EQ(resolve_client_ip(make_address("::ffff:203.0.113.9"), "1.2.3.4", loopback_proxies), "203.0.113.9");
}

TEST(ClientIp, MappedPeerMatchesIpv4Proxy) {
  EXPECT_EQ(resolve_client_ip(make_address("::ffff:127.0.0.1"), "198.51.100.7", loopback_proxies), "198.51.100.7");
}

TEST(ClientIp, MappedEntryIsPrintedAsIpv4) {
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), "::ffff:198.51.100.7", loopback_proxies), "198.51.100.7");
  EXPECT_EQ(resolve_client_ip(make_address("127.0.0.1"), "[::ffff:198.51.100.8]:443", loopback_proxies),
            "198.51.100.8");
}

TEST(ClientIp, Ipv6ProxyNetwork) {
  EXPECT_EQ(resolve_client_ip(make_address("fd00::1"), "2001:db8::9, fd12::3", private_proxies), "2001:db8::9");
}

TEST(ClientIp, HostileHeadersDoNotCrash) {
  const auto peer = make_address("127.0.0.1");
  EXPECT_EQ(resolve_client_ip(peer, std::string(20000, ','), loopback_proxies), "127.0.0.1");
  EXPECT_EQ(resolve_client_ip(peer, std::string(20000, 'a'), loopback_proxies), "127.0.0.1");
  EXPECT_EQ(resolve_client_ip(peer, std::string(5000, ':'), loopback_proxies), "127.0.0.1");
  EXPECT_EQ(resolve_client_ip(peer, std::string("1.2.3.4\0", 8), loopback_proxies), "127.0.0.1");
  EXPECT_EQ(resolve_client_ip(peer, std::string("1.2.3.4\0junk", 12), loopback_proxies), "127.0.0.1");
  EXPECT_EQ(resolve_client_ip(peer, "fe80::1%eth0", loopback_proxies), "127.0.0.1");

  std::string binary;
  for (int c = 0; c < 256; ++c) binary.push_back(static_cast<char>(c));
  EXPECT_EQ(resolve_client_ip(peer, binary, loopback_proxies), "127.0.0.1");

  std::string long_chain = "198.51.100.7";
  for (int i = 0; i < 2000; ++i) long_chain.append(", 127.0.0.1");
  EXPECT_EQ(resolve_client_ip(peer, long_chain, loopback_proxies), "198.51.100.7");
}

}  // namespace
