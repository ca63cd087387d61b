// Translates the gossip core's plain message values (gossip/core/messages.h) to and from the
// Protobuf wire form (proto/gossip.proto, chronik::proto::GossipEnvelope).
//
// Everything arriving here is untrusted network input, so decode() validates what Protobuf does
// not: the wire version, that every message carries a body, and that enum values are known. No
// exception escapes either function (docs/design.md "Errors").
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>

#include "gossip/core/messages.h"

namespace chronik::gossip {

// GossipEnvelope.version written by encode() and the only one decode() accepts. A future version
// bump must keep decoding 1 for a rolling upgrade.
inline constexpr std::uint32_t wire_version = 1;

// Default input limit for decode(): the largest stream frame we accept (a push-pull of a few
// thousand members stays far below it). Datagrams use config::max_datagram_bytes instead.
inline constexpr std::size_t default_max_decode_bytes = 8u * 1024u * 1024u;

enum class codec_errc : std::uint8_t {
  oversized,        // input longer than the caller's limit
  parse_failed,     // not a valid GossipEnvelope (truncated, garbage, bad UTF-8 in a string)
  unknown_version,  // GossipEnvelope.version != wire_version (0 also means "field missing")
  empty_message,    // a GossipMessage with no body set in its oneof
  bad_enum,         // an enum value this build does not know
};

std::string_view to_string(codec_errc code);

struct codec_error {
  codec_errc code = codec_errc::parse_failed;
  std::string text;  // human-readable detail for logs, e.g. "version 7, expected 1"
};

// Serializes env. Returns an empty string if Protobuf fails (it cannot for the bounded messages
// the core produces); a valid encoding is never empty because the version is always set.
std::string encode(const envelope& env);

// Parses and validates one envelope. Inputs longer than max_bytes are rejected before parsing.
std::expected<envelope, codec_error> decode(std::string_view bytes,
                                            std::size_t max_bytes = default_max_decode_bytes);
std::expected<envelope, codec_error> decode(std::span<const std::byte> bytes,
                                            std::size_t max_bytes = default_max_decode_bytes);

}  // namespace chronik::gossip
