// Raft tuning, in ticks of the core (the shell converts milliseconds with its tick length). Field
// names carry their unit; each documents meaning, default and formula.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

namespace chronik::consensus {

struct raft_config {
  // A follower that hears no leader for a random time in [min, max) starts an election (Raft
  // paper §5.2: randomized timeouts make split votes rare). Default 10 and 20.
  std::uint32_t election_timeout_ticks_min = 10;
  std::uint32_t election_timeout_ticks_max = 20;

  // The leader sends heartbeats this often; must be well below the election timeout. Default 1.
  std::uint32_t heartbeat_ticks = 1;

  // Pre-vote (dissertation §9.6): a candidate first asks whether it could win, so a node that was
  // partitioned away does not raise terms and depose a healthy leader. Default on.
  bool pre_vote = true;

  // Check-quorum (dissertation §6.2): a leader that has not heard from a quorum within an election
  // timeout steps down, and followers that hear a leader ignore votes for the minimum election
  // timeout. Default on.
  bool check_quorum = true;

  // Quiescence (CockroachDB's replica quiescence; docs/raft.md "Quiescence"): a leader whose group
  // has been idle and fully replicated for this many consecutive ticks tells its followers to stop
  // ticking and stops itself, so an idle group sends no heartbeats at all. Safety never depends on
  // it: it only suppresses ticks. 0 disables. Default 20 (2 x election_timeout_ticks_min: a group
  // that just elected or committed gets a full election timeout of heartbeats, so check-quorum
  // has run at least once before it goes quiet). When set, it must be at least
  // election_timeout_ticks_min.
  std::uint32_t quiesce_after_ticks = 20;

  // Replication flow control: append messages in flight per follower, and their payload bytes.
  // Defaults 256 and 8 MiB.
  std::uint32_t max_inflight_msgs = 256;
  std::uint64_t max_inflight_bytes = 8ULL << 20;

  // Payload bytes per append message and per batch of committed entries handed to the shell.
  // Defaults 1 MiB and 4 MiB.
  std::uint64_t max_msg_bytes = 1ULL << 20;
  std::uint64_t max_committed_bytes_per_ready = 4ULL << 20;

  // Snapshot chunk size (§7 InstallSnapshot "offset" and "done"). Default 1 MiB.
  std::uint64_t snapshot_chunk_bytes = 1ULL << 20;

  // Proposals the leader accepts beyond the commit index before refusing with `dropped`, so a
  // stalled quorum cannot grow memory without bound. Default 64 MiB.
  std::uint64_t max_uncommitted_bytes = 64ULL << 20;

  std::expected<void, std::string> validate() const;
};

}  // namespace chronik::consensus
