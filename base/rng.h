// The seeded generator every core and every simulation draws from (splitmix64, Steele, Lea and
// Flood, "Fast splittable pseudorandom number generators", 2014). A core's random choices
// (election timeouts, probe order, gossip targets) replay exactly from its seed, which is what lets
// a failing simulation seed replay (docs/design.md "Testing"). std::uniform_int_distribution is
// avoided because its output is implementation-defined.
#pragma once

#include <cstdint>
#include <utility>

namespace chronik {

class rng {
 public:
  explicit rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, bound); bound must be > 0. The modulo bias is below 2^-32 for our bounds, which
  // are all far below 2^32.
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }

  // Fisher-Yates shuffle of any random-access range (Knuth, TAOCP vol. 2, 3.4.2, algorithm P).
  template <typename Range>
  void shuffle(Range& range) {
    for (auto i = range.size(); i > 1; --i) {
      auto j = below(i);
      using std::swap;
      swap(range[i - 1], range[j]);
    }
  }

 private:
  std::uint64_t state_;
};

}  // namespace chronik
