// Always-on assertions for broken invariants (docs/design.md "Errors"), the one style for every
// module. A broken invariant means the program's state is already wrong, so we print one line
// (file:line, what broke, the condition) and abort, in every build type: a release build that keeps
// going would write the wrong state to disk or to peers. Expected failures use std::expected.
//
// Three names, so a reader sees at a glance which side of a contract broke:
//   CHRONIK_EXPECTS(cond, what)  a precondition: the caller broke the contract (check at the top);
//   CHRONIK_ENSURES(cond, what)  a postcondition: this function broke its promise (check before return);
//   CHRONIK_ASSERT(cond, what)   any other invariant, in the middle of the work.
// `what` is a string literal saying the rule in words; the condition text is printed after it.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace chronik::detail {

// Out of line and cold so the check at the call site stays one compare and a branch.
[[noreturn, gnu::cold, gnu::noinline]] inline void assertion_failed(const char* kind, const char* file,
                                                                    int line, const char* what,
                                                                    const char* cond) noexcept {
  std::fprintf(stderr, "%s:%d: %s broken: %s (%s)\n", file, line, kind, what, cond);
  std::abort();
}

}  // namespace chronik::detail

#define CHRONIK_CHECK_IMPL_(kind, cond, what)                                                   \
  do {                                                                                          \
    if (!(cond)) [[unlikely]]                                                                   \
      ::chronik::detail::assertion_failed(kind, __FILE__, __LINE__, what, #cond);               \
  } while (0)

#define CHRONIK_ASSERT(cond, what) CHRONIK_CHECK_IMPL_("invariant", cond, what)
#define CHRONIK_EXPECTS(cond, what) CHRONIK_CHECK_IMPL_("precondition", cond, what)
#define CHRONIK_ENSURES(cond, what) CHRONIK_CHECK_IMPL_("postcondition", cond, what)
