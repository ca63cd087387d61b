// Shared by the membership tests: a membership with the `local` preset and 10 ms ticks, and the
// messages peers send it, each peer at 10.0.0.<id>:7946.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gossip/core/membership.h"

namespace chronik::gossip::test {

inline config test_config() {
  config c = config::local();
  c.tick_ms = 10;
  return c;
}

inline membership make(std::uint32_t id, std::vector<std::string> seeds = {}, std::string cluster = "c") {
  self_identity self{node_id{id}, "uuid-" + std::to_string(id), "10.0.0." + std::to_string(id) + ":7946", "", cluster};
  return membership(test_config(), self, std::move(seeds), id);
}

inline envelope from(std::uint32_t id, std::vector<message> msgs, std::string cluster = "c") {
  return envelope{std::move(cluster), node_id{id}, "10.0.0." + std::to_string(id) + ":7946", std::move(msgs)};
}

inline alive_msg alive(std::uint32_t id, std::uint64_t inc, std::string uuid = "") {
  if (uuid.empty()) uuid = "uuid-" + std::to_string(id);
  return alive_msg{node_id{id}, incarnation{inc}, uuid, "10.0.0." + std::to_string(id) + ":7946", ""};
}

inline std::string addr_of(std::uint32_t id) { return "10.0.0." + std::to_string(id) + ":7946"; }

}  // namespace chronik::gossip::test
