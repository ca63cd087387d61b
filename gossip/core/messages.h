// The gossip protocol's messages as plain values. gossip/net/codec translates them to and from the
// Protobuf wire form in proto/gossip.proto; the core never sees bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gossip/core/types.h"

namespace chronik::gossip {

// Direct probe (SWIM §3.1). `target` lets a restarted node at a reused address ignore probes meant
// for its predecessor.
struct ping_msg {
  std::uint32_t seq = 0;
  node_id target;
};

// Indirect probe request (SWIM §3.1 ping-req). With want_nack the intermediary answers nack when
// the target stays silent, which feeds Lifeguard local health (Lifeguard §4.3).
struct indirect_ping_msg {
  std::uint32_t seq = 0;
  node_id target;
  std::string target_addr;
  bool want_nack = false;
};

struct ack_msg {
  std::uint32_t seq = 0;
};

struct nack_msg {
  std::uint32_t seq = 0;
};

// A member announcing itself (or a relayed announcement). `meta` is opaque to the core; the daemon
// stores a node_meta Protobuf in it.
struct alive_msg {
  node_id node;
  incarnation inc;
  std::string uuid;
  std::string addr;
  std::string meta;
  // The node was started to take its id over from a dead or departed holder at another address
  // (--replace-node): only then may its claim replace that holder's entry at the same incarnation
  // (docs/bootstrap.md property 7).
  bool replaces = false;
};

struct suspect_msg {
  node_id node;
  incarnation inc;
  node_id from;
};

// from == node means the member left gracefully.
struct dead_msg {
  node_id node;
  incarnation inc;
  node_id from;
};

struct member_record {
  node_id node;
  incarnation inc;
  member_state state = member_state::alive;
  std::string uuid;
  std::string addr;
  std::string meta;
};

// What a member's uuid and address hash to in a member_digest. Stable across builds and
// platforms: peers compare each other's values.
std::uint32_t identity_digest(std::string_view uuid, std::string_view addr);

// A member record without uuid, address and metadata. A receiver that holds the same identity at
// this incarnation or a newer one already holds the metadata: a member raises its incarnation
// whenever it changes its metadata (docs/gossip.md "Compact push-pull").
struct member_digest {
  node_id node;
  incarnation inc;
  member_state state = member_state::alive;
  std::uint32_t identity = 0;  // identity_digest(uuid, addr)
};

// State exchange (memberlist push/pull). Sent over the stream transport; `reply` marks the
// answer so that the receiver does not answer again. A compact exchange (docs/gossip.md "Compact
// push-pull") lists the requester's table as digests; the reply carries full records only where
// the requester lacks them and `want`s what the replier lacks, which the requester answers with
// one more reply of those full records.
struct push_pull_msg {
  bool join = false;
  bool reply = false;
  std::vector<member_record> members;  // full records
  std::vector<member_digest> digests;
  bool compact = false;                // the sender reads digests and want
  std::vector<node_id> want;           // in a reply: full records the replier asks for
};

using message = std::variant<ping_msg, indirect_ping_msg, ack_msg, nack_msg, alive_msg, suspect_msg,
                             dead_msg, push_pull_msg>;

// Every packet carries the cluster name so that nodes of another cluster are ignored, and the
// sender's id and gossip address so that answers need no lookup.
struct envelope {
  std::string cluster;
  node_id from;
  std::string from_addr;
  std::vector<message> messages;
};

// Upper bounds of the Protobuf encoding, used by the core to fill datagrams up to
// config::max_datagram_bytes without encoding. tests/unit checks encode(x).size() <= bound(x).
std::size_t encoded_size_bound(const message& msg);
std::size_t envelope_overhead_bound(const envelope& env);  // everything but the messages

}  // namespace chronik::gossip
