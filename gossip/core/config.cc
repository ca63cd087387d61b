#include "gossip/core/config.h"

namespace chronik::gossip {

config config::lan() { return config{}; }

// memberlist DefaultWANConfig: slower probing and more tolerance for wide-area latency.
config config::wan() {
  config c;
  c.probe_interval_ms = 5000;
  c.probe_timeout_ms = 3000;
  c.gossip_interval_ms = 500;
  c.gossip_nodes = 4;
  c.gossip_to_dead_ms = 60000;
  c.suspicion_mult = 6;
  c.push_pull_interval_ms = 60000;
  c.reconnect_interval_ms = 30000;
  return c;
}

// Loopback clusters in tests: a failure is detected in about a second and partitions heal in a
// couple of seconds, while loaded 2-core machines still answer within the probe timeout.
config config::local() {
  config c;
  c.tick_ms = 5;
  c.probe_interval_ms = 200;
  c.probe_timeout_ms = 100;
  c.gossip_interval_ms = 50;
  c.gossip_to_dead_ms = 5000;
  c.suspicion_mult = 3;
  c.push_pull_interval_ms = 5000;
  c.reconnect_interval_ms = 1000;
  c.join_retry_min_ms = 50;
  c.join_retry_max_ms = 1000;
  return c;
}

std::expected<void, std::string> config::validate() const {
  auto fail = [](const char* field, const char* problem) {
    return std::unexpected(std::string(field) + ": " + problem);
  };
  if (tick_ms == 0 || tick_ms > 1000) return fail("tick_ms", "must be in 1..1000");
  if (probe_interval_ms < tick_ms) return fail("probe_interval_ms", "must be at least tick_ms");
  if (probe_timeout_ms < tick_ms) return fail("probe_timeout_ms", "must be at least tick_ms");
  if (probe_timeout_ms >= probe_interval_ms)
    return fail("probe_timeout_ms", "must be less than probe_interval_ms");
  if (indirect_checks > 16) return fail("indirect_checks", "must be at most 16");
  if (gossip_interval_ms < tick_ms) return fail("gossip_interval_ms", "must be at least tick_ms");
  if (gossip_nodes == 0 || gossip_nodes > 64) return fail("gossip_nodes", "must be in 1..64");
  if (retransmit_mult == 0 || retransmit_mult > 64) return fail("retransmit_mult", "must be in 1..64");
  if (suspicion_mult == 0 || suspicion_mult > 64) return fail("suspicion_mult", "must be in 1..64");
  if (suspicion_max_timeout_mult == 0 || suspicion_max_timeout_mult > 64)
    return fail("suspicion_max_timeout_mult", "must be in 1..64");
  if (awareness_max_multiplier == 0 || awareness_max_multiplier > 64)
    return fail("awareness_max_multiplier", "must be in 1..64");
  if (push_pull_interval_ms < tick_ms) return fail("push_pull_interval_ms", "must be at least tick_ms");
  if (reconnect_interval_ms < tick_ms) return fail("reconnect_interval_ms", "must be at least tick_ms");
  if (join_retry_min_ms < tick_ms) return fail("join_retry_min_ms", "must be at least tick_ms");
  if (join_retry_max_ms < join_retry_min_ms)
    return fail("join_retry_max_ms", "must be at least join_retry_min_ms");
  if (reap_after_ms < gossip_to_dead_ms) return fail("reap_after_ms", "must be at least gossip_to_dead_ms");
  if (max_datagram_bytes < 512 || max_datagram_bytes > 65000)
    return fail("max_datagram_bytes", "must be in 512..65000");
  if (max_meta_bytes > 1024) return fail("max_meta_bytes", "must be at most 1024");
  if (max_meta_bytes + 200 > max_datagram_bytes)
    return fail("max_meta_bytes", "must leave 200 bytes of max_datagram_bytes for headers");
  return {};
}

}  // namespace chronik::gossip
