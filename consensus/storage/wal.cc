// The write side of the WAL: group commit, snapshots, compaction, truncation, segment rotation and
// deletion. Recovery is in wal_recovery.cc, the log_reader in wal_reader.cc.
#include "consensus/storage/wal.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <mutex>
#include <set>

#include "consensus/storage/frame.h"
#include "consensus/storage/snapshot_file.h"
#include "consensus/storage/wal_impl.h"

namespace chronik::consensus {

std::string_view to_string(storage_errc code) {
  switch (code) {
    case storage_errc::io_error: return "io_error";
    case storage_errc::corrupt: return "corrupt";
    case storage_errc::invalid_argument: return "invalid_argument";
    case storage_errc::locked: return "locked";
    case storage_errc::failed: return "failed";
    case storage_errc::not_found: return "not_found";
    case storage_errc::too_large: return "too_large";
  }
  return "unknown";
}

namespace {

std::unexpected<storage_error> invalid(std::string text) {
  return std::unexpected(storage_error{storage_errc::invalid_argument, std::move(text)});
}

// Checks one group's write against its stored state before anything is written, so that a frame
// on disk always replays cleanly (wal_index::apply would reject it otherwise).
io::result validate_write(const group_write& w, const detail::group_state* g) {
  const detail::group_state empty;
  if (g == nullptr) g = &empty;
  log_index compacted = g->compacted;
  term_id compacted_term = g->compacted_term;
  log_index last = g->last;
  if (w.snap) {
    // Raft ignores a snapshot at or below its commit index (paper §7), and what is compacted or
    // already snapshotted is committed, so an older one here is a caller bug.
    if (w.snap->meta.index <= std::max(g->compacted, g->snap.index)) {
      return invalid(fmt::format("group {}: snapshot at {} is not past compacted index {} and "
                                 "snapshot {}", w.group.value, w.snap->meta.index.value,
                                 g->compacted.value, g->snap.index.value));
    }
    compacted = last = w.snap->meta.index;
    compacted_term = w.snap->meta.term;
  }
  if (w.state && w.state->term < g->state.term) {
    return invalid(fmt::format("group {}: hard state term {} below stored term {}", w.group.value,
                               w.state->term.value, g->state.term.value));
  }
  if (w.entries.empty()) return {};
  const log_index first = w.entries.front().index;
  if (first <= compacted || first > last.next()) {
    return invalid(fmt::format("group {}: entries start at {}, outside ({}, {}]", w.group.value,
                               first.value, compacted.value, last.next().value));
  }
  const log_index before = first.prev();
  const detail::entry_loc* before_loc = g->loc(before);
  if (before != compacted && before_loc == nullptr) {
    return invalid(fmt::format("group {}: no stored entry {} before the new entries",
                               w.group.value, before.value));
  }
  term_id prev = before == compacted ? compacted_term : term_id{before_loc->term};
  for (std::size_t i = 0; i < w.entries.size(); ++i) {
    const entry& e = w.entries[i];
    if (e.index.value != first.value + i || e.term < prev ||
        static_cast<unsigned>(e.type) > 1 || e.data.size() > UINT32_MAX) {
      return invalid(fmt::format("group {}: entry {} (index {}, term {} after {}) breaks the log",
                                 w.group.value, i, e.index.value, e.term.value, prev.value));
    }
    prev = e.term;
  }
  return {};
}

// Appends the records for one group's write, in the order a ready is applied: snapshot (replaces
// the log), then entries (overwriting a conflicting suffix), then hard state.
void encode_write(const group_write& w, const detail::group_state* g, proto::WalBatch& header,
                  std::vector<const entry*>& payloads) {
  const std::uint64_t id = w.group.value;
  std::uint64_t last = g ? g->last.value : 0;
  if (w.snap) {
    auto* ref = header.add_records()->mutable_snapshot();
    ref->set_group(id);
    *ref->mutable_meta() = detail::to_proto(w.snap->meta);
    auto* trunc = header.add_records()->mutable_truncate();
    trunc->set_group(id);
    trunc->set_from_index(w.snap->meta.index.value + 1);
    auto* compact = header.add_records()->mutable_compact();
    compact->set_group(id);
    compact->set_through_index(w.snap->meta.index.value);
    compact->set_term(w.snap->meta.term.value);
    last = w.snap->meta.index.value;
  }
  if (!w.entries.empty()) {
    if (w.entries.front().index.value <= last) {
      auto* trunc = header.add_records()->mutable_truncate();
      trunc->set_group(id);
      trunc->set_from_index(w.entries.front().index.value);
    }
    auto* rec = header.add_records()->mutable_entries();
    rec->set_group(id);
    rec->set_first_index(w.entries.front().index.value);
    for (const entry& e : w.entries) {
      rec->add_terms(e.term.value);
      rec->add_types(static_cast<std::uint32_t>(e.type));
      rec->add_lengths(e.data.size());
      payloads.push_back(&e);
    }
  }
  if (w.state) {
    auto* hs = header.add_records()->mutable_hard_state();
    hs->set_group(id);
    *hs->mutable_state() = detail::to_proto(*w.state);
  }
}

}  // namespace

void wal::impl::broken_invariant(std::string_view text) const {
  const std::string line = fmt::format("wal invariant broken: {}", text);
  log(log_level::error, line);
  std::fprintf(stderr, "%s\n", line.c_str());  // the sink may be empty or buffered
  std::abort();
}

io::result wal::impl::poison(storage_error e) {
  failed = true;
  log(log_level::error, fmt::format("wal: {}; refusing writes until reopened", e.text));
  return std::unexpected(std::move(e));
}

io::result wal::impl::write_checkpoint(segment_file& seg, std::uint64_t seq) {
  proto::WalBatch header;
  header.set_segment(seq);
  *header.add_records()->mutable_checkpoint() = index.checkpoint();
  std::string bytes;
  if (!header.SerializeToString(&bytes)) return poison({storage_errc::io_error, "checkpoint"});
  std::string buf;
  frame::finish(buf, frame::begin(buf, bytes));
  if (auto r = io::pwrite_full(seg.fd.get(), seg.path, buf.data(), buf.size(), 0); !r) {
    return poison(r.error());
  }
  ++fsyncs;
  if (auto r = io::datasync(seg.fd.get(), seg.path); !r) return poison(r.error());
  seg.size = buf.size();
  return {};
}

io::result wal::impl::rotate() {
  const std::uint64_t seq = active + 1;
  segment_file seg;
  seg.path = dir / detail::segment_file_name(seq);
  auto fd = io::open_file(seg.path, io::open_mode::create_exclusive);
  if (!fd) return poison(fd.error());
  seg.fd = std::move(*fd);
  if (auto r = write_checkpoint(seg, seq); !r) return r;
  // The new name must be durable before anything relies on it: the checkpoint is what allows
  // the older segments to be deleted.
  ++fsyncs;
  if (auto r = io::sync_dir(dir); !r) return poison(r.error());
  {
    std::unique_lock lock(mu);
    segments.emplace(seq, std::move(seg));
    active = seq;
  }
  collect_garbage();
  return {};
}

void wal::impl::collect_garbage() {
  // Only a prefix is deleted, one file at a time with a directory fsync each, so a crash can
  // never leave a gap in the sequence: recovery always starts at the oldest file's checkpoint,
  // which was made durable (rotate) before its predecessor became deletable.
  for (int bound = 0; bound < 1'000'000 && segments.size() > 1; ++bound) {
    auto oldest = segments.begin();
    if (oldest->first == active || index.live_entries(oldest->first) > 0) return;
    segment_file seg;
    {
      std::unique_lock lock(mu);
      seg = std::move(oldest->second);
      segments.erase(oldest);
    }
    seg.fd.reset();
    ++fsyncs;
    if (auto r = io::remove_durably(seg.path); !r) {
      // Not a durability problem: the file replays consistently at the next open.
      log(log_level::warn, fmt::format("wal: could not delete segment: {}", r.error().text));
      return;
    }
    log(log_level::debug, fmt::format("wal: deleted segment {}", seg.path.string()));
  }
}

io::result wal::impl::commit(proto::WalBatch& header, const std::vector<const entry*>& payloads) {
  if (failed) return std::unexpected(storage_error{storage_errc::failed, "wal failed earlier"});
  if (segments.at(active).size >= options.segment_bytes) {
    if (auto r = rotate(); !r) return r;
  }
  header.set_segment(active);
  std::string header_bytes;
  if (!header.SerializeToString(&header_bytes)) {
    return std::unexpected(storage_error{storage_errc::invalid_argument, "batch header"});
  }
  std::uint64_t blob = 0;
  for (const entry* e : payloads) blob += e->data.size();
  const std::uint64_t payload = frame::prefix_bytes + header_bytes.size() + blob;
  if (payload > options.max_record_bytes) {
    return std::unexpected(storage_error{
        storage_errc::too_large, fmt::format("batch of {} bytes exceeds max_record_bytes {}",
                                             payload, options.max_record_bytes)});
  }
  // The entries' payloads go to the file straight from the entries, gathered behind the frame's
  // head: no copy of a batch of many megabytes into one buffer first (docs/performance.md).
  std::vector<std::string_view> pieces;
  pieces.reserve(payloads.size() + 1);
  pieces.emplace_back();  // the head, below
  for (const entry* e : payloads) pieces.emplace_back(e->data);
  const std::string head = frame::head(header_bytes, std::span(pieces).subspan(1));
  pieces.front() = head;
  std::uint64_t frame_bytes = 0;
  for (const std::string_view p : pieces) frame_bytes += p.size();
  // Before the write: the frame is exactly its header, its records and their payloads.
  if (frame_bytes != frame::header_bytes + payload) broken_invariant("frame size differs from its parts");

  segment_file& seg = segments.at(active);
  if (auto r = io::pwritev_full(seg.fd.get(), seg.path, pieces, seg.size); !r) {
    return poison(r.error());
  }
  ++fsyncs;
  const auto sync_start = std::chrono::steady_clock::now();
  if (auto r = io::datasync(seg.fd.get(), seg.path); !r) return poison(r.error());
  fsync_latency.observe_us(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sync_start).count()));
  bytes_written.store(bytes_written.load(std::memory_order_relaxed) + frame_bytes, std::memory_order_relaxed);
  ++frames_written;

  // Durable: now readers may see it. Replaying the very header recovery would read keeps the
  // running index identical to a restarted one.
  std::unique_lock lock(mu);
  const std::uint64_t blob_offset = seg.size + frame::header_bytes + frame::prefix_bytes +
                                    header_bytes.size();
  std::uint64_t used = 0;
  for (const proto::WalRecord& rec : header.records()) {
    if (auto r = index.apply(rec, active, blob_offset, blob, used); !r) broken_invariant(r.error());
  }
  // After it: the index accounts for every payload byte the frame carried, as recovery will when
  // it reads the frame back.
  if (used != blob) broken_invariant(fmt::format("index took {} of {} payload bytes", used, blob));
  seg.size += frame_bytes;
  return {};
}

wal::wal(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
wal::~wal() = default;

std::expected<void, storage_error> wal::append_batch(std::span<const group_write> writes) {
  impl& m = *impl_;
  if (m.failed) return std::unexpected(storage_error{storage_errc::failed, "wal failed earlier"});
  std::set<std::uint64_t> seen;
  for (const group_write& w : writes) {
    if (!seen.insert(w.group.value).second) {
      return invalid(fmt::format("group {} appears twice in one batch", w.group.value));
    }
    if (auto r = validate_write(w, m.index.find(w.group)); !r) return r;
  }
  // Snapshot files first: the frame that names them must never be durable before they are.
  std::vector<std::pair<group_id, log_index>> replaced;
  int snapshots = 0;
  for (const group_write& w : writes) {
    if (!w.snap) continue;
    ++snapshots;
    if (auto r = detail::write_snapshot_file(m.dir, w.group, *w.snap, m.options.max_record_bytes);
        !r) {
      return r;
    }
    if (const auto* g = m.index.find(w.group); g && g->snap.index.value > 0) {
      replaced.emplace_back(w.group, g->snap.index);
    }
  }
  if (snapshots > 0) {
    ++m.fsyncs;
    if (auto r = io::sync_dir(m.dir); !r) return m.poison(r.error());
  }
  auto commit_some = [&](std::span<const group_write> part) -> io::result {
    proto::WalBatch header;
    std::vector<const entry*> payloads;
    for (const group_write& w : part) encode_write(w, m.index.find(w.group), header, payloads);
    if (header.records_size() == 0) return {};
    return m.commit(header, payloads);
  };
  if (m.options.sync == sync_mode::group_commit) {
    if (auto r = commit_some(writes); !r) return r;
  } else {
    for (std::size_t i = 0; i < writes.size(); ++i) {
      if (auto r = commit_some(writes.subspan(i, 1)); !r) return r;
    }
  }
  // Durable now, and readable as written: each group's index ends at its last written entry and
  // holds the hard state it was given (the other side of the write's validate_write).
  for (const group_write& w : writes) {
    const auto* g = m.index.find(w.group);
    if (g == nullptr) m.broken_invariant(fmt::format("group {} written but not indexed", w.group.value));
    if (!w.entries.empty() && g->last != w.entries.back().index) {
      m.broken_invariant(fmt::format("group {} last index {} after writing through {}", w.group.value, g->last.value,
                                     w.entries.back().index.value));
    }
    if (w.state && g->state != *w.state) {
      m.broken_invariant(fmt::format("group {} hard state not as written", w.group.value));
    }
  }
  // Superseded snapshot files are garbage now; one that survives a crash is removed at open.
  for (const auto& [group, index] : replaced) {
    std::error_code ec;
    std::filesystem::remove(m.dir / detail::snapshot_file_name(group, index), ec);
  }
  m.collect_garbage();
  return {};
}

std::expected<void, storage_error> wal::save_snapshot(group_id group, const snapshot& snap) {
  impl& m = *impl_;
  if (m.failed) return std::unexpected(storage_error{storage_errc::failed, "wal failed earlier"});
  const detail::group_state* g = m.index.find(group);
  const auto stored_term = g ? g->term_at(snap.meta.index) : std::nullopt;
  if (g == nullptr || snap.meta.index <= g->snap.index || stored_term != snap.meta.term) {
    return invalid(fmt::format("group {}: snapshot at {} term {} is not newer than {} or does not "
                               "match a stored entry", group.value, snap.meta.index.value,
                               snap.meta.term.value, g ? g->snap.index.value : 0));
  }
  const log_index old_index = g->snap.index;
  if (auto r = detail::write_snapshot_file(m.dir, group, snap, m.options.max_record_bytes); !r) {
    return r;
  }
  ++m.fsyncs;
  if (auto r = io::sync_dir(m.dir); !r) return m.poison(r.error());
  proto::WalBatch header;
  auto* ref = header.add_records()->mutable_snapshot();
  ref->set_group(group.value);
  *ref->mutable_meta() = detail::to_proto(snap.meta);
  if (auto r = m.commit(header, {}); !r) return r;
  if (old_index.value > 0) {
    std::error_code ec;
    std::filesystem::remove(m.dir / detail::snapshot_file_name(group, old_index), ec);
  }
  return {};
}

std::expected<void, storage_error> wal::compact_prefix(group_id group, log_index through) {
  impl& m = *impl_;
  const detail::group_state* g = m.index.find(group);
  if (g == nullptr || through <= g->compacted) return {};
  // Raft paper §7: only what a durable snapshot covers may leave the log.
  if (through > g->snap.index || through > g->last) {
    return invalid(fmt::format("group {}: compaction through {} passes snapshot {} or last {}",
                               group.value, through.value, g->snap.index.value, g->last.value));
  }
  proto::WalBatch header;
  auto* rec = header.add_records()->mutable_compact();
  rec->set_group(group.value);
  rec->set_through_index(through.value);
  rec->set_term(g->term_at(through).value_or(term_id{}).value);
  if (auto r = m.commit(header, {}); !r) return r;
  m.collect_garbage();
  return {};
}

std::expected<void, storage_error> wal::truncate_suffix(group_id group, log_index from) {
  impl& m = *impl_;
  const detail::group_state* g = m.index.find(group);
  if (g == nullptr || from > g->last) return {};
  if (from <= g->compacted) {
    return invalid(fmt::format("group {}: truncation from {} reaches compacted index {}",
                               group.value, from.value, g->compacted.value));
  }
  proto::WalBatch header;
  auto* rec = header.add_records()->mutable_truncate();
  rec->set_group(group.value);
  rec->set_from_index(from.value);
  return m.commit(header, {});
}

std::expected<void, storage_error> wal::discard_unsynced() {
  impl& m = *impl_;
  if (!m.failed) return {};
  // Shrinking needs no free space, so this works on the full disk that caused the failure.
  segment_file& seg = m.segments.at(m.active);
  if (auto r = io::truncate_file(seg.fd.get(), seg.path, seg.size); !r) return r;
  ++m.fsyncs;
  if (auto r = io::datasync(seg.fd.get(), seg.path); !r) return r;
  // rotate() installs a segment only after its checkpoint and name are durable; one it began
  // and never installed holds nothing but that checkpoint.
  const std::filesystem::path next = m.dir / detail::segment_file_name(m.active + 1);
  std::error_code ec;
  if (std::filesystem::exists(next, ec)) {
    ++m.fsyncs;
    if (auto r = io::remove_durably(next); !r) return r;
  }
  m.log(log_level::warn, fmt::format("wal: cut {} back to its last synced size {} after a failed write",
                                     seg.path.string(), seg.size));
  return {};
}

std::expected<snapshot, storage_error> wal::load_snapshot(group_id group) const {
  // The shared lock keeps the writer from deleting the file (it does so only after taking the
  // lock exclusively to install a newer one) while it is read.
  std::shared_lock lock(impl_->mu);
  const detail::group_state* g = impl_->index.find(group);
  if (g == nullptr || g->snap.index.value == 0) {
    return std::unexpected(storage_error{storage_errc::not_found,
                                         fmt::format("group {} has no snapshot", group.value)});
  }
  return detail::read_snapshot_file(impl_->dir, group, g->snap.index,
                                    impl_->options.max_record_bytes);
}

std::vector<group_id> wal::groups() const {
  std::shared_lock lock(impl_->mu);
  std::vector<group_id> out;
  for (const auto& [id, g] : impl_->index.groups()) out.push_back(group_id{id});
  return out;
}

std::vector<group_id> wal::groups_pinning_oldest_segment() const {
  std::shared_lock lock(impl_->mu);
  std::vector<group_id> out;
  if (impl_->segments.size() < 2) return out;
  const std::uint64_t oldest = impl_->segments.begin()->first;
  for (const auto& [id, g] : impl_->index.groups()) {
    // Entries sit in segment order, so the front entry is in the oldest segment a group uses.
    if (!g.locs.empty() && g.locs.front().segment == oldest) out.push_back(group_id{id});
  }
  return out;
}

wal_stats wal::stats() const {
  std::shared_lock lock(impl_->mu);
  wal_stats s;
  s.segments = impl_->segments.size();
  for (const auto& [seq, seg] : impl_->segments) s.bytes += seg.size;
  s.frames_written = impl_->frames_written.load();
  s.fsyncs = impl_->fsyncs.load();
  s.groups = impl_->index.groups().size();
  s.bytes_written = impl_->bytes_written.load(std::memory_order_relaxed);
  s.fsync_latency = impl_->fsync_latency.snapshot();
  return s;
}

}  // namespace chronik::consensus
