// consensus::message <-> Cap'n Proto (schemas/raft.capnp). The encoder coalesces heartbeats; the
// decoder validates everything a peer could get wrong (enums, identity fields, sizes) and turns
// every KJ exception from a malformed message into a transport_error, so bad input never crashes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

#include "consensus/core/messages.h"
#include "consensus/core/types.h"
#include "consensus/transport/group_message.h"
#include "consensus/transport/transport_error.h"
#include "schemas/raft.capnp.h"

namespace chronik::consensus {

// Bumped on any incompatible schema change; a receiver refuses other versions.
inline constexpr std::uint32_t transport_protocol_version = 1;

// Cap'n Proto's default traversal limit, which both TwoPartyServer and TwoPartyClient use: a
// reader fails once it has visited this many bytes in total (cumulative over every read of one
// received message, so reading a field twice counts twice). docs/design.md "Batching" fixes it at
// 64 MiB.
inline constexpr std::size_t traversal_limit_bytes = 64u << 20;

struct batch_header {
  std::uint32_t protocol_version = transport_protocol_version;
  std::string cluster_id;
  std::string node_uuid;
  node_id sender;
};

struct decoded_batch {
  batch_header header;
  std::vector<group_message> messages;
  std::size_t coalesced_heartbeats = 0;  // how many of `messages` came from the compact list
};

// The sender's size estimate of one message: the payload bytes plus a fixed allowance for the
// struct and list overhead. Sender (batch splitting) and receiver (size check) use the same
// formula so a batch the sender built is never refused for its size.
std::size_t estimate_bytes(const message& m);

// Whether `m` fits the compact heartbeat form: a heartbeat (response) from `sender` to
// `receiver` that uses no field beyond term, commit and context.
bool coalescible(const message& m, node_id sender, node_id receiver);

// Fills `out`. A group with any non-coalescible message in this batch goes entirely into
// `messages`, so per-group order never depends on how the receiver merges the two lists.
void encode_batch(schemas::Batch::Builder out, const batch_header& header,
                  std::span<const group_message> items, node_id receiver);

// Reads and validates a received batch addressed to `receiver`. Refuses (never throws) a batch
// with unknown enum values, a missing sender id or uuid, messages not from the sender or not to
// `receiver`, or an estimated size above `max_bytes`.
std::expected<decoded_batch, transport_error> decode_batch(schemas::Batch::Reader in,
                                                          node_id receiver, std::size_t max_bytes);

}  // namespace chronik::consensus
