// Makes a run that dies on an always-on assertion (abort) still print the seed that replays it.
#pragma once

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace chronik::sim {

inline volatile std::uint64_t current_seed = 0;

inline void print_seed_on_abort(int) {
  char buf[96];
  const int n = std::snprintf(buf, sizeof buf, "\naborted; replay with CHRONIK_SIM_SEED=%llu\n",
                              static_cast<unsigned long long>(current_seed));
  if (n > 0) (void)!::write(2, buf, static_cast<std::size_t>(n));
  std::signal(SIGABRT, SIG_DFL);
  std::raise(SIGABRT);
}

// Call at the start of every seeded run.
inline void set_current_seed(std::uint64_t seed) {
  static const bool installed = (std::signal(SIGABRT, print_seed_on_abort), true);
  (void)installed;
  current_seed = seed;
}

}  // namespace chronik::sim
