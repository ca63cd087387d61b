// Always-on assertions for broken invariants of the gossip core (docs/design.md "Errors"): log the
// failure and abort, in every build type. Expected failures use std::expected instead. The name
// differs from consensus' CHRONIK_ASSERT so a file may include both cores.
#pragma once

#include <cstdio>
#include <cstdlib>

#define CHRONIK_GOSSIP_ASSERT(cond, what)                                                       \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "invariant broken at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)
