# Raft RPC between chronik nodes (docs/design.md "Batching", docs/transport.md).
#
# One `deliver` call carries a batch of Raft messages for many groups from one node to one peer.
# A Cap'n Proto call costs about 25 us of CPU per side, so batching, not the call rate, is what
# lets a node pair move hundreds of thousands of messages per second. Heartbeats of many groups
# are coalesced into `heartbeats`, a compact list that carries only what a heartbeat needs.
#
# Ordering: the sender keeps one connection per peer and at most one call in flight on it; the
# messages of a batch are in send order, and a group appears either only in `messages` or only in
# `heartbeats` of one batch. Together with Cap'n Proto's in-order delivery per connection this
# means the messages of one group arrive in the order they were sent (or not at all).
@0x990ee17f95f89159;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("chronik::schemas");

# Mirrors chronik::consensus::message_type; the receiver refuses values it does not know.
enum MessageType {
  preVote @0;
  preVoteResponse @1;
  vote @2;
  voteResponse @3;
  append @4;
  appendResponse @5;
  heartbeat @6;
  heartbeatResponse @7;
  snapshotChunk @8;
  snapshotResponse @9;
  timeoutNow @10;
  readIndex @11;
  readIndexResponse @12;
  propose @13;
}

enum EntryType {
  normal @0;
  confChange @1;
}

struct Entry {
  term @0 :UInt64;
  index @1 :UInt64;
  type @2 :EntryType;
  data @3 :Data;
}

struct ConfState {
  voters @0 :List(UInt64);
  learners @1 :List(UInt64);
}

struct SnapshotMeta {
  index @0 :UInt64;
  term @1 :UInt64;
  conf @2 :ConfState;
}

# Every field of chronik::consensus::message plus the group it belongs to. Zero-valued fields
# cost nothing on the wire after packing and little before it.
struct Message {
  group @0 :UInt64;
  type @1 :MessageType;
  from @2 :UInt64;
  to @3 :UInt64;
  term @4 :UInt64;
  index @5 :UInt64;
  logTerm @6 :UInt64;
  entries @7 :List(Entry);
  commit @8 :UInt64;
  reject @9 :Bool;
  rejectHint @10 :UInt64;
  hintTerm @11 :UInt64;
  # snapshotChunk: one piece of a snapshot (Raft paper §7, sent in chunks so no batch grows past
  # a few MiB).
  snapMeta @12 :SnapshotMeta;
  snapOffset @13 :UInt64;
  snapData @14 :Data;
  snapDone @15 :Bool;
  context @16 :Data;
}

# A coalesced heartbeat (or heartbeat response): `from` is the batch's sender and `to` is the
# receiver, so only the group, term, commit and ReadIndex context travel.
struct Heartbeat {
  group @0 :UInt64;
  term @1 :UInt64;
  commit @2 :UInt64;
  context @3 :Data;
  response @4 :Bool;
}

struct Batch {
  protocolVersion @0 :UInt32;
  # The sender's cluster id; empty while the sender is not yet a member of a cluster.
  clusterId @1 :Data;
  # The sender's node_uuid (generated once per data directory, docs/design.md "Identity").
  nodeUuid @2 :Data;
  senderNode @3 :UInt64;
  messages @4 :List(Message);
  heartbeats @5 :List(Heartbeat);
}

interface RaftTransport {
  # accepted = false means the whole batch was refused (identity mismatch, bad version, malformed
  # or oversized content); `reason` is one line for the sender's log.
  deliver @0 (batch :Batch) -> (accepted :Bool, reason :Text);
}
