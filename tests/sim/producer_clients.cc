// The idempotent producers of the producer simulation (producer_cluster.h). Each writes to one
// partition as librdkafka and the Java client do with enable.idempotence: sequences per batch,
// at most five batches in flight (max.in.flight.requests.per.connection), and a batch whose
// outcome is unknown (a timeout, NOT_LEADER, a broken connection) sent again with the same
// sequence to whichever host leads now. OUT_OF_ORDER_SEQUENCE for a batch behind another still
// unacknowledged is retried (the earlier one will fill the gap); for the oldest one the sequence
// cannot be repaired, and the producer bumps its epoch (KIP-360: epoch + 1, sequence 0), giving up
// the unacknowledged batches; so it does when a batch outlives delivery.timeout.ms.
#include "tests/sim/producer_cluster.h"

namespace chronik::sim {

namespace {

constexpr std::size_t max_in_flight = kafka::producer_batches_kept;

}  // namespace

std::optional<int> producer_cluster::find_leader(int partition) {
  // A client's metadata may name a deposed leader that does not know it yet, as here: any host
  // that believes it leads.
  std::vector<int> leaders;
  for (int h = 0; h < raft_.hosts(); ++h) {
    const auto st = raft_.status(h, partition);
    if (st && st->state == consensus::role::leader) leaders.push_back(h);
  }
  if (leaders.empty()) return std::nullopt;
  return leaders[random().below(leaders.size())];
}

void producer_cluster::tick_producer(producer& p) {
  rng& r = random();
  const std::int16_t epoch = p.epoch;
  for (std::size_t i = 0; i < p.window.size() && p.epoch == epoch; ++i) {
    if (p.window[i].in_flight) poll(p, p.window[i]);
  }
  while (!p.window.empty() && p.window.front().acked) p.window.pop_front();
  if (opt_.delivery_timeout_ticks > 0 && !p.window.empty() && now_ - p.window.front().made > opt_.delivery_timeout_ticks) {
    ++counts_.delivery_timeouts;
    bump_epoch(p);
  }
  if (!stopping_ && p.window.size() < max_in_flight && r.below(3) == 0) {
    client_batch b;
    b.desc.producer_id = p.id;
    b.desc.epoch = p.epoch;
    b.desc.first_seq = p.next_seq;
    b.desc.count = 1 + static_cast<std::int32_t>(r.below(3));
    b.desc.payload = ++payloads_;
    b.desc.timestamp = static_cast<std::int64_t>(now_);
    b.made = now_;
    p.next_seq = kafka::advance_sequence(p.next_seq, b.desc.count);
    ++counts_.batches_made;
    p.window.push_back(std::move(b));
  }
  // Retries go out in sequence order, the oldest alone once nothing else is in flight (the Java
  // client's RecordAccumulator drains a retried batch only as the partition's first in flight;
  // librdkafka drains and resends from the oldest): a leader that lost the oldest batches must see
  // them again before any later one, or it would take the later one as an unknown producer's
  // first (rule 5 of producer_state.h) and leave a gap.
  bool retry_pending = false, any_in_flight = false;
  for (const client_batch& b : p.window) {
    retry_pending = retry_pending || (!b.acked && !b.in_flight && b.sent_before);
    any_in_flight = any_in_flight || b.in_flight;
  }
  for (client_batch& b : p.window) {
    if (b.acked || b.in_flight) continue;
    if (opt_.loose_retry_order) {
      if (b.wait_until <= now_) send(p, b);
      continue;
    }
    if (b.wait_until > now_ || (retry_pending && any_in_flight)) break;  // in order: nothing overtakes it
    send(p, b);
    if (retry_pending || !b.in_flight) break;
  }
}

void producer_cluster::send(producer& p, client_batch& b) {
  // One connection per partition leader, as a client's metadata names one: kept until an error.
  if (!p.target || !raft_.running(*p.target)) p.target = find_leader(p.partition);
  const auto h = p.target;
  if (!h) {
    b.wait_until = now_ + 1 + random().below(5);
    return;
  }
  ++counts_.sends;
  if (b.sent_before) ++counts_.retries;
  b.sent_before = true;
  b.in_flight = true;
  b.host = *h;
  b.incarnation = shells_[static_cast<std::size_t>(*h)].incarnation;
  b.sent = now_;
  b.reply = std::make_shared<std::optional<answer>>();
  produce(*h, p.partition, b.desc, b.reply);
}

void producer_cluster::poll(producer& p, client_batch& b) {
  rng& r = random();
  const bool gone = !raft_.running(b.host) || shells_[static_cast<std::size_t>(b.host)].incarnation != b.incarnation;
  if (!b.reply->has_value()) {
    if (gone || now_ - b.sent > opt_.client_timeout_ticks) {
      // The connection broke or the answer is overdue: the outcome is unknown; the same batch
      // goes again.
      ++counts_.timed_out;
      p.target.reset();
      b.in_flight = false;
      b.wait_until = now_ + 1 + r.below(5);
    }
    return;
  }
  const answer a = **b.reply;
  b.in_flight = false;
  b.wait_until = now_ + 1 + r.below(5);
  if (a.what != outcome::ok) p.target.reset();  // ask the metadata again
  switch (a.what) {
    case outcome::ok:
      b.acked = true;
      acknowledged(p, b, a.offset);
      return;
    case outcome::not_leader: ++counts_.not_leader; return;
    case outcome::timed_out:
    case outcome::busy: ++counts_.timed_out; return;
    case outcome::out_of_order:
    case outcome::unknown_producer: {
      // A gap the partition refused, or a first batch past 0 from a producer it never knew: when
      // the refused batch is the oldest unacknowledged one nothing before it can fill the gap, so
      // the client bumps its epoch (librdkafka, KIP-360); a later one waits for the older to be
      // resent (the Java client's retry of a batch that is not its next).
      ++(a.what == outcome::out_of_order ? counts_.out_of_order : counts_.unknown_producer);
      const client_batch* oldest = nullptr;
      for (const client_batch& c : p.window)
        if (!c.acked && oldest == nullptr) oldest = &c;
      if (oldest == &b) bump_epoch(p);
      return;
    }
    case outcome::old_epoch:
      // Only this producer bumps its epoch, and the window holds its current epoch's batches.
      violation("producer " + std::to_string(p.id) + " epoch " + std::to_string(p.epoch) + " seq " +
                std::to_string(b.desc.first_seq) + " refused as from an old epoch");
      return;
  }
}

void producer_cluster::acknowledged(producer& p, const client_batch& b, std::int64_t offset) {
  ++counts_.acked;
  const auto k = std::tuple{b.desc.producer_id, b.desc.epoch, b.desc.first_seq};
  auto [it, first] = acks_[static_cast<std::size_t>(p.partition)].try_emplace(k, offset);
  if (!first && it->second != offset) {
    violation("producer " + std::to_string(p.id) + " epoch " + std::to_string(b.desc.epoch) + " seq " +
              std::to_string(b.desc.first_seq) + " acknowledged at offset " + std::to_string(it->second) +
              " and again at " + std::to_string(offset));
  }
}

void producer_cluster::bump_epoch(producer& p) {
  ++counts_.epoch_bumps;
  for (const client_batch& b : p.window) counts_.abandoned += b.acked ? 0 : 1;
  p.window.clear();
  ++p.epoch;
  p.next_seq = 0;
}

}  // namespace chronik::sim
