#include "kafka/partition/control_entry.h"

#include <algorithm>

namespace chronik::kafka {
namespace {

constexpr std::size_t marker_bytes = 8;
constexpr std::uint8_t kind_delete_records = 1;
constexpr std::size_t delete_records_bytes = marker_bytes + 1 + 8;
constexpr std::uint8_t kind_expire_producers = 2;
constexpr std::size_t expire_header_bytes = marker_bytes + 1 + 4;
constexpr std::size_t expire_item_bytes = 16;

void put(std::string& out, std::uint64_t v, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t get(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[at + static_cast<std::size_t>(i)]);
  return v;
}

}  // namespace

bool is_control_entry(std::string_view data) {
  return data.size() > marker_bytes &&
         std::all_of(data.begin(), data.begin() + marker_bytes, [](char c) { return static_cast<std::uint8_t>(c) == 0xFF; });
}

std::expected<control_kind, control_errc> control_kind_of(std::string_view data) {
  if (!is_control_entry(data)) return std::unexpected(control_errc::malformed);
  switch (static_cast<std::uint8_t>(data[marker_bytes])) {
    case kind_delete_records: return control_kind::delete_records;
    case kind_expire_producers: return control_kind::expire_producers;
    default: return std::unexpected(control_errc::unknown_kind);
  }
}

std::string encode_expire_producers(const expire_producers_command& c) {
  std::string out(marker_bytes, static_cast<char>(0xFF));
  out.push_back(static_cast<char>(kind_expire_producers));
  put(out, c.producers.size(), 4);
  for (const auto& p : c.producers) {
    put(out, static_cast<std::uint64_t>(p.id), 8);
    put(out, static_cast<std::uint64_t>(p.last_index), 8);
  }
  return out;
}

std::expected<expire_producers_command, control_errc> decode_expire_producers(std::string_view data) {
  if (!is_control_entry(data) || data.size() < marker_bytes + 1) return std::unexpected(control_errc::malformed);
  if (static_cast<std::uint8_t>(data[marker_bytes]) != kind_expire_producers) {
    return std::unexpected(control_errc::unknown_kind);
  }
  if (data.size() < expire_header_bytes) return std::unexpected(control_errc::malformed);
  const std::uint64_t count = get(data, marker_bytes + 1, 4);
  if ((data.size() - expire_header_bytes) != count * expire_item_bytes) return std::unexpected(control_errc::malformed);
  expire_producers_command c;
  c.producers.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t at = expire_header_bytes + i * expire_item_bytes;
    const auto id = static_cast<std::int64_t>(get(data, at, 8));
    if (id < 0) return std::unexpected(control_errc::malformed);
    c.producers.push_back({id, static_cast<std::int64_t>(get(data, at + 8, 8))});
  }
  return c;
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
