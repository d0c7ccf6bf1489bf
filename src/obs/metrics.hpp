#pragma once

// The service keeps its own small metric core. Debian 12 packages prometheus-cpp 1.0.1, but
// that library writes only the 0.0.4 text format and cannot attach exemplars to histograms.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace todo::obs {

enum class metric_type { counter, gauge, histogram };

/// Prometheus text format 0.0.4, or OpenMetrics 1.0.0 text, which adds exemplars and `# EOF`.
enum class exposition_format { text, openmetrics };

/// Returns the Content-Type header value of `format`, including version and charset.
std::string_view content_type(exposition_format format) noexcept;

/// Chooses the format for a scrape from its Accept header. OpenMetrics is chosen only when
/// `application/openmetrics-text` without a version or with version 1.0.0 has a q-value above
/// zero and at least that of text/plain 0.0.4, which the most specific of `text/plain`,
/// `text/*` and `*/*` sets. Otherwise, including for malformed headers, the result is text.
exposition_format negotiate_format(std::string_view accept_header) noexcept;

/// Histogram bucket upper bounds in seconds for request latency, from 0.5 ms to 10 s.
inline constexpr std::array<double, 14> request_duration_buckets_seconds{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

/// Label value that replaces every label value of a series folded by a family's cardinality limit.
inline constexpr std::string_view overflow_label_value = "other";

/// Name of the counter, labelled by `family`, that counts lookups folded into an overflow series.
inline constexpr std::string_view series_overflow_metric_name = "todo_metrics_series_overflow_total";

/// Base of the three metric types, so that a family can own children of any type.
class metric_child {
 public:
  metric_child(const metric_child&) = delete;
  metric_child& operator=(const metric_child&) = delete;
  virtual ~metric_child() = default;

 protected:
  metric_child() = default;
};

/// Monotonic total, stored as a double so that it can count seconds as well as events.
class counter final : public metric_child {
 public:
  /// Adds `amount`. Negative and NaN amounts are ignored because a counter never decreases.
  void inc(double amount = 1.0) noexcept;
  double value() const noexcept;

 private:
  std::atomic<double> value_{0.0};
};

class gauge final : public metric_child {
 public:
  void set(double value) noexcept;
  void inc(double amount = 1.0) noexcept;
  void dec(double amount = 1.0) noexcept;
  double value() const noexcept;

 private:
  std::atomic<double> value_{0.0};
};

/// Trace context of one histogram observation, in W3C Trace Context form.
struct exemplar {
  std::string_view trace_id;  ///< 32 lowercase hex digits, not all zero.
  std::string_view span_id;   ///< 16 lowercase hex digits, not all zero.
  /// Time of the observation. Empty means the time at which observe() runs.
  std::optional<std::chrono::system_clock::time_point> timestamp;
};

/// Copy of the latest exemplar stored in one bucket.
struct exemplar_record {
  std::string trace_id;
  std::string span_id;
  double value = 0;
  std::int64_t timestamp_ms = 0;  ///< Milliseconds since the Unix epoch.
};

/// Point-in-time copy of a histogram, as the exposition shows it.
struct histogram_snapshot {
  std::vector<double> upper_bounds;             ///< Finite bounds; the +Inf bucket follows them.
  std::vector<std::uint64_t> cumulative_counts;  ///< One per bound, then one for +Inf.
  std::vector<std::optional<exemplar_record>> exemplars;  ///< Same indexes as the counts.
  double sum = 0;
  std::uint64_t count = 0;  ///< Equal to the +Inf count.
};

class histogram final : public metric_child {
 public:
  /// Creates empty buckets with checked_upper_bounds(upper_bounds) and one more for +Inf.
  explicit histogram(std::span<const double> upper_bounds);

  /// Returns the bounds without a trailing +Inf, or throws std::invalid_argument unless they
  /// are strictly increasing and not NaN.
  static std::vector<double> checked_upper_bounds(std::span<const double> upper_bounds);

  /// Counts `value` in the first bucket whose upper bound is at least `value`. NaN is ignored,
  /// because it belongs to no bucket and would make the sum NaN for good.
  void observe(double value) noexcept;

  /// Counts `value` like observe(value) and stores `trace` as the latest exemplar of that bucket.
  /// An exemplar whose ids are not valid W3C ids is dropped, and the value is still counted.
  void observe(double value, const exemplar& trace) noexcept;

  histogram_snapshot snapshot() const;
  const std::vector<double>& upper_bounds() const noexcept { return upper_bounds_; }

 private:
  // A spinlock per bucket guards the exemplar. Only observe() with an exemplar and snapshot()
  // take it, and both hold it just long enough to copy about 70 bytes.
  struct exemplar_slot {
    std::atomic_flag locked;
    bool present = false;
    std::array<char, 32> trace_id{};
    std::array<char, 16> span_id{};
    double value = 0;
    std::int64_t timestamp_ms = 0;
  };

  std::size_t bucket_index(double value) const noexcept;

  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> bucket_counts_;  // Not cumulative.
  std::unique_ptr<exemplar_slot[]> exemplar_slots_;
  std::atomic<double> sum_{0.0};
};

/// Strict weak order on label value tuples. It compares element by element, so that
/// ("ab", "c") and ("a", "bc") stay distinct, and it lets a std::string_view tuple find a
/// stored std::string tuple without allocating.
struct label_values_less {
  using is_transparent = void;

  template <class Left, class Right>
  bool operator()(const Left& left, const Right& right) const {
    return std::lexicographical_compare(
        left.begin(), left.end(), right.begin(), right.end(),
        [](std::string_view a, std::string_view b) { return a < b; });
  }
};

class registry;

/// Metrics of one name and type, one child per tuple of label values. Children are never
/// removed, so the reference that with() returns stays valid as long as the registry.
class family_base {
 public:
  family_base(const family_base&) = delete;
  family_base& operator=(const family_base&) = delete;
  virtual ~family_base() = default;

  metric_type type() const noexcept { return type_; }
  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  /// Maximum number of label tuples with their own child. 0 means no limit.
  std::size_t max_children() const noexcept { return max_children_; }

  /// Appends the metadata lines and every sample of this family.
  void render(std::string& out, exposition_format format) const;

 protected:
  family_base(metric_type type, std::string name, std::string help,
              std::vector<std::string> label_names, std::size_t max_children);

  /// Returns the child for `label_values`, creating it when it is new. Once max_children
  /// tuples have a child, every new tuple gets the one child whose label values are all
  /// "other", and the overflow counter of this family goes up by one per such call.
  /// Throws std::invalid_argument when the number of values differs from the label names.
  metric_child& find_or_create(std::span<const std::string_view> label_values);

 private:
  friend class registry;

  virtual std::unique_ptr<metric_child> make_child() const = 0;
  metric_child& insert_child(std::span<const std::string_view> label_values);

  const metric_type type_;
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::size_t max_children_;
  counter* overflow_counter_ = nullptr;  // Set by the registry when max_children_ is not 0.

  mutable std::shared_mutex children_mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<metric_child>, label_values_less> children_;
  std::size_t own_children_ = 0;             // Children created for a tuple within the limit.
  metric_child* overflow_child_ = nullptr;  // The all-"other" child, once the limit folded a tuple.
};

template <class Metric>
class family final : public family_base {
 public:
  family(std::string name, std::string help, std::vector<std::string> label_names,
         std::size_t max_children)
    requires(!std::is_same_v<Metric, histogram>)
      : family_base(type_of(), std::move(name), std::move(help), std::move(label_names),
                    max_children) {}

  family(std::string name, std::string help, std::vector<std::string> label_names,
         std::size_t max_children, std::span<const double> upper_bounds)
    requires std::is_same_v<Metric, histogram>
      : family_base(metric_type::histogram, std::move(name), std::move(help),
                    std::move(label_names), max_children),
        upper_bounds_(histogram::checked_upper_bounds(upper_bounds)) {}

  /// Returns the child for the label values, given in the order of label_names(). Callers on
  /// hot paths should keep the reference instead of looking it up per event.
  Metric& with(std::initializer_list<std::string_view> label_values) {
    return static_cast<Metric&>(find_or_create({label_values.begin(), label_values.size()}));
  }
  Metric& with(std::span<const std::string_view> label_values) {
    return static_cast<Metric&>(find_or_create(label_values));
  }

  /// Bucket upper bounds of a histogram family. Empty for counters and gauges.
  const std::vector<double>& upper_bounds() const noexcept { return upper_bounds_; }

 private:
  static constexpr metric_type type_of() {
    if constexpr (std::is_same_v<Metric, counter>) return metric_type::counter;
    else return metric_type::gauge;
  }

  std::unique_ptr<metric_child> make_child() const override {
    if constexpr (std::is_same_v<Metric, histogram>) return std::make_unique<histogram>(upper_bounds_);
    else return std::make_unique<Metric>();
  }

  std::vector<double> upper_bounds_;
};

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

/// One sample that a collector reports, with values in the order of its family's label names.
struct collected_sample {
  std::vector<std::string> label_values;
  double value = 0;
};

/// A counter or gauge family that a collector builds at scrape time. Counter names end in
/// `_total`. A family that is invalid or whose name clashes with another is left out of
/// the scrape and logged. Samples with the wrong number of label values or a repeated label
/// tuple are left out, and so are counter samples that are negative or NaN.
struct collected_family {
  std::string name;
  std::string help;
  metric_type type = metric_type::gauge;
  std::vector<std::string> label_names;
  std::vector<collected_sample> samples;
};

/// Callback run on every scrape. It must not call back into the registry that runs it.
using collector = std::function<std::vector<collected_family>()>;
using collector_id = std::uint64_t;

/// Owner of metric families and collectors, and producer of the exposition text.
class registry {
 public:
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;
  ~registry();

  /// Registers a counter family whose name ends in `_total`. When a family of that name
  /// already exists with the same type and label names, returns it and ignores `help` and
  /// `max_children`. Throws std::invalid_argument on an invalid name or label name, on a
  /// name taken by a different family, or on a name whose samples would clash with another
  /// family's samples.
  ///
  /// `max_children` is the cardinality limit, and 0 means no limit. Once that many label sets
  /// have a child, every new label set shares one more child whose label values are all
  /// "other", and `todo_metrics_series_overflow_total{family="<name>"}` counts those lookups.
  counter_family& add_counter(std::string_view name, std::string_view help,
                              std::vector<std::string> label_names = {},
                              std::size_t max_children = 0);

  /// Registers a gauge family, with the same rules as add_counter() except for `_total`.
  gauge_family& add_gauge(std::string_view name, std::string_view help,
                          std::vector<std::string> label_names = {}, std::size_t max_children = 0);

  /// Registers a histogram family, with the rules of add_gauge(). An existing family is
  /// returned only when its bucket bounds match too. The label name `le` is rejected, and so
  /// are bounds that are not strictly increasing.
  histogram_family& add_histogram(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names,
                                  std::span<const double> upper_bounds,
                                  std::size_t max_children = 0);

  collector_id add_collector(collector callback);

  /// Removes a collector. Waits until no scrape is running collectors, so that the callback's
  /// captures can be destroyed once this returns.
  void remove_collector(collector_id id);

  /// Renders every family and every collector's output, sorted by family name. A collector
  /// that throws is logged and its output left out, so only std::bad_alloc can escape.
  std::string render(exposition_format format) const;

 private:
  struct collector_entry {
    collector_id id;
    collector callback;
  };

  family_base& add_family(std::unique_ptr<family_base> candidate);
  counter* overflow_counter_for(const std::string& family_name);
  std::vector<collected_family> run_collectors() const;

  mutable std::shared_mutex families_mutex_;
  std::map<std::string, std::unique_ptr<family_base>, std::less<>> families_;
  // Every sample name and family name a family can produce in either format, so that no two
  // families can write lines a parser would attribute to one another.
  std::map<std::string, const family_base*, std::less<>> reserved_names_;
  counter_family* overflow_family_ = nullptr;

  mutable std::shared_mutex collectors_mutex_;
  std::vector<collector_entry> collectors_;
  collector_id next_collector_id_ = 1;
};

}  // namespace todo::obs
