#include "obs/metrics.hpp"

#include "obs/log.hpp"
#include "obs/metrics_text.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace todo::obs {

namespace {

std::string describe_bound(double bound) {
  std::string text;
  append_sample_value(text, bound);
  return text;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& name : names) {
    if (!joined.empty()) joined.append(", ");
    joined.append(name);
  }
  return joined;
}

// Checks a W3C trace or span id: `length` lowercase hex digits, not all zero.
bool is_valid_trace_id(std::string_view id, std::size_t length) noexcept {
  if (id.size() != length) return false;
  bool all_zero = true;
  for (const char c : id) {
    const bool hex_digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex_digit) return false;
    if (c != '0') all_zero = false;
  }
  return !all_zero;
}

void lock_slot(std::atomic_flag& flag) noexcept {
  while (flag.test_and_set(std::memory_order_acquire)) {
    while (flag.test(std::memory_order_relaxed)) std::this_thread::yield();
  }
}

void unlock_slot(std::atomic_flag& flag) noexcept { flag.clear(std::memory_order_release); }

// Throws std::invalid_argument unless `name` and `label_names` are valid for a family of `type`.
void validate_family(metric_type type, const std::string& name, const std::vector<std::string>& label_names) {
  if (!is_valid_metric_name(name)) {
    throw std::invalid_argument("invalid metric name \"" + name + "\": use letters, digits, '_' and ':', not starting with a digit");
  }
  if (type == metric_type::counter && !name.ends_with("_total")) {
    throw std::invalid_argument("counter name \"" + name + "\" must end in _total");
  }

  std::set<std::string_view> seen;
  for (const auto& label : label_names) {
    if (!is_valid_label_name(label)) {
      throw std::invalid_argument("invalid label name \"" + label + "\" in metric " + name +
                                  ": use letters, digits and '_', not starting with a digit or \"__\"");
    }
    if (type == metric_type::histogram && label == "le") {
      throw std::invalid_argument("invalid label name \"le\" in histogram " + name +
                                  ": le is reserved for the bucket bound, so rename the label");
    }
    if (!seen.insert(label).second) {
      throw std::invalid_argument("label name \"" + label + "\" appears twice in metric " + name);
    }
  }
}

// Returns every name that a family writes in either format: its own name, the OpenMetrics
// family name of a counter, and the suffixed sample names.
std::vector<std::string> reserved_names_of(metric_type type, const std::string& name) {
  switch (type) {
    case metric_type::counter: {
      const std::string base(metadata_name(name, type, exposition_format::openmetrics));
      return {name, base, base + "_created"};
    }
    case metric_type::gauge:
      return {name};
    case metric_type::histogram:
      return {name, name + "_bucket", name + "_sum", name + "_count", name + "_created"};
  }
  return {name};
}

void append_value_line_end(std::string& out, double value) {
  out.push_back(' ');
  append_sample_value(out, value);
  out.push_back('\n');
}

void append_exemplar(std::string& out, const exemplar_record& record) {
  out.append(" # {trace_id=\"");
  out.append(record.trace_id);
  out.append("\",span_id=\"");
  out.append(record.span_id);
  out.append("\"} ");
  append_sample_value(out, record.value);
  out.push_back(' ');
  append_timestamp_seconds(out, record.timestamp_ms);
}

// NOTE: Counters and histograms get no `_created` sample, which OpenMetrics 1.0 recommends
// but does not require. Their `_created` names are already reserved for adding it later.
void render_histogram(std::string& out, exposition_format format, const std::string& name,
                      const std::vector<std::string>& label_names, const std::vector<std::string>& label_values,
                      const histogram_snapshot& snapshot) {
  std::string le_text;
  for (std::size_t i = 0; i < snapshot.cumulative_counts.size(); ++i) {
    le_text.clear();
    if (i < snapshot.upper_bounds.size()) {
      append_bucket_bound(le_text, snapshot.upper_bounds[i], format);
    } else {
      le_text = "+Inf";
    }
    append_sample_name(out, name, "_bucket", label_names, label_values, le_text);
    out.push_back(' ');
    out.append(std::to_string(snapshot.cumulative_counts[i]));
    if (format == exposition_format::openmetrics && snapshot.exemplars[i]) append_exemplar(out, *snapshot.exemplars[i]);
    out.push_back('\n');
  }

  // OpenMetrics forbids a sum, and with it the count, once a bucket bound is negative,
  // because observations below zero would make the sum decrease.
  const bool negative_bounds = !snapshot.upper_bounds.empty() && snapshot.upper_bounds.front() < 0;
  if (format == exposition_format::openmetrics && negative_bounds) return;

  append_sample_name(out, name, "_sum", label_names, label_values);
  append_value_line_end(out, snapshot.sum);
  append_sample_name(out, name, "_count", label_names, label_values);
  out.push_back(' ');
  out.append(std::to_string(snapshot.count));
  out.push_back('\n');
}

void render_collected(std::string& out, exposition_format format, const collected_family& family) {
  append_metadata(out, format, family.type, family.name, family.help);
  for (const auto& sample : family.samples) {
    append_sample_name(out, family.name, "", family.label_names, sample.label_values);
    append_value_line_end(out, sample.value);
  }
}

// Returns why a collected family cannot be rendered, or an empty string when it can. Drops
// samples that would make the exposition invalid and sorts the rest by label values.
std::string check_collected(collected_family& family) {
  if (family.type == metric_type::histogram) return "collectors can report counters and gauges only";
  try {
    validate_family(family.type, family.name, family.label_names);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }

  const auto unusable = [&](const collected_sample& sample) {
    if (sample.label_values.size() != family.label_names.size()) return true;
    return family.type == metric_type::counter && !(sample.value >= 0);
  };
  std::erase_if(family.samples, unusable);

  const auto by_labels = [](const collected_sample& a, const collected_sample& b) {
    return label_values_less{}(a.label_values, b.label_values);
  };
  const auto same_labels = [](const collected_sample& a, const collected_sample& b) {
    return a.label_values == b.label_values;
  };
  std::stable_sort(family.samples.begin(), family.samples.end(), by_labels);
  family.samples.erase(std::unique(family.samples.begin(), family.samples.end(), same_labels), family.samples.end());
  return {};
}

}  // namespace

void counter::inc(double amount) noexcept {
  if (!(amount >= 0)) return;
  value_.fetch_add(amount, std::memory_order_relaxed);
}

double counter::value() const noexcept { return value_.load(std::memory_order_relaxed); }

void gauge::set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
void gauge::inc(double amount) noexcept { value_.fetch_add(amount, std::memory_order_relaxed); }
void gauge::dec(double amount) noexcept { value_.fetch_sub(amount, std::memory_order_relaxed); }
double gauge::value() const noexcept { return value_.load(std::memory_order_relaxed); }

std::vector<double> histogram::checked_upper_bounds(std::span<const double> upper_bounds) {
  std::vector<double> bounds(upper_bounds.begin(), upper_bounds.end());
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) bounds.pop_back();

  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i])) throw std::invalid_argument("histogram bucket bound " + std::to_string(i) + " is NaN");
    if (i > 0 && !(bounds[i] > bounds[i - 1])) {
      throw std::invalid_argument("histogram bucket bounds must be strictly increasing, but " + describe_bound(bounds[i]) +
                                  " follows " + describe_bound(bounds[i - 1]));
    }
  }
  return bounds;
}

histogram::histogram(std::span<const double> upper_bounds)
    : upper_bounds_(checked_upper_bounds(upper_bounds)),
      bucket_counts_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_.size() + 1)),
      exemplar_slots_(std::make_unique<exemplar_slot[]>(upper_bounds_.size() + 1)) {}

std::size_t histogram::bucket_index(double value) const noexcept {
  // The first bound not below the value; past the end means the +Inf bucket.
  const auto found = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
  return static_cast<std::size_t>(found - upper_bounds_.begin());
}

void histogram::observe(double value) noexcept {
  if (std::isnan(value)) return;
  bucket_counts_[bucket_index(value)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

void histogram::observe(double value, const exemplar& trace) noexcept {
  if (std::isnan(value)) return;
  const std::size_t index = bucket_index(value);
  bucket_counts_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);

  if (!is_valid_trace_id(trace.trace_id, 32) || !is_valid_trace_id(trace.span_id, 16)) return;
  const auto time = trace.timestamp.value_or(std::chrono::system_clock::now());
  const auto milliseconds = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();

  exemplar_slot& slot = exemplar_slots_[index];
  lock_slot(slot.locked);
  slot.present = true;
  std::copy(trace.trace_id.begin(), trace.trace_id.end(), slot.trace_id.begin());
  std::copy(trace.span_id.begin(), trace.span_id.end(), slot.span_id.begin());
  slot.value = value;
  slot.timestamp_ms = milliseconds;
  unlock_slot(slot.locked);
}

histogram_snapshot histogram::snapshot() const {
  const std::size_t buckets = upper_bounds_.size() + 1;
  histogram_snapshot result;
  result.upper_bounds = upper_bounds_;
  result.cumulative_counts.reserve(buckets);
  result.exemplars.resize(buckets);

  std::uint64_t running = 0;
  for (std::size_t i = 0; i < buckets; ++i) {
    running += bucket_counts_[i].load(std::memory_order_relaxed);
    result.cumulative_counts.push_back(running);

    // Copy under the spinlock, and allocate the strings after releasing it.
    exemplar_slot& slot = exemplar_slots_[i];
    lock_slot(slot.locked);
    const bool present = slot.present;
    const auto trace_id = slot.trace_id;
    const auto span_id = slot.span_id;
    const double value = slot.value;
    const std::int64_t timestamp_ms = slot.timestamp_ms;
    unlock_slot(slot.locked);

    if (!present) continue;
    result.exemplars[i] = exemplar_record{std::string(trace_id.begin(), trace_id.end()),
                                          std::string(span_id.begin(), span_id.end()), value, timestamp_ms};
  }
  result.count = running;
  // Counts and sum are read one after another, so under concurrent observations the sum can
  // differ from the counts by the values of the observations in flight.
  result.sum = sum_.load(std::memory_order_relaxed);
  return result;
}

family_base::family_base(metric_type type, std::string name, std::string help,
                         std::vector<std::string> label_names, std::size_t max_children)
    : type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      max_children_(max_children) {
  validate_family(type_, name_, label_names_);
}

metric_child& family_base::find_or_create(std::span<const std::string_view> label_values) {
  if (label_values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + " has " + std::to_string(label_names_.size()) + " label names (" +
                                join_names(label_names_) + ") but got " + std::to_string(label_values.size()) +
                                " label values");
  }

  {
    std::shared_lock lock(children_mutex_);
    const auto found = children_.find(label_values);
    if (found != children_.end()) return *found->second;

    // The overflow child exists only once the limit is reached, and children are never
    // removed, so every new tuple from now on is folded without the exclusive lock.
    if (overflow_child_ != nullptr) {
      if (overflow_counter_ != nullptr) overflow_counter_->inc();
      return *overflow_child_;
    }
  }

  std::unique_lock lock(children_mutex_);
  return insert_child(label_values);
}

metric_child& family_base::insert_child(std::span<const std::string_view> label_values) {
  const auto found = children_.find(label_values);
  if (found != children_.end()) return *found->second;

  if (max_children_ == 0 || own_children_ < max_children_) {
    std::vector<std::string> key(label_values.begin(), label_values.end());
    auto& child = children_.emplace(std::move(key), make_child()).first->second;
    ++own_children_;
    return *child;
  }

  if (overflow_counter_ != nullptr) overflow_counter_->inc();
  if (overflow_child_ == nullptr) {
    // A tuple of "other" values that was created within the limit doubles as the overflow child.
    std::vector<std::string> key(label_names_.size(), std::string(overflow_label_value));
    auto existing = children_.find(key);
    if (existing == children_.end()) existing = children_.emplace(std::move(key), make_child()).first;
    overflow_child_ = existing->second.get();
  }
  return *overflow_child_;
}

void family_base::render(std::string& out, exposition_format format) const {
  std::vector<std::pair<const std::vector<std::string>*, const metric_child*>> children;
  {
    std::shared_lock lock(children_mutex_);
    children.reserve(children_.size());
    for (const auto& [label_values, child] : children_) children.emplace_back(&label_values, child.get());
  }

  append_metadata(out, format, type_, name_, help_);
  for (const auto& [label_values, child] : children) {
    switch (type_) {
      case metric_type::counter:
        append_sample_name(out, name_, "", label_names_, *label_values);
        append_value_line_end(out, static_cast<const counter*>(child)->value());
        break;
      case metric_type::gauge:
        append_sample_name(out, name_, "", label_names_, *label_values);
        append_value_line_end(out, static_cast<const gauge*>(child)->value());
        break;
      case metric_type::histogram:
        render_histogram(out, format, name_, label_names_, *label_values,
                         static_cast<const histogram*>(child)->snapshot());
        break;
    }
  }
}

registry::~registry() = default;

counter_family& registry::add_counter(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names, std::size_t max_children) {
  auto candidate = std::make_unique<counter_family>(std::string(name), std::string(help), std::move(label_names), max_children);
  return static_cast<counter_family&>(add_family(std::move(candidate)));
}

gauge_family& registry::add_gauge(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names, std::size_t max_children) {
  auto candidate = std::make_unique<gauge_family>(std::string(name), std::string(help), std::move(label_names), max_children);
  return static_cast<gauge_family&>(add_family(std::move(candidate)));
}

histogram_family& registry::add_histogram(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names,
                                          std::span<const double> upper_bounds, std::size_t max_children) {
  auto candidate = std::make_unique<histogram_family>(std::string(name), std::string(help), std::move(label_names),
                                                      max_children, upper_bounds);
  return static_cast<histogram_family&>(add_family(std::move(candidate)));
}

family_base& registry::add_family(std::unique_ptr<family_base> candidate) {
  std::unique_lock lock(families_mutex_);

  const auto found = families_.find(candidate->name());
  if (found != families_.end()) {
    family_base& existing = *found->second;
    bool same = existing.type() == candidate->type() && existing.label_names() == candidate->label_names();
    if (same && existing.type() == metric_type::histogram) {
      same = static_cast<const histogram_family&>(existing).upper_bounds() ==
             static_cast<const histogram_family&>(*candidate).upper_bounds();
    }
    if (!same) {
      throw std::invalid_argument("metric " + candidate->name() + " is already registered as a " +
                                  std::string(metric_type_name(existing.type())) + " with labels (" +
                                  join_names(existing.label_names()) +
                                  "); register it with the same type, labels and buckets, or choose another name");
    }
    return existing;
  }

  const auto names = reserved_names_of(candidate->type(), candidate->name());
  for (const auto& reserved : names) {
    const auto clash = reserved_names_.find(reserved);
    if (clash != reserved_names_.end()) {
      throw std::invalid_argument("metric " + candidate->name() + " would write lines named " + reserved +
                                  ", as metric " + clash->second->name() + " does; choose another name");
    }
  }

  if (candidate->max_children() != 0) candidate->overflow_counter_ = overflow_counter_for(candidate->name());

  family_base& added = *candidate;
  for (const auto& reserved : names) reserved_names_.emplace(reserved, &added);
  families_.emplace(candidate->name(), std::move(candidate));
  return added;
}

counter* registry::overflow_counter_for(const std::string& family_name) {
  if (overflow_family_ == nullptr) {
    const std::string name(series_overflow_metric_name);
    auto overflow = std::make_unique<counter_family>(
        name, "Lookups of a new label set that a family's cardinality limit folded into its \"other\" series.",
        std::vector<std::string>{"family"}, 0);
    for (const auto& reserved : reserved_names_of(metric_type::counter, name)) {
      if (reserved_names_.contains(reserved)) {
        throw std::invalid_argument("metric name " + reserved + " is reserved for the series overflow counter");
      }
    }
    for (const auto& reserved : reserved_names_of(metric_type::counter, name)) reserved_names_.emplace(reserved, overflow.get());
    overflow_family_ = overflow.get();
    families_.emplace(name, std::move(overflow));
  }
  return &overflow_family_->with({family_name});
}

collector_id registry::add_collector(collector callback) {
  std::unique_lock lock(collectors_mutex_);
  const collector_id id = next_collector_id_++;
  collectors_.push_back({id, std::move(callback)});
  return id;
}

void registry::remove_collector(collector_id id) {
  std::unique_lock lock(collectors_mutex_);
  std::erase_if(collectors_, [id](const collector_entry& entry) { return entry.id == id; });
}

std::vector<collected_family> registry::run_collectors() const {
  std::vector<collected_family> collected;
  // The shared lock stays held while callbacks run, so remove_collector() waits for them.
  std::shared_lock lock(collectors_mutex_);
  for (const auto& entry : collectors_) {
    // A failure is logged on every scrape, so the scrape interval bounds the log rate.
    try {
      auto families = entry.callback();
      std::move(families.begin(), families.end(), std::back_inserter(collected));
    } catch (const std::exception& error) {
      log_warning("todo.metrics", {}, "metrics collector failed, so its families are left out of this scrape",
                  {{"collector_id", entry.id}, {"error", error.what()}});
    } catch (...) {
      log_warning("todo.metrics", {}, "metrics collector failed, so its families are left out of this scrape",
                  {{"collector_id", entry.id}, {"error", "exception of unknown type"}});
    }
  }
  return collected;
}

std::string registry::render(exposition_format format) const {
  std::vector<collected_family> collected = run_collectors();

  struct render_item {
    std::string_view name;
    const family_base* owned = nullptr;
    const collected_family* collected = nullptr;
  };
  std::vector<render_item> items;
  {
    std::shared_lock lock(families_mutex_);
    items.reserve(families_.size() + collected.size());
    for (const auto& [name, family] : families_) items.push_back({name, family.get(), nullptr});

    std::set<std::string, std::less<>> collected_names;
    for (auto& family : collected) {
      std::string problem = check_collected(family);
      const auto names = reserved_names_of(family.type, family.name);
      for (const auto& reserved : names) {
        if (!problem.empty()) break;
        if (reserved_names_.contains(reserved) || collected_names.contains(reserved)) {
          problem = "its lines named " + reserved + " would clash with another metric";
        }
      }
      if (!problem.empty()) {
        log_warning("todo.metrics", {}, "collected metric left out of the scrape",
                    {{"metric", family.name}, {"reason", problem}});
        continue;
      }
      collected_names.insert(names.begin(), names.end());
      items.push_back({family.name, nullptr, &family});
    }
  }

  std::sort(items.begin(), items.end(), [](const render_item& a, const render_item& b) { return a.name < b.name; });

  std::string out;
  out.reserve(4096);
  for (const auto& item : items) {
    if (item.owned != nullptr) {
      item.owned->render(out, format);
    } else {
      render_collected(out, format, *item.collected);
    }
  }
  if (format == exposition_format::openmetrics) out.append("# EOF\n");
  return out;
}

}  // namespace todo::obs
