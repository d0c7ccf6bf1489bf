#include "obs/metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace todo::obs {
namespace {

constexpr std::string_view trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view span_id = "00f067aa0ba902b7";
constexpr std::array<double, 4> small_buckets{0.25, 0.5, 1, 10};

std::chrono::system_clock::time_point at_milliseconds(std::int64_t milliseconds) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(milliseconds));
}

std::size_t count_occurrences(const std::string& text, std::string_view needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

TEST(MetricsRegistry, CounterText) {
  registry metrics;
  auto& requests = metrics.add_counter("todo_http_requests_total", "HTTP requests handled.", {"method", "status"});
  requests.with({"GET", "200"}).inc();
  requests.with({"GET", "200"}).inc(2);
  requests.with({"POST", "201"}).inc(0.5);

  EXPECT_EQ(metrics.render(exposition_format::text),
            "# HELP todo_http_requests_total HTTP requests handled.\n"
            "# TYPE todo_http_requests_total counter\n"
            "todo_http_requests_total{method=\"GET\",status=\"200\"} 3\n"
            "todo_http_requests_total{method=\"POST\",status=\"201\"} 0.5\n");
}

TEST(MetricsRegistry, CounterOpenMetrics) {
  registry metrics;
  auto& requests = metrics.add_counter("todo_http_requests_total", "HTTP requests handled.", {"method", "status"});
  requests.with({"GET", "200"}).inc(3);
  requests.with({"POST", "201"}).inc(0.5);

  EXPECT_EQ(metrics.render(exposition_format::openmetrics),
            "# TYPE todo_http_requests counter\n"
            "# HELP todo_http_requests HTTP requests handled.\n"
            "todo_http_requests_total{method=\"GET\",status=\"200\"} 3\n"
            "todo_http_requests_total{method=\"POST\",status=\"201\"} 0.5\n"
            "# EOF\n");
}

TEST(MetricsRegistry, CounterIgnoresNegativeAndNaN) {
  registry metrics;
  auto& jobs = metrics.add_counter("todo_jobs_total", "Jobs run.").with({});
  jobs.inc(2);
  jobs.inc(-1);
  jobs.inc(std::nan(""));
  EXPECT_EQ(jobs.value(), 2.0);
}

TEST(MetricsRegistry, GaugeBothFormats) {
  registry metrics;
  auto& depth = metrics.add_gauge("todo_queue_depth", "Jobs waiting in the stream.").with({});
  depth.set(7);
  depth.inc(2);
  depth.dec(0.5);
  auto& balance = metrics.add_gauge("todo_balance", "Signed value.", {"account"});
  balance.with({"a"}).set(-2.5);

  EXPECT_EQ(metrics.render(exposition_format::text),
            "# HELP todo_balance Signed value.\n"
            "# TYPE todo_balance gauge\n"
            "todo_balance{account=\"a\"} -2.5\n"
            "# HELP todo_queue_depth Jobs waiting in the stream.\n"
            "# TYPE todo_queue_depth gauge\n"
            "todo_queue_depth 8.5\n");
  EXPECT_EQ(metrics.render(exposition_format::openmetrics),
            "# TYPE todo_balance gauge\n"
            "# HELP todo_balance Signed value.\n"
            "todo_balance{account=\"a\"} -2.5\n"
            "# TYPE todo_queue_depth gauge\n"
            "# HELP todo_queue_depth Jobs waiting in the stream.\n"
            "todo_queue_depth 8.5\n"
            "# EOF\n");
}

TEST(MetricsRegistry, HistogramText) {
  registry metrics;
  auto& latency = metrics.add_histogram("todo_request_duration_seconds", "Time to handle a request.", {"route"},
                                        small_buckets);
  auto& index = latency.with({"index"});
  for (const double value : {0.125, 0.5, 0.75, 3.0, 20.0}) index.observe(value);

  EXPECT_EQ(metrics.render(exposition_format::text),
            "# HELP todo_request_duration_seconds Time to handle a request.\n"
            "# TYPE todo_request_duration_seconds histogram\n"
            "todo_request_duration_seconds_bucket{route=\"index\",le=\"0.25\"} 1\n"
            "todo_request_duration_seconds_bucket{route=\"index\",le=\"0.5\"} 2\n"
            "todo_request_duration_seconds_bucket{route=\"index\",le=\"1\"} 3\n"
            "todo_request_duration_seconds_bucket{route=\"index\",le=\"10\"} 4\n"
            "todo_request_duration_seconds_bucket{route=\"index\",le=\"+Inf\"} 5\n"
            "todo_request_duration_seconds_sum{route=\"index\"} 24.375\n"
            "todo_request_duration_seconds_count{route=\"index\"} 5\n");
}

TEST(MetricsRegistry, HistogramOpenMetricsWithExemplar) {
  registry metrics;
  auto& latency = metrics.add_histogram("todo_request_duration_seconds", "Time to handle a request.", {"route"},
                                        small_buckets);
  auto& index = latency.with({"index"});
  for (const double value : {0.125, 0.5, 3.0, 20.0}) index.observe(value);
  index.observe(0.75, exemplar{trace_id, span_id, at_milliseconds(1700000000123)});

  EXPECT_EQ(metrics.render(exposition_format::openmetrics),
            "# TYPE todo_request_duration_seconds histogram\n"
            "# HELP todo_request_duration_seconds Time to handle a request.\n"
            "todo_request_duration_seconds_bucket{route=\"index\",le=\"0.25\"} 1\n"
            "todo_request_duration_seconds_bucket{route=\"index\",le=\"0.5\"} 2\n"
            "todo_request_duration_seconds_bucket{route=\"index\",le=\"1.0\"} 3"
            " # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"} 0.75 1700000000.123\n"
            "todo_request_duration_seconds_bucket{route=\"index\",le=\"10.0\"} 4\n"
            "todo_request_duration_seconds_bucket{route=\"index\",le=\"+Inf\"} 5\n"
            "todo_request_duration_seconds_sum{route=\"index\"} 24.375\n"
            "todo_request_duration_seconds_count{route=\"index\"} 5\n"
            "# EOF\n");
}

TEST(MetricsRegistry, ExemplarsOnlyInOpenMetrics) {
  registry metrics;
  auto& latency = metrics.add_histogram("todo_request_duration_seconds", "Time to handle a request.", {},
                                        request_duration_buckets_seconds);
  latency.with({}).observe(0.003, exemplar{trace_id, span_id, at_milliseconds(1700000000000)});

  const std::string text = metrics.render(exposition_format::text);
  EXPECT_EQ(text.find("trace_id"), std::string::npos) << text;
  EXPECT_EQ(text.find(" # "), std::string::npos) << text;
  EXPECT_NE(text.find("todo_request_duration_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos) << text;

  const std::string openmetrics = metrics.render(exposition_format::openmetrics);
  EXPECT_NE(openmetrics.find("todo_request_duration_seconds_bucket{le=\"0.005\"} 1 # {trace_id=\"" +
                             std::string(trace_id) + "\",span_id=\"" + std::string(span_id) +
                             "\"} 0.003 1700000000.000\n"),
            std::string::npos)
      << openmetrics;
  EXPECT_EQ(count_occurrences(openmetrics, "trace_id="), 1u) << openmetrics;
}

TEST(MetricsRegistry, ExemplarKeepsLatestPerBucket) {
  histogram latency(small_buckets);
  latency.observe(0.6, exemplar{"11111111111111111111111111111111", "1111111111111111", at_milliseconds(1000)});
  latency.observe(0.7, exemplar{"22222222222222222222222222222222", "2222222222222222", at_milliseconds(2000)});
  latency.observe(5, exemplar{"33333333333333333333333333333333", "3333333333333333", at_milliseconds(3000)});

  const auto snapshot = latency.snapshot();
  ASSERT_EQ(snapshot.exemplars.size(), 5u);
  EXPECT_FALSE(snapshot.exemplars[0]);
  EXPECT_FALSE(snapshot.exemplars[1]);
  ASSERT_TRUE(snapshot.exemplars[2]);
  EXPECT_EQ(snapshot.exemplars[2]->trace_id, "22222222222222222222222222222222");
  EXPECT_EQ(snapshot.exemplars[2]->span_id, "2222222222222222");
  EXPECT_EQ(snapshot.exemplars[2]->value, 0.7);
  EXPECT_EQ(snapshot.exemplars[2]->timestamp_ms, 2000);
  ASSERT_TRUE(snapshot.exemplars[3]);
  EXPECT_EQ(snapshot.exemplars[3]->trace_id, "33333333333333333333333333333333");
  EXPECT_FALSE(snapshot.exemplars[4]);
}

TEST(MetricsRegistry, InvalidExemplarIdsAreDroppedButCounted) {
  histogram latency(small_buckets);
  const std::vector<exemplar> invalid = {
      {"4BF92F3577B34DA6A3CE929D0E0E4736", span_id, {}},  // uppercase
      {"4bf92f3577b34da6a3ce929d0e0e473", span_id, {}},   // 31 digits
      {"00000000000000000000000000000000", span_id, {}},  // all zero
      {trace_id, "00f067aa0ba902bz", {}},                 // not hex
      {trace_id, "0000000000000000", {}},                 // all zero
      {trace_id, "", {}},
  };
  for (const auto& trace : invalid) latency.observe(0.1, trace);

  const auto snapshot = latency.snapshot();
  EXPECT_EQ(snapshot.count, invalid.size());
  EXPECT_FALSE(snapshot.exemplars[0]);
}

TEST(MetricsRegistry, ExemplarWithoutTimestampUsesNow) {
  histogram latency(small_buckets);
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  latency.observe(0.1, exemplar{trace_id, span_id, {}});
  const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();

  const auto snapshot = latency.snapshot();
  ASSERT_TRUE(snapshot.exemplars[0]);
  EXPECT_GE(snapshot.exemplars[0]->timestamp_ms, before);
  EXPECT_LE(snapshot.exemplars[0]->timestamp_ms, after);
}

TEST(MetricsRegistry, HistogramEdgeValues) {
  histogram latency(small_buckets);
  latency.observe(std::nan(""));
  latency.observe(0.25);
  latency.observe(-1);
  latency.observe(std::numeric_limits<double>::infinity());

  const auto snapshot = latency.snapshot();
  EXPECT_EQ(snapshot.cumulative_counts, (std::vector<std::uint64_t>{2, 2, 2, 2, 3}));
  EXPECT_EQ(snapshot.count, 3u);
  EXPECT_TRUE(std::isinf(snapshot.sum));
}

TEST(MetricsRegistry, HistogramBoundsValidation) {
  const std::vector<double> with_inf = {1, 2, std::numeric_limits<double>::infinity()};
  EXPECT_EQ(histogram::checked_upper_bounds(with_inf), (std::vector<double>{1, 2}));

  const std::vector<double> unsorted = {1, 0.5};
  EXPECT_THROW(histogram::checked_upper_bounds(unsorted), std::invalid_argument);
  const std::vector<double> repeated = {1, 1};
  EXPECT_THROW(histogram::checked_upper_bounds(repeated), std::invalid_argument);
  const std::vector<double> not_a_number = {1, std::nan("")};
  EXPECT_THROW(histogram::checked_upper_bounds(not_a_number), std::invalid_argument);

  registry metrics;
  EXPECT_THROW(metrics.add_histogram("todo_bad_seconds", "Bad.", {}, unsorted), std::invalid_argument);
}

TEST(MetricsRegistry, HistogramWithoutLabelsOrObservations) {
  registry metrics;
  metrics.add_histogram("todo_idle_seconds", "Idle time.", {}, std::vector<double>{1}).with({});

  EXPECT_EQ(metrics.render(exposition_format::text),
            "# HELP todo_idle_seconds Idle time.\n"
            "# TYPE todo_idle_seconds histogram\n"
            "todo_idle_seconds_bucket{le=\"1\"} 0\n"
            "todo_idle_seconds_bucket{le=\"+Inf\"} 0\n"
            "todo_idle_seconds_sum 0\n"
            "todo_idle_seconds_count 0\n");
}

TEST(MetricsRegistry, NegativeBoundsOmitSumInOpenMetrics) {
  registry metrics;
  metrics.add_histogram("todo_clock_skew_seconds", "Skew.", {}, std::vector<double>{-1, 1}).with({}).observe(0.5);

  EXPECT_EQ(metrics.render(exposition_format::openmetrics),
            "# TYPE todo_clock_skew_seconds histogram\n"
            "# HELP todo_clock_skew_seconds Skew.\n"
            "todo_clock_skew_seconds_bucket{le=\"-1.0\"} 0\n"
            "todo_clock_skew_seconds_bucket{le=\"1.0\"} 1\n"
            "todo_clock_skew_seconds_bucket{le=\"+Inf\"} 1\n"
            "# EOF\n");
  EXPECT_NE(metrics.render(exposition_format::text).find("todo_clock_skew_seconds_sum 0.5\n"), std::string::npos);
}

TEST(MetricsRegistry, LabelValueEscaping) {
  registry metrics;
  metrics.add_gauge("todo_escape_test", "Escaping.", {"value"}).with({"a\"b\\c\nd"}).set(1);

  const std::string expected_sample = "todo_escape_test{value=\"a\\\"b\\\\c\\nd\"} 1\n";
  EXPECT_NE(metrics.render(exposition_format::text).find(expected_sample), std::string::npos);
  EXPECT_NE(metrics.render(exposition_format::openmetrics).find(expected_sample), std::string::npos);
}

TEST(MetricsRegistry, LabelValuesAreStoredExactly) {
  registry metrics;
  auto& family = metrics.add_gauge("todo_exact_test", "Exact.", {"a", "b"});
  auto& first = family.with({"ab", "c"});
  auto& second = family.with({"a", "bc"});
  EXPECT_NE(&first, &second) << "tuples must not collide when their concatenations match";
  auto& spaced = family.with({" x ", ""});
  EXPECT_NE(&spaced, &family.with({"x", ""}));
  spaced.set(1);
  EXPECT_NE(metrics.render(exposition_format::text).find("todo_exact_test{a=\" x \",b=\"\"} 1\n"), std::string::npos);
}

TEST(MetricsRegistry, HelpEscaping) {
  registry metrics;
  metrics.add_gauge("todo_help_test", "Line one\nback\\slash \"quoted\"").with({}).set(0);

  EXPECT_EQ(metrics.render(exposition_format::text),
            "# HELP todo_help_test Line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE todo_help_test gauge\n"
            "todo_help_test 0\n");
  EXPECT_EQ(metrics.render(exposition_format::openmetrics),
            "# TYPE todo_help_test gauge\n"
            "# HELP todo_help_test Line one\\nback\\\\slash \\\"quoted\\\"\n"
            "todo_help_test 0\n"
            "# EOF\n");
}

TEST(MetricsRegistry, SpecialValues) {
  registry metrics;
  auto& family = metrics.add_gauge("todo_special", "Special values.", {"case"});
  family.with({"nan"}).set(std::nan(""));
  family.with({"plus"}).set(std::numeric_limits<double>::infinity());
  family.with({"minus"}).set(-std::numeric_limits<double>::infinity());
  metrics.add_counter("todo_unbounded_total", "Infinite counter.").with({}).inc(std::numeric_limits<double>::infinity());

  EXPECT_EQ(metrics.render(exposition_format::text),
            "# HELP todo_special Special values.\n"
            "# TYPE todo_special gauge\n"
            "todo_special{case=\"minus\"} -Inf\n"
            "todo_special{case=\"nan\"} NaN\n"
            "todo_special{case=\"plus\"} +Inf\n"
            "# HELP todo_unbounded_total Infinite counter.\n"
            "# TYPE todo_unbounded_total counter\n"
            "todo_unbounded_total +Inf\n");
}

TEST(MetricsRegistry, MetadataOncePerFamily) {
  registry metrics;
  auto& requests = metrics.add_counter("todo_requests_total", "Requests.", {"route"});
  auto& latency = metrics.add_histogram("todo_latency_seconds", "Latency.", {"route"}, small_buckets);
  for (const char* route : {"a", "b", "c"}) {
    requests.with({route}).inc();
    latency.with({route}).observe(1);
  }

  for (const auto format : {exposition_format::text, exposition_format::openmetrics}) {
    const std::string out = metrics.render(format);
    EXPECT_EQ(count_occurrences(out, "# HELP "), 2u) << out;
    EXPECT_EQ(count_occurrences(out, "# TYPE "), 2u) << out;
    EXPECT_EQ(count_occurrences(out, "# TYPE todo_latency_seconds histogram\n"), 1u) << out;
  }
}

TEST(MetricsRegistry, FamiliesSortedByName) {
  registry metrics;
  metrics.add_gauge("todo_c", "C.").with({}).set(3);
  metrics.add_gauge("todo_a", "A.").with({}).set(1);
  metrics.add_gauge("todo_b", "B.").with({}).set(2);

  const std::string out = metrics.render(exposition_format::text);
  const auto a = out.find("todo_a 1");
  const auto b = out.find("todo_b 2");
  const auto c = out.find("todo_c 3");
  ASSERT_NE(a, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST(MetricsRegistry, EmptyHelpWritesNoHelpLine) {
  registry metrics;
  metrics.add_gauge("todo_quiet", "").with({}).set(1);
  EXPECT_EQ(metrics.render(exposition_format::text), "# TYPE todo_quiet gauge\ntodo_quiet 1\n");
}

TEST(MetricsRegistry, EmptyRegistry) {
  registry metrics;
  EXPECT_EQ(metrics.render(exposition_format::text), "");
  EXPECT_EQ(metrics.render(exposition_format::openmetrics), "# EOF\n");
}

TEST(MetricsRegistry, ChildReferencesAreStable) {
  registry metrics;
  auto& family = metrics.add_counter("todo_stable_total", "Stable.", {"method", "route", "status", "env"});
  counter& cached = family.with({"GET", "index", "200", "production"});
  for (int i = 0; i < 100; ++i) family.with({"GET", "route" + std::to_string(i), "200", "production"});

  EXPECT_EQ(&cached, &family.with({"GET", "index", "200", "production"}));
  const std::vector<std::string_view> values = {"GET", "index", "200", "production"};
  EXPECT_EQ(&cached, &family.with(std::span<const std::string_view>(values)));
}

TEST(MetricsRegistry, WrongNumberOfLabelValuesThrows) {
  registry metrics;
  auto& family = metrics.add_counter("todo_arity_total", "Arity.", {"method", "status"});
  EXPECT_THROW(family.with({"GET"}), std::invalid_argument);
  EXPECT_THROW(family.with({"GET", "200", "extra"}), std::invalid_argument);
  EXPECT_THROW(family.with({}), std::invalid_argument);
}

TEST(MetricsRegistry, DuplicateRegistrationReturnsExisting) {
  registry metrics;
  auto& first = metrics.add_counter("todo_dup_total", "First help.", {"a"});
  auto& second = metrics.add_counter("todo_dup_total", "Other help.", {"a"});
  EXPECT_EQ(&first, &second);
  EXPECT_EQ(second.help(), "First help.");

  auto& latency = metrics.add_histogram("todo_dup_seconds", "Latency.", {}, small_buckets);
  const std::vector<double> same_with_inf = {0.25, 0.5, 1, 10, std::numeric_limits<double>::infinity()};
  EXPECT_EQ(&latency, &metrics.add_histogram("todo_dup_seconds", "Latency.", {}, same_with_inf));
}

TEST(MetricsRegistry, ConflictingRegistrationThrows) {
  registry metrics;
  metrics.add_counter("todo_conflict_total", "Conflict.", {"a"});
  EXPECT_THROW(metrics.add_counter("todo_conflict_total", "Conflict.", {"b"}), std::invalid_argument);
  EXPECT_THROW(metrics.add_counter("todo_conflict_total", "Conflict.", {"a", "b"}), std::invalid_argument);
  EXPECT_THROW(metrics.add_gauge("todo_conflict_total", "Conflict.", {"a"}), std::invalid_argument);

  metrics.add_histogram("todo_conflict_seconds", "Conflict.", {}, small_buckets);
  const std::vector<double> other_buckets = {1, 2};
  EXPECT_THROW(metrics.add_histogram("todo_conflict_seconds", "Conflict.", {}, other_buckets), std::invalid_argument);
}

TEST(MetricsRegistry, ClashingSampleNamesThrow) {
  registry metrics;
  metrics.add_counter("todo_events_total", "Events.");
  EXPECT_THROW(metrics.add_gauge("todo_events", "Same OpenMetrics family name."), std::invalid_argument);
  EXPECT_THROW(metrics.add_gauge("todo_events_created", "Created sample name."), std::invalid_argument);

  metrics.add_histogram("todo_wait_seconds", "Wait.", {}, small_buckets);
  EXPECT_THROW(metrics.add_gauge("todo_wait_seconds_count", "Count sample name."), std::invalid_argument);
  EXPECT_THROW(metrics.add_gauge("todo_wait_seconds_bucket", "Bucket sample name."), std::invalid_argument);
}

TEST(MetricsRegistry, InvalidNamesThrow) {
  registry metrics;
  EXPECT_THROW(metrics.add_counter("todo_requests", "No _total suffix."), std::invalid_argument);
  EXPECT_THROW(metrics.add_gauge("todo-dash", "Dash."), std::invalid_argument);
  EXPECT_THROW(metrics.add_gauge("", "Empty."), std::invalid_argument);
  EXPECT_THROW(metrics.add_gauge("todo_ok", "Reserved label.", {"__name__"}), std::invalid_argument);
  EXPECT_THROW(metrics.add_gauge("todo_ok", "Repeated label.", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(metrics.add_gauge("todo_ok", "Invalid label.", {"a-b"}), std::invalid_argument);
  EXPECT_THROW(metrics.add_histogram("todo_ok_seconds", "le label.", {"le"}, small_buckets), std::invalid_argument);
  EXPECT_NO_THROW(metrics.add_gauge("todo_ok", "Valid.", {"le"}));
}

TEST(MetricsRegistry, CardinalityOverflowFoldsIntoOther) {
  registry metrics;
  auto& logins = metrics.add_counter("todo_logins_total", "Logins.", {"user"}, 2);
  counter& a = logins.with({"a"});
  a.inc();
  logins.with({"b"}).inc();
  counter& c = logins.with({"c"});
  counter& d = logins.with({"d"});
  EXPECT_EQ(&c, &d);
  c.inc();
  d.inc();
  EXPECT_EQ(&a, &logins.with({"a"})) << "existing label sets keep their own child";

  EXPECT_EQ(metrics.render(exposition_format::text),
            "# HELP todo_logins_total Logins.\n"
            "# TYPE todo_logins_total counter\n"
            "todo_logins_total{user=\"a\"} 1\n"
            "todo_logins_total{user=\"b\"} 1\n"
            "todo_logins_total{user=\"other\"} 2\n"
            "# HELP todo_metrics_series_overflow_total Lookups of a new label set that a family's cardinality "
            "limit folded into its \"other\" series.\n"
            "# TYPE todo_metrics_series_overflow_total counter\n"
            "todo_metrics_series_overflow_total{family=\"todo_logins_total\"} 2\n");
}

TEST(MetricsRegistry, OverflowCounterStartsAtZero) {
  registry metrics;
  metrics.add_gauge("todo_limited", "Limited.", {"a", "b"}, 5);

  EXPECT_EQ(metrics.render(exposition_format::openmetrics),
            "# TYPE todo_limited gauge\n"
            "# HELP todo_limited Limited.\n"
            "# TYPE todo_metrics_series_overflow counter\n"
            "# HELP todo_metrics_series_overflow Lookups of a new label set that a family's cardinality "
            "limit folded into its \\\"other\\\" series.\n"
            "todo_metrics_series_overflow_total{family=\"todo_limited\"} 0\n"
            "# EOF\n");
}

TEST(MetricsRegistry, OverflowReusesExistingOtherTuple) {
  registry metrics;
  auto& family = metrics.add_gauge("todo_reuse", "Reuse.", {"a", "b"}, 1);
  gauge& other = family.with({"other", "other"});
  EXPECT_EQ(&other, &family.with({"x", "y"}));
  EXPECT_EQ(&other, &family.with({"z", "w"}));
}

TEST(MetricsRegistry, OverflowNameIsReserved) {
  registry metrics;
  metrics.add_gauge("todo_metrics_series_overflow", "Taken.");
  EXPECT_THROW(metrics.add_gauge("todo_limited", "Limited.", {"a"}, 1), std::invalid_argument);
}

TEST(MetricsRegistry, CollectorOutputIsRendered) {
  registry metrics;
  metrics.add_gauge("todo_a_first", "First.").with({}).set(1);
  const collector_id id = metrics.add_collector([] {
    collected_family pool;
    pool.name = "todo_db_pool_connections";
    pool.help = "Connections in the pool by state.";
    pool.type = metric_type::gauge;
    pool.label_names = {"state"};
    pool.samples = {{{"idle"}, 3}, {{"busy"}, 1}};
    return std::vector<collected_family>{pool};
  });

  EXPECT_EQ(metrics.render(exposition_format::text),
            "# HELP todo_a_first First.\n"
            "# TYPE todo_a_first gauge\n"
            "todo_a_first 1\n"
            "# HELP todo_db_pool_connections Connections in the pool by state.\n"
            "# TYPE todo_db_pool_connections gauge\n"
            "todo_db_pool_connections{state=\"busy\"} 1\n"
            "todo_db_pool_connections{state=\"idle\"} 3\n");

  metrics.remove_collector(id);
  EXPECT_EQ(metrics.render(exposition_format::text), "# HELP todo_a_first First.\n# TYPE todo_a_first gauge\ntodo_a_first 1\n");
}

TEST(MetricsRegistry, CollectedCounterOpenMetrics) {
  registry metrics;
  metrics.add_collector([] {
    collected_family jobs{"todo_jobs_done_total", "Jobs done.", metric_type::counter, {}, {{{}, 12}}};
    return std::vector<collected_family>{jobs};
  });
  EXPECT_EQ(metrics.render(exposition_format::openmetrics),
            "# TYPE todo_jobs_done counter\n"
            "# HELP todo_jobs_done Jobs done.\n"
            "todo_jobs_done_total 12\n"
            "# EOF\n");
}

TEST(MetricsRegistry, FailingCollectorIsLeftOut) {
  registry metrics;
  metrics.add_gauge("todo_kept", "Kept.").with({}).set(1);
  metrics.add_collector([]() -> std::vector<collected_family> { throw std::runtime_error("pool is gone"); });
  metrics.add_collector([]() -> std::vector<collected_family> { throw 42; });

  std::string out;
  EXPECT_NO_THROW(out = metrics.render(exposition_format::text));
  EXPECT_EQ(out, "# HELP todo_kept Kept.\n# TYPE todo_kept gauge\ntodo_kept 1\n");
}

TEST(MetricsRegistry, InvalidCollectedFamiliesAreLeftOut) {
  registry metrics;
  metrics.add_gauge("todo_owned", "Owned.").with({}).set(1);
  metrics.add_collector([] {
    return std::vector<collected_family>{
        {"todo_owned", "Clashes with a registered family.", metric_type::gauge, {}, {{{}, 2}}},
        {"bad name", "Invalid name.", metric_type::gauge, {}, {{{}, 3}}},
        {"todo_no_suffix", "Counter without _total.", metric_type::counter, {}, {{{}, 4}}},
        {"todo_histogram", "Histograms cannot be collected.", metric_type::histogram, {}, {{{}, 5}}},
        {"todo_bad_label", "Invalid label name.", metric_type::gauge, {"__x"}, {{{"v"}, 6}}},
        {"todo_twice", "First copy.", metric_type::gauge, {}, {{{}, 7}}},
        {"todo_twice", "Second copy.", metric_type::gauge, {}, {{{}, 8}}},
    };
  });

  EXPECT_EQ(metrics.render(exposition_format::text),
            "# HELP todo_owned Owned.\n"
            "# TYPE todo_owned gauge\n"
            "todo_owned 1\n"
            "# HELP todo_twice First copy.\n"
            "# TYPE todo_twice gauge\n"
            "todo_twice 7\n");
}

TEST(MetricsRegistry, InvalidCollectedSamplesAreLeftOut) {
  registry metrics;
  metrics.add_collector([] {
    return std::vector<collected_family>{
        {"todo_sent_total",
         "Sent.",
         metric_type::counter,
         {"queue"},
         {{{"b"}, 2}, {{"a"}, -1}, {{"a"}, std::nan("")}, {{"a", "extra"}, 1}, {{"c"}, 3}, {{"b"}, 9}}},
    };
  });

  EXPECT_EQ(metrics.render(exposition_format::text),
            "# HELP todo_sent_total Sent.\n"
            "# TYPE todo_sent_total counter\n"
            "todo_sent_total{queue=\"b\"} 2\n"
            "todo_sent_total{queue=\"c\"} 3\n");
}

TEST(MetricsRegistry, ContentTypes) {
  EXPECT_EQ(content_type(exposition_format::text), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(content_type(exposition_format::openmetrics), "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

}  // namespace
}  // namespace todo::obs
