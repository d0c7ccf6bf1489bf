#include "queue/redis_url.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace todo::queue {
namespace {

// Returns the message of the std::invalid_argument that parsing throws.
std::string rejection(const std::string& url) {
  try {
    parse_redis_url(url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(RedisUrl, DefaultsPortAndDb) {
  const auto url = parse_redis_url("redis://localhost");
  EXPECT_EQ(url.host, "localhost");
  EXPECT_EQ(url.port, 6379);
  EXPECT_EQ(url.db, 0);
  EXPECT_EQ(url.username, "");
  EXPECT_EQ(url.password, "");
}

TEST(RedisUrl, ReadsEveryPart) {
  const auto url = parse_redis_url("redis://worker:s3cret@redis.internal:6380/5");
  EXPECT_EQ(url.host, "redis.internal");
  EXPECT_EQ(url.port, 6380);
  EXPECT_EQ(url.db, 5);
  EXPECT_EQ(url.username, "worker");
  EXPECT_EQ(url.password, "s3cret");
}

TEST(RedisUrl, PasswordWithoutUser) {
  const auto url = parse_redis_url("redis://:s3cret@127.0.0.1:6379/0");
  EXPECT_EQ(url.username, "");
  EXPECT_EQ(url.password, "s3cret");
  EXPECT_EQ(url.host, "127.0.0.1");
}

TEST(RedisUrl, SchemeIsCaseInsensitive) {
  EXPECT_EQ(parse_redis_url("REDIS://h").host, "h");
}

TEST(RedisUrl, PercentDecodesUserAndPassword) {
  const auto url = parse_redis_url("redis://us%40er:p%3Ass%2Fw%25rd%00x@h/1");
  EXPECT_EQ(url.username, "us@er");
  EXPECT_EQ(url.password, std::string("p:ss/w%rd\0x", 11));
}

TEST(RedisUrl, UnencodedSpecialCharactersInPassword) {
  // The user info ends at the last '@', so '@', '/', '?' and '#' survive.
  const auto url = parse_redis_url("redis://:p@ss/w?rd#x@h:7000/2");
  EXPECT_EQ(url.password, "p@ss/w?rd#x");
  EXPECT_EQ(url.host, "h");
  EXPECT_EQ(url.port, 7000);
  EXPECT_EQ(url.db, 2);
}

TEST(RedisUrl, Ipv6HostInBrackets) {
  const auto url = parse_redis_url("redis://[::1]:6390/3");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 6390);
  EXPECT_EQ(url.db, 3);
  EXPECT_EQ(url.endpoint(), "[::1]:6390/3");
}

TEST(RedisUrl, TrailingSlashMeansDbZero) {
  EXPECT_EQ(parse_redis_url("redis://h:1/").db, 0);
}

TEST(RedisUrl, LimitsAreAccepted) {
  EXPECT_EQ(parse_redis_url("redis://h:1").port, 1);
  EXPECT_EQ(parse_redis_url("redis://h:65535").port, 65535);
  EXPECT_EQ(parse_redis_url("redis://h/2147483647").db, 2147483647);
}

TEST(RedisUrl, EndpointHasNoSecrets) {
  const auto url = parse_redis_url("redis://admin:hunter2@cache:6400/7");
  EXPECT_EQ(url.endpoint(), "cache:6400/7");
}

TEST(RedisUrl, RejectsTlsWithReason) {
  const auto message = rejection("rediss://:hunter2@h:6380/0");
  EXPECT_NE(message.find("TLS"), std::string::npos) << message;
  EXPECT_NE(message.find("not supported"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

TEST(RedisUrl, RejectsInvalidUrlsWithoutPassword) {
  const std::string secret = "Pa55-w0rd";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"http://:" + secret + "@h", "unsupported scheme"},
      {"unix://:" + secret + "@/tmp/redis.sock", "unsupported scheme"},
      {"redis://:" + secret + "@", "missing host"},
      {"redis://:" + secret + "@:6379", "missing host"},
      {"redis://:" + secret + "@h:0", "port"},
      {"redis://:" + secret + "@h:65536", "port"},
      {"redis://:" + secret + "@h:-1", "port"},
      {"redis://:" + secret + "@h:", "port"},
      {"redis://:" + secret + "@h:80a", "port"},
      {"redis://:" + secret + "@h:99999999999", "port"},
      {"redis://:" + secret + "@h/-1", "database number"},
      {"redis://:" + secret + "@h/+1", "database number"},
      {"redis://:" + secret + "@h/db1", "database number"},
      {"redis://:" + secret + "@h/1/2", "database number"},
      {"redis://:" + secret + "@h/2147483648", "database number"},
      {"redis://:" + secret + "@h/0?ssl=true", "query"},
      {"redis://:" + secret + "@h#frag", "query"},
      {"redis://:" + secret + "@h h", "host"},
      {"redis://:" + secret + "@h\n", "host"},
      {"redis://:" + secret + "@[::1", "']'"},
      {"redis://:" + secret + "@[::1]x", "after the IPv6"},
      {"redis://:" + secret + "@[zz::1]", "IPv6"},
      {"redis://:" + secret + "%zz@h", "password contains an invalid percent escape"},
      {"redis://:" + secret + "%4@h", "password contains an invalid percent escape"},
      {"redis://us%g0er:" + secret + "@h", "user name contains an invalid percent escape"},
      {"redis://worker@h", "no password"},
  };
  for (const auto& [url, expected] : cases) {
    const auto message = rejection(url);
    EXPECT_NE(message.find(expected), std::string::npos) << url << " -> " << message;
    EXPECT_EQ(message.find(secret), std::string::npos) << "password leaked for " << url << ": " << message;
  }
}

TEST(RedisUrl, RejectsTextWithoutSchemeWithoutEchoingIt) {
  const auto message = rejection("localhost:6379 hunter2");
  EXPECT_NE(message.find("expected redis://"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

TEST(RedisUrl, RedactReplacesPassword) {
  EXPECT_EQ(redact_redis_url("redis://user:hunter2@h:6379/0"), "redis://user:***@h:6379/0");
  EXPECT_EQ(redact_redis_url("redis://:hunter2@h"), "redis://:***@h");
  EXPECT_EQ(redact_redis_url("redis://:p@ss@h/1"), "redis://:***@h/1");
  EXPECT_EQ(redact_redis_url("rediss://u:x@h"), "rediss://u:***@h");
}

TEST(RedisUrl, RedactKeepsUrlsWithoutPassword) {
  EXPECT_EQ(redact_redis_url("redis://h:6379/0"), "redis://h:6379/0");
  EXPECT_EQ(redact_redis_url("redis://user@h"), "redis://user@h");
  EXPECT_EQ(redact_redis_url(""), "");
}

TEST(RedisUrl, RedactHidesUserInfoOfNonUrls) {
  EXPECT_EQ(redact_redis_url("user:hunter2@h"), "***@h");
}

}  // namespace
}  // namespace todo::queue
