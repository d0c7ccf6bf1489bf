#include "obs/trace_context.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace todo::obs {
namespace {

constexpr std::string_view valid_traceparent =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceId, HexRoundTrip) {
  const auto id = trace_id::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->bytes[0], 0x4b);
  EXPECT_EQ(id->bytes[15], 0x36);
  EXPECT_EQ(id->to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(TraceId, FromHexRejectsInvalid) {
  EXPECT_FALSE(trace_id::from_hex("00000000000000000000000000000000").has_value());
  EXPECT_FALSE(trace_id::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736").has_value());
  EXPECT_FALSE(trace_id::from_hex("4bf92f3577b34da6a3ce929d0e0e473").has_value());
  EXPECT_FALSE(span_id::from_hex("0000000000000000").has_value());
  EXPECT_FALSE(span_id::from_hex("00f067aa0ba902bz").has_value());
}

TEST(TraceId, GeneratedIdsAreValidAndDistinct) {
  const auto first = trace_id::generate();
  const auto second = trace_id::generate();
  EXPECT_TRUE(first.valid());
  EXPECT_TRUE(second.valid());
  EXPECT_NE(first, second);
  EXPECT_TRUE(span_id::generate().valid());
  EXPECT_NE(span_id::generate(), span_id::generate());
}

TEST(TraceParent, ParsesValidVersion00) {
  const auto context = parse_traceparent(valid_traceparent);
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(context->span_id.to_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(context->flags, 0x01);
  EXPECT_TRUE(context->sampled());
  EXPECT_TRUE(context->remote);
  EXPECT_TRUE(context->tracestate.empty());
}

TEST(TraceParent, UnsampledFlags) {
  const auto context = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->flags, 0x00);
  EXPECT_FALSE(context->sampled());
}

TEST(TraceParent, UnknownFlagBitsKept) {
  const auto context = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->flags, 0x09);
  EXPECT_TRUE(context->sampled());
}

TEST(TraceParent, FutureVersionAcceptsExtraFields) {
  const auto context = parse_traceparent(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(context->span_id.to_hex(), "00f067aa0ba902b7");
  EXPECT_TRUE(context->sampled());
}

TEST(TraceParent, FutureVersionWithExactLength) {
  EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

struct invalid_case {
  std::string_view description;
  std::string_view header;
};

TEST(TraceParent, RejectsInvalidValues) {
  const invalid_case cases[] = {
      {"empty", ""},
      {"one character short", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0"},
      {"version 00 with extra field", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"},
      {"version 00 with trailing dash", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-"},
      {"version 00 with trailing space", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 "},
      {"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
      {"uppercase version", "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
      {"non-hex version", "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
      {"uppercase trace-id", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
      {"uppercase parent-id", "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"},
      {"uppercase flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A"},
      {"non-hex flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"},
      {"non-hex trace-id", "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01"},
      {"all-zero trace-id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
      {"all-zero parent-id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},
      {"underscore separator", "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"},
      {"short trace-id, long parent-id", "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01"},
      {"future version with wrong separator",
       "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what-the-future-will-be-like"},
      {"future version with flags too long",
       "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011-extra"},
      {"leading space", " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
  };
  for (const auto& [description, header] : cases) {
    EXPECT_FALSE(parse_traceparent(header).has_value()) << description << ": " << header;
  }
}

TEST(TraceParent, FormatRoundTrip) {
  const auto context = parse_traceparent(valid_traceparent);
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(format_traceparent(*context), valid_traceparent);
}

TEST(TraceParent, FormatWritesVersion00) {
  const auto context = parse_traceparent(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ab-what-the-future-will-be-like");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(format_traceparent(*context), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ab");
}

TEST(TraceParent, FormatGeneratedContext) {
  span_context context;
  context.trace_id = trace_id::generate();
  context.span_id = span_id::generate();
  context.flags = trace_flag_sampled;
  const auto parsed = parse_traceparent(format_traceparent(context));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->trace_id, context.trace_id);
  EXPECT_EQ(parsed->span_id, context.span_id);
  EXPECT_EQ(parsed->flags, trace_flag_sampled);
}

TEST(TraceState, KeepsValidList) {
  EXPECT_EQ(validate_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
}

TEST(TraceState, RemovesWhitespaceAroundCommas) {
  EXPECT_EQ(validate_tracestate(" rojo=1 ,\tcongo=2\t"), "rojo=1,congo=2");
}

TEST(TraceState, RemovesEmptyMembers) {
  EXPECT_EQ(validate_tracestate("rojo=1,, ,congo=2,"), "rojo=1,congo=2");
  EXPECT_EQ(validate_tracestate(""), "");
}

TEST(TraceState, AcceptsMultiTenantKey) {
  EXPECT_EQ(validate_tracestate("fw529a3039@dt=d7,1tenant@vendor=x"), "fw529a3039@dt=d7,1tenant@vendor=x");
}

TEST(TraceState, AcceptsSpaceInsideValue) {
  EXPECT_EQ(validate_tracestate("rojo=a b"), "rojo=a b");
}

TEST(TraceState, AcceptsKeyCharacters) {
  EXPECT_EQ(validate_tracestate("a0_-*/=x"), "a0_-*/=x");
}

TEST(TraceState, DropsInvalidLists) {
  const invalid_case cases[] = {
      {"member without equals sign", "rojo=1,congo"},
      {"uppercase key", "Rojo=1"},
      {"simple key starting with a digit", "1rojo=1"},
      {"empty key", "=1"},
      {"empty value", "rojo="},
      {"equals sign in value", "rojo=a=b"},
      {"control character in value", "rojo=a\x01"},
      {"non-ASCII value", "rojo=\xc3\xa9"},
      {"invalid key character", "ro.jo=1"},
      {"system-id starting with a digit", "tenant@1vendor=1"},
      {"system-id of 15 characters", "tenant@abcdefghijklmno=1"},
      {"two at signs", "a@b@c=1"},
      {"empty tenant-id", "@vendor=1"},
  };
  for (const auto& [description, header] : cases) {
    EXPECT_EQ(validate_tracestate(header), "") << description << ": " << header;
  }
}

TEST(TraceState, KeyLengthLimit) {
  const std::string key_256 = "k" + std::string(255, 'a');
  EXPECT_EQ(validate_tracestate(key_256 + "=1"), key_256 + "=1");
  EXPECT_EQ(validate_tracestate(key_256 + "a=1"), "");
}

TEST(TraceState, ValueLengthLimit) {
  const std::string value_256(256, 'v');
  EXPECT_EQ(validate_tracestate("k=" + value_256), "k=" + value_256);
  EXPECT_EQ(validate_tracestate("k=" + value_256 + "v"), "");
}

std::string numbered_members(int count) {
  std::string header;
  for (int i = 0; i < count; ++i) {
    if (i > 0) header += ',';
    header += "k" + std::to_string(i) + "=v";
  }
  return header;
}

TEST(TraceState, MemberCountLimit) {
  EXPECT_EQ(validate_tracestate(numbered_members(32)), numbered_members(32));
  EXPECT_EQ(validate_tracestate(numbered_members(33)), "");
}

TEST(TraceState, TotalLengthLimit) {
  // Two members of 2 + 254 characters and a comma make 513 characters.
  const std::string long_value(254, 'v');
  const std::string fits = "a=" + long_value + ",b=" + long_value.substr(1);
  ASSERT_EQ(fits.size(), 512u);
  EXPECT_EQ(validate_tracestate(fits), fits);
  EXPECT_EQ(validate_tracestate("a=" + long_value + ",b=" + long_value), "");
}

}  // namespace
}  // namespace todo::obs
