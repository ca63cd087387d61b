#include "kafka/partition/producer_state.h"

#include <algorithm>
#include <limits>

#include "base/assert.h"

namespace chronik::kafka {
namespace {

// Format 2 added the highest forgotten producer id at the end; format 1 tables are still read.
constexpr std::uint8_t table_format = 2;
constexpr std::uint8_t table_format_without_forgotten = 1;
// A producer's record in the table bytes: id, epoch, coordinator epoch, open transaction's first
// offset, batch count; per batch first and last sequence, first offset, timestamp and Raft index.
// After the producers: the aborted transactions, each producer id, first and last offset; then
// the highest producer id expiry erased (8 bytes, two's complement; -1 for none).
constexpr std::size_t entry_bytes = 8 + 2 + 4 + 8 + 1;
constexpr std::size_t batch_bytes = 4 + 4 + 8 + 8 + 8;
constexpr std::size_t aborted_bytes = 8 + 8 + 8;

void put(std::string& out, std::uint64_t v, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t get(std::string_view in, std::size_t& at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[at++]);
  return v;
}

bool in_sequence(std::int32_t last, std::int32_t next) {
  return std::int64_t{next} == std::int64_t{last} + 1 || (next == 0 && last == std::numeric_limits<std::int32_t>::max());
}

void keep(producer_entry& e, const producer_batch& b) {
  e.batches.push_back(b);
  while (e.batches.size() > producer_batches_kept) e.batches.pop_front();
}

// A new epoch forgets the old epoch's batches: a retry from the old epoch is refused, never matched.
void take_epoch(producer_entry& e, std::int16_t epoch) {
  if (epoch != e.epoch) {
    e.epoch = epoch;
    e.batches.clear();
  }
}

// Moves `e` on by one appended batch or marker (the entry's own fields; the table keeps its
// partition-wide indexes in step).
void advance(producer_entry& e, const producer_event& ev) {
  if (ev.what == producer_event::kind::append) {
    take_epoch(e, ev.id.epoch);
    if (ev.id.sequenced()) keep(e, ev.batch);
    if (ev.id.transactional && e.txn_first_offset < 0) e.txn_first_offset = ev.batch.first_offset;
    return;
  }
  CHRONIK_ASSERT(ev.what == producer_event::kind::marker, "only appends and markers move an entry on");
  take_epoch(e, ev.id.epoch);
  e.coordinator_epoch = ev.coordinator_epoch;
  e.txn_first_offset = -1;
}

}  // namespace

producer_batch_id producer_batch_id::of(const record_batch_header& h) {
  return producer_batch_id{h.producer_id, h.producer_epoch, h.base_sequence,
                           advance_sequence(h.base_sequence, h.last_offset_delta), h.is_transactional()};
}

std::int32_t advance_sequence(std::int32_t seq, std::int32_t delta) {
  CHRONIK_ASSERT(seq >= 0 && delta >= 0, "sequences and deltas are not negative");
  constexpr std::int32_t max = std::numeric_limits<std::int32_t>::max();
  if (seq > max - delta) return delta - (max - seq) - 1;
  return seq + delta;
}

std::string_view to_string(sequence_verdict v) {
  switch (v) {
    case sequence_verdict::append: return "append";
    case sequence_verdict::duplicate: return "duplicate";
    case sequence_verdict::out_of_order: return "out_of_order";
    case sequence_verdict::old_epoch: return "old_epoch";
    case sequence_verdict::invalid_txn_state: return "invalid_txn_state";
    case sequence_verdict::unknown_producer: return "unknown_producer";
  }
  return "unknown";
}

sequence_check check_sequence(const producer_entry* entry, const producer_batch_id& b, bool may_be_forgotten) {
  if (entry == nullptr) {  // rule 5
    if (b.sequenced() && b.first_seq != 0 && !may_be_forgotten) return {sequence_verdict::unknown_producer, std::nullopt};
    return {};
  }
  if (b.epoch == entry->epoch) {
    for (const producer_batch& kept : entry->batches) {
      if (kept.first_seq == b.first_seq && kept.last_seq == b.last_seq) return {sequence_verdict::duplicate, kept};
    }
  }
  if (b.epoch < entry->epoch) return {sequence_verdict::old_epoch, std::nullopt};
  if (b.epoch > entry->epoch) {
    // rule 3; an entry with no epoch yet (none is made so today) would accept any start
    if (b.first_seq != 0 && entry->epoch >= 0) return {sequence_verdict::out_of_order, std::nullopt};
  } else {
    // rule 4; an entry of this epoch with no batch (a marker made it) starts at 0
    const std::int32_t last = entry->batches.empty() ? -1 : entry->batches.back().last_seq;
    if (!in_sequence(last, b.first_seq)) return {sequence_verdict::out_of_order, std::nullopt};
  }
  if (entry->txn_first_offset >= 0 && !b.transactional) return {sequence_verdict::invalid_txn_state, std::nullopt};  // rule 6
  return {};
}

sequence_verdict check_coordinator_write(const producer_entry* entry, std::int16_t epoch) {
  if (entry != nullptr && epoch < entry->epoch) return sequence_verdict::old_epoch;
  return sequence_verdict::append;
}

marker_verdict check_marker(const producer_entry* entry, std::int16_t epoch, std::int32_t coordinator_epoch) {
  if (entry == nullptr) return marker_verdict::write;  // nothing open: the marker changes nothing but the epoch
  if (epoch < entry->epoch) return marker_verdict::old_epoch;
  if (coordinator_epoch < entry->coordinator_epoch) return marker_verdict::coordinator_fenced;
  return marker_verdict::write;
}

// ---- producer_table ----------------------------------------------------------------------------

const producer_entry* producer_table::find(std::int64_t producer_id) const {
  auto it = entries_.find(producer_id);
  return it == entries_.end() ? nullptr : &it->second;
}

void producer_table::open_txn(std::int64_t producer_id, producer_entry& e, std::int64_t first_offset) {
  e.txn_first_offset = first_offset;
  const bool fresh = open_txns_.emplace(first_offset, producer_id).second;
  CHRONIK_ASSERT(fresh, "two open transactions cannot start at one offset");
}

void producer_table::close_txn(producer_entry& e) {
  if (e.txn_first_offset < 0) return;
  open_txns_.erase(e.txn_first_offset);
  e.txn_first_offset = -1;
}

void producer_table::apply(const producer_event& e) {
  switch (e.what) {
    case producer_event::kind::append: {
      CHRONIK_ASSERT(e.id.producer_id >= 0, "only batches with a producer id are tracked");
      producer_entry& entry = entries_[e.id.producer_id];
      const bool opens = e.id.transactional && entry.txn_first_offset < 0;
      take_epoch(entry, e.id.epoch);
      if (e.id.sequenced()) keep(entry, e.batch);
      if (opens) open_txn(e.id.producer_id, entry, e.batch.first_offset);
      return;
    }
    case producer_event::kind::marker: {
      producer_entry& entry = entries_[e.id.producer_id];
      // Kafka's CompletedTxn: a marker with nothing open still ends an (empty) transaction at
      // its own offset.
      const std::int64_t first = entry.txn_first_offset >= 0 ? entry.txn_first_offset : e.batch.first_offset;
      close_txn(entry);
      take_epoch(entry, e.id.epoch);
      entry.coordinator_epoch = e.coordinator_epoch;
      if (!e.commit) {
        CHRONIK_ASSERT(aborted_.empty() || aborted_.back().last_offset < e.batch.first_offset,
                       "markers are applied in offset order");
        aborted_.push_back(aborted_txn{e.id.producer_id, first, e.batch.first_offset});
      }
      return;
    }
    case producer_event::kind::expire: {
      // Decided on the entry as it was; a producer that appended since then stays, and so does one
      // whose transaction is open (its marker will come).
      auto it = entries_.find(e.id.producer_id);
      if (it != entries_.end() && it->second.last_index() == e.batch.index.value && it->second.txn_first_offset < 0) {
        entries_.erase(it);
        forgotten_through_ = std::max(forgotten_through_, e.id.producer_id);
      }
      return;
    }
  }
}

std::optional<std::int64_t> producer_table::first_unstable_offset() const {
  if (open_txns_.empty()) return std::nullopt;
  return open_txns_.begin()->first;
}

std::vector<aborted_txn> producer_table::aborted_between(std::int64_t from, std::int64_t to) const {
  std::vector<aborted_txn> out;
  // Ascending by last offset: skip those ending before `from`, stop at none.
  auto it = std::lower_bound(aborted_.begin(), aborted_.end(), from,
                             [](const aborted_txn& a, std::int64_t o) { return a.last_offset < o; });
  for (; it != aborted_.end(); ++it)
    if (it->first_offset < to) out.push_back(*it);
  return out;
}

void producer_table::trim_aborted(std::int64_t log_start_offset) {
  while (!aborted_.empty() && aborted_.front().last_offset < log_start_offset) aborted_.pop_front();
}

std::vector<producer_event> producer_table::expirable(std::int64_t before_ms, std::size_t max) const {
  std::vector<producer_event> out;
  for (const auto& [id, entry] : entries_) {
    if (out.size() >= max) break;
    if (entry.last_timestamp() >= before_ms || entry.txn_first_offset >= 0) continue;
    out.push_back(expiry_of(id, entry));
  }
  return out;
}

producer_event producer_table::expiry_of(std::int64_t producer_id, const producer_entry& entry) {
  producer_event e;
  e.what = producer_event::kind::expire;
  e.id.producer_id = producer_id;
  e.batch.index = consensus::log_index{entry.last_index()};
  return e;
}

std::string producer_table::encode() const {
  std::string out;
  out.push_back(static_cast<char>(table_format));
  put(out, entries_.size(), 4);
  for (const auto& [id, e] : entries_) {
    put(out, static_cast<std::uint64_t>(id), 8);
    put(out, static_cast<std::uint16_t>(e.epoch), 2);
    put(out, static_cast<std::uint32_t>(e.coordinator_epoch), 4);
    put(out, static_cast<std::uint64_t>(e.txn_first_offset), 8);
    put(out, e.batches.size(), 1);
    for (const auto& b : e.batches) {
      put(out, static_cast<std::uint32_t>(b.first_seq), 4);
      put(out, static_cast<std::uint32_t>(b.last_seq), 4);
      put(out, static_cast<std::uint64_t>(b.first_offset), 8);
      put(out, static_cast<std::uint64_t>(b.timestamp), 8);
      put(out, b.index.value, 8);
    }
  }
  put(out, aborted_.size(), 4);
  for (const auto& a : aborted_) {
    put(out, static_cast<std::uint64_t>(a.producer_id), 8);
    put(out, static_cast<std::uint64_t>(a.first_offset), 8);
    put(out, static_cast<std::uint64_t>(a.last_offset), 8);
  }
  put(out, static_cast<std::uint64_t>(forgotten_through_), 8);
  return out;
}

std::expected<producer_table, producer_errc> producer_table::decode(std::string_view in) {
  const auto bad = std::unexpected(producer_errc::malformed);
  if (in.size() < 5) return bad;
  const auto format = static_cast<std::uint8_t>(in[0]);
  if (format != table_format && format != table_format_without_forgotten) return bad;
  const std::size_t tail = format == table_format ? 8 : 0;
  std::size_t at = 1;
  const auto count = get(in, at, 4);
  // Every entry takes at least entry_bytes: a count the bytes cannot hold is refused before use.
  if (count > (in.size() - at) / entry_bytes) return bad;
  producer_table t;
  std::int64_t previous = -1;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (in.size() - at < entry_bytes) return bad;
    const auto id = static_cast<std::int64_t>(get(in, at, 8));
    producer_entry e;
    e.epoch = static_cast<std::int16_t>(get(in, at, 2));
    e.coordinator_epoch = static_cast<std::int32_t>(get(in, at, 4));
    e.txn_first_offset = static_cast<std::int64_t>(get(in, at, 8));
    const auto batches = get(in, at, 1);
    // Canonical: ids ascend, none negative; at most the kept window; each batch fits.
    if (id <= previous || batches > producer_batches_kept || in.size() - at < batches * batch_bytes) return bad;
    previous = id;
    for (std::uint64_t k = 0; k < batches; ++k) {
      producer_batch b;
      b.first_seq = static_cast<std::int32_t>(get(in, at, 4));
      b.last_seq = static_cast<std::int32_t>(get(in, at, 4));
      b.first_offset = static_cast<std::int64_t>(get(in, at, 8));
      b.timestamp = static_cast<std::int64_t>(get(in, at, 8));
      b.index = consensus::log_index{get(in, at, 8)};
      if (b.first_seq < 0 || b.last_seq < 0 || b.first_offset < 0) return bad;
      e.batches.push_back(b);
    }
    if (e.txn_first_offset < -1 || (e.txn_first_offset >= 0 && !t.open_txns_.emplace(e.txn_first_offset, id).second))
      return bad;
    t.entries_.emplace(id, std::move(e));
  }
  if (in.size() - at < 4 + tail) return bad;
  const auto aborted = get(in, at, 4);
  const std::size_t rest = in.size() - at - tail;
  if (aborted > rest / aborted_bytes || rest != aborted * aborted_bytes) return bad;
  for (std::uint64_t i = 0; i < aborted; ++i) {
    aborted_txn a;
    a.producer_id = static_cast<std::int64_t>(get(in, at, 8));
    a.first_offset = static_cast<std::int64_t>(get(in, at, 8));
    a.last_offset = static_cast<std::int64_t>(get(in, at, 8));
    const bool ordered = t.aborted_.empty() || t.aborted_.back().last_offset < a.last_offset;
    if (a.producer_id < 0 || a.first_offset < 0 || a.first_offset > a.last_offset || !ordered) return bad;
    t.aborted_.push_back(a);
  }
  if (tail == 0) {
    t.forgotten_through_ = std::numeric_limits<std::int64_t>::max();  // not kept: any may be forgotten
  } else {
    t.forgotten_through_ = static_cast<std::int64_t>(get(in, at, 8));
    if (t.forgotten_through_ < -1) return bad;
  }
  return t;
}

// ---- producer_history --------------------------------------------------------------------------

void producer_history::apply(consensus::log_index index, std::vector<producer_event> events) {
  if (events.empty()) return;
  CHRONIK_ASSERT(since_start_.empty() || since_start_.back().first < index,
                 "entries reach the producer history once, in log order");
  for (const auto& e : events) current_.apply(e);
  since_start_.emplace_back(index, std::move(events));
}

void producer_history::drop_through(consensus::log_index index, std::int64_t log_start_offset) {
  while (!since_start_.empty() && since_start_.front().first <= index) {
    for (const auto& e : since_start_.front().second) at_start_.apply(e);
    since_start_.pop_front();
  }
  at_start_.trim_aborted(log_start_offset);
  current_.trim_aborted(log_start_offset);
}

producer_table producer_history::at(consensus::log_index index) const {
  producer_table t = at_start_;
  for (const auto& [i, events] : since_start_) {
    if (i > index) break;
    for (const auto& e : events) t.apply(e);
  }
  return t;
}

void producer_history::restore(producer_table t) {
  at_start_ = t;
  current_ = std::move(t);
  since_start_.clear();
}

std::size_t producer_history::events_kept() const {
  std::size_t n = 0;
  for (const auto& [i, events] : since_start_) n += events.size();
  return n;
}

// ---- producer_guard ----------------------------------------------------------------------------

const producer_entry* producer_guard::view(const producer_table& applied, std::int64_t producer_id) const {
  auto it = pending_.find(producer_id);
  return it != pending_.end() ? &it->second.entry : applied.find(producer_id);
}

sequence_check producer_guard::check(const producer_table& applied, const producer_batch_id& b) const {
  return check_sequence(view(applied, b.producer_id), b, applied.may_have_forgotten(b.producer_id));
}

marker_verdict producer_guard::check_marker(const producer_table& applied, std::int64_t producer_id, std::int16_t epoch,
                                            std::int32_t coordinator_epoch) const {
  return kafka::check_marker(view(applied, producer_id), epoch, coordinator_epoch);
}

sequence_verdict producer_guard::check_coordinator_write(const producer_table& applied, std::int64_t producer_id,
                                                         std::int16_t epoch) const {
  return kafka::check_coordinator_write(view(applied, producer_id), epoch);
}

bool producer_guard::transaction_open(const producer_table& applied, std::int64_t producer_id) const {
  const producer_entry* e = view(applied, producer_id);
  return e != nullptr && e->txn_first_offset >= 0;
}

void producer_guard::proposed(const producer_table& applied, const producer_event& e, consensus::term_id term) {
  const std::int64_t producer_id = e.id.producer_id;
  auto it = pending_.find(producer_id);
  if (it == pending_.end()) {
    const producer_entry* base = applied.find(producer_id);
    it = pending_.emplace(producer_id, projection{term, base ? *base : producer_entry{}, {}}).first;
  }
  projection& p = it->second;
  CHRONIK_ASSERT(p.term == term, "a projection holds one term's proposals; reset() between terms");
  CHRONIK_ASSERT(p.last_index < e.batch.index, "a producer's proposals take ascending Raft indexes");
  p.last_index = e.batch.index;
  advance(p.entry, e);
}

void producer_guard::applied_through(consensus::log_index applied_index) {
  // A projection whose newest batch is applied equals the applied entry (the leader proposed
  // everything of its term that applied), so the applied table takes over.
  std::erase_if(pending_, [&](const auto& kv) {
    return kv.second.last_index <= applied_index;
  });
}

}  // namespace chronik::kafka
