// An immutable byte string shared by reference count: what a Raft entry carries. One entry's
// payload (a Kafka record batch of up to a megabyte) sits in the leader's unstable log, in the ready
// the disk thread writes, in the append messages to each follower and in the committed entries
// handed to the state machine at the same time; copying it into each of those made most of a
// broker's memory under produce load (docs/performance.md "RSS under load"). A copy of a
// shared_payload is a reference-count increment, and the bytes never change while shared, so the
// disk thread and the io thread may read one value's bytes concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace chronik {

class shared_payload {
 public:
  shared_payload() = default;
  // Takes the string's buffer: no copy of the bytes.
  shared_payload(std::string s)  // NOLINT(google-explicit-constructor): entries are built from strings
      : p_(s.empty() ? nullptr : std::make_shared<std::string>(std::move(s))) {}
  shared_payload(const char* s) : shared_payload(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  explicit shared_payload(std::string_view s) : shared_payload(std::string(s)) {}

  const char* data() const { return p_ ? p_->data() : ""; }
  std::size_t size() const { return p_ ? p_->size() : 0; }
  bool empty() const { return size() == 0; }
  std::string_view view() const { return {data(), size()}; }
  char operator[](std::size_t i) const { return view()[i]; }
  char front() const { return view().front(); }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  // A copy of the bytes, for callers that need a string of their own.
  std::string str() const { return std::string(view()); }
  // The bytes as a string to change or keep, leaving this empty: moved out when no other copy
  // shares them (the last holder is the only thread that can see them), copied otherwise.
  std::string take() && {
    if (!p_) return {};
    std::string out = p_.use_count() == 1 ? std::move(*p_) : *p_;
    p_.reset();
    return out;
  }

  friend bool operator==(const shared_payload& a, const shared_payload& b) { return a.view() == b.view(); }
  friend bool operator==(const shared_payload& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const shared_payload& a, const std::string& b) { return a.view() == std::string_view(b); }
  friend bool operator==(const shared_payload& a, const char* b) { return a.view() == std::string_view(b); }

 private:
  std::shared_ptr<std::string> p_;  // null when empty; never written while shared
};

}  // namespace chronik
