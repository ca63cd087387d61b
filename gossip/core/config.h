// Gossip tuning. Field names carry their unit; each field documents meaning, default and formula
// (the model is hashicorp/memberlist config.go). lan() matches memberlist's DefaultLANConfig so the
// benchmark compares like with like.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

namespace chronik::gossip {

struct config {
  // Length of one core tick. Every *_ms value below is rounded up to whole ticks. Default 10.
  std::uint32_t tick_ms = 10;

  // Time between failure-detection probes of one member (SWIM §3.1 protocol period). Lifeguard
  // local health scales it by (awareness + 1). Default 1000.
  std::uint32_t probe_interval_ms = 1000;

  // How long to wait for a direct ack before asking `indirect_checks` members to probe
  // (SWIM §3.1). Scaled like probe_interval_ms. Default 500.
  std::uint32_t probe_timeout_ms = 500;

  // Members asked to ping-req a silent target (SWIM's k). Default 3.
  std::uint32_t indirect_checks = 3;

  // Time between piggyback gossip rounds, and how many members each round goes to. Default 200, 3.
  std::uint32_t gossip_interval_ms = 200;
  std::uint32_t gossip_nodes = 3;

  // Dead members still get gossip for this long, so that a wrongly declared member hears it and
  // refutes. Default 30000.
  std::uint32_t gossip_to_dead_ms = 30000;

  // Each update is piggybacked retransmit_mult * ceil(log10(n + 1)) times (SWIM §4.1's
  // lambda log n). Default 4.
  std::uint32_t retransmit_mult = 4;

  // Suspicion timeout (Lifeguard §4.2): min = suspicion_mult * max(1, log10(max(1, n))) *
  // probe_interval_ms, max = suspicion_max_timeout_mult * min. It shrinks from max toward min as
  // independent confirmations arrive; suspicion_mult - 2 confirmations are expected. Default 4, 6.
  std::uint32_t suspicion_mult = 4;
  std::uint32_t suspicion_max_timeout_mult = 6;

  // Lifeguard local health (§4.3): the awareness score ranges over [0, awareness_max_multiplier).
  // Default 8.
  std::uint32_t awareness_max_multiplier = 8;

  // Full state sync with one random member. The interval grows as
  // push_pull_interval_ms * (ceil(log2(n) - log2(32)) + 1) above 32 members. Default 30000.
  std::uint32_t push_pull_interval_ms = 30000;

  // Push-pull with a dead member or a seed that is not a live member, so that partitions heal after
  // both sides declared each other dead. Default 10000.
  std::uint32_t reconnect_interval_ms = 10000;

  // Join retries to the seeds back off from min to max (doubling) until a seed answers.
  // Defaults 100 and 5000.
  std::uint32_t join_retry_min_ms = 100;
  std::uint32_t join_retry_max_ms = 5000;

  // Dead and left members are forgotten after this long. Default 86400000 (24 h).
  std::uint64_t reap_after_ms = 86'400'000;

  // Largest datagram the core fills (payload bytes, under a 1500-byte MTU). Default 1400.
  std::uint32_t max_datagram_bytes = 1400;

  // Largest opaque node metadata. Default 512.
  std::uint32_t max_meta_bytes = 512;

  static config lan();
  static config wan();
  static config local();  // fast timings for tests on loopback

  // Returns the first invalid field as "<field>: <problem>".
  std::expected<void, std::string> validate() const;

  // Rounds a duration up to ticks (at least 1).
  std::uint64_t ticks(std::uint64_t ms) const { return ms == 0 ? 0 : (ms + tick_ms - 1) / tick_ms; }
};

}  // namespace chronik::gossip
