// Value types shared by the gossip core: typed ids and member states. The logging sink is
// base/log_sink.h.
// Pure: standard library and base/ only (docs/design.md "Layout").
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/log_sink.h"
#include "base/node_id.h"

namespace chronik::gossip {

// The configured id of a node: the cluster's one node id type (base/node_id.h, docs/design.md
// "Identity"), the same number gossip carries and Raft, `__meta` and Kafka use.
using chronik::node_id;

// SWIM incarnation number (SWIM §4.2): only the member itself increases it, to refute suspicion.
struct incarnation {
  std::uint64_t value = 0;
  auto operator<=>(const incarnation&) const = default;
};

// The highest incarnation a member may claim (docs/gossip.md "Values that cannot wrap"). Only a
// member raises its own incarnation, by one per refutation or metadata change, so an honest member
// never gets near 2^62 (at a thousand refutations a second that takes over 10^8 years). A claim
// past it is dropped unread, and so is a suspect or dead claim at it: then every accusation a
// member accepts can be refuted with incarnation + 1 <= max_incarnation, which every member
// accepts in turn, and no incarnation ever wraps.
inline constexpr std::uint64_t max_incarnation = std::uint64_t{1} << 62;

// Logical time of the core; the shell converts milliseconds to ticks with config::tick_ms.
using tick_count = std::uint64_t;

enum class member_state : std::uint8_t { alive, suspect, dead, left };

std::string_view to_string(member_state state);

}  // namespace chronik::gossip
