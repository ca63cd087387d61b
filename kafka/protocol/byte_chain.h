// Bytes that are referenced, not copied (docs/kafka.md "Fetch without copies"): a Fetch answer is
// mostly record batches that already sit in memory (the partition's entry cache, or the buffer a
// WAL read filled), so the encoder links them into its output and the connection hands them to
// one gathering write. A batch is stamped before it is shared and never changes afterwards, so
// any number of answers may reference it at once, and it lives as long as the last one does.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chronik::kafka {

// A view into an immutable string that keeps the string alive.
struct shared_bytes {
  std::shared_ptr<const std::string> owner;
  std::string_view view;

  static shared_bytes own(std::string s) {
    auto p = std::make_shared<const std::string>(std::move(s));
    return {p, std::string_view(*p)};
  }
  std::size_t size() const { return view.size(); }
};

// A byte sequence made of shared pieces, in order. Equality compares the bytes, not the pieces.
class byte_chain {
 public:
  byte_chain() = default;
  // One owned piece (what a decoder produces). Implicit, so a std::string stands for its bytes.
  byte_chain(std::string s) {  // NOLINT(google-explicit-constructor)
    if (!s.empty()) append(shared_bytes::own(std::move(s)));
  }

  void append(shared_bytes b) {
    if (b.view.empty()) return;
    size_ += b.size();
    pieces_.push_back(std::move(b));
  }
  void append(const byte_chain& other) {
    for (const auto& p : other.pieces_) append(p);
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const std::vector<shared_bytes>& pieces() const { return pieces_; }

  // The bytes in one string (a copy; for tests and small chains).
  std::string flatten() const {
    std::string out;
    out.reserve(size_);
    for (const auto& p : pieces_) out.append(p.view);
    return out;
  }
  // The bytes without a copy when they are at most one piece (what a decoder produces).
  std::optional<std::string_view> contiguous() const {
    if (pieces_.size() > 1) return std::nullopt;
    return pieces_.empty() ? std::string_view() : pieces_.front().view;
  }

  bool operator==(const byte_chain& o) const { return size_ == o.size_ && flatten() == o.flatten(); }

 private:
  std::vector<shared_bytes> pieces_;
  std::size_t size_ = 0;
};

}  // namespace chronik::kafka
