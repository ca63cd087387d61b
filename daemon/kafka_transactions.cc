// kafka_service's part in transactions (docs/transactions.md "The shell", "Finding the
// coordinator"): where a transactional id's coordinator is, the internal topic
// `__transaction_state`, created on the first FindCoordinator for a transactional id as Kafka
// creates it, the coordinator core's tick, and where each partition's markers go. The core is
// kafka/txn, its shell daemon/txn_store.h, marker delivery daemon/txn_marker_router.h.
#include <algorithm>

#include <asio/post.hpp>

#include "daemon/kafka_service.h"
#include "kafka/partition/partition_replica.h"

namespace chronik::daemon {

namespace {

// A refused or lost creation is proposed again after this long, as FindCoordinator retries come.
constexpr std::chrono::seconds state_topic_retry{2};

std::int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

kafka::txn_config kafka_service::txn_config_of(const node_config& cfg) {
  kafka::txn_config c;
  c.max_transaction_timeout_ms = static_cast<std::int32_t>(cfg.transaction_max_timeout_ms);
  c.transactional_id_expiration_ms = static_cast<std::int64_t>(cfg.transactional_id_expiration_ms);
  return c;
}

kafka::txn_coordinator* kafka_service::transactions() {
  // A leadership won since the last tick is loaded now (txn_store::follow_now), and the handler's
  // writes are appended right after it returns.
  txn_store_.follow_now(manager(), transaction_state_partitions());
  kick_transactions();
  return &txns_;
}

void kafka_service::kick_transactions() {
  if (txn_kick_posted_) return;
  txn_kick_posted_ = true;
  asio::post(io_, [this, alive = alive_] {
    if (!*alive) return;
    txn_kick_posted_ = false;
    // The same clock reading a group flush makes: the records' timestamps.
    auto* m = manager();
    txn_store_.flush(m, wall_now_ms());
    marker_router_.tick(m, last_tick_);
    txn_store_.flush(m, wall_now_ms());  // completions the router just reported
  });
}

void kafka_service::tick_transactions(std::chrono::steady_clock::time_point now, std::int64_t wall_ms) {
  // Timeouts abort and idle ids expire by the monotonic clock; records are stamped by the wall's.
  txns_.tick(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count(), wall_ms);
  auto* m = manager();
  txn_store_.tick(m, transaction_state_partitions(), wall_ms);
  marker_router_.tick(m, now);
  txn_store_.flush(m, wall_ms);
}

std::int32_t kafka_service::transaction_state_partitions() const {
  const auto* t = meta_.state().topic(kafka::transaction_state_topic_name);
  return t == nullptr ? 0 : static_cast<std::int32_t>(t->partitions.size());
}

std::int32_t kafka_service::offsets_partition_of_group(std::string_view group) const {
  // AddOffsetsToTxn may come before the group's first FindCoordinator created the topic: then the
  // count it will be created with.
  const std::int32_t n = offsets_partitions();
  return kafka::offsets_partition_for(group, n > 0 ? n : static_cast<std::int32_t>(cfg_.offsets_topic_num_partitions));
}

std::optional<kafka::broker_info> kafka_service::transaction_coordinator_for(std::string_view transactional_id) {
  const auto* t = meta_.state().topic(kafka::transaction_state_topic_name);
  if (t == nullptr || t->partitions.empty()) {
    ensure_transaction_state_topic();
    return std::nullopt;
  }
  const auto p = kafka::offsets_partition_for(transactional_id, static_cast<std::int32_t>(t->partitions.size()));
  const auto leader = t->partitions[static_cast<std::size_t>(p)].leader;
  if (leader == chronik::no_node) return std::nullopt;
  for (auto& b : brokers()) {
    if (b.id == leader) return std::move(b);
  }
  return std::nullopt;  // its leader is not alive: a new one is being elected
}

void kafka_service::confirm_transaction_coordinator(std::string_view transactional_id, std::function<void(bool)> done) {
  // As long as a coordinator write may wait (txn_store.cc's write timeout).
  constexpr std::chrono::seconds confirm_timeout{5};
  const std::int32_t partitions = transaction_state_partitions();
  auto* m = manager();
  if (partitions <= 0 || m == nullptr) return done(false);
  const std::int32_t p = kafka::offsets_partition_for(transactional_id, partitions);
  const std::string topic(kafka::transaction_state_topic_name);
  kafka::partition_replica* rep = m->find(topic, p);
  if (rep == nullptr) return done(false);
  // Confirmed leadership is not enough: the core must have loaded the partition in that very
  // term (confirm_group_coordinator's reason).
  rep->confirm_leadership(m->now() + confirm_timeout,
                          [this, alive = alive_, p, topic, done = std::move(done)](bool confirmed) {
                            if (!*alive || !confirmed) return done(false);
                            auto* mgr = manager();
                            const auto* now = mgr == nullptr ? nullptr : mgr->find(topic, p);
                            const auto loaded = txn_store_.loaded_term(p);
                            done(now != nullptr && loaded && *loaded == now->leader_epoch());
                          });
}

void kafka_service::ensure_transaction_state_topic() {
  const auto now = last_tick_;  // the node loop's reading: a shell reads no clock of its own
  if (state_topic_proposed_ != std::chrono::steady_clock::time_point{} && now < state_topic_proposed_ + state_topic_retry) {
    return;
  }
  state_topic_proposed_ = now;
  kafka::topic_request t;
  t.name = std::string(kafka::transaction_state_topic_name);
  t.internal = true;
  t.partitions = static_cast<std::int32_t>(cfg_.transaction_state_log_num_partitions);
  // As `__consumer_offsets`: up to the configured factor, with what a self-forming cluster has.
  t.replication_factor = static_cast<std::int16_t>(std::clamp<std::size_t>(
      live_brokers(), 1, static_cast<std::size_t>(cfg_.transaction_state_log_replication_factor)));
  // The coordinator trims the log itself at its checkpoints; retention must never drop the state
  // of a live transactional id.
  t.configs = {{"retention.ms", "-1"}, {"retention.bytes", "-1"}};
  log_->info("kafka: creating {} ({} partitions, {} replicas)", t.name, t.partitions, t.replication_factor);
  create_topics({std::move(t)}, false, std::chrono::seconds(10), [log = log_](std::vector<kafka::topic_result> r) {
    if (!r.empty() && r[0].outcome != kafka::topic_outcome::done && r[0].outcome != kafka::topic_outcome::already_exists) {
      log->warn("kafka: cannot create {} yet: {}", kafka::transaction_state_topic_name, r[0].message);
    }
  });
}

marker_route kafka_service::marker_route_for(const kafka::txn_partition& p) const {
  const auto* t = meta_.state().topic(p.topic);
  if (t == nullptr || p.partition < 0 || static_cast<std::size_t>(p.partition) >= t->partitions.size()) {
    return {marker_route::kind::gone, {}};
  }
  const auto& rec = t->partitions[static_cast<std::size_t>(p.partition)];
  chronik::node_id leader = rec.leader;
  // A local replica may know a newer leader than the record (leaders are reported after the fact).
  if (manager_ != nullptr) {
    if (const auto* rep = manager_->find(rec.group);
        rep != nullptr && rep->leader() != chronik::no_node && rep->leader_epoch() >= rec.leader_epoch) {
      leader = rep->leader();
    }
  }
  if (leader == chronik::no_node) return {};
  const auto* b = meta_.state().broker(leader);
  if (b == nullptr || b->state != metadata::broker_state::alive) return {};
  auto ep = parse_ipv4_endpoint(b->kafka_addr);
  if (!ep) return {};
  return {marker_route::kind::remote, kafka_address{ep->ip, ep->port}};
}

txn_marker_router_io kafka_service::marker_router_io() {
  txn_marker_router_io io;
  io.route = [this](const kafka::txn_partition& p) { return marker_route_for(p); };
  io.send = [this](kafka_address broker, std::vector<remote_marker> markers, remote_marker_done done) {
    marker_client_.send(std::move(broker), std::move(markers), std::move(done));
  };
  io.current = [this](const kafka::txn_marker_work& w) {
    const auto term = txn_store_.loaded_term(w.state_partition);
    return term && w.coordinator_epoch >= 0 && term->value == static_cast<std::uint64_t>(w.coordinator_epoch);
  };
  io.wake = [this] { kick_transactions(); };
  return io;
}

}  // namespace chronik::daemon
