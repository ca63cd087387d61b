// The bytes of a configuration-change entry (docs/raft.md "Configuration change entries").
//
// Version 1 is a Protobuf-wire record, RaftConfChange in proto/raft_storage.proto:
//   field 1 version (varint) = 1, field 2 kind (varint: 1 add_voter, 2 add_learner, 3 remove),
//   field 3 node (varint, non-zero).
// The core may not link Protobuf, so it writes and reads the wire form by hand; the wire form is
// Protobuf's stable encoding, and tests/unit/conf_change_codec_test.cc checks that the generated
// class reads what this writes and the other way round. encode() emits the fields in field-number
// order, as a Protobuf serializer does, so every replica and every build writes identical bytes.
//
// Before version 1 the entry was text, "<kind> <node>" (e.g. "add_voter 3"). Its first byte is a
// letter, never 0x08 (the tag of field 1 as a varint), so the first byte tells the forms apart.
#include <charconv>
#include <cstdint>

#include "consensus/core/raft.h"

namespace chronik::consensus {
namespace {

constexpr std::uint64_t version_1 = 1;
constexpr std::uint8_t tag_version = (1 << 3) | 0;  // field 1, wire type 0 (varint)
constexpr std::uint8_t tag_kind = (2 << 3) | 0;
constexpr std::uint8_t tag_node = (3 << 3) | 0;
constexpr std::size_t max_varint_bytes = 10;  // 64 bits, 7 per byte

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Reads one varint at `at`, advancing it; nullopt when truncated or longer than 64 bits.
std::optional<std::uint64_t> get_varint(std::string_view in, std::size_t& at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < max_varint_bytes && at < in.size(); ++i) {
    const auto byte = static_cast<std::uint8_t>(in[at++]);
    if (i == max_varint_bytes - 1 && byte > 1) return std::nullopt;  // bits beyond 64
    v |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) return v;
  }
  return std::nullopt;
}

std::uint64_t wire_kind(conf_change::kind k) {
  switch (k) {
    case conf_change::kind::add_voter: return 1;
    case conf_change::kind::add_learner: return 2;
    case conf_change::kind::remove: return 3;
  }
  return 0;
}

std::optional<conf_change::kind> kind_from_wire(std::uint64_t v) {
  switch (v) {
    case 1: return conf_change::kind::add_voter;
    case 2: return conf_change::kind::add_learner;
    case 3: return conf_change::kind::remove;
    default: return std::nullopt;
  }
}

std::string_view kind_name(conf_change::kind k) {
  switch (k) {
    case conf_change::kind::add_voter: return "add_voter";
    case conf_change::kind::add_learner: return "add_learner";
    case conf_change::kind::remove: return "remove";
  }
  return "unknown";
}

// Version 1 after its version field: kind and node, each exactly once, in any order. A field this
// version does not define is refused rather than skipped: a writer that adds one bumps the version.
std::expected<conf_change, conf_change_errc> decode_v1(std::string_view in, std::size_t at) {
  std::optional<conf_change::kind> op;
  std::optional<std::uint64_t> node;
  for (int fields = 0; at < in.size(); ++fields) {
    if (fields == 2) return std::unexpected(conf_change_errc::malformed);  // trailing bytes
    const auto tag = static_cast<std::uint8_t>(in[at++]);
    auto value = get_varint(in, at);
    if (!value) return std::unexpected(conf_change_errc::malformed);
    if (tag == tag_kind && !op) {
      op = kind_from_wire(*value);
      if (!op) return std::unexpected(conf_change_errc::malformed);
    } else if (tag == tag_node && !node) {
      node = *value;
    } else {
      return std::unexpected(conf_change_errc::malformed);
    }
  }
  if (!op || !node || *node == 0) return std::unexpected(conf_change_errc::malformed);
  // The wire field is 64 bits; a node id is 32 (base/node_id.h): a wider value is refused, never
  // truncated into some other node's id.
  const auto id = node_id_from_u64(*node);
  if (!id) return std::unexpected(conf_change_errc::malformed);
  return conf_change{*op, *id};
}

// The text form written before version 1: "<kind> <node>".
std::expected<conf_change, conf_change_errc> decode_legacy_text(std::string_view data) {
  const auto space = data.find(' ');
  if (space == std::string_view::npos) return std::unexpected(conf_change_errc::malformed);
  const std::string_view name = data.substr(0, space);
  conf_change cc;
  if (name == "add_voter") cc.op = conf_change::kind::add_voter;
  else if (name == "add_learner") cc.op = conf_change::kind::add_learner;
  else if (name == "remove") cc.op = conf_change::kind::remove;
  else return std::unexpected(conf_change_errc::malformed);
  const char* first = data.data() + space + 1;
  const char* last = data.data() + data.size();
  std::uint64_t raw = 0;
  auto [ptr, ec] = std::from_chars(first, last, raw);
  if (ec != std::errc{} || ptr != last || raw == 0) return std::unexpected(conf_change_errc::malformed);
  const auto id = node_id_from_u64(raw);  // refused, never truncated, when wider than a node id
  if (!id) return std::unexpected(conf_change_errc::malformed);
  cc.node = *id;
  return cc;
}

}  // namespace

std::string_view to_string(conf_change_errc e) {
  switch (e) {
    case conf_change_errc::empty: return "empty configuration change entry";
    case conf_change_errc::unknown_version: return "configuration change entry of an unknown version";
    case conf_change_errc::malformed: return "malformed configuration change entry";
  }
  return "unknown configuration change error";
}

std::string conf_change::encode() const {
  std::string out;
  out.push_back(static_cast<char>(tag_version));
  put_varint(out, version_1);
  out.push_back(static_cast<char>(tag_kind));
  put_varint(out, wire_kind(op));
  out.push_back(static_cast<char>(tag_node));
  put_varint(out, node.value());
  return out;
}

std::expected<conf_change, conf_change_errc> conf_change::decode(std::string_view data) {
  if (data.empty()) return std::unexpected(conf_change_errc::empty);
  if (static_cast<std::uint8_t>(data.front()) != tag_version) return decode_legacy_text(data);
  std::size_t at = 1;
  const auto version = get_varint(data, at);
  if (!version) return std::unexpected(conf_change_errc::malformed);
  if (*version != version_1) return std::unexpected(conf_change_errc::unknown_version);
  return decode_v1(data, at);
}

std::string to_string(const conf_change& cc) {
  return std::string(kind_name(cc.op)) + " " + std::to_string(cc.node.value());
}

}  // namespace chronik::consensus
