// Force-included (-include) into the Cap'n Proto users of the clang fuzz tree only.
//
// capnp 0.9.2's blob.h compares `const char* == kj::StringPtr` and relies on C++20 rewriting it
// as `StringPtr == const char*`; kj/string.h leaves out the free operator when the compiler has
// three-way comparison. clang >= 16 implements P2468 ("the equality operator you are looking
// for"): a class that also declares a matching operator!= gets no rewritten candidates, so the
// expression has no viable operator and the header does not compile. g++ 12 still rewrites.
// Declaring the free operators kj omits restores what the header meant, for clang only.
#pragma once

#if defined(__clang__) && defined(__cplusplus)
#include <kj/string.h>

namespace kj {
#if __cpp_impl_three_way_comparison
inline bool operator==(const char* a, const StringPtr& b) { return b == StringPtr(a); }
inline bool operator!=(const char* a, const StringPtr& b) { return !(b == StringPtr(a)); }
#endif
}  // namespace kj
#endif
