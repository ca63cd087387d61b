#include "kafka/handlers/request_metrics.h"

#include <optional>

#include "kafka/protocol/error_code.h"

namespace chronik::kafka {

void request_metrics::record(api_key key, std::int32_t error, std::uint64_t latency_us) {
  const auto k = static_cast<std::int16_t>(key);
  if (k < 0 || static_cast<std::size_t>(k) >= apis_.size()) return;
  slot& s = apis_[static_cast<std::size_t>(k)];
  s.seen = true;
  ++s.by_error[error];
  s.latency.observe_us(latency_us);
}

namespace {

// The slot index of `key`, or nullopt for a key past the table (not counted).
std::optional<std::size_t> slot_of(api_key key, std::size_t slots) {
  const auto k = static_cast<std::int16_t>(key);
  if (k < 0 || static_cast<std::size_t>(k) >= slots) return std::nullopt;
  return static_cast<std::size_t>(k);
}

}  // namespace

void request_metrics::received_by(api_key key, std::uint64_t frame_bytes) {
  if (const auto k = slot_of(key, apis_.size())) apis_[*k].bytes.received += 4 + frame_bytes;
}

void request_metrics::sent_by(api_key key, std::uint64_t frame_bytes) {
  if (const auto k = slot_of(key, apis_.size())) apis_[*k].bytes.sent += 4 + frame_bytes;
}

request_metrics::byte_counts request_metrics::bytes_of(api_key key) const {
  const auto k = slot_of(key, apis_.size());
  return k ? apis_[*k].bytes : byte_counts{};
}

std::vector<request_metrics::api_entry> request_metrics::snapshot() const {
  std::vector<api_entry> out;
  for (std::size_t k = 0; k < apis_.size(); ++k) {
    const slot& s = apis_[k];
    if (!s.seen) continue;
    out.push_back({static_cast<api_key>(static_cast<std::int16_t>(k)), s.by_error, s.latency.snapshot()});
  }
  return out;
}

std::string request_error_label(std::int32_t error) {
  if (error == request_metrics::unrecorded) return "unrecorded";
  if (error == request_metrics::connection_closed) return "connection_closed";
  const std::string_view name = to_string(static_cast<error_code>(static_cast<std::int16_t>(error)));
  // A code the codec has no name for keeps its number, so two of them never share a series.
  if (name == "UNKNOWN") return "UNKNOWN_" + std::to_string(error);
  return std::string(name);
}

}  // namespace chronik::kafka
