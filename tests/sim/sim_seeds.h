// The seeds a simulation test runs: CHRONIK_SIM_SEED replays one; CHRONIK_SIM_SCALE multiplies the
// count (a fraction, e.g. 0.1, for the slower sanitizer build; a multiple for soak runs).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

namespace chronik::sim {

inline std::vector<std::uint64_t> seeds(std::uint64_t count, std::uint64_t salt) {
  if (const char* one = std::getenv("CHRONIK_SIM_SEED")) return {std::strtoull(one, nullptr, 10)};
  if (const char* scale = std::getenv("CHRONIK_SIM_SCALE"))
    count = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(static_cast<double>(count) * std::strtod(scale, nullptr)));
  std::vector<std::uint64_t> out(count);
  std::iota(out.begin(), out.end(), salt * 1'000'000);
  return out;
}

inline std::string replay(std::uint64_t seed) { return "replay with CHRONIK_SIM_SEED=" + std::to_string(seed); }

}  // namespace chronik::sim
