#include "kafka/groups/consumer_protocol.h"

#include "kafka/protocol/wire.h"

namespace chronik::kafka {
namespace {

// The highest subscription version whose fields we know; later ones are read as it.
constexpr std::int16_t max_known_version = 2;

}  // namespace

std::expected<consumer_subscription, codec_error> parse_consumer_subscription(std::string_view metadata) {
  reader in(metadata);
  consumer_subscription s;
  s.version = in.read_int16();
  if (in.ok() && s.version < 0) in.fail_at(0, codec_errc::invalid_value, "negative subscription version");
  const std::int16_t as = s.version > max_known_version ? max_known_version : s.version;
  // read_count refuses counts larger than the remaining input, which bounds every loop here.
  const std::int32_t topics = in.read_count(framing::classic);
  for (std::int32_t i = 0; i < topics && in.ok(); ++i) s.topics.push_back(in.read_string());
  s.user_data = in.read_nullable_bytes();
  if (as >= 1) {
    const std::int32_t owned = in.read_count(framing::classic);
    for (std::int32_t i = 0; i < owned && in.ok(); ++i) {
      std::pair<std::string, std::vector<std::int32_t>> tp;
      tp.first = in.read_string();
      const std::int32_t partitions = in.read_count(framing::classic);
      for (std::int32_t j = 0; j < partitions && in.ok(); ++j) tp.second.push_back(in.read_int32());
      s.owned_partitions.push_back(std::move(tp));
    }
  }
  if (as >= 2) s.generation_id = in.read_int32();
  if (!in.ok()) return std::unexpected(*in.error());
  return s;
}

std::string write_consumer_subscription(const consumer_subscription& s) {
  writer out;
  out.write_int16(s.version);
  out.write_array_length(static_cast<std::int32_t>(s.topics.size()));
  for (const auto& t : s.topics) out.write_string(t);
  out.write_nullable_bytes(s.user_data);
  if (s.version >= 1) {
    out.write_array_length(static_cast<std::int32_t>(s.owned_partitions.size()));
    for (const auto& [topic, partitions] : s.owned_partitions) {
      out.write_string(topic);
      out.write_array_length(static_cast<std::int32_t>(partitions.size()));
      for (const std::int32_t p : partitions) out.write_int32(p);
    }
  }
  if (s.version >= 2) out.write_int32(s.generation_id);
  return out.take();
}

}  // namespace chronik::kafka
