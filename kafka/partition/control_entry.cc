#include "kafka/partition/control_entry.h"

#include <algorithm>

namespace chronik::kafka {
namespace {

constexpr std::size_t marker_bytes = 8;
constexpr std::uint8_t kind_delete_records = 1;
constexpr std::size_t delete_records_bytes = marker_bytes + 1 + 8;

}  // namespace

bool is_control_entry(std::string_view data) {
  return data.size() > marker_bytes &&
         std::all_of(data.begin(), data.begin() + marker_bytes, [](char c) { return static_cast<std::uint8_t>(c) == 0xFF; });
}

std::string encode_delete_records(const delete_records_command& c) {
  std::string out(marker_bytes, static_cast<char>(0xFF));
  out.push_back(static_cast<char>(kind_delete_records));
  const auto v = static_cast<std::uint64_t>(c.offset);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
  return out;
}

std::expected<delete_records_command, control_errc> decode_delete_records(std::string_view data) {
  if (!is_control_entry(data)) return std::unexpected(control_errc::malformed);
  if (static_cast<std::uint8_t>(data[marker_bytes]) != kind_delete_records) {
    return std::unexpected(control_errc::unknown_kind);
  }
  if (data.size() != delete_records_bytes) return std::unexpected(control_errc::malformed);
  std::uint64_t v = 0;
  for (std::size_t i = marker_bytes + 1; i < delete_records_bytes; ++i) v = (v << 8) | static_cast<std::uint8_t>(data[i]);
  const auto offset = static_cast<std::int64_t>(v);
  if (offset < 0) return std::unexpected(control_errc::malformed);
  return delete_records_command{offset};
}

}  // namespace chronik::kafka
