// Which broker coordinates a consumer group (docs/kafka.md "Consumer groups"). Kafka hashes the
// group id onto a partition of __consumer_offsets and the partition's leader coordinates; chronik
// keeps no such topic yet, so it hashes the group onto the alive brokers directly.
//
// Rendezvous (highest-random-weight) hashing: every broker gets the score mix(FNV-1a(group, id))
// and the highest score wins. Every node that sees the same alive brokers picks the same one, and
// when a broker joins or leaves only the groups it wins or held move (a modulo over a sorted list
// would move almost all of them, and with them their in-memory offsets). FNV-1a is spelled out
// here because std::hash differs between standard libraries and builds.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace chronik::kafka {

// 64-bit FNV-1a of `bytes`, continuing from `state` (the offset basis by default).
std::uint64_t fnv1a_64(std::string_view bytes, std::uint64_t state = 0xcbf29ce484222325ULL);

// The broker id, of `alive_brokers`, that coordinates `group`; nullopt when the list is empty.
// The order of the list does not matter; duplicates are harmless.
std::optional<std::int32_t> choose_group_coordinator(std::string_view group,
                                                     std::span<const std::int32_t> alive_brokers);

}  // namespace chronik::kafka
