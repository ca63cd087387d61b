// log_reader over the WAL index (consensus/core/log_reader.h): answers from memory, reads payloads
// with pread, one call per run of small entries that sit back to back in one segment and one per
// large entry.
#include <fmt/format.h>
#include <mutex>

#include "consensus/storage/wal_impl.h"

namespace chronik::consensus {
namespace {

class group_reader final : public log_reader {
 public:
  group_reader(const wal& owner, const wal::impl& m, group_id group)
      : owner_(owner), m_(m), group_(group) {}

  std::expected<std::vector<entry>, log_errc> entries(log_index lo, log_index hi,
                                                      std::uint64_t max_bytes) const override;
  std::expected<term_id, log_errc> term(log_index i) const override {
    std::shared_lock lock(m_.mu);
    const detail::group_state* g = m_.index.find(group_);
    const log_index compacted = g ? g->compacted : log_index{};
    if (i < compacted) return std::unexpected(log_errc::compacted);
    if (g == nullptr) {  // an empty log: only index 0 exists, with term 0
      return i.value == 0 ? std::expected<term_id, log_errc>(term_id{})
                          : std::unexpected(log_errc::unavailable);
    }
    if (auto t = g->term_at(i)) return *t;
    return std::unexpected(log_errc::unavailable);
  }
  log_index first_index() const override {
    std::shared_lock lock(m_.mu);
    const detail::group_state* g = m_.index.find(group_);
    return g ? g->compacted.next() : log_index{1};
  }
  log_index last_index() const override {
    std::shared_lock lock(m_.mu);
    const detail::group_state* g = m_.index.find(group_);
    return g ? g->last : log_index{};
  }
  snapshot latest_snapshot() const override {
    auto s = owner_.load_snapshot(group_);
    if (s) return std::move(*s);
    if (s.error().code != storage_errc::not_found) {
      // The interface has no error path; the core then sees no snapshot, and the operator
      // sees why.
      m_.log(log_level::error, fmt::format("wal: group {}: {}", group_.value, s.error().text));
    }
    return {};
  }
  hard_state initial_hard_state() const override {
    std::shared_lock lock(m_.mu);
    const detail::group_state* g = m_.index.find(group_);
    return g ? g->state : hard_state{};
  }
  conf_state initial_conf_state() const override {
    std::shared_lock lock(m_.mu);
    const detail::group_state* g = m_.index.find(group_);
    return g ? g->snap.conf : conf_state{};
  }

 private:
  const wal& owner_;
  const wal::impl& m_;
  group_id group_;
};

std::expected<std::vector<entry>, log_errc> group_reader::entries(log_index lo, log_index hi,
                                                                  std::uint64_t max_bytes) const {
  std::shared_lock lock(m_.mu);
  const detail::group_state* g = m_.index.find(group_);
  const log_index compacted = g ? g->compacted : log_index{};
  const log_index last = g ? g->last : log_index{};
  if (lo <= compacted) return std::unexpected(log_errc::compacted);
  if (hi > last.next()) return std::unexpected(log_errc::unavailable);
  std::vector<entry> out;
  if (lo >= hi) return out;

  // Choose the entries first (at least one, then stop before exceeding max_bytes) ...
  std::vector<const detail::entry_loc*> picked;
  std::uint64_t bytes = 0;
  for (std::uint64_t i = lo.value; i < hi.value; ++i) {
    const detail::entry_loc* l = g->loc(log_index{i});
    if (!picked.empty() && bytes + l->length > max_bytes) break;
    bytes += l->length;
    picked.push_back(l);
  }
  // ... then read each run that is contiguous on disk with one pread. A large entry is read on
  // its own, straight into its own buffer: splitting a shared run would copy it once more, and a
  // syscall per large entry costs little next to its bytes.
  constexpr std::uint64_t read_alone_bytes = 64 * 1024;
  const auto small = [&](std::size_t k) { return picked[k]->length < read_alone_bytes; };
  out.reserve(picked.size());
  std::string run;
  for (std::size_t begin = 0; begin < picked.size();) {
    std::size_t end = begin + 1;
    std::uint64_t run_bytes = picked[begin]->length;
    while (end < picked.size() && small(begin) && small(end) && picked[end]->segment == picked[begin]->segment &&
           picked[end]->offset == picked[begin]->offset + run_bytes) {
      run_bytes += picked[end]->length;
      ++end;
    }
    const segment_file& seg = m_.segments.at(picked[begin]->segment);
    // pread fills every byte, so the buffer is not zeroed first: Kafka fetches read megabytes
    // here, and a memset of them would be a pass over the data for nothing. The size is returned
    // from the capture: GCC 12 hands the operation the grown capacity, not the size asked for.
    run.resize_and_overwrite(run_bytes, [run_bytes](char*, std::size_t) { return run_bytes; });
    if (auto r = io::pread_full(seg.fd.get(), seg.path, run.data(), run_bytes,
                                picked[begin]->offset);
        !r) {
      m_.log(log_level::error, fmt::format("wal: group {}: {}", group_.value, r.error().text));
      return std::unexpected(log_errc::io_error);
    }
    const auto add = [&](std::size_t k, std::string data) {
      out.push_back(entry{term_id{picked[k]->term}, log_index{lo.value + out.size()}, picked[k]->type,
                          std::move(data)});
    };
    if (end == begin + 1) {
      add(begin, std::move(run));  // a run of one entry is its data: no copy
      run = std::string();
    } else {
      std::uint64_t at = 0;
      for (std::size_t k = begin; k < end; ++k) {
        add(k, run.substr(at, picked[k]->length));
        at += picked[k]->length;
      }
    }
    begin = end;
  }
  return out;
}

}  // namespace

std::unique_ptr<log_reader> wal::reader(group_id group) const {
  return std::make_unique<group_reader>(*this, *impl_, group);
}

}  // namespace chronik::consensus
