#include "daemon/prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "base/assert.h"

namespace chronik::daemon {
namespace {

const char* type_name(metric_type t) {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, colon)) return false;
  return true;
}

// Go's strconv.FormatFloat(v, 'g', -1, 64) spelling, which Prometheus itself writes; the text
// parser reads any float (and +Inf, -Inf, NaN).
std::string float_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }
bool valid_label_name(std::string_view name) { return valid_name(name, false) && !name.starts_with("__"); }

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string seconds_text(std::uint64_t us) {
  std::string out = std::to_string(us / 1'000'000);
  std::uint64_t frac = us % 1'000'000;
  if (frac == 0) return out;
  std::string digits = std::to_string(frac);
  digits.insert(0, 6 - digits.size(), '0');
  while (digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

void exposition_writer::family(std::string_view name, metric_type type, std::string_view help) {
  CHRONIK_EXPECTS(valid_metric_name(name), "a metric name matches [a-zA-Z_:][a-zA-Z0-9_:]*");
  CHRONIK_EXPECTS(std::ranges::find(opened_, name) == opened_.end(), "a metric family is written once");
  opened_.emplace_back(name);
  name_ = name;
  type_ = type;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
}

void exposition_writer::line(std::string_view suffix, const metric_labels& labels, std::string_view extra_label,
                             std::string_view extra_value, std::string_view value) {
  out_ += name_;
  out_ += suffix;
  if (!labels.empty() || !extra_label.empty()) {
    out_ += '{';
    bool first = true;
    const auto add = [&](std::string_view k, std::string_view v) {
      CHRONIK_EXPECTS(valid_label_name(k), "a label name matches [a-zA-Z_][a-zA-Z0-9_]* and is not reserved");
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      out_ += escape_label_value(v);
      out_ += '"';
    };
    for (const auto& [k, v] : labels) add(k, v);
    if (!extra_label.empty()) add(extra_label, extra_value);
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void exposition_writer::sample(const metric_labels& labels, std::uint64_t value) {
  CHRONIK_EXPECTS(!name_.empty() && type_ != metric_type::histogram, "a plain sample belongs to a counter or gauge");
  line("", labels, {}, {}, std::to_string(value));
}

void exposition_writer::sample(const metric_labels& labels, double value) {
  CHRONIK_EXPECTS(!name_.empty() && type_ != metric_type::histogram, "a plain sample belongs to a counter or gauge");
  line("", labels, {}, {}, float_text(value));
}

void exposition_writer::histogram(const metric_labels& labels, const latency_snapshot& h) {
  CHRONIK_EXPECTS(!name_.empty() && type_ == metric_type::histogram, "histogram samples belong to a histogram");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < latency_finite_buckets; ++i) {
    cumulative += h.buckets[i];
    line("_bucket", labels, "le", seconds_text(latency_bounds_us[i]), std::to_string(cumulative));
  }
  cumulative += h.buckets[latency_finite_buckets];
  line("_bucket", labels, "le", "+Inf", std::to_string(cumulative));
  line("_sum", labels, {}, {}, float_text(static_cast<double>(h.sum_us) / 1e6));
  // The +Inf bucket, not h.count: a snapshot of a shared histogram read while its writer runs
  // may differ in the last observation, and Prometheus expects the two to be equal.
  line("_count", labels, {}, {}, std::to_string(cumulative));
}

void exposition_writer::single(std::string_view name, metric_type type, std::string_view help, std::uint64_t value) {
  family(name, type, help);
  sample({}, value);
}

}  // namespace chronik::daemon
