#include "obs/sampler.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace todo::obs {
namespace {

trace_id id_from_hex(std::string_view hex) { return trace_id::from_hex(hex).value(); }

span_context parent_with_flags(std::uint8_t flags, bool remote) {
  span_context parent;
  parent.trace_id = id_from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  parent.span_id = span_id::from_hex("00f067aa0ba902b7").value();
  parent.flags = flags;
  parent.remote = remote;
  return parent;
}

// Trace ids on both sides of the ratio 0.5 bound, which is 2^63 for the last 8 bytes.
const trace_id last_below_half = id_from_hex("ffffffffffffffff7fffffffffffffff");
const trace_id last_at_half = id_from_hex("00000000000000018000000000000000");
const trace_id last_zero = id_from_hex("00000000000000010000000000000000");
const trace_id last_max = id_from_hex("0000000000000001ffffffffffffffff");

TEST(SamplerParse, KnownNames) {
  EXPECT_EQ(parse_sampler("always_on", "").kind, sampler_kind::always_on);
  EXPECT_EQ(parse_sampler("always_off", "").kind, sampler_kind::always_off);
  EXPECT_EQ(parse_sampler("parentbased_always_on", "").kind, sampler_kind::parentbased_always_on);
  EXPECT_EQ(parse_sampler("parentbased_always_off", "").kind, sampler_kind::parentbased_always_off);
  EXPECT_EQ(parse_sampler("traceidratio", "0.25").kind, sampler_kind::traceidratio);
  EXPECT_EQ(parse_sampler("parentbased_traceidratio", "0.25").kind,
            sampler_kind::parentbased_traceidratio);
}

TEST(SamplerParse, RatioValues) {
  EXPECT_DOUBLE_EQ(parse_sampler("traceidratio", "0.25").ratio, 0.25);
  EXPECT_DOUBLE_EQ(parse_sampler("traceidratio", "0").ratio, 0.0);
  EXPECT_DOUBLE_EQ(parse_sampler("traceidratio", "1").ratio, 1.0);
  EXPECT_DOUBLE_EQ(parse_sampler("parentbased_traceidratio", "0.5").ratio, 0.5);
}

TEST(SamplerParse, MissingRatioMeansOne) {
  EXPECT_DOUBLE_EQ(parse_sampler("traceidratio", "").ratio, 1.0);
  EXPECT_DOUBLE_EQ(parse_sampler("parentbased_traceidratio", "").ratio, 1.0);
}

TEST(SamplerParse, NonRatioKindIgnoresArg) {
  EXPECT_EQ(parse_sampler("always_on", "abc").kind, sampler_kind::always_on);
}

TEST(SamplerParse, UnknownNameThrowsWithValue) {
  try {
    parse_sampler("sometimes", "");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("\"sometimes\""), std::string::npos) << error.what();
  }
  EXPECT_THROW(parse_sampler("ALWAYS_ON", ""), std::invalid_argument);
  EXPECT_THROW(parse_sampler("", ""), std::invalid_argument);
}

TEST(SamplerParse, InvalidRatioThrowsWithValue) {
  for (const std::string_view arg : {"1.5", "-0.1", "abc", "0.5x", " 0.5", "nan", "inf"}) {
    try {
      parse_sampler("traceidratio", arg);
      ADD_FAILURE() << "expected std::invalid_argument for " << arg;
    } catch (const std::invalid_argument& error) {
      const std::string quoted = "\"" + std::string(arg) + "\"";
      EXPECT_NE(std::string(error.what()).find(quoted), std::string::npos) << error.what();
    }
  }
}

TEST(SamplerDecision, AlwaysOnAndOff) {
  EXPECT_TRUE(should_sample({sampler_kind::always_on, 1.0}, std::nullopt, last_max));
  EXPECT_FALSE(should_sample({sampler_kind::always_off, 1.0}, std::nullopt, last_zero));
}

TEST(SamplerDecision, RatioZeroSamplesNone) {
  const sampler config{sampler_kind::traceidratio, 0.0};
  EXPECT_FALSE(should_sample(config, std::nullopt, last_zero));
  EXPECT_FALSE(should_sample(config, std::nullopt, last_max));
}

TEST(SamplerDecision, RatioOneSamplesAll) {
  const sampler config{sampler_kind::traceidratio, 1.0};
  EXPECT_TRUE(should_sample(config, std::nullopt, last_zero));
  EXPECT_TRUE(should_sample(config, std::nullopt, last_max));
}

TEST(SamplerDecision, RatioHalfComparesLastEightBytes) {
  const sampler config{sampler_kind::traceidratio, 0.5};
  EXPECT_TRUE(should_sample(config, std::nullopt, last_zero));
  EXPECT_TRUE(should_sample(config, std::nullopt, last_below_half));
  EXPECT_FALSE(should_sample(config, std::nullopt, last_at_half));
  EXPECT_FALSE(should_sample(config, std::nullopt, last_max));
}

TEST(SamplerDecision, RatioIgnoresParent) {
  const sampler config{sampler_kind::traceidratio, 0.5};
  const std::optional<span_context> sampled_parent = parent_with_flags(trace_flag_sampled, true);
  EXPECT_FALSE(should_sample(config, sampled_parent, last_max));
}

TEST(SamplerDecision, ParentBasedFollowsSampledParent) {
  const std::optional<span_context> remote = parent_with_flags(trace_flag_sampled, true);
  const std::optional<span_context> local = parent_with_flags(trace_flag_sampled, false);
  EXPECT_TRUE(should_sample({sampler_kind::parentbased_always_off, 1.0}, remote, last_zero));
  EXPECT_TRUE(should_sample({sampler_kind::parentbased_always_off, 1.0}, local, last_zero));
  EXPECT_TRUE(should_sample({sampler_kind::parentbased_traceidratio, 0.0}, remote, last_zero));
}

TEST(SamplerDecision, ParentBasedFollowsUnsampledParent) {
  const std::optional<span_context> remote = parent_with_flags(0, true);
  const std::optional<span_context> local = parent_with_flags(0, false);
  EXPECT_FALSE(should_sample({sampler_kind::parentbased_always_on, 1.0}, remote, last_zero));
  EXPECT_FALSE(should_sample({sampler_kind::parentbased_always_on, 1.0}, local, last_zero));
  EXPECT_FALSE(should_sample({sampler_kind::parentbased_traceidratio, 1.0}, remote, last_zero));
}

TEST(SamplerDecision, ParentBasedRootUsesRootSampler) {
  EXPECT_TRUE(should_sample({sampler_kind::parentbased_always_on, 1.0}, std::nullopt, last_max));
  EXPECT_FALSE(should_sample({sampler_kind::parentbased_always_off, 1.0}, std::nullopt, last_zero));

  const sampler half{sampler_kind::parentbased_traceidratio, 0.5};
  EXPECT_TRUE(should_sample(half, std::nullopt, last_below_half));
  EXPECT_FALSE(should_sample(half, std::nullopt, last_at_half));
}

}  // namespace
}  // namespace todo::obs
