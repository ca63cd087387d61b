#include "kafka/partition/partition_replica.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/assert.h"
#include "base/config_list.h"
#include "kafka/protocol/batch_records.h"
#include "kafka/protocol/batch_validation.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/record_batch.h"

namespace chronik::kafka {
namespace {

using consensus::entry;
using consensus::entry_type;
using consensus::log_index;

std::optional<std::int64_t> parse_int(const std::map<std::string, std::string>& configs, const char* key) {
  auto it = configs.find(key);
  if (it == configs.end()) return std::nullopt;
  std::int64_t v = 0;
  const auto* first = it->second.data();
  const auto* last = first + it->second.size();
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc{} || ptr != last) return std::nullopt;
  return v;
}

partition_errc to_partition_errc(batch_fault f) {
  switch (f) {
    case batch_fault::corrupt: return partition_errc::corrupt_batch;
    case batch_fault::invalid_record: return partition_errc::invalid_record;
    case batch_fault::unsupported_magic: return partition_errc::unsupported_magic;
    case batch_fault::too_large: return partition_errc::too_large;
    case batch_fault::invalid_timestamp: return partition_errc::invalid_timestamp;
  }
  return partition_errc::corrupt_batch;
}

// Records of a batch: Kafka counts offsets, not records (compaction may leave gaps), so a batch
// takes lastOffsetDelta + 1 of them.
std::int64_t offsets_of(const record_batch_header& h) { return std::int64_t{h.last_offset_delta} + 1; }

}  // namespace

std::string_view to_string(partition_errc e) {
  switch (e) {
    case partition_errc::not_leader: return "not_leader";
    case partition_errc::corrupt_batch: return "corrupt_batch";
    case partition_errc::invalid_record: return "invalid_record";
    case partition_errc::invalid_timestamp: return "invalid_timestamp";
    case partition_errc::unsupported_magic: return "unsupported_magic";
    case partition_errc::too_large: return "too_large";
    case partition_errc::timed_out: return "timed_out";
    case partition_errc::offset_out_of_range: return "offset_out_of_range";
    case partition_errc::busy: return "busy";
    case partition_errc::storage_failed: return "storage_failed";
    case partition_errc::out_of_order_sequence: return "out_of_order_sequence";
    case partition_errc::invalid_producer_epoch: return "invalid_producer_epoch";
    case partition_errc::invalid_txn_state: return "invalid_txn_state";
    case partition_errc::coordinator_fenced: return "coordinator_fenced";
    case partition_errc::unknown_producer: return "unknown_producer";
  }
  return "unknown";
}

partition_config partition_config::from_topic(const std::map<std::string, std::string>& configs,
                                              const partition_config& base) {
  partition_config c = base;
  if (auto v = parse_int(configs, "retention.ms")) c.retention_ms = *v;
  if (auto v = parse_int(configs, "retention.bytes")) c.retention_bytes = *v;
  if (auto v = parse_int(configs, "max.message.bytes"); v && *v > 0) c.max_message_bytes = static_cast<std::uint64_t>(*v);
  if (auto it = configs.find("message.timestamp.type"); it != configs.end()) {
    if (it->second == "CreateTime") c.timestamps = timestamp_type::create_time;
    if (it->second == "LogAppendTime") c.timestamps = timestamp_type::log_append_time;
  }
  // The older single key sets both sides; the newer ones (KIP-937) override it.
  if (auto v = parse_int(configs, "message.timestamp.difference.max.ms"); v && *v >= 0) {
    c.timestamp_before_max_ms = c.timestamp_after_max_ms = *v;
  }
  if (auto v = parse_int(configs, "message.timestamp.before.max.ms"); v && *v >= 0) c.timestamp_before_max_ms = *v;
  if (auto v = parse_int(configs, "message.timestamp.after.max.ms"); v && *v >= 0) c.timestamp_after_max_ms = *v;
  if (auto it = configs.find("cleanup.policy"); it != configs.end()) {
    const auto items = config_list::split(it->second);
    c.compact = std::ranges::find(items, "compact") != items.end();
    c.compact_and_delete = c.compact && std::ranges::find(items, "delete") != items.end();
  }
  if (auto v = parse_int(configs, "delete.retention.ms"); v && *v >= 0) c.delete_retention_ms = *v;
  if (auto it = configs.find("min.cleanable.dirty.ratio"); it != configs.end()) {
    double ratio = 0;
    const auto* end = it->second.data() + it->second.size();
    if (auto [ptr, ec] = std::from_chars(it->second.data(), end, ratio); ec == std::errc{} && ptr == end) {
      c.min_cleanable_dirty_ratio = std::clamp(ratio, 0.0, 1.0);
    }
  }
  if (auto v = parse_int(configs, "min.compaction.lag.ms"); v && *v >= 0) c.min_compaction_lag_ms = *v;
  if (auto v = parse_int(configs, "max.compaction.lag.ms"); v && *v > 0) c.max_compaction_lag_ms = *v;
  if (auto v = parse_int(configs, "segment.bytes"); v && *v > 0) c.segment_bytes = *v;
  if (auto v = parse_int(configs, "segment.ms"); v && *v > 0) c.segment_ms = *v;
  return c;
}

partition_replica::partition_replica(consensus::raft_host& host, metadata::partition_ref ref, std::string topic,
                                     partition_config cfg, replica_hooks hooks, std::shared_ptr<spdlog::logger> log,
                                     entry_cache* cache, wall_clock wall_now_ms)
    : host_(host),
      ref_(std::move(ref)),
      topic_(std::move(topic)),
      cfg_(cfg),
      hooks_(std::move(hooks)),
      log_(log ? std::move(log) : spdlog::default_logger()),
      cache_(cache),
      wall_now_ms_(wall_now_ms ? std::move(wall_now_ms) : [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
      }) {}

partition_replica::~partition_replica() { fail_all(); }

// ---- apply -------------------------------------------------------------------------------------

void partition_replica::apply(consensus::apply_batch&& b) {
  const std::int64_t hw_before = index_.high_watermark();
  const std::int64_t start_before = index_.log_start_offset();
  if (b.snap) {
    // A leader's snapshot (or ours, at reopen): offsets below its cut are gone, the entries after
    // it come from the log (partition_index::snapshot_at).
    restore_snapshot(*b.snap);
    last_applied_term_ = b.snap->meta.term;
    epochs_.clear();  // the entries after the snapshot say where their terms begin
    if (cache_ != nullptr) cache_->drop_group(ref_.group);  // the log before the snapshot is gone
    // Whether proposals it covers committed is unknown here: the producer must retry.
    while (!in_flight_.empty() && in_flight_.front().index <= b.snap->meta.index) {
      proposal p = std::move(in_flight_.front());
      in_flight_.pop_front();
      answer(p, std::unexpected(partition_errc::timed_out));
    }
    while (!deletions_.empty() && deletions_.front().index <= b.snap->meta.index) {
      auto done = std::move(deletions_.front().done);
      deletions_.pop_front();
      done(std::unexpected(partition_errc::timed_out));
    }
    pending_compaction_.reset();  // the snapshot replaced the index; its log starts after it
  }
  for (entry& e : b.committed) {
    if (e.index <= index_.applied()) continue;  // replayed below a snapshot
    apply_entry(e);
  }
  producer_guard_.applied_through(index_.applied());
  epochs_.truncate_from_start(index_.log_start_offset());
  take_read_states(b.reads);
  resolve_confirmations();
  campaign_if_first();
  // A moved log start wakes fetchers parked below it: they now get OFFSET_OUT_OF_RANGE.
  if (index_.high_watermark() != hw_before || index_.log_start_offset() != start_before || b.snap) {
    if (hooks_.on_data) hooks_.on_data(ref_.group);
  }
  check_leadership();
}

// A new partition's first replica (its preferred leader) campaigns as soon as its group runs,
// instead of waiting out an election timeout (0.5-1 s with the lan preset), so a created topic is
// one vote round away from its leaders (docs/performance.md "Scale"). Any voter may start an
// election at any time (Raft paper §5.2); if a peer has not created the group yet, its host drops
// the request and the round ends by the usual timeout, as it would have begun. A drained node
// leaves it to the others.
void partition_replica::campaign_if_first() {
  if (campaign_tried_) return;
  const auto b = host_.brief(ref_.group);
  if (!b || b->term.value == 0) return;  // the core is not running yet: its bootstrap is on its way
  campaign_tried_ = true;
  const bool never_led = b->term.value == 1 && b->leader == no_node && b->state == consensus::role::follower;
  if (!never_led || ref_.replicas.empty() || ref_.replicas.front() != b->id) return;
  if (host_.current_campaign_mode() != consensus::campaign_mode::eager) return;
  static_cast<void>(host_.campaign(ref_.group));
}

void partition_replica::apply_entry(entry& e) {
  last_applied_term_ = e.term;
  // Every entry, no-ops included, so that a new leader's epoch begins at its election's high
  // watermark, where its records will go (leader_epochs.h). Its batches carry the same epoch:
  // propose_validated stamps the term it proposes in.
  epochs_.observe(epoch_of_term(e.term.value), index_.high_watermark());
  if (e.type == entry_type::normal && is_control_entry(e.data)) {
    const bool deleted = apply_control(e);
    index_.skip(e.index);  // a command, not records: it takes no offsets
    resolve_through(e, std::nullopt);
    resolve_deletions_through(e, deleted);
    return;
  }
  std::optional<std::int64_t> base;
  if (e.type == entry_type::normal && !e.data.empty()) {
    // Validated by the leader before proposing (batch_validation.h); only the headers are needed
    // here. An entry written before validation existed may still lie about its record count: its
    // offsets are taken from the header as stored, which every replica does alike.
    auto batches = split_record_batches(e.data, crc_check::skip);
    if (batches && !batches->empty()) {
      entry_summary s;
      std::int64_t records = 0;
      for (const auto& v : *batches) {
        records += offsets_of(v.header);
        s.max_timestamp = std::max(s.max_timestamp, v.header.max_timestamp);
      }
      s.records = static_cast<std::int32_t>(std::min<std::int64_t>(records, std::numeric_limits<std::int32_t>::max()));
      s.bytes = e.data.size();
      base = index_.append(e.index, s).base_offset;
      apply_producers(e, *batches, *base);
      if (cache_ != nullptr) {
        // Stamped once here, then shared as is by every fetch that finds it cached. The apply
        // batch is ours, so the entry's bytes move into the cache without a copy unless the Raft
        // log still shares them (take() copies then: the shared bytes never change).
        std::string bytes = std::move(e.data).take();
        std::int64_t next = *base;
        for (const auto& v : *batches) {
          set_base_offset(bytes, v.offset, next);
          next += offsets_of(v.header);
        }
        cache_->put(ref_.group, e.index, std::make_shared<const std::string>(std::move(bytes)));
      }
    } else {
      log_->error("[{}-{} g{}] entry {} holds no valid record batch; skipped", topic_, ref_.partition,
                  ref_.group.value, e.index.value);
    }
  }
  if (!base) index_.skip(e.index);
  resolve_through(e, base);
  resolve_deletions_through(e, false);
}

bool partition_replica::apply_control(const entry& e) {
  if (const auto kind = control_kind_of(e.data); kind && *kind == control_kind::expire_producers) {
    auto cmd = decode_expire_producers(e.data);
    if (!cmd) {
      log_->error("[{}-{} g{}] control entry {} (producer expiry) malformed; skipped", topic_, ref_.partition,
                  ref_.group.value, e.index.value);
      return false;
    }
    std::vector<producer_event> events;
    events.reserve(cmd->producers.size());
    for (const auto& p : cmd->producers) {
      producer_event ev;
      ev.what = producer_event::kind::expire;
      ev.id.producer_id = p.id;
      ev.batch.index = log_index{static_cast<std::uint64_t>(p.last_index)};
      events.push_back(ev);
    }
    producers_.apply(e.index, std::move(events));
    return false;
  }
  auto cmd = decode_delete_records(e.data);
  if (!cmd) {
    // Every replica of this version skips it alike; a newer version's command is not guessed at.
    log_->error("[{}-{} g{}] control entry {} not understood ({}); skipped", topic_, ref_.partition,
                ref_.group.value, e.index.value, cmd.error() == control_errc::unknown_kind ? "unknown kind" : "malformed");
    return false;
  }
  // The same committed command moves every replica's start to the same offset (the index clamps
  // it to this entry's high watermark, equal everywhere). The Raft log is compacted through the
  // dropped entries at the next retention check; until then they are only unreachable.
  if (auto cut = index_.delete_before(cmd->offset)) {
    if (!pending_compaction_ || pending_compaction_->index < cut->index) pending_compaction_ = cut;
    if (cache_ != nullptr) cache_->drop_through(ref_.group, cut->index);
    producers_.drop_through(cut->index, index_.log_start_offset());
  }
  log_->info("[{}-{} g{}] DeleteRecords before {}: log start offset now {}", topic_, ref_.partition, ref_.group.value,
             cmd->offset, index_.log_start_offset());
  return true;
}

void partition_replica::resolve_deletions_through(const entry& e, bool e_deleted) {
  while (!deletions_.empty() && deletions_.front().index <= e.index) {
    deletion d = std::move(deletions_.front());
    deletions_.pop_front();
    if (d.index == e.index && d.term == e.term && e_deleted) {
      d.done(index_.log_start_offset());
    } else {
      d.done(std::unexpected(partition_errc::not_leader));
    }
  }
}

// Answers every proposal at or before the applied entry `e`: the one at e's index succeeded iff
// e is that very proposal (same index and term: Raft's log matching, §5.3); any other was
// overwritten after a leadership change and never committed.
void partition_replica::resolve_through(const entry& e, std::optional<std::int64_t> base_offset) {
  while (!in_flight_.empty() && in_flight_.front().index <= e.index) {
    proposal p = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (p.index == e.index && p.term == e.term && base_offset) {
      if (*base_offset != p.base_offset) {
        log_->warn("[{}-{} g{}] entry {} applied at offset {}, predicted {}", topic_, ref_.partition,
                   ref_.group.value, e.index.value, *base_offset, p.base_offset);
      }
      answer(p, produce_ack{*base_offset, index_.log_start_offset(), p.log_append_time_ms});
    } else {
      answer(p, std::unexpected(partition_errc::not_leader));
    }
  }
}

void partition_replica::answer(proposal& p, std::expected<produce_ack, produce_error> r) {
  // Taken out before calling: an answer may produce again and so reach this proposal.
  auto retries = std::move(p.retries);
  p.retries.clear();
  auto done = std::move(p.done);
  p.done = nullptr;
  if (done) done(r);
  for (auto& w : retries) w.done(r);
}

void partition_replica::persisted(log_index last, term_id term) {
  // acks=1: durable on the leader. Only proposals of `term` at or before `last` are covered (see
  // raft_host.h persisted_fn). Callbacks may produce again, which only appends to in_flight_, so
  // indexing by position stays valid.
  const produce_ack base{0, index_.log_start_offset(), -1};
  for (std::size_t i = 0; i < in_flight_.size(); ++i) {
    proposal& p = in_flight_[i];
    if (p.index > last) break;
    if (p.acks != acks_mode::leader || p.term != term || !p.done) continue;
    produce_ack a = base;
    a.base_offset = p.base_offset;
    a.log_append_time_ms = p.log_append_time_ms;
    answer(p, a);
  }
}

// ---- produce -----------------------------------------------------------------------------------

std::int64_t partition_replica::predicted_next(term_id term) const {
  // Everything of earlier terms is applied (leader_ready), so the entries after the applied index
  // are exactly this leader's proposals, and apply will place them in this order.
  std::int64_t next = index_.high_watermark();
  for (const auto& p : in_flight_)
    if (p.term == term) next += p.records;
  return next;
}

batch_rules partition_replica::produce_rules() const {
  batch_rules rules;
  rules.max_batch_bytes = cfg_.max_message_bytes;
  rules.timestamps = cfg_.timestamps;
  rules.timestamp_before_max_ms = cfg_.timestamp_before_max_ms;
  rules.timestamp_after_max_ms = cfg_.timestamp_after_max_ms;
  rules.now_ms = wall_now_ms_();
  rules.require_keys = cfg_.compact;
  return rules;
}

produce_error partition_replica::refusal(const batch_rejection& why) {
  return produce_error{to_partition_errc(why.fault), why.batch, why.record, why.text};
}

std::expected<void, partition_errc> partition_replica::can_produce(std::size_t bytes) const {
  // A fenced node (its WAL failed) can store nothing: Kafka's answer for an offline log dir.
  if (host_.failed()) return std::unexpected(partition_errc::storage_failed);
  if (!leader_ready()) return std::unexpected(partition_errc::not_leader);
  if (bytes > cfg_.max_message_bytes) return std::unexpected(partition_errc::too_large);
  return {};
}

void partition_replica::produce(std::string records, acks_mode acks, clock::time_point deadline, produce_done done) {
  if (auto ok = can_produce(records.size()); !ok) return done(std::unexpected(ok.error()));
  auto accepted = validate_produced_records(records, produce_rules());
  if (!accepted) {
    log_->debug("[{}-{} g{}] produce refused: batch {}: {}", topic_, ref_.partition, ref_.group.value,
                accepted.error().batch, accepted.error().text);
    return done(std::unexpected(refusal(accepted.error())));
  }
  propose_validated(std::move(records), *accepted, acks, deadline, std::move(done));
}

void partition_replica::propose_validated(std::string records, const accepted_records& accepted, acks_mode acks,
                                          clock::time_point deadline, produce_done done) {
  // Checked again: leadership may have moved, or the disk failed, while validation ran.
  if (auto ok = can_produce(records.size()); !ok) return done(std::unexpected(ok.error()));
  const auto st = host_.brief(ref_.group);
  CHRONIK_ASSERT(st.has_value(), "a ready leader has a status");
  if (in_flight_.size() >= cfg_.max_in_flight) return done(std::unexpected(partition_errc::busy));
  // Every batch holds at least one record of at least min_record_bytes, so the count is bounded
  // by the blob's size, which max_message_bytes bounds: it fits an int32 with room to spare.
  CHRONIK_ASSERT(!accepted.batches.empty() && accepted.records > 0 &&
                     accepted.records <= static_cast<std::int64_t>(records.size()),
                 "accepted record count outside what the bytes can hold");
  CHRONIK_ASSERT(accepted.batches.back().offset + accepted.batches.back().size == records.size(),
                 "accepted batches do not cover the records");
  const auto producer = check_producer(accepted, st->term, deadline, done);
  if (!done) return;  // answered: a duplicate, or refused by its producer's sequence
  propose_checked(std::move(records), accepted, acks, deadline, std::move(done), st->term, producer);
}

void partition_replica::propose_checked(std::string records, const accepted_records& accepted, acks_mode acks,
                                        clock::time_point deadline, produce_done done, term_id term,
                                        const std::optional<producer_batch_id>& producer) {
  // Stamp the offsets apply will assign and the leader epoch (= Raft term), both outside the CRC.
  const std::int64_t base = predicted_next(term);
  const std::int32_t epoch = epoch_of_term(term.value);
  std::int64_t next = base;
  for (const accepted_batch& b : accepted.batches) {
    set_base_offset(records, b.offset, next);
    set_partition_leader_epoch(records, b.offset, epoch);
    next += b.records;
  }
  const std::int64_t count = accepted.records;
  const std::int64_t append_time = accepted.log_append_time_ms;
  const std::int64_t max_timestamp = append_time >= 0 ? append_time : accepted.batches.front().header.max_timestamp;
  auto index = propose_entry(std::move(records));
  if (!index) return done(std::unexpected(index.error()));
  if (producer) {
    producer_guard_.proposed(producers_.current(), *producer,
                             producer_batch{producer->first_seq, producer->last_seq, base, max_timestamp, *index},
                             term);
  }
  proposal p{*index, term, base, static_cast<std::int32_t>(count), append_time, acks, deadline, nullptr, {}};
  if (acks == acks_mode::none) {
    in_flight_.push_back(std::move(p));
    took_deadline();
    return done(produce_ack{base, index_.log_start_offset(), append_time});
  }
  p.done = std::move(done);
  in_flight_.push_back(std::move(p));
  took_deadline();
}

std::expected<log_index, partition_errc> partition_replica::propose_entry(std::string data) {
  auto index = host_.propose(ref_.group, std::move(data));
  if (!index) {
    const auto& e = index.error();
    const bool busy = e.code == consensus::host_errc::raft && e.raft == consensus::raft_errc::dropped;
    const bool leader_gone = e.code == consensus::host_errc::raft || e.code == consensus::host_errc::not_ready;
    return std::unexpected(busy ? partition_errc::busy
                           : leader_gone ? partition_errc::not_leader
                                         : partition_errc::storage_failed);
  }
  answer_overwritten(*index);
  return *index;
}

void partition_replica::answer_overwritten(log_index index) {
  // Proposals of older terms at or after this index are gone from our log: we just wrote there.
  while (!in_flight_.empty() && in_flight_.back().index >= index) {
    proposal p = std::move(in_flight_.back());
    in_flight_.pop_back();
    answer(p, std::unexpected(partition_errc::not_leader));
  }
  while (!deletions_.empty() && deletions_.back().index >= index) {
    auto done = std::move(deletions_.back().done);
    deletions_.pop_back();
    done(std::unexpected(partition_errc::not_leader));
  }
}

// ---- delete records ----------------------------------------------------------------------------

void partition_replica::delete_records(std::int64_t offset, clock::time_point deadline, delete_done done) {
  if (host_.failed()) return done(std::unexpected(partition_errc::storage_failed));
  // Only the ready leader knows the committed high watermark the offset is checked against.
  if (!leader_ready()) return done(std::unexpected(partition_errc::not_leader));
  const std::int64_t hw = index_.high_watermark();
  const std::int64_t target = offset == -1 ? hw : offset;  // Kafka: -1 means the high watermark
  if (target < 0 || target > hw) return done(std::unexpected(partition_errc::offset_out_of_range));
  if (target <= index_.log_start_offset()) return done(index_.log_start_offset());  // nothing to delete
  if (in_flight_.size() + deletions_.size() >= cfg_.max_in_flight) return done(std::unexpected(partition_errc::busy));
  const auto st = host_.brief(ref_.group);
  CHRONIK_ASSERT(st.has_value(), "a ready leader has a status");
  auto index = propose_entry(encode_delete_records({target}));
  if (!index) return done(std::unexpected(index.error()));
  deletions_.push_back(deletion{*index, st->term, deadline, std::move(done)});
  took_deadline();
}

// ---- reads -------------------------------------------------------------------------------------

bool partition_replica::leader_ready() const {
  const auto st = host_.brief(ref_.group);
  return st && leader_ready(*st);
}

bool partition_replica::leader_ready(const consensus::raft_brief& st) const {
  // A new leader whose index still lags would show a smaller high watermark than its
  // predecessor did, and a consumer would take that for OFFSET_OUT_OF_RANGE.
  return st.state == consensus::role::leader && last_applied_term_ == st.term;
}

std::expected<fetch_data, partition_errc> partition_replica::fetch(std::int64_t offset, std::uint64_t max_bytes,
                                                                   isolation level) const {
  if (host_.failed()) return std::unexpected(partition_errc::storage_failed);
  if (!leader_ready()) return std::unexpected(partition_errc::not_leader);
  fetch_data out;
  out.high_watermark = index_.high_watermark();
  out.last_stable_offset = last_stable_offset();
  out.log_start_offset = index_.log_start_offset();
  if (offset == out.high_watermark) return out;
  if (offset < out.log_start_offset || offset > out.high_watermark) {
    return std::unexpected(partition_errc::offset_out_of_range);
  }
  const bool committed_only = level == isolation::read_committed;
  // read_committed: nothing at or past the last stable offset, which is an entry's first offset (an
  // open transaction begins with its first batch, and an idempotent batch is alone in its entry).
  if (committed_only && offset >= out.last_stable_offset) return out;
  if (offset < index_.head_start_offset()) {
    // Below the last compaction cut: the cleaned prefix's batches, then the entries after the cut
    // with what is left of the budget (the cut lies at or below the last stable offset).
    out.records = index_.cleaned().from_offset(offset, max_bytes);
    if (committed_only) out.aborted = producers_.current().aborted_between(offset, index_.head_start_offset());
    offset = index_.head_start_offset();
    if (out.records.size() >= max_bytes || offset >= out.high_watermark ||
        (committed_only && offset >= out.last_stable_offset)) {
      return out;
    }
    max_bytes -= out.records.size();
  }
  auto wanted = index_.from_offset(offset, max_bytes);
  // from_offset always gives the first entry; after prefix batches, one larger than what is left
  // of the budget waits for the next fetch.
  if (!out.records.empty() && !wanted.empty() && wanted.front().bytes > max_bytes) wanted.clear();
  if (committed_only) {
    std::erase_if(wanted, [&](const indexed_entry& e) { return e.base_offset >= out.last_stable_offset; });
    if (!wanted.empty()) {
      for (auto& a : producers_.current().aborted_between(offset, wanted.back().end_offset())) {
        if (std::ranges::find(out.aborted, a) == out.aborted.end()) out.aborted.push_back(a);
      }
    }
  }
  // Cached entries are taken as they are; each run of uncached ones is read from the WAL. A
  // failed read ends the answer there: what it holds so far is a valid prefix.
  const auto cached = [&](std::size_t i) {
    return cache_ != nullptr ? cache_->find(ref_.group, wanted[i].index) : nullptr;
  };
  for (std::size_t i = 0; i < wanted.size();) {
    if (auto hit = cached(i)) {
      out.records.append(shared_bytes{hit, std::string_view(*hit)});
      ++i;
      continue;
    }
    std::size_t end = i + 1;
    while (end < wanted.size() && !cached(end)) ++end;
    if (!read_from_log(wanted, i, end, out.records)) break;
    i = end;
  }
  return out;
}

bool partition_replica::read_from_log(const std::vector<indexed_entry>& wanted, std::size_t from, std::size_t to,
                                      byte_chain& out) const {
  // Every indexed entry is applied, so committed and durable here; other entries in between
  // (Raft no-ops, configuration changes) come along and are skipped.
  std::size_t next = from;
  log_index lo = wanted[from].index;
  const log_index hi = wanted[to - 1].index.next();
  for (std::size_t reads = 0; lo < hi && reads <= to - from; ++reads) {
    auto got = host_.read_entries(ref_.group, lo, hi, std::numeric_limits<std::uint64_t>::max());
    if (!got || got->empty()) {
      log_->error("[{}-{} g{}] cannot read entries from {}: {}", topic_, ref_.partition, ref_.group.value, lo.value,
                  got ? "none" : got.error().text);
      return false;
    }
    for (auto& e : *got) {
      lo = e.index.next();
      if (next >= to || e.index != wanted[next].index) continue;
      auto batches = split_record_batches(e.data, crc_check::skip);
      if (!batches) return false;
      std::int64_t base = wanted[next++].base_offset;
      std::string bytes = std::move(e.data).take();  // the WAL read's own string: moved, not copied
      for (const auto& v : *batches) {
        set_base_offset(bytes, v.offset, base);
        base += offsets_of(v.header);
      }
      // The string the WAL read filled becomes the answer's piece: no copy.
      out.append(shared_bytes::own(std::move(bytes)));
    }
  }
  return next == to;
}

std::expected<offset_answer, partition_errc> partition_replica::list_offsets(std::int64_t timestamp_ms,
                                                                           isolation level) const {
  if (host_.failed()) return std::unexpected(partition_errc::storage_failed);
  if (!leader_ready()) return std::unexpected(partition_errc::not_leader);
  offset_answer a = locate(timestamp_ms);
  if (level == isolation::read_committed) {
    // Kafka: the latest is the last stable offset, and a record at or past it is not found yet.
    const std::int64_t lso = last_stable_offset();
    if (timestamp_ms == list_offsets_latest) {
      a = offset_answer{lso, -1};
    } else if (a.offset >= lso && timestamp_ms != list_offsets_earliest && timestamp_ms != list_offsets_earliest_local) {
      a = offset_answer{-1, -1};
    }
  }
  a.leader_epoch = a.offset < 0 ? undefined_epoch : epochs_.epoch_at(a.offset);
  return a;
}

offset_answer partition_replica::locate(std::int64_t timestamp_ms) const {
  // Without tiered storage the whole log is local: its local start is its start (KIP-405).
  if (timestamp_ms == list_offsets_earliest || timestamp_ms == list_offsets_earliest_local) {
    return offset_answer{index_.log_start_offset(), -1};
  }
  if (timestamp_ms == list_offsets_latest) return offset_answer{index_.high_watermark(), -1};
  if (timestamp_ms == list_offsets_max_timestamp) {
    // KIP-734: the first record carrying the log's largest timestamp, and that timestamp; none
    // in an empty log (or one whose timestamps are all unknown).
    // The cleaned prefix of a compacted partition counts too; a tie goes to the earlier record.
    const auto e = index_.entry_with_max_timestamp();
    const auto c = index_.cleaned().batch_with_max_timestamp();
    if (c && (!e || c->max_timestamp >= e->max_timestamp)) return first_record_in_cleaned(*c, c->max_timestamp);
    if (!e) return offset_answer{-1, -1};
    return first_record_at_or_after(*e, e->max_timestamp);
  }
  // The cleaned prefix comes before the entries.
  if (const auto c = index_.cleaned().batch_for_timestamp(timestamp_ms)) return first_record_in_cleaned(*c, timestamp_ms);
  const auto e = index_.entry_for_timestamp(timestamp_ms);
  if (!e) return offset_answer{-1, -1};
  return first_record_at_or_after(*e, timestamp_ms);
}

std::expected<epoch_end, partition_errc> partition_replica::end_offset_for_epoch(std::int32_t epoch) const {
  if (host_.failed()) return std::unexpected(partition_errc::storage_failed);
  // A leader that has not applied its own no-op yet would not know its current epoch.
  if (!leader_ready()) return std::unexpected(partition_errc::not_leader);
  const epoch_end end = epochs_.end_offset_for(epoch, index_.log_start_offset(), index_.high_watermark());
  log_->debug("[{}-{} g{}] OffsetForLeaderEpoch: epoch {} -> epoch {} ends at {}", topic_, ref_.partition,
              ref_.group.value, epoch, end.epoch, end.end_offset);
  return end;
}

// Kafka answers with the first *record* whose timestamp reaches the target, and that record's
// timestamp; a producer's linger batch spans milliseconds, so it may lie inside a batch. The
// entry's batches are read (cache or WAL) and looked into (kafka/protocol/batch_records.h). A
// batch whose records cannot be read (possible: produce checks the batch, not each record)
// answers with its own base offset and max timestamp, still at or before the record sought.
offset_answer partition_replica::first_record_at_or_after(const indexed_entry& e, std::int64_t timestamp_ms) const {
  const std::int64_t floor = std::max(e.base_offset, index_.log_start_offset());
  const offset_answer whole_entry{floor, e.max_timestamp};
  std::shared_ptr<const std::string> cached = cache_ != nullptr ? cache_->find(ref_.group, e.index) : nullptr;
  std::string read;
  if (!cached) {
    auto got = host_.read_entries(ref_.group, e.index, e.index.next(), std::numeric_limits<std::uint64_t>::max());
    if (!got || got->empty() || got->front().index != e.index) return whole_entry;
    read = std::move(got->front().data);
  }
  auto batches = split_record_batches(cached ? std::string_view(*cached) : std::string_view(read), crc_check::skip);
  if (!batches) return whole_entry;
  // The stored base offsets may be unstamped (WAL) or stamped (cache): count from the entry's.
  std::int64_t base = e.base_offset;
  for (const auto& v : *batches) {
    const std::int64_t batch_base = base;
    base += offsets_of(v.header);
    if (v.header.max_timestamp < timestamp_ms) continue;
    auto records = record_positions(v);
    if (!records) return offset_answer{std::max(batch_base, floor), v.header.max_timestamp};
    for (const auto& r : *records) {
      const std::int64_t offset = batch_base + (r.offset - v.header.base_offset);
      if (r.timestamp >= timestamp_ms && offset >= floor) return offset_answer{offset, r.timestamp};
    }
  }
  return whole_entry;
}

// ---- housekeeping ------------------------------------------------------------------------------

void partition_replica::expire(clock::time_point now) {
  // Fenced: no waiting proposal will be answered by this node (its host applies and persists
  // nothing more), so each gets KAFKA_STORAGE_ERROR now instead of a timeout. Like a timeout it
  // does not say "not written": a proposal that reached the followers may still commit under
  // the next leader, and the producer's retry (idempotent or not) finds that out.
  const bool fenced = host_.failed();
  for (std::size_t i = 0; i < in_flight_.size(); ++i) {
    proposal& p = in_flight_[i];
    if (p.done && fenced) answer(p, std::unexpected(partition_errc::storage_failed));
    if (p.done && p.deadline <= now) answer(p, std::unexpected(partition_errc::timed_out));
    // Retries wait on their own deadlines. Taken out before answering: an answer may produce.
    std::vector<produce_done> due;
    std::erase_if(in_flight_[i].retries, [&](retry_waiter& w) {
      if (!fenced && w.deadline > now) return false;
      due.push_back(std::move(w.done));
      return true;
    });
    for (auto& d : due) d(std::unexpected(fenced ? partition_errc::storage_failed : partition_errc::timed_out));
  }
  // A deletion answered here takes no offsets, so nothing needs it any longer: it goes.
  // Taken out before answering: an answer may call back into this replica.
  std::vector<delete_done> expired;
  std::erase_if(deletions_, [&](deletion& d) {
    if (!fenced && d.deadline > now) return false;
    expired.push_back(std::move(d.done));
    return true;
  });
  for (auto& done : expired) done(std::unexpected(fenced ? partition_errc::storage_failed : partition_errc::timed_out));
  expire_confirmations(now, fenced);
  // Answered proposals of older terms no longer count for predictions: drop them.
  const auto st = host_.brief(ref_.group);
  if (st) {
    std::erase_if(in_flight_, [&](const proposal& p) { return !p.done && p.retries.empty() && p.term < st->term; });
  }
  check_leadership();
}

void partition_replica::enforce_retention(std::int64_t now_ms) {
  // Retention by time and size applies with the delete policy. A compact,delete topic expires its
  // cleaned prefix first, and its entries only once the whole prefix has gone; a compacted topic
  // then cleans (partition_compaction.cc).
  const bool entries_expire = !cfg_.compact || (cfg_.compact_and_delete && expire_prefix(now_ms));
  cut_log(entries_expire ? index_.retention_point(now_ms, cfg_.retention_ms, cfg_.retention_bytes) : std::nullopt);
  if (cfg_.compact) clean_if_due(now_ms);
}

void partition_replica::cut_log(std::optional<log_cut> cut) {
  // The index holds only entries after a pending DeleteRecords cut, so a retention cut, when
  // there is one, lies beyond it and covers it.
  const auto at = cut ? cut : pending_compaction_;
  if (!at) return;
  // Compaction is local to each replica (Raft paper §7); a replica that falls behind the cut gets
  // this snapshot from its leader instead of the entries. A deletion's cut is an entry boundary
  // at or below the new log start; the delete entry itself lies after it and is replayed from the
  // log (or a later cut passes the log start too), so the snapshot format stays as it was.
  // The snapshot holds the producers as of the cut: the entries after it are replayed over them.
  // A retention cut moves the log start to it; a DeleteRecords cut lies at or below the new log
  // start, whose entry is replayed after it.
  const std::string snapshot = snapshot_for(*at, cut ? cut->next_offset : std::min(index_.log_start_offset(), at->next_offset));
  if (auto r = host_.compact(ref_.group, at->index, snapshot); !r) {
    log_->warn("[{}-{} g{}] retention: compaction at {} refused: {}", topic_, ref_.partition, ref_.group.value,
               at->index.value, r.error().text);
    return;
  }
  pending_compaction_.reset();
  if (!cut) return;
  index_.drop_through(*cut);
  producers_.drop_through(cut->index, index_.log_start_offset());
  epochs_.truncate_from_start(index_.log_start_offset());
  if (cache_ != nullptr) cache_->drop_through(ref_.group, cut->index);
  log_->debug("[{}-{} g{}] retention: log start offset now {}", topic_, ref_.partition, ref_.group.value,
              cut->next_offset);
}

void partition_replica::fail_all() {
  std::deque<proposal> all;
  all.swap(in_flight_);
  for (auto& p : all) answer(p, std::unexpected(partition_errc::timed_out));
  std::deque<deletion> deletions;
  deletions.swap(deletions_);
  for (auto& d : deletions) d.done(std::unexpected(partition_errc::timed_out));
  expire_confirmations(clock::time_point::max(), true);
}

void partition_replica::set_ref(const metadata::partition_ref& ref) {
  CHRONIK_ASSERT(ref.group == ref_.group && ref.inc == ref_.inc, "a replica's group never changes");
  ref_ = ref;
  reconciled_ = false;
}

node_id partition_replica::leader() const {
  const auto st = host_.brief(ref_.group);
  return st ? st->leader : node_id{};
}

term_id partition_replica::leader_epoch() const {
  const auto st = host_.brief(ref_.group);
  return st ? st->term : term_id{};
}

void partition_replica::check_leadership() {
  const auto st = host_.brief(ref_.group);
  if (!st || st->leader == no_node) return;  // an election is running: report its outcome instead
  const bool ready = leader_ready(*st);
  if (st->leader == reported_leader_ && st->term == reported_term_ && ready == reported_ready_) return;
  reported_leader_ = st->leader;
  reported_term_ = st->term;
  reported_ready_ = ready;
  if (hooks_.on_leadership) hooks_.on_leadership(ref_, st->leader, st->term);
  if (hooks_.on_data) hooks_.on_data(ref_.group);  // waiting fetchers learn they must move
}

}  // namespace chronik::kafka
