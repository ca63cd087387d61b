// A small seeded PRNG (splitmix64) so that a core's choices replay exactly from a seed. We avoid
// std::uniform_int_distribution because its output is implementation-defined. gossip/core has the
// same generator: a core may include only the standard library and itself (docs/design.md
// "Layout").
#pragma once

#include <cstdint>

namespace chronik::consensus {

class rng {
 public:
  explicit rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, bound); bound must be > 0. The modulo bias is below 2^-32 for our sizes.
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }

 private:
  std::uint64_t state_;
};

}  // namespace chronik::consensus
