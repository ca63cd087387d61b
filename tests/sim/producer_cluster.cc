// See producer_cluster.h. The shell mirrors kafka/partition/partition_replica.cc function by
// function; where it differs (no record batches, no offset index, no cache) the comment says so.
#include "tests/sim/producer_cluster.h"

#include <algorithm>
#include <functional>

namespace chronik::sim {

using consensus::log_index;
using kafka::producer_batch;
using kafka::producer_event;
using kafka::producer_table;
using kafka::sequence_verdict;

namespace {

// An entry of the shell's: a batch ('P' and its header fields). A snapshot: 'S', the next offset
// at the cut and the producer table there (partition_index::snapshot_at holds the same two).
constexpr char batch_tag = 'P';
constexpr char snapshot_tag = 'S';
constexpr std::size_t batch_bytes = 1 + 8 + 2 + 4 + 4 + 8 + 8;

void put(std::string& out, std::uint64_t v, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t get(std::string_view in, std::size_t& at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[at++]);
  return v;
}

std::string who(int host, int partition) {
  return "host " + std::to_string(host) + " partition " + std::to_string(partition);
}

std::string text_of(std::int64_t pid, std::int16_t epoch, std::int32_t seq) {
  return "producer " + std::to_string(pid) + " epoch " + std::to_string(epoch) + " seq " + std::to_string(seq);
}

}  // namespace

kafka::producer_batch_id producer_cluster::batch_desc::id() const {
  return kafka::producer_batch_id{producer_id, epoch, first_seq, kafka::advance_sequence(first_seq, count - 1), false};
}

namespace {

std::string encode_batch(int64_t pid, int16_t epoch, int32_t seq, int32_t count, std::uint64_t payload,
                         std::int64_t ts) {
  std::string out(1, batch_tag);
  put(out, static_cast<std::uint64_t>(pid), 8);
  put(out, static_cast<std::uint16_t>(epoch), 2);
  put(out, static_cast<std::uint32_t>(seq), 4);
  put(out, static_cast<std::uint32_t>(count), 4);
  put(out, payload, 8);
  put(out, static_cast<std::uint64_t>(ts), 8);
  return out;
}

}  // namespace

producer_cluster::producer_cluster(std::uint64_t seed, producer_sim_options opt) : opt_(opt), raft_(seed, opt.raft) {
  shells_.resize(static_cast<std::size_t>(raft_.hosts()));
  for (int h = 0; h < raft_.hosts(); ++h) reset(h);
  committed_.resize(static_cast<std::size_t>(partitions()));
  acks_.resize(static_cast<std::size_t>(partitions()));
  host_observer o;
  o.applied = [this](int host, int partition, const consensus::apply_batch& b) { applied(host, partition, b); };
  o.crashed = [this](int host) { reset(host); };
  o.snapshot = [this](int host, int partition, std::uint64_t index) { return snapshot(host, partition, index); };
  o.compacted = [this](int host, int partition, std::uint64_t index) { compacted(host, partition, index); };
  raft_.observe(std::move(o));
  for (int p = 0; p < partitions(); ++p) {
    for (int k = 0; k < opt_.producers_per_partition; ++k) {
      producer pr;
      pr.id = 100 + 10 * p + k;
      pr.partition = p;
      producers_.push_back(std::move(pr));
    }
  }
}

producer_cluster::~producer_cluster() = default;

void producer_cluster::violation(std::string what) {
  if (violations_.size() < 20) violations_.push_back("tick " + std::to_string(now_) + ": " + std::move(what));
}

std::vector<std::string> producer_cluster::violations() const {
  std::vector<std::string> all = raft_.violations();
  all.insert(all.end(), violations_.begin(), violations_.end());
  return all;
}

// A crashed host loses its memory: every replica is rebuilt from the durable snapshot and log as
// the restarted Raft host applies them again; the proposals it had in flight are never answered
// (their connections broke: the producers retry elsewhere).
void producer_cluster::reset(int host) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  s.incarnation = ++incarnations_;
  s.parts.clear();
  s.parts.resize(static_cast<std::size_t>(opt_.raft.groups));
}

void producer_cluster::crash(int host) {
  for (const producer& p : producers_)
    for (const client_batch& b : p.window) counts_.in_flight_at_fault += (b.in_flight && b.host == host) ? 1 : 0;
  raft_.crash(host);
}

void producer_cluster::isolate(int host, bool cut) {
  if (cut) {
    for (const producer& p : producers_)
      for (const client_batch& b : p.window) counts_.in_flight_at_fault += (b.in_flight && b.host == host) ? 1 : 0;
  }
  raft_.isolate(host, cut);
}

std::optional<int> producer_cluster::leader(int partition) const {
  std::optional<int> best;
  std::uint64_t best_term = 0;
  for (int h = 0; h < raft_.hosts(); ++h) {
    const auto st = raft_.status(h, partition);
    if (st && st->state == consensus::role::leader && st->term.value >= best_term) {
      best = h;
      best_term = st->term.value;
    }
  }
  return best;
}

void producer_cluster::run(int ticks) {
  for (int t = 0; t < ticks; ++t) {
    ++now_;
    raft_.run(1);
    for (int h = 0; h < raft_.hosts(); ++h)
      if (raft_.running(h)) tick_shell(h);
    for (producer& p : producers_) tick_producer(p);
  }
}

// ---- apply (partition_replica::apply, apply_entry, restore_snapshot, apply_producers) ----------

void producer_cluster::applied(int host, int partition, const consensus::apply_batch& b) {
  replica& r = shells_[static_cast<std::size_t>(host)].parts[static_cast<std::size_t>(partition)];
  if (b.snap) restore(host, partition, r, *b.snap);
  for (const consensus::entry& e : b.committed) {
    if (e.index.value <= r.applied) continue;  // replayed below a snapshot
    apply_entry(host, partition, r, e);
  }
  r.guard.applied_through(log_index{r.applied});
}

void producer_cluster::restore(int host, int partition, replica& r, const consensus::snapshot& snap) {
  ++counts_.snapshots_installed;
  const std::uint64_t cut = snap.meta.index.value;
  const std::string_view data = snap.data;
  std::size_t at = 1;
  std::optional<producer_table> table;
  std::int64_t next = 0;
  if (data.size() >= 9 && data[0] == snapshot_tag) {
    next = static_cast<std::int64_t>(get(data, at, 8));
    if (auto t = producer_table::decode(data.substr(at)); t) table = std::move(*t);
  }
  if (!table) {
    violation(who(host, partition) + " installed an unreadable snapshot at index " + std::to_string(cut));
    table.emplace();
  }
  // The check: what the snapshot holds is what the committed log gives through its cut.
  std::int64_t replay_next = 0;
  const producer_table expected = replay(partition, cut, &replay_next);
  ++counts_.snapshots_checked;
  if (expected.encode() != table->encode() || replay_next != next) {
    std::string diff;
    for (const auto& [id, entry] : table->entries()) {
      const kafka::producer_entry* want = expected.find(id);
      if (want != nullptr && *want == entry) continue;
      diff = "; producer " + std::to_string(id) + " has " + std::to_string(entry.batches.size()) +
             " batches up to seq " + (entry.batches.empty() ? "-" : std::to_string(entry.batches.back().last_seq)) +
             " (index " + (entry.batches.empty() ? "-" : std::to_string(entry.batches.back().index.value)) +
             "), the replay " + (want == nullptr ? std::string("none")
                                                 : std::to_string(want->batches.size()) + " up to seq " +
                                                       (want->batches.empty() ? "-" : std::to_string(want->batches.back().last_seq)));
      break;
    }
    violation(who(host, partition) + " installed a snapshot at index " + std::to_string(cut) + " (next offset " +
              std::to_string(next) + ") other than the replay of the log through it (next offset " +
              std::to_string(replay_next) + ")" + diff);
  }
  // partition_replica::restore_snapshot: the table at the cut; the guard's log is gone.
  r.history.restore(std::move(*table));
  r.guard.reset();
  r.next_offset = next;
  r.applied = cut;
  r.last_applied_term = snap.meta.term.value;
  r.offset_after.clear();
  r.offset_after[cut] = next;
  r.log.clear();
  // partition_replica::apply: whether proposals the snapshot covers committed is unknown here.
  while (!r.in_flight.empty() && r.in_flight.front().index <= cut) {
    proposal p = std::move(r.in_flight.front());
    r.in_flight.pop_front();
    if (p.done) answer_now(p.done->to, answer{outcome::timed_out});
    for (const waiter& w : p.retries) answer_now(w.to, answer{outcome::timed_out});
  }
}

void producer_cluster::apply_entry(int host, int partition, replica& r, const consensus::entry& e) {
  r.applied = e.index.value;
  r.last_applied_term = e.term.value;
  std::optional<batch_desc> batch;
  if (e.type == consensus::entry_type::normal && e.data.size() == batch_bytes && e.data[0] == batch_tag) {
    std::size_t at = 1;
    batch_desc d;
    d.producer_id = static_cast<std::int64_t>(get(e.data, at, 8));
    d.epoch = static_cast<std::int16_t>(get(e.data, at, 2));
    d.first_seq = static_cast<std::int32_t>(get(e.data, at, 4));
    d.count = static_cast<std::int32_t>(get(e.data, at, 4));
    d.payload = get(e.data, at, 8);
    d.timestamp = static_cast<std::int64_t>(get(e.data, at, 8));
    batch = d;
  }
  std::optional<std::int64_t> base;
  if (batch) {
    // Dense offsets, and the batch into the history (partition_replica::apply_producers).
    base = r.next_offset;
    r.next_offset += batch->count;
    producer_event ev;
    ev.id = batch->id();
    ev.batch = producer_batch{ev.id.first_seq, ev.id.last_seq, *base, batch->timestamp, e.index};
    r.history.apply(e.index, {ev});
    r.log.emplace(*base, *batch);
  }
  r.offset_after[e.index.value] = r.next_offset;
  // Every host that applies this index must hold the same table after it.
  const std::size_t hash = std::hash<std::string>{}(r.history.current().encode());
  auto [it, first] = committed_[static_cast<std::size_t>(partition)].try_emplace(
      e.index.value, committed_entry{batch, base.value_or(r.next_offset), hash});
  if (!first) {
    if (it->second.batch != batch || it->second.first_offset != base.value_or(r.next_offset)) {
      violation(who(host, partition) + " applied index " + std::to_string(e.index.value) + " at offset " +
                std::to_string(base.value_or(r.next_offset)) + ", elsewhere at " +
                std::to_string(it->second.first_offset) + " (or another batch)");
    } else if (it->second.table_hash != hash) {
      violation(who(host, partition) + " holds a different producer table after index " +
                std::to_string(e.index.value) + " than the host that applied it first");
    }
  }
  resolve_through(r, e, base);
}

// partition_replica::resolve_through: the proposal at e's index succeeded iff it is e (same index
// and term, Raft §5.3); any other at or before it was overwritten.
void producer_cluster::resolve_through(replica& r, const consensus::entry& e, std::optional<std::int64_t> base) {
  while (!r.in_flight.empty() && r.in_flight.front().index <= e.index.value) {
    proposal p = std::move(r.in_flight.front());
    r.in_flight.pop_front();
    answer a{outcome::not_leader};
    if (p.index == e.index.value && p.term == e.term.value && base) {
      if (*base != p.base_offset) {
        violation("entry " + std::to_string(p.index) + " applied at offset " + std::to_string(*base) +
                  ", the leader predicted " + std::to_string(p.base_offset));
      }
      a = answer{outcome::ok, *base};
    }
    if (p.done) answer_now(p.done->to, a);
    for (const waiter& w : p.retries) answer_now(w.to, a);
  }
}

void producer_cluster::answer_now(const slot& to, answer a) {
  if (to && !to->has_value()) *to = a;
}

// ---- snapshots (partition_replica::enforce_retention) -----------------------------------------

std::string producer_cluster::snapshot(int host, int partition, std::uint64_t index) {
  const replica& r = shells_[static_cast<std::size_t>(host)].parts[static_cast<std::size_t>(partition)];
  // The table as of the cut: the entries after it are replayed on top at an install. The unsafe
  // twin takes the current one.
  const producer_table t = opt_.snapshot_current ? r.history.current() : r.history.at(log_index{index});
  const auto next = r.offset_after.find(index);
  std::string out(1, snapshot_tag);
  put(out, static_cast<std::uint64_t>(next == r.offset_after.end() ? r.next_offset : next->second), 8);
  return out + t.encode();
}

void producer_cluster::compacted(int host, int partition, std::uint64_t index) {
  replica& r = shells_[static_cast<std::size_t>(host)].parts[static_cast<std::size_t>(partition)];
  ++counts_.snapshots_taken;
  r.history.drop_through(log_index{index}, 0);  // no markers here, so no aborted transaction to trim
  r.offset_after.erase(r.offset_after.begin(), r.offset_after.lower_bound(index));
}

// ---- produce (partition_replica::propose_validated, check_producer, expire) --------------------

bool producer_cluster::leader_ready(int host, int partition) const {
  const auto st = raft_.status(host, partition);
  const replica& r = shells_[static_cast<std::size_t>(host)].parts[static_cast<std::size_t>(partition)];
  return st && st->state == consensus::role::leader && r.last_applied_term == st->term.value;
}

void producer_cluster::produce(int host, int partition, const batch_desc& b, slot to) {
  if (!raft_.running(host) || !leader_ready(host, partition)) return answer_now(to, answer{outcome::not_leader});
  replica& r = shells_[static_cast<std::size_t>(host)].parts[static_cast<std::size_t>(partition)];
  const auto st = raft_.status(host, partition);
  if (r.in_flight.size() >= 1024) return answer_now(to, answer{outcome::busy});
  check_producer(host, partition, r, st->term.value, b, std::move(to));
}

void producer_cluster::check_producer(int host, int partition, replica& r, std::uint64_t term, const batch_desc& b,
                                      slot to) {
  if (r.guard_term != term) {
    // Everything of earlier terms is applied (leader_ready): the applied table is the whole
    // truth. The unsafe twin keeps the projection, and the term it began in.
    if (!opt_.keep_guard_across_terms || r.guard_term == 0) {
      ++counts_.new_terms;
      r.guard.reset();
      r.guard_term = term;
    }
  }
  const kafka::producer_batch_id id = b.id();
  auto c = opt_.applied_only ? r.history.current().check(id) : r.guard.check(r.history.current(), id);
  if (opt_.unknown_starts_anywhere && c.verdict == sequence_verdict::unknown_producer) c = {};
  switch (c.verdict) {
    case sequence_verdict::unknown_producer: return answer_now(to, answer{outcome::unknown_producer});
    case sequence_verdict::out_of_order: return answer_now(to, answer{outcome::out_of_order});
    case sequence_verdict::old_epoch: return answer_now(to, answer{outcome::old_epoch});
    // The simulated producers write no transactions, so nothing here is ever open.
    case sequence_verdict::invalid_txn_state:
      violation("a producer without transactions refused for one");
      return answer_now(to, answer{outcome::out_of_order});
    case sequence_verdict::duplicate: {
      const producer_batch& original = *c.original;
      if (original.index.value <= r.applied) {
        ++counts_.answered_duplicate;
        return answer_now(to, answer{outcome::ok, original.first_offset});
      }
      auto it = std::ranges::find_if(r.in_flight, [&](const proposal& p) { return p.index == original.index.value; });
      if (it == r.in_flight.end()) return answer_now(to, answer{outcome::timed_out});
      ++counts_.attached;
      it->retries.push_back(waiter{now_ + opt_.produce_timeout_ticks, std::move(to)});
      return;
    }
    case sequence_verdict::append: break;
  }
  // partition_replica::predicted_next: the entries after the applied index are this term's
  // proposals, applied in this order.
  std::int64_t base = r.next_offset;
  for (const proposal& p : r.in_flight)
    if (p.term == term) base += p.records;
  const auto at = raft_.propose_on(host, partition,
                                   encode_batch(b.producer_id, b.epoch, b.first_seq, b.count, b.payload, b.timestamp));
  if (!at) return answer_now(to, answer{outcome::not_leader});
  ++counts_.proposed;
  // partition_replica::answer_overwritten: older terms' proposals at or after this index are gone.
  while (!r.in_flight.empty() && r.in_flight.back().index >= at->first) {
    proposal p = std::move(r.in_flight.back());
    r.in_flight.pop_back();
    if (p.done) answer_now(p.done->to, answer{outcome::not_leader});
    for (const waiter& w : p.retries) answer_now(w.to, answer{outcome::not_leader});
  }
  r.guard.proposed(r.history.current(), id, producer_batch{id.first_seq, id.last_seq, base, b.timestamp, log_index{at->first}},
                   consensus::term_id{r.guard_term});
  proposal p;
  p.index = at->first;
  p.term = at->second;
  p.base_offset = base;
  p.records = b.count;
  p.done = waiter{now_ + opt_.produce_timeout_ticks, std::move(to)};
  r.in_flight.push_back(std::move(p));
}

// partition_replica::expire: answers past their deadline time out (the proposal may still
// commit), and answered proposals of older terms stop counting for predictions.
void producer_cluster::tick_shell(int host) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  for (int partition = 0; partition < partitions(); ++partition) {
    replica& r = s.parts[static_cast<std::size_t>(partition)];
    for (proposal& p : r.in_flight) {
      if (p.done && p.done->deadline <= now_) {
        answer_now(p.done->to, answer{outcome::timed_out});
        p.done.reset();
      }
      std::erase_if(p.retries, [&](const waiter& w) {
        if (w.deadline > now_) return false;
        answer_now(w.to, answer{outcome::timed_out});
        return true;
      });
    }
    const auto st = raft_.status(host, partition);
    if (st) {
      std::erase_if(r.in_flight,
                    [&](const proposal& p) { return !p.done && p.retries.empty() && p.term < st->term.value; });
    }
  }
}

// ---- the checks --------------------------------------------------------------------------------

producer_table producer_cluster::replay(int partition, std::uint64_t through, std::int64_t* next_offset) const {
  producer_table t;
  std::int64_t next = 0;
  for (const auto& [index, ce] : committed_[static_cast<std::size_t>(partition)]) {
    if (index > through) break;
    if (!ce.batch) continue;
    producer_event ev;
    ev.id = ce.batch->id();
    ev.batch = producer_batch{ev.id.first_seq, ev.id.last_seq, ce.first_offset, ce.batch->timestamp, log_index{index}};
    t.apply(ev);
    next = ce.first_offset + ce.batch->count;
  }
  *next_offset = next;
  return t;
}

bool producer_cluster::settled(std::string* why) const {
  for (const producer& p : producers_) {
    if (!p.window.empty()) {
      *why = "producer " + std::to_string(p.id) + " still has " + std::to_string(p.window.size()) +
             " batches unacknowledged (oldest seq " + std::to_string(p.window.front().desc.first_seq) + ")";
      return false;
    }
  }
  for (int p = 0; p < partitions(); ++p) {
    const auto l = leader(p);
    if (!l || !leader_ready(*l, p)) {
      *why = "partition " + std::to_string(p) + " has no ready leader";
      return false;
    }
    const auto st = raft_.status(*l, p);
    if (st->commit != st->last_index) {
      *why = "partition " + std::to_string(p) + " has entries not committed";
      return false;
    }
    for (int h = 0; h < raft_.hosts(); ++h) {
      if (shells_[static_cast<std::size_t>(h)].parts[static_cast<std::size_t>(p)].applied != st->last_index.value) {
        *why = "host " + std::to_string(h) + " lags in partition " + std::to_string(p);
        return false;
      }
    }
  }
  return true;
}

void producer_cluster::converge(int ticks) {
  stopping_ = true;
  raft_.converge(600);
  if (!raft_.violations().empty()) return;
  std::string why;
  for (int t = 0; t < ticks; ++t) {
    if (settled(&why)) {
      final_checks();
      return;
    }
    run(1);
  }
  violation("not drained within " + std::to_string(ticks) + " ticks after healing: " + why);
}

void producer_cluster::final_checks() {
  using key = std::tuple<std::int64_t, std::int16_t, std::int32_t>;
  for (int p = 0; p < partitions(); ++p) {
    const auto& log = committed_[static_cast<std::size_t>(p)];
    // Each batch once; a producer's batches of one epoch without gaps, from sequence 0.
    std::set<key> seen;
    std::map<std::pair<std::int64_t, std::int16_t>, std::int32_t> next_seq;
    std::map<std::int64_t, batch_desc> at_offset;
    for (const auto& [index, ce] : log) {
      if (!ce.batch) continue;
      const batch_desc& b = *ce.batch;
      at_offset.emplace(ce.first_offset, b);
      if (!seen.insert(key{b.producer_id, b.epoch, b.first_seq}).second) {
        violation("partition " + std::to_string(p) + ": " + text_of(b.producer_id, b.epoch, b.first_seq) +
                  " is in the log twice (again at index " + std::to_string(index) + ")");
        continue;
      }
      auto [n, first] = next_seq.try_emplace({b.producer_id, b.epoch}, 0);
      if (n->second != b.first_seq) {
        violation("partition " + std::to_string(p) + ": " + text_of(b.producer_id, b.epoch, b.first_seq) +
                  " at index " + std::to_string(index) + " follows a gap (expected seq " +
                  std::to_string(n->second) + ")");
      }
      n->second = kafka::advance_sequence(b.first_seq, b.count);
    }
    // Every acknowledgement names the batch's offset in the log.
    for (const auto& [k, offset] : acks_[static_cast<std::size_t>(p)]) {
      const auto& [pid, epoch, seq] = k;
      const auto it = at_offset.find(offset);
      if (it == at_offset.end() || it->second.producer_id != pid || it->second.epoch != epoch ||
          it->second.first_seq != seq) {
        violation("partition " + std::to_string(p) + ": " + text_of(pid, epoch, seq) + " was acknowledged at offset " +
                  std::to_string(offset) + ", where the log holds " +
                  (it == at_offset.end() ? std::string("no batch")
                                         : text_of(it->second.producer_id, it->second.epoch, it->second.first_seq)));
      }
    }
    // Every host: its own applied log agrees and holds each batch once, and its table is the
    // replay of the whole log.
    std::int64_t next = 0;
    const std::string expected = replay(p, ~std::uint64_t{0}, &next).encode();
    for (int h = 0; h < raft_.hosts(); ++h) {
      const replica& r = shells_[static_cast<std::size_t>(h)].parts[static_cast<std::size_t>(p)];
      std::set<key> mine;
      for (const auto& [offset, b] : r.log) {
        if (!mine.insert(key{b.producer_id, b.epoch, b.first_seq}).second) {
          violation(who(h, p) + " applied " + text_of(b.producer_id, b.epoch, b.first_seq) + " twice");
        }
        const auto it = at_offset.find(offset);
        if (it == at_offset.end() || it->second != b) {
          violation(who(h, p) + " holds another batch at offset " + std::to_string(offset));
        }
      }
      if (r.history.current().encode() != expected || r.next_offset != next) {
        violation(who(h, p) + " ends with a producer table (or next offset " + std::to_string(r.next_offset) +
                  ") other than the replay of the log (next offset " + std::to_string(next) + ")");
      }
    }
  }
}

}  // namespace chronik::sim
