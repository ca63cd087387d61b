// A small seeded mutator for the smoke runs of the fuzz targets (any compiler, no libFuzzer):
// bit flips, byte sets, truncation, inserted and duplicated ranges, erasures, and interesting
// 32-bit values (lengths and counts: 0, -1, 2^31-1, ...) written in either byte order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>

namespace chronik::fuzz {

inline void mutate(std::string& s, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  switch (rng() % 7) {
    case 0:
      if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 1:
      if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng());
      break;
    case 2:
      s.resize(pick(s.size() + 1));
      break;
    case 3:
      s.insert(pick(s.size() + 1), std::string(1 + pick(16), static_cast<char>(rng())));
      break;
    case 4: {  // duplicate a range: repeated frames, overlapping records
      const std::size_t at = pick(s.size() + 1);
      const std::size_t len = pick(s.size() - at + 1);
      s.insert(pick(s.size() + 1), s.substr(at, len));
      break;
    }
    case 5: {
      const std::size_t at = pick(s.size() + 1);
      s.erase(at, pick(s.size() - at + 1));
      break;
    }
    default: {  // an interesting length or count, little- or big-endian
      static const std::uint32_t values[] = {0, 1, 4, 7, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, 4096, 1u << 20};
      if (s.size() >= 4) {
        const std::uint32_t v = values[pick(std::size(values))];
        const std::size_t at = pick(s.size() - 3);
        const bool big = rng() % 2 == 0;
        for (std::size_t i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * (big ? 3 - i : i)));
      }
    }
  }
}

}  // namespace chronik::fuzz
