// See txn_marker_router.h.
#include "daemon/txn_marker_router.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "kafka/protocol/txn_marker.h"

namespace chronik::daemon {

namespace {

// What a partition's own refusal means for the work (Kafka's TransactionMarkerRequestCompletionHandler).
bool abandons(kafka::partition_errc e) {
  return e == kafka::partition_errc::coordinator_fenced || e == kafka::partition_errc::invalid_producer_epoch;
}
bool abandons(kafka::error_code e) {
  return e == kafka::error_code::transaction_coordinator_fenced || e == kafka::error_code::invalid_producer_epoch;
}

}  // namespace

txn_marker_router::txn_marker_router(kafka::txn_coordinator& core, chronik::node_id self, txn_marker_router_io io,
                                     std::shared_ptr<spdlog::logger> log, txn_marker_router_options options)
    : core_(core), self_(self), io_(std::move(io)), log_(std::move(log)), options_(options) {
  CHRONIK_EXPECTS(io_.route && io_.send && io_.current, "a router needs its routes, sender and staleness check");
  CHRONIK_EXPECTS(options_.first_backoff.count() > 0 && options_.max_backoff >= options_.first_backoff &&
                      options_.max_partitions_per_request > 0,
                  "valid router options");
}

txn_marker_router::~txn_marker_router() { *alive_ = false; }

void txn_marker_router::release() {
  items_.clear();
  requests_.clear();
  // Answers on their way belong to items that are gone; a fresh flag keeps a request of the old
  // items from freeing a broker that a new request occupies.
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
}

txn_marker_router::target* txn_marker_router::find(slot s) {
  auto it = items_.find(s.serial);
  if (it == items_.end() || s.index >= it->second.targets.size()) return nullptr;
  return &it->second.targets[s.index];
}

void txn_marker_router::take_new_work() {
  for (auto& w : core_.take_markers()) {
    // A transaction's work handed out again (a reload, a failed completion) replaces the old item.
    std::erase_if(items_, [&](const auto& e) { return e.second.work.transactional_id == w.transactional_id; });
    if (w.partitions.empty()) {  // a transaction that wrote nowhere is decided by its record alone
      if (io_.current(w)) core_.markers_done(w);
      continue;
    }
    item it;
    for (const auto& p : w.partitions) it.targets.push_back(target{p});
    it.work = std::move(w);
    items_.emplace(++next_serial_, std::move(it));
  }
  // The state partition was given up or loaded again meanwhile: a newer item, or a newer
  // coordinator, carries this transaction.
  std::erase_if(items_, [&](const auto& e) { return !io_.current(e.second.work); });
}

void txn_marker_router::tick(kafka::partition_manager* mgr, clock::time_point now) {
  now_ = now;
  take_new_work();
  expire_requests();
  // Gather first, act after: an answer given at once may complete (erase) an item.
  std::vector<std::pair<kafka::partition_replica*, slot>> local;
  std::map<kafka_address, std::vector<slot>> remote;
  std::vector<slot> gone;
  for (auto& [serial, it] : items_) {
    for (std::size_t i = 0; i < it.targets.size(); ++i) {
      target& t = it.targets[i];
      if (t.done || t.in_flight || t.next_try > now) continue;
      kafka::partition_replica* rep = mgr == nullptr ? nullptr : mgr->find(t.partition.topic, t.partition.partition);
      if (rep != nullptr && rep->leader() == self_ && rep->leader_ready()) {
        t.in_flight = true;
        local.emplace_back(rep, slot{serial, i});
        continue;
      }
      const marker_route r = io_.route(t.partition);
      if (r.what == marker_route::kind::gone) {
        gone.push_back(slot{serial, i});
      } else if (r.what == marker_route::kind::unknown) {
        settle(slot{serial, i}, verdict::retry, "no leader known");
      } else if (!requests_.contains(r.broker)) {
        auto& batch = remote[r.broker];
        if (batch.size() >= options_.max_partitions_per_request) continue;  // the next round
        t.in_flight = true;
        batch.push_back(slot{serial, i});
      }
    }
  }
  for (const slot s : gone) settle(s, verdict::written, "the partition no longer exists");
  for (auto& [rep, s] : local) write_local(*rep, s);
  for (const auto& [broker, slots] : remote) send_remote(broker, slots);
}

void txn_marker_router::write_local(kafka::partition_replica& rep, slot s) {
  const target* t = find(s);
  if (t == nullptr) return;  // completed or abandoned by an earlier answer of this round
  const kafka::txn_marker_work& w = items_.at(s.serial).work;
  rep.write_marker(w.producer_id, w.producer_epoch, kafka::txn_marker{w.commit, w.coordinator_epoch},
                   now_ + options_.write_timeout,
                   [this, alive = alive_, s](std::expected<kafka::produce_ack, kafka::produce_error> r) {
                     if (!*alive) return;
                     if (r) return settle(s, verdict::written, {});
                     settle(s, abandons(r.error().code) ? verdict::abandon : verdict::retry, kafka::to_string(r.error().code));
                   });
}

void txn_marker_router::send_remote(const kafka_address& broker, const std::vector<slot>& slots) {
  // One marker per item, its partitions in slot order; `layout` maps the answer back.
  std::vector<remote_marker> markers;
  std::vector<std::vector<slot>> layout;
  std::map<std::uint64_t, std::size_t> marker_of;
  for (const slot s : slots) {
    const target* t = find(s);
    if (t == nullptr) continue;
    auto [at, fresh] = marker_of.try_emplace(s.serial, markers.size());
    if (fresh) {
      const kafka::txn_marker_work& w = items_.at(s.serial).work;
      markers.push_back(remote_marker{w.producer_id, w.producer_epoch, w.commit, w.coordinator_epoch, {}});
      layout.emplace_back();
    }
    markers[at->second].partitions.push_back(t->partition);
    layout[at->second].push_back(s);
  }
  if (markers.empty()) return;
  const std::uint64_t id = ++next_request_;
  std::vector<slot> sent;
  for (const auto& l : layout) sent.insert(sent.end(), l.begin(), l.end());
  requests_[broker] = request{id, now_ + options_.send_timeout, std::move(sent)};
  io_.send(broker, std::move(markers),
           [this, alive = alive_, broker, id, layout](std::expected<remote_marker_results, std::string> r) {
             if (!*alive) return;
             auto req = requests_.find(broker);
             if (req == requests_.end() || req->second.id != id) return;  // given up: tried again since
             requests_.erase(req);
             for (std::size_t m = 0; m < layout.size(); ++m) {
               for (std::size_t p = 0; p < layout[m].size(); ++p) {
                 const slot s = layout[m][p];
                 if (!r) {
                   settle(s, verdict::retry, r.error());
                   continue;
                 }
                 // A short answer is a broken peer: what it does not mention is tried again.
                 const bool answered = m < r->size() && p < (*r)[m].size();
                 const kafka::error_code e = answered ? (*r)[m][p] : kafka::error_code::unknown_server_error;
                 if (e == kafka::error_code::none) {
                   settle(s, verdict::written, {});
                 } else if (abandons(e)) {
                   settle(s, verdict::abandon, kafka::to_string(e));
                 } else if (e == kafka::error_code::unknown_topic_or_partition) {
                   // Kafka's rule: a deleted partition needs no marker. The leader may also just not
                   // know the partition yet, so `__meta` decides.
                   const target* t = find(s);
                   const bool gone = t != nullptr && io_.route(t->partition).what == marker_route::kind::gone;
                   settle(s, gone ? verdict::written : verdict::retry, kafka::to_string(e));
                 } else {
                   settle(s, verdict::retry, kafka::to_string(e));
                 }
               }
             }
             // The broker is free again: what waited for it goes out at the next tick, soon.
             if (io_.wake && !items_.empty()) io_.wake();
           });
}

void txn_marker_router::expire_requests() {
  for (auto it = requests_.begin(); it != requests_.end();) {
    if (it->second.deadline > now_) {
      ++it;
      continue;
    }
    log_->warn("transactions: WriteTxnMarkers to {} not answered within {} ms; trying its partitions again",
               it->first.text(), options_.send_timeout.count());
    const std::vector<slot> slots = std::move(it->second.slots);
    it = requests_.erase(it);
    for (const slot s : slots) settle(s, verdict::retry, "no answer");
  }
}

void txn_marker_router::settle(slot s, verdict v, std::string_view why) {
  target* t = find(s);
  if (t == nullptr) return;  // the item completed, was abandoned, replaced or released
  item& it = items_.at(s.serial);
  t->in_flight = false;
  if (v == verdict::abandon) {
    log_->warn("transactions: markers of {} (producer {} epoch {}, coordinator epoch {}) abandoned at {}-{}: {}",
               it.work.transactional_id, it.work.producer_id, it.work.producer_epoch, it.work.coordinator_epoch,
               t->partition.topic, t->partition.partition, why);
    items_.erase(s.serial);
    return;
  }
  if (v == verdict::retry) {
    ++t->attempts;
    // 100 ms, 200 ms, ... up to the bound; the exponent is capped so the shift cannot overflow.
    const auto backoff = std::min(options_.max_backoff, options_.first_backoff * (1 << std::min(t->attempts - 1, 16)));
    t->next_try = now_ + backoff;
    if (t->attempts == 1 || t->attempts % 20 == 0) {
      log_->info("transactions: marker for {} at {}-{} not written yet (attempt {}): {}", it.work.transactional_id,
                 t->partition.topic, t->partition.partition, t->attempts, why);
    }
    return;
  }
  t->done = true;
  if (!std::ranges::all_of(it.targets, [](const target& x) { return x.done; })) return;
  const kafka::txn_marker_work work = std::move(it.work);
  items_.erase(s.serial);
  core_.markers_done(work);
  if (io_.wake) io_.wake();
}

}  // namespace chronik::daemon
