// Prometheus text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/),
// written by hand: the node's figures are plain counters owned by their threads and copied on the
// io thread at each scrape (docs/operations.md "Metrics and readiness" says why not prometheus-cpp).
// Pure: strings in, a string out.
//
// The writer keeps the format's rules: every family gets one `# HELP` and one `# TYPE` line before
// its samples, and its samples follow it without another family in between; label values are
// escaped (backslash, double quote, line feed); a histogram writes cumulative `_bucket{le=...}`
// samples ending with le="+Inf", then `_sum` and `_count`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/latency_histogram.h"

namespace chronik::daemon {

enum class metric_type : std::uint8_t { counter, gauge, histogram };

using metric_labels = std::vector<std::pair<std::string, std::string>>;

// A label value inside double quotes: \ -> \\, " -> \", line feed -> \n.
std::string escape_label_value(std::string_view v);
// HELP text: \ -> \\, line feed -> \n.
std::string escape_help(std::string_view v);
// Microseconds as decimal seconds without trailing zeros: 25 -> "0.000025", 2500000 -> "2.5".
std::string seconds_text(std::uint64_t us);

class exposition_writer {
 public:
  // Opens a family. `name` must be a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) not opened before.
  void family(std::string_view name, metric_type type, std::string_view help);
  // A sample of the open counter or gauge family.
  void sample(const metric_labels& labels, std::uint64_t value);
  void sample(const metric_labels& labels, double value);
  // One labelled histogram of the open histogram family; bucket bounds are latency_bounds_us.
  void histogram(const metric_labels& labels, const latency_snapshot& h);
  // A family with one unlabelled sample.
  void single(std::string_view name, metric_type type, std::string_view help, std::uint64_t value);
  std::string take() { return std::move(out_); }

 private:
  void line(std::string_view suffix, const metric_labels& labels, std::string_view extra_label,
            std::string_view extra_value, std::string_view value);

  std::string out_;
  std::string name_;  // the open family
  metric_type type_ = metric_type::gauge;
  std::vector<std::string> opened_;
};

// Whether `name` is a valid metric or label name (labels: no colon).
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

}  // namespace chronik::daemon
