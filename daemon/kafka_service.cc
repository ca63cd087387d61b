#include "daemon/kafka_service.h"

#include <algorithm>
#include <charconv>
#include <system_error>

#include "base/assert.h"
#include "kafka/handlers/cluster_defaults.h"
#include "kafka/partition/partition_replica.h"
#include "kafka/protocol/batch_validation.h"
#include "kafka/protocol/record_batch.h"
#include "metadata/meta_commands.h"
#include "metadata/partition_growth.h"

namespace chronik::daemon {
namespace {

using kafka::topic_outcome;

// How often pending topic commands are checked against their deadlines.
constexpr auto expiry_interval = std::chrono::milliseconds(100);

topic_outcome outcome_of(metadata::meta_errc e) {
  switch (e) {
    case metadata::meta_errc::invalid_topic_name: return topic_outcome::invalid_name;
    case metadata::meta_errc::topic_already_exists: return topic_outcome::already_exists;
    case metadata::meta_errc::unknown_topic: return topic_outcome::unknown_topic;
    case metadata::meta_errc::invalid_partitions:
    case metadata::meta_errc::too_many_topics: return topic_outcome::invalid_partitions;
    case metadata::meta_errc::invalid_replication_factor: return topic_outcome::invalid_replication_factor;
    case metadata::meta_errc::invalid_replica_assignment: return topic_outcome::invalid_assignment;
    case metadata::meta_errc::invalid_config: return topic_outcome::invalid_config;
    default: return topic_outcome::invalid_config;
  }
}

// A config change as a `__meta` record carries it: a list edit's key goes as the edit, which
// `__meta` applies to the value current then (its value in `set` is what the schema checked on this
// node's view), every other key as set or removed.
struct config_record_parts {
  std::map<std::string, std::string> set;
  std::vector<metadata::commands::list_edit> edits;
};

config_record_parts record_parts(const kafka::topic_config_change& c) {
  config_record_parts out{c.set, {}};
  for (const auto& e : c.edits) {
    out.set.erase(e.key);
    out.edits.push_back({e.key, e.append, e.items, e.base});
  }
  return out;
}

// Why growing `t` to `count` was refused, in the words Kafka's controller uses.
std::string growth_refusal(const metadata::topic_record& t, std::int32_t count, metadata::meta_errc e) {
  const auto current = t.partitions.size();
  switch (e) {
    case metadata::meta_errc::invalid_partitions:
      if (count > metadata::max_partitions_per_topic) {
        return "a topic has at most " + std::to_string(metadata::max_partitions_per_topic) + " partitions";
      }
      if (static_cast<std::size_t>(std::max(count, 0)) == current) {
        return "topic already has " + std::to_string(current) + " partitions";
      }
      return "topic currently has " + std::to_string(current) + " partitions, " + std::to_string(count) +
             " would not be an increase";
    case metadata::meta_errc::invalid_replica_assignment:
      return "the assignment must name the " + std::to_string(count - static_cast<std::int64_t>(current)) +
             " new partitions, each with " + std::to_string(t.replication_factor) + " distinct registered brokers";
    case metadata::meta_errc::invalid_replication_factor:
      return "fewer live brokers than the topic's replication factor " + std::to_string(t.replication_factor);
    default:
      return std::string(metadata::to_string(e));
  }
}

}  // namespace

kafka_service::kafka_service(asio::io_context& io, const node_config& cfg, node_raft& raft, meta_service& meta,
                             std::shared_ptr<spdlog::logger> log)
    : io_(io),
      cfg_(cfg),
      raft_(raft),
      meta_(meta),
      log_(std::move(log)),
      dispatcher_(*this, log_),
      auto_create_rate_(cfg.auto_create_topics_max_per_second),
      random_(std::random_device{}()),
      groups_([&] {
        // The local preset skips Kafka's initial rebalance delay, as single-host clusters and tests want.
        auto c = cfg.preset == gossip_preset::local ? kafka::group_config::local() : kafka::group_config::lan();
        if (cfg.group_initial_rebalance_delay_ms) c.initial_rebalance_delay_ms = *cfg.group_initial_rebalance_delay_ms;
        c.member_id_seed = random_();
        c.offsets_retention_ms = static_cast<std::int64_t>(cfg.offsets_retention_minutes) * 60'000;
        return c;
      }()),
      group_store_(groups_, cfg.node_id, log_),
      txns_(txn_config_of(cfg), [this](std::string_view group) { return offsets_partition_of_group(group); }),
      txn_store_(txns_, cfg.node_id, log_, [this] { kick_transactions(); }),
      marker_client_(io, log_),
      marker_router_(txns_, cfg.node_id, marker_router_io(), log_),
      elections_({[&meta]() -> const metadata::meta_state& { return meta.state(); },
                  [&meta](std::string command) { return meta.propose(std::move(command)); },
                  [] {
                    return std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                        .count();
                  }},
                 cfg.node_id, log_),
      producer_ids_(cfg.node_id,
                    [this](std::string command, std::chrono::milliseconds timeout, producer_ids::block_done done) {
                      propose_producer_ids(std::move(command), timeout, std::move(done));
                    }),
      partition_tick_(meta.timing().tick),
      expiry_(expiry_interval),
      // An operator's command waits for it: short deadlines, and the node's own view if they pass.
      quorum_worker_(io, broker_call_worker_options{std::chrono::milliseconds(1000), std::chrono::milliseconds(3000), 16}) {
  meta_.on_applied([this](std::string_view command, const auto& r) {
    if (r) on_partition_records(*r);
    on_applied(command, r);
    on_move_applied(command, r);
    elections_.on_applied(command, r, manager(), raft_.host());
  });
  // A `__meta` snapshot replaces the state at once: start what it lists, drop what it no longer does.
  meta_.on_restored([this] {
    if (auto* m = manager()) m->sync(meta_.state());
  });
}

kafka_service::~kafka_service() { stop(); }

std::expected<void, std::string> kafka_service::start() {
  kafka::server_config sc = kafka_server_listeners(cfg_.kafka_listeners);
  sc.max_request_bytes = cfg_.kafka_max_request_bytes;
  sc.max_queued_request_bytes = cfg_.kafka_max_queued_request_bytes;
  sc.max_in_flight = cfg_.kafka_max_in_flight_per_connection;
  sc.max_connections = cfg_.kafka_max_connections;
  sc.max_connections_per_ip = cfg_.kafka_max_connections_per_ip;
  sc.connections_max_idle_ms = static_cast<std::uint32_t>(cfg_.kafka_connections_max_idle_ms);
  server_ = std::make_unique<kafka::kafka_server>(io_, sc, dispatcher_, log_);
  if (auto r = server_->start(); !r) return r;
  for (const auto& l : cfg_.kafka_listeners.resolved) {
    log_->info("kafka: listener {} ({}) on {}:{}, advertised as {}", l.name, kafka::to_string(l.protocol), l.bind_ip,
               l.port, l.advertised());
  }
  started_ = true;
  return {};
}

void kafka_service::tick(std::chrono::steady_clock::time_point now) {
  if (!started_ || !*alive_) return;
  last_tick_ = now;
  if (partition_tick_.due(now)) tick_partitions(now);
  if (expiry_.due(now)) {
    expire_requests(now);
    expire_moves(now);
    elections_.tick(now);
    producer_ids_.expire(now);
  }
}

void kafka_service::stop() {
  *alive_ = false;
  // No validation is left running once the partitions go; answers already posted find alive_
  // false and are dropped with their requests.
  validator_.stop();
  validator_.join();
  started_ = false;
  if (server_) server_->stop();
  pending_.clear();
  elections_.clear();
  producer_ids_.clear();
  group_store_.release();
  txn_store_.release();
  marker_router_.release();
  manager_.reset();  // before the node stops the host its groups run on
}

namespace {

// Up to this size an uncompressed blob costs less to check than the two thread hops to the
// validator and back: a CRC-32C of 16 KiB is a few microseconds, and a profile of one-record
// produce requests put the context switches near a sixth of the brokers' CPU.
constexpr std::size_t inline_validation_bytes = 16 * 1024;

// True when no batch in the blob is compressed, so checking it reads only its own bytes (a
// compressed one may inflate up to batch_rules' bound, which stays off the io thread).
bool small_and_uncompressed(std::string_view records) {
  if (records.size() > inline_validation_bytes) return false;
  auto batches = kafka::split_record_batches(records, kafka::crc_check::skip);
  return batches && std::ranges::all_of(*batches, [](const kafka::record_batch_view& b) {
           return b.header.compression() == kafka::compression_type::none;
         });
}

}  // namespace

void kafka_service::validate(std::string records, kafka::batch_rules rules, validated_fn done) {
  // Answers come back in submission order: inline only while nothing is with the validator, and
  // the answer is still posted, so it follows every answer posted before it and the caller is
  // never re-entered.
  if (validations_in_flight_ == 0 && small_and_uncompressed(records)) {
    auto result = kafka::validate_produced_records(records, rules);
    asio::post(io_, [alive = alive_, records = std::move(records), result = std::move(result), done = std::move(done)]() mutable {
      if (*alive) done(std::move(records), std::move(result));
    });
    return;
  }
  ++validations_in_flight_;
  asio::post(validator_, [this, &io = io_, alive = alive_, records = std::move(records), rules, done = std::move(done)]() mutable {
    auto result = kafka::validate_produced_records(records, rules);
    asio::post(io, [this, alive, records = std::move(records), result = std::move(result), done = std::move(done)]() mutable {
      if (!*alive) return;  // stopped: this service may be gone
      --validations_in_flight_;
      done(std::move(records), std::move(result));
    });
  });
}

kafka::partition_manager* kafka_service::manager() {
  if (manager_ || raft_.host() == nullptr || !*alive_) return manager_.get();
  kafka::partition_manager_config pc;
  pc.raft = meta_.timing().raft;
  pc.entry_cache_bytes = cfg_.fetch_cache_bytes;
  pc.replica_lag_time_max_ms = cfg_.replica_lag_time_max_ms;
  pc.defaults.producer_id_expiration_ms = static_cast<std::int64_t>(cfg_.producer_id_expiration_ms);
  pc.topic_configs = [this](const metadata::topic_record& t) {
    return kafka::topic_configs_in_effect(t.name, t.configs, meta_.state().cluster_configs());
  };
  pc.self_uuid = meta_.uuid().hex();
  manager_ = std::make_unique<kafka::partition_manager>(*raft_.host(), cfg_.node_id, pc, log_);
  down_brokers_at_ = {};  // a new manager knows no down broker yet
  manager_->set_leadership_callback([this](const metadata::partition_ref& ref, consensus::node_id leader, consensus::term_id) {
    // Only the new leader reports, or every replica would propose the same record; and only this
    // group, at once: the callback comes again when it is ready to serve (its first entry of the
    // term applied), which is when its report can go. Waiting for the periodic pass cost every
    // leadership change up to a second in `__meta`, and clients that ask a broker without a
    // replica of the group that much.
    if (leader != cfg_.node_id) return;
    if (const auto* rep = manager_->find(ref.group)) report_leader(*rep, last_tick_);
  });
  manager_->set_move_done_callback([this](const metadata::partition_ref& ref) { report_move_done(ref); });
  manager_->sync(meta_.state());
  return manager_.get();
}

kafka::partition_manager& kafka_service::partitions() {
  auto* m = manager();
  CHRONIK_ASSERT(m != nullptr, "the Kafka handlers run only while the node's Raft host is open");
  return *m;
}

void kafka_service::on_partition_records(const metadata::apply_result& r) {
  auto* m = manager();
  if (m == nullptr) return;
  for (const auto& ref : r.created) {
    const auto* t = meta_.state().topic(ref.topic);
    if (t == nullptr) continue;
    if (auto e = m->ensure(ref, *t, m->start_for(meta_.state(), ref)); !e) log_->warn("kafka: cannot start partition group {}: {}", ref.group.value, e.error().text);
  }
  for (const auto& ref : r.removed) m->remove(ref);
  for (const auto& ref : r.moved) {
    if (const auto* t = meta_.state().topic(ref.topic)) m->apply_move(ref, *t, m->start_for(meta_.state(), ref));
    if (ref.target.empty()) move_reported_.erase(ref.group.value);
  }
  // A cluster-wide change names every partition: one line for all of them.
  const bool cluster_wide = r.kind == metadata::command_kind::alter_cluster_config;
  std::size_t reconfigured = 0;
  for (const auto& ref : r.reconfigured) {
    if (const auto* t = meta_.state().topic(ref.topic)) reconfigured += m->reconfigure(ref, *t, !cluster_wide) ? 1 : 0;
  }
  if (cluster_wide && !r.reconfigured.empty()) {
    log_->info("kafka: the cluster-wide broker defaults changed; {} partition replicas here take the configs now in effect",
               reconfigured);
  }
}

void kafka_service::tick_partitions(std::chrono::steady_clock::time_point now) {
  // Group rebalances, session timeouts and waiting JoinGroup/SyncGroup answers run on this tick
  // too; the wall clock stamps commits and measures offset retention, which must mean the same on
  // the next coordinator.
  const auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
  groups_.tick(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count(), wall_ms);
  group_store_.tick(manager(), offsets_partitions(), wall_ms);
  tick_transactions(now, wall_ms);
  if (auto* m = manager()) {
    // Brokers change only with an applied `__meta` record: rebuilt when the applied index moved.
    if (const auto applied = meta_.state().applied_index(); applied != down_brokers_at_) {
      down_brokers_at_ = applied;
      std::set<chronik::node_id> down;
      for (const auto& [id, b] : meta_.state().brokers())
        if (b.state == metadata::broker_state::dead) down.insert(id);
      m->set_down_brokers(std::move(down));
    }
    m->tick();
    if (now >= next_leader_report_) report_leaders(now);
  }
}

// Leaders flow back (docs/metadata.md): a partition's leader records (leader, term) in `__meta`,
// so that Metadata on every node, replica or not, points clients at it.
void kafka_service::report_leaders(std::chrono::steady_clock::time_point now) {
  auto* m = manager();
  if (m == nullptr) return;
  next_leader_report_ = now + leader_report_repeat;
  for (const auto* rep : m->led()) report_leader(*rep, now);
}

void kafka_service::report_leader(const kafka::partition_replica& rep, std::chrono::steady_clock::time_point now) {
  const auto led = rep.ready_leadership(now);
  if (!led) return;
  const auto term = led->term;
  const auto* rec = meta_.state().partition(rep.ref().topic, rep.ref().partition);
  if (rec == nullptr) return;
  // The ISR goes with the leadership (Kafka's AlterPartition): reported when it changes.
  std::vector<chronik::node_id> ordered;
  for (auto r : rec->replicas)
    if (std::ranges::find(led->isr, r) != led->isr.end()) ordered.push_back(r);
  if (rec->leader == cfg_.node_id && rec->leader_epoch == term && (ordered.empty() || ordered == rec->isr)) return;
  const auto g = rep.ref().group;
  auto& [proposed_term, at] = leader_proposed_[g.value];
  if (proposed_term == term.value && now < at + leader_report_repeat) return;
  proposed_term = term.value;
  at = now;
  auto cmd = metadata::commands::set_partition_leader(rep.ref().topic, rep.ref().partition, cfg_.node_id, term, ordered);
  if (auto r = meta_.propose(std::move(cmd)); !r) log_->debug("kafka: cannot report leadership of group {}: {}", g.value, r.error());
}

chronik::node_id kafka_service::node_id() const { return cfg_.node_id; }

std::optional<std::string> kafka_service::cluster_id() const {
  if (meta_.cluster_id().empty()) return std::nullopt;
  return meta_.cluster_id();
}

void kafka_service::catch_up(std::function<void()> done) {
  // Pending reads are dropped when the meta service stops; the flag covers this service going first.
  meta_.read_linearizable([alive = alive_, caught_up = caught_up_, done = std::move(done)](bool reached) {
    if (!*alive) return;
    if (reached) *caught_up = true;
    done();
  });
}

chronik::node_id kafka_service::controller_id() const {
  // meta_leader is a node id widened for the status report: it always fits back.
  return node_id_from_u64(meta_.status().meta_leader).value_or(no_node);
}

std::vector<kafka::broker_info> kafka_service::brokers() const {
  std::vector<kafka::broker_info> out;
  for (const auto& [id, b] : meta_.state().brokers()) {
    // A decommissioned broker holds nothing and is out of the cluster, even while it still runs.
    if (b.state != metadata::broker_state::alive || b.decommission == metadata::decommission_state::done) continue;
    auto ep = parse_ipv4_endpoint(b.kafka_addr);
    if (!ep) continue;  // registered by a node whose address we cannot advertise
    kafka::broker_info info{id, ep->ip, ep->port, std::nullopt, {}};
    if (!b.rack.empty()) info.rack = b.rack;
    for (const auto& l : b.listeners) {
      // Advertised hosts may be names, not only IPv4 addresses (advertised_listeners).
      const auto colon = l.addr.rfind(':');
      std::int32_t port = 0;
      if (colon == std::string::npos ||
          std::from_chars(l.addr.data() + colon + 1, l.addr.data() + l.addr.size(), port).ec != std::errc{}) {
        continue;
      }
      info.endpoints.push_back({l.name, l.addr.substr(0, colon), port});
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::size_t kafka_service::live_brokers() const {
  return static_cast<std::size_t>(std::ranges::count_if(
      meta_.state().brokers(), [](const auto& kv) { return kv.second.takes_replicas(); }));
}

kafka::topic_info kafka_service::describe(const metadata::topic_record& t, const std::set<std::uint64_t>& fenced) const {
  kafka::topic_info out;
  out.name = t.name;
  out.id = t.id.bytes;
  out.configs = t.configs;
  for (const auto& p : t.partitions) {
    kafka::partition_info pi;
    pi.partition = p.partition;
    pi.leader = p.leader;
    pi.leader_epoch = p.leader == no_node ? -1 : static_cast<std::int32_t>(p.leader_epoch.value);
    // A local replica may know a newer leader than the record (leaders are reported after the fact).
    if (manager_ != nullptr) {
      if (const auto* rep = manager_->find(p.group); rep != nullptr && rep->leader() != no_node &&
                                                      rep->leader_epoch() >= p.leader_epoch) {
        pi.leader = rep->leader();
        pi.leader_epoch = static_cast<std::int32_t>(rep->leader_epoch().value);
      }
    }
    // A node fenced by a failed WAL serves nothing (docs/storage.md "Disk faults"): its replicas
    // are offline, as Kafka lists those of an offline log dir, and a leadership it held is gone
    // (LEADER_NOT_AVAILABLE) until the group's new leader is recorded.
    if (pi.leader != no_node && fenced.contains(pi.leader.value())) {
      pi.leader = no_node;
      pi.leader_epoch = -1;
    }
    // In sync: what the leader last reported (docs/kafka.md "In-sync replicas"), and only on a
    // broker that is alive and not fenced; before any report, every replica on such a broker.
    for (auto r : p.replicas) {
      const auto id = r;
      pi.replicas.push_back(id);
      const auto* b = meta_.state().broker(r);
      const bool up = b != nullptr && b->state == metadata::broker_state::alive && !fenced.contains(r.value());
      const bool reported = p.isr.empty() || std::ranges::find(p.isr, r) != p.isr.end();
      if (!up) pi.offline.push_back(id);
      if (up && reported) pi.isr.push_back(id);
    }
    out.partitions.push_back(std::move(pi));
  }
  return out;
}

std::vector<kafka::topic_info> kafka_service::topics() const {
  std::vector<kafka::topic_info> out;
  const auto fenced = meta_.storage_failed_nodes();
  for (const auto& [name, t] : meta_.state().topics()) out.push_back(describe(t, fenced));
  return out;
}

std::optional<kafka::topic_info> kafka_service::topic(std::string_view name) const {
  const auto* t = meta_.state().topic(name);
  if (t == nullptr) return std::nullopt;
  return describe(*t, meta_.storage_failed_nodes());
}

bool kafka_service::has_topic(std::string_view name) const { return meta_.state().topic(name) != nullptr; }

std::optional<std::string> kafka_service::topic_name(const std::array<std::uint8_t, 16>& id) const {
  const auto* t = meta_.state().topic(metadata::topic_id{id});
  if (t == nullptr) return std::nullopt;
  return t->name;
}

kafka::broker_defaults kafka_service::defaults() const {
  kafka::broker_defaults d;
  d.replication_factor = static_cast<std::int16_t>(
      std::min(static_cast<std::size_t>(cfg_.default_replication_factor), std::max<std::size_t>(1, live_brokers())));
  d.partitions = cfg_.num_partitions;
  d.auto_create_topics = cfg_.auto_create_topics;
  d.auto_create_max_per_request = static_cast<std::int32_t>(cfg_.auto_create_topics_max_per_request);
  return d;
}

std::size_t kafka_service::auto_create_allowance(std::size_t wanted) {
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  return auto_create_rate_.take(wanted, std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

void kafka_service::create_topics(std::vector<kafka::topic_request> topics, bool validate_only,
                                  std::chrono::milliseconds timeout, topics_done done) {
  auto req = std::make_shared<request_state>();
  req->done = std::move(done);
  req->open = topics.size();
  for (const auto& t : topics) req->results.push_back({t.name, topic_outcome::done, {}});
  if (topics.empty()) {
    req->done(std::move(req->results));
    return;
  }
  const auto d = defaults();
  for (std::size_t i = 0; i < topics.size(); ++i) {
    auto& t = topics[i];
    if (meta_.state().topic(t.name) != nullptr) {
      settle(*req, i, topic_outcome::already_exists, "topic '" + t.name + "' already exists");
      continue;
    }
    if (kafka::is_internal_topic(t.name) && !t.internal) {
      settle(*req, i, topic_outcome::invalid_name, "'" + t.name + "' is an internal topic: the brokers create it");
      continue;
    }
    metadata::commands::topic_spec spec;
    spec.name = t.name;
    // A fresh random id per proposal: the appliers never invent one (docs/metadata.md).
    do {
      for (auto& b : spec.id.bytes) b = static_cast<std::uint8_t>(random_());
    } while (spec.id.is_zero());
    spec.configs = t.configs;
    if (t.assignments.empty()) {
      spec.partitions = t.partitions < 0 ? d.partitions : t.partitions;
      spec.replication_factor = t.replication_factor < 0 ? d.replication_factor : t.replication_factor;
    } else {
      for (const auto& replicas : t.assignments) {
        auto& row = spec.assignments.emplace_back();
        for (auto id : replicas) row.push_back(id);
      }
    }
    if (validate_only) {
      const bool bad_count = t.assignments.empty() && spec.partitions < 1;
      const bool bad_rf = t.assignments.empty() &&
                          (spec.replication_factor < 1 || static_cast<std::size_t>(spec.replication_factor) > live_brokers());
      settle(*req, i, bad_count ? topic_outcome::invalid_partitions
                      : bad_rf  ? topic_outcome::invalid_replication_factor
                                : topic_outcome::done,
             {});
      continue;
    }
    propose_for(req, i, metadata::commands::create_topic(spec), timeout);
  }
}

void kafka_service::delete_topics(std::vector<std::string> names, std::chrono::milliseconds timeout, topics_done done) {
  auto req = std::make_shared<request_state>();
  req->done = std::move(done);
  req->open = names.size();
  for (const auto& n : names) req->results.push_back({n, topic_outcome::done, {}});
  if (names.empty()) {
    req->done(std::move(req->results));
    return;
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (meta_.state().topic(names[i]) == nullptr) {
      settle(*req, i, topic_outcome::unknown_topic, "unknown topic '" + names[i] + "'");
      continue;
    }
    if (kafka::is_internal_topic(names[i])) {
      settle(*req, i, topic_outcome::invalid_name, "'" + names[i] + "' is an internal topic: it holds the coordinators' state");
      continue;
    }
    propose_for(req, i, metadata::commands::delete_topic(names[i]), timeout);
  }
}

void kafka_service::alter_topic_configs(std::vector<kafka::topic_config_change> changes,
                                        std::chrono::milliseconds timeout, topics_done done) {
  auto req = std::make_shared<request_state>();
  req->done = std::move(done);
  req->open = changes.size();
  for (const auto& c : changes) req->results.push_back({c.topic, topic_outcome::done, {}});
  if (changes.empty()) {
    req->done(std::move(req->results));
    return;
  }
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const auto& c = changes[i];
    if (kafka::is_internal_topic(c.topic)) {
      // Its retention must stay off: only the coordinator's checkpoints may trim it.
      settle(*req, i, topic_outcome::invalid_config, "'" + c.topic + "' is an internal topic: its configs are fixed");
      continue;
    }
    const auto parts = record_parts(c);
    propose_for(req, i,
                metadata::commands::alter_topic_config(metadata::commands::topic_ref{c.topic}, parts.set, c.remove,
                                                       parts.edits),
                timeout);
  }
}

std::map<std::string, std::string> kafka_service::cluster_configs() const { return meta_.state().cluster_configs(); }

// One `__meta` record; every partition replica takes the configs then in effect as it applies
// (apply_result::reconfigured lists every partition).
void kafka_service::alter_cluster_configs(kafka::topic_config_change change, std::chrono::milliseconds timeout,
                                          std::function<void(kafka::topic_result)> done) {
  auto req = std::make_shared<request_state>();
  req->done = [done = std::move(done)](std::vector<kafka::topic_result> results) { done(std::move(results.at(0))); };
  req->open = 1;
  req->results.push_back({"", kafka::topic_outcome::done, {}});
  const auto parts = record_parts(change);
  propose_for(req, 0, metadata::commands::alter_cluster_config(parts.set, change.remove, parts.edits), timeout);
}

// This node's settings under Kafka's names (DescribeConfigs of a broker): the base list, with the
// values and the operator_set flags the node's config gives. A setting counts as set by the
// operator when it differs from node_config's default (the loaded config does not keep which keys
// the file named).
std::vector<kafka::broker_config> kafka_service::broker_configs() const {
  const node_config defaults{};
  auto out = broker_context::broker_configs();
  const auto set = [&](std::string_view name, std::string value, bool operator_set) {
    for (auto& c : out) {
      if (c.name != name) continue;
      c.value = std::move(value);
      c.operator_set = operator_set;
      return;
    }
  };
  set("num.partitions", std::to_string(cfg_.num_partitions), cfg_.num_partitions != defaults.num_partitions);
  set("default.replication.factor", std::to_string(cfg_.default_replication_factor),
      cfg_.default_replication_factor != defaults.default_replication_factor);
  set("auto.create.topics.enable", cfg_.auto_create_topics ? "true" : "false",
      cfg_.auto_create_topics != defaults.auto_create_topics);
  if (std::ranges::none_of(out, [](const auto& c) { return c.name == "listeners"; })) {
    std::string listeners;
    std::string advertised;
    std::string protocols;
    for (const auto& l : cfg_.kafka_listeners.resolved) {
      const std::string sep = listeners.empty() ? "" : ",";
      listeners += sep + l.name + "://" + l.bind_ip + ":" + std::to_string(l.port);
      advertised += sep + l.name + "://" + l.advertised();
      protocols += sep + l.name + ":" + std::string(kafka::to_string(l.protocol));
    }
    out.push_back({"listeners", listeners, kafka::config_type::list, true});
    out.push_back({"advertised.listeners", advertised, kafka::config_type::list, true});
    out.push_back({"listener.security.protocol.map", protocols, kafka::config_type::list, true});
    if (!cfg_.kafka_listeners.resolved.empty()) {
      out.push_back({"inter.broker.listener.name", cfg_.kafka_listeners.resolved[cfg_.kafka_listeners.inter_broker].name,
                     kafka::config_type::string, true});
    }
  }
  const auto num = [](std::uint64_t v) { return std::to_string(v); };
  out.push_back({"socket.request.max.bytes", num(cfg_.kafka_max_request_bytes), kafka::config_type::int32,
                 cfg_.kafka_max_request_bytes != defaults.kafka_max_request_bytes});
  out.push_back({"max.connections", num(cfg_.kafka_max_connections), kafka::config_type::int32,
                 cfg_.kafka_max_connections != defaults.kafka_max_connections});
  out.push_back({"max.connections.per.ip", num(cfg_.kafka_max_connections_per_ip), kafka::config_type::int32,
                 cfg_.kafka_max_connections_per_ip != defaults.kafka_max_connections_per_ip});
  out.push_back({"connections.max.idle.ms", num(cfg_.kafka_connections_max_idle_ms), kafka::config_type::int64,
                 cfg_.kafka_connections_max_idle_ms != defaults.kafka_connections_max_idle_ms});
  out.push_back({"group.initial.rebalance.delay.ms", std::to_string(groups_.config().initial_rebalance_delay_ms),
                 kafka::config_type::int32, cfg_.preset != defaults.preset});
  return out;
}

// Kafka's CreatePartitions. Each topic is checked here first by the rules the appliers run
// (partition_growth.h), on this node's state, which the handler caught up with `__meta`: a request
// sure to fail is answered without a proposal, and validate_only ends here. The record names the
// topic by id, so a namesake created meanwhile is not grown. The new partitions' groups start on
// their replicas from apply_result::created, as a new topic's do (on_partition_records).
void kafka_service::create_partitions(std::vector<kafka::partitions_request> topics, bool validate_only,
                                      std::chrono::milliseconds timeout, topics_done done) {
  auto req = std::make_shared<request_state>();
  req->done = std::move(done);
  req->open = topics.size();
  for (const auto& t : topics) req->results.push_back({t.name, topic_outcome::done, {}});
  if (topics.empty()) {
    req->done(std::move(req->results));
    return;
  }
  for (std::size_t i = 0; i < topics.size(); ++i) {
    const auto& want = topics[i];
    const auto* t = meta_.state().topic(want.name);
    if (t == nullptr) {
      settle(*req, i, topic_outcome::unknown_topic, "unknown topic '" + want.name + "'");
      continue;
    }
    if (kafka::is_internal_topic(want.name)) {
      // A group's (a transactional id's) partition is hash(id) mod the count: another count moves them all.
      settle(*req, i, topic_outcome::invalid_partitions, "'" + want.name + "' is an internal topic: its partition count is fixed");
      continue;
    }
    std::optional<metadata::replica_assignment> manual;
    if (want.assignments) manual.emplace(want.assignments->begin(), want.assignments->end());
    auto plan = metadata::plan_partition_growth(meta_.state().data(), *t, want.count, manual);
    if (!plan) {
      settle(*req, i, outcome_of(plan.error()), growth_refusal(*t, want.count, plan.error()));
      continue;
    }
    if (validate_only) {
      settle(*req, i, topic_outcome::done, {});
      continue;
    }
    propose_for(req, i, metadata::commands::create_partitions(t->id, want.count, manual.value_or(metadata::replica_assignment{}), random_()),
                timeout);
  }
}

void kafka_service::elect_preferred_leaders(std::vector<kafka::election_request> wanted,
                                            std::chrono::milliseconds timeout, elections_done done) {
  elections_.request(std::move(wanted), timeout, std::move(done), std::chrono::steady_clock::now());
}

void kafka_service::propose_for(const std::shared_ptr<request_state>& req, std::size_t slot, std::string command,
                                std::chrono::milliseconds timeout, applied_hook applied) {
  if (auto r = meta_.propose(command); !r) {
    settle(*req, slot, topic_outcome::not_controller, r.error());
    return;
  }
  if (timeout.count() <= 0) {
    // Nobody waits (Metadata's auto-creation): the client sees the topic on a later request.
    settle(*req, slot, topic_outcome::done, {});
    return;
  }
  pending_.emplace(std::move(command),
                   pending_command{req, slot, std::chrono::steady_clock::now() + timeout, std::move(applied)});
}

void kafka_service::settle(request_state& req, std::size_t slot, topic_outcome outcome, std::string message) {
  req.results[slot].outcome = outcome;
  req.results[slot].message = std::move(message);
  if (--req.open == 0 && req.done) {
    auto done = std::move(req.done);
    done(std::move(req.results));
  }
}

void kafka_service::on_applied(std::string_view command,
                               const std::expected<metadata::apply_result, metadata::meta_errc>& r) {
  auto [lo, hi] = pending_.equal_range(std::string(command));
  for (auto it = lo; it != hi;) {
    auto p = std::move(it->second);
    it = pending_.erase(it);
    if (p.applied) p.applied(r);
    if (r) {
      settle(*p.request, p.slot, topic_outcome::done, {});
    } else {
      settle(*p.request, p.slot, outcome_of(r.error()), std::string(metadata::to_string(r.error())));
    }
  }
}

// Requests whose commands were not applied within their timeout answer REQUEST_TIMED_OUT.
void kafka_service::expire_requests(std::chrono::steady_clock::time_point now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    auto p = std::move(it->second);
    it = pending_.erase(it);
    settle(*p.request, p.slot, topic_outcome::timed_out, "not applied within the request's timeout");
  }
}

}  // namespace chronik::daemon
