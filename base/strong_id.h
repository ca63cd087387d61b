// A distinct type per kind of id (docs/design.md "Naming": ids are never bare integers), so a
// term cannot be passed where a node id is expected. Construction is explicit; the raw number
// comes out only through value(), at a wire or disk edge.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <type_traits>

namespace chronik {

template <typename Tag, typename Rep>
class strong_id {
  static_assert(std::is_integral_v<Rep>, "a strong_id wraps an integer");

 public:
  using rep = Rep;

  constexpr strong_id() = default;
  constexpr explicit strong_id(Rep v) : value_(v) {}

  constexpr Rep value() const { return value_; }

  friend constexpr bool operator==(strong_id, strong_id) = default;
  friend constexpr auto operator<=>(strong_id, strong_id) = default;

 private:
  Rep value_{};
};

}  // namespace chronik

template <typename Tag, typename Rep>
struct std::hash<chronik::strong_id<Tag, Rep>> {
  std::size_t operator()(chronik::strong_id<Tag, Rep> id) const noexcept { return std::hash<Rep>{}(id.value()); }
};
