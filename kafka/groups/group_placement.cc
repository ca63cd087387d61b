#include "kafka/groups/group_placement.h"

#include <array>

namespace chronik::kafka {

namespace {

// MurmurHash3's fmix64 finalizer. FNV-1a alone changes little in its high bits when only the last
// bytes differ (here: the broker id), which would bias the highest score toward some brokers.
std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::uint64_t score(std::string_view group, std::int32_t broker) {
  const auto id = static_cast<std::uint32_t>(broker);
  const std::array<char, 4> be = {static_cast<char>(id >> 24), static_cast<char>(id >> 16),
                                  static_cast<char>(id >> 8), static_cast<char>(id)};
  return mix(fnv1a_64(std::string_view(be.data(), be.size()), fnv1a_64(group)));
}

}  // namespace

std::uint64_t fnv1a_64(std::string_view bytes, std::uint64_t state) {
  for (const char c : bytes) {
    state ^= static_cast<std::uint8_t>(c);
    state *= 0x100000001b3ULL;
  }
  return state;
}

std::optional<std::int32_t> choose_group_coordinator(std::string_view group,
                                                     std::span<const std::int32_t> alive_brokers) {
  std::optional<std::int32_t> best;
  std::uint64_t best_score = 0;
  for (const std::int32_t broker : alive_brokers) {
    const std::uint64_t s = score(group, broker);
    // Equal scores (practically never) go to the lower id, so the list order cannot matter.
    if (!best || s > best_score || (s == best_score && broker < *best)) {
      best = broker;
      best_score = s;
    }
  }
  return best;
}

}  // namespace chronik::kafka
