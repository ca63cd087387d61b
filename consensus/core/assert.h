// Always-on assertions for broken invariants (docs/design.md "Errors"): log the failure and abort,
// in every build type. Expected failures use std::expected instead.
#pragma once

#include <cstdio>
#include <cstdlib>

#define CHRONIK_ASSERT(cond, what)                                                              \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "invariant broken at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)
