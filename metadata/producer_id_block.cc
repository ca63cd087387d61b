#include "metadata/producer_id_block.h"

#include <cstdint>

#include "base/assert.h"

namespace chronik::metadata {

std::optional<std::int64_t> producer_id_block::take() {
  if (next_ == end_ && spare_) {
    next_ = spare_->first;
    end_ = spare_->first + spare_->count;
    size_ = spare_->count;
    spare_.reset();
  }
  if (next_ == end_) return std::nullopt;
  return next_++;
}

bool producer_id_block::want_block() const {
  if (fetching_ || spare_) return false;
  // Used at least 90%: (size - left) * 10 >= size * 9. Blocks are small (1000), so no overflow.
  const std::int64_t left = end_ - next_;
  return (size_ - left) * 10 >= size_ * 9;
}

void producer_id_block::fetch_started() {
  CHRONIK_ASSERT(!fetching_, "one producer id block request at a time");
  fetching_ = true;
}

void producer_id_block::fetch_failed() { fetching_ = false; }

void producer_id_block::add(producer_id_range r) {
  CHRONIK_ASSERT(r.count > 0 && r.first >= 0 && r.first <= INT64_MAX - r.count, "a producer id block is non-empty and in range");
  fetching_ = false;
  if (next_ == end_) {
    next_ = r.first;
    end_ = r.first + r.count;
    size_ = r.count;
    return;
  }
  // A block that arrives while the current one still has ids waits as the spare; a second spare
  // would mean two fetches in flight, which want_block() never allows.
  CHRONIK_ASSERT(!spare_, "at most one spare producer id block");
  spare_ = r;
}

std::int64_t producer_id_block::available() const { return (end_ - next_) + (spare_ ? spare_->count : 0); }

}  // namespace chronik::metadata
