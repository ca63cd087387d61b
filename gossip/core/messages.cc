#include "gossip/core/messages.h"

namespace chronik::gossip {
namespace {

// Protobuf costs at most 1 tag byte (field numbers < 16) plus a varint of at most 10 bytes for a
// scalar, and tag + length varint (<= 5) + payload for bytes/strings. Sub-messages add one tag and
// a length varint (<= 5).
constexpr std::size_t scalar = 11;
constexpr std::size_t wrapper = 6;
constexpr std::size_t fixed32 = 5;  // tag + 4 bytes
std::size_t bytes_field(const std::string& s) { return 6 + s.size(); }

struct bound_visitor {
  std::size_t operator()(const ping_msg&) const { return 2 * scalar; }
  std::size_t operator()(const indirect_ping_msg& m) const { return 3 * scalar + bytes_field(m.target_addr); }
  std::size_t operator()(const ack_msg&) const { return scalar; }
  std::size_t operator()(const nack_msg&) const { return scalar; }
  std::size_t operator()(const alive_msg& m) const {
    return 2 * scalar + bytes_field(m.uuid) + bytes_field(m.addr) + bytes_field(m.meta);
  }
  std::size_t operator()(const suspect_msg&) const { return 3 * scalar; }
  std::size_t operator()(const dead_msg&) const { return 3 * scalar; }
  std::size_t operator()(const push_pull_msg& m) const {
    std::size_t total = 3 * scalar;
    for (const auto& r : m.members)
      total += wrapper + 3 * scalar + bytes_field(r.uuid) + bytes_field(r.addr) + bytes_field(r.meta);
    total += m.digests.size() * (wrapper + 3 * scalar + fixed32);
    // `want` is packed: one tag and length, then a varint of at most 5 bytes per id.
    if (!m.want.empty()) total += wrapper + 5 * m.want.size();
    return total;
  }
};

}  // namespace

std::uint32_t identity_digest(std::string_view uuid, std::string_view addr) {
  // FNV-1a 64. The uuid's length goes first so that no two (uuid, addr) pairs give one byte string.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  const auto mix = [&h](unsigned char byte) {
    h ^= byte;
    h *= 0x100000001b3ULL;
  };
  const auto len = static_cast<std::uint32_t>(uuid.size());
  for (int shift = 0; shift < 32; shift += 8) mix(static_cast<unsigned char>(len >> shift));
  for (char c : uuid) mix(static_cast<unsigned char>(c));
  for (char c : addr) mix(static_cast<unsigned char>(c));
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

std::size_t encoded_size_bound(const message& msg) {
  // Outer GossipMessage wrapper inside the envelope, plus the oneof body wrapper.
  return 2 * wrapper + std::visit(bound_visitor{}, msg);
}

std::size_t envelope_overhead_bound(const envelope& env) {
  return scalar /*version*/ + bytes_field(env.cluster) + scalar + bytes_field(env.from_addr);
}

std::string_view to_string(member_state state) {
  switch (state) {
    case member_state::alive: return "alive";
    case member_state::suspect: return "suspect";
    case member_state::dead: return "dead";
    case member_state::left: return "left";
  }
  return "unknown";
}

}  // namespace chronik::gossip
