// The `__meta` commands. Every handler validates the whole command before its first write, so a
// rejected command leaves the state exactly as it was (meta_state.h "Deterministic").
#include "metadata/meta_state.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "base/assert.h"
#include "base/config_list.h"
#include "meta.pb.h"
#include "metadata/decommission.h"
#include "metadata/meta_acls.h"
#include "metadata/meta_rules.h"
#include "metadata/meta_scram.h"
#include "metadata/partition_growth.h"
#include "metadata/replica_assignment.h"
#include "metadata/replica_moves.h"

namespace chronik::metadata {
namespace {

namespace pb = chronik::proto;
using result = std::expected<apply_result, meta_errc>;

apply_result done(command_kind kind) { return apply_result{kind, true, {}, {}}; }
// A valid command that was already in effect: accepted, nothing to do.
apply_result unchanged(command_kind kind) { return apply_result{kind, false, {}, {}}; }
apply_result done_if(command_kind kind, bool changed) { return changed ? done(kind) : unchanged(kind); }

// The topic a MetaTopicRef names, or why there is none.
std::expected<topic_record*, meta_errc> find_topic(meta_data& d, const pb::MetaTopicRef& ref) {
  switch (ref.ref_case()) {
    case pb::MetaTopicRef::kName: {
      auto it = d.topics.find(ref.name());
      if (it == d.topics.end()) return std::unexpected(meta_errc::unknown_topic);
      return &it->second;
    }
    case pb::MetaTopicRef::kTopicId: {
      auto id = topic_id::from_bytes(ref.topic_id());
      if (!id) return std::unexpected(meta_errc::invalid_topic_id);
      auto it = d.topic_names.find(*id);
      if (it == d.topic_names.end()) return std::unexpected(meta_errc::unknown_topic);
      return &d.topics.find(it->second)->second;
    }
    default:
      return std::unexpected(meta_errc::malformed_command);
  }
}

result set_cluster_id(meta_data& d, const pb::MetaSetClusterId& c) {
  if (!rules::bounded(c.cluster_id(), max_id_bytes)) return std::unexpected(meta_errc::malformed_command);
  if (d.cluster_id.empty()) {
    d.cluster_id = c.cluster_id();
    return done(command_kind::set_cluster_id);
  }
  // Repeating the same id is harmless (a founder's retry); a different one is another cluster.
  if (d.cluster_id == c.cluster_id()) return unchanged(command_kind::set_cluster_id);
  return std::unexpected(meta_errc::cluster_id_mismatch);
}

result register_broker(meta_data& d, const pb::MetaRegisterBroker& c, log_index index) {
  // An id too wide for a node id becomes no_node, which valid_broker refuses: never truncated.
  broker_record b{node_id_from_u64(c.node_id()).value_or(no_node), c.node_uuid(), c.kafka_addr(), c.rpc_addr(), c.rack(),
                  broker_state::alive, index};
  if (c.listeners_size() > static_cast<int>(max_listeners_per_broker)) return std::unexpected(meta_errc::invalid_broker);
  for (const auto& l : c.listeners()) b.listeners.push_back({l.name(), l.addr()});
  if (!rules::valid_broker(b)) return std::unexpected(meta_errc::invalid_broker);
  // A uuid belongs to one data directory, so two ids with one uuid means a misconfigured node id.
  for (const auto& [id, other] : d.brokers) {
    if (id != b.id && other.uuid == b.uuid) return std::unexpected(meta_errc::broker_uuid_conflict);
  }
  auto it = d.brokers.find(b.id);
  if (it != d.brokers.end()) b.drained = it->second.drained;  // the operator's word outlives a restart or a wipe
  // A decommission belongs to one data directory: a restart keeps it, a wiped one joins anew.
  if (it != d.brokers.end() && it->second.uuid == b.uuid) b.decommission = it->second.decommission;
  if (it == d.brokers.end()) {
    if (d.brokers.size() >= max_brokers) return std::unexpected(meta_errc::too_many_brokers);
    d.brokers.emplace(b.id, std::move(b));
    return done(command_kind::register_broker);
  }
  if (it->second.uuid == b.uuid) {
    // The same data directory again (a restart): keep its epoch, refresh addresses and state.
    b.epoch = it->second.epoch;
    const bool changed = !(it->second == b);
    it->second = std::move(b);
    return done_if(command_kind::register_broker, changed);
  }
  // A new uuid is a wiped data directory (docs/design.md "Formation", property 3): the new broker
  // replaces the old one and gets a new epoch, so anything fenced by the old epoch stays fenced.
  it->second = std::move(b);
  return done(command_kind::register_broker);
}

// The broker a command names, checking the uuid fence: a non-empty uuid must be the current one, so
// a command about a broker's previous life cannot touch the broker that replaced it.
std::expected<broker_record*, meta_errc> fenced_broker(meta_data& d, std::uint64_t id, const std::string& uuid) {
  if (!rules::valid_node_id(id)) return std::unexpected(meta_errc::invalid_broker);
  auto it = d.brokers.find(node_id_from_u64(id).value_or(no_node));  // id is valid: it fits
  if (it == d.brokers.end()) return std::unexpected(meta_errc::unknown_broker);
  if (!uuid.empty() && uuid != it->second.uuid) return std::unexpected(meta_errc::broker_uuid_mismatch);
  return &it->second;
}

result unregister_broker(meta_data& d, const pb::MetaUnregisterBroker& c) {
  auto b = fenced_broker(d, c.node_id(), c.node_uuid());
  if (!b) return std::unexpected(b.error());
  // Partitions keep naming the id in their replica sets: moving replicas off a removed broker is a
  // reassignment the controller proposes, not a side effect of this record.
  const node_id id = (*b)->id;  // a copy: the key must outlive the erase of its own record
  d.brokers.erase(id);
  return done(command_kind::unregister_broker);
}

result set_broker_state(meta_data& d, const pb::MetaSetBrokerState& c) {
  auto b = fenced_broker(d, c.node_id(), c.node_uuid());
  if (!b) return std::unexpected(b.error());
  auto state = rules::decode_state(c.state());
  if (!state) return std::unexpected(meta_errc::malformed_command);
  const bool changed = (*b)->state != *state;
  (*b)->state = *state;
  return done_if(command_kind::set_broker_state, changed);
}

// Maintenance mode: no uuid fence, the drain is about the node id whatever disk it runs on.
result set_broker_drained(meta_data& d, const pb::MetaSetBrokerDrained& c) {
  auto b = fenced_broker(d, c.node_id(), {});
  if (!b) return std::unexpected(b.error());
  const bool changed = (*b)->drained != c.drained();
  (*b)->drained = c.drained();
  return done_if(command_kind::set_broker_drained, changed);
}

// Decommission (docs/operations.md "Decommissioning a node"); the rules are decommission.h's.
result set_broker_decommission(meta_data& d, const pb::MetaSetBrokerDecommission& c) {
  auto b = fenced_broker(d, c.node_id(), c.node_uuid());
  if (!b) return std::unexpected(b.error());
  auto to = rules::decode_decommission(c.state());
  if (!to) return std::unexpected(to.error());
  if ((*b)->decommission == *to) return unchanged(command_kind::set_broker_decommission);
  if (auto ok = check_decommission(d, (*b)->id, *to); !ok) return std::unexpected(ok.error());
  (*b)->decommission = *to;
  return done(command_kind::set_broker_decommission);
}

// Kafka's automatic assignment (partition_growth.h), shared with CreatePartitions.
std::expected<replica_assignment, meta_errc> auto_assignment(const meta_data& d, const pb::MetaCreateTopic& c) {
  return place_on_live_brokers(d, c.partitions(), c.replication_factor());
}

// Kafka's manual assignment: partitions 0..n-1 each exactly once, all of one size, distinct
// registered brokers (in any state: an operator may place replicas on a broker that is down).
std::expected<replica_assignment, meta_errc> manual_assignment(const meta_data& d, const pb::MetaCreateTopic& c) {
  const int n = c.assignments_size();
  if (n > max_partitions_per_topic || (c.partitions() != 0 && c.partitions() != n)) {
    return std::unexpected(meta_errc::invalid_partitions);
  }
  const int rf = c.assignments(0).replicas_size();
  if (rf < 1 || rf > max_replication_factor || (c.replication_factor() != 0 && c.replication_factor() != rf)) {
    return std::unexpected(meta_errc::invalid_replication_factor);
  }
  replica_assignment out(static_cast<std::size_t>(n));
  for (const auto& a : c.assignments()) {
    const auto p = static_cast<std::size_t>(a.partition());
    if (a.partition() < 0 || a.partition() >= n || !out[p].empty() || a.replicas_size() != rf) {
      return std::unexpected(meta_errc::invalid_replica_assignment);
    }
    for (std::uint64_t r : a.replicas()) {
      const node_id id = node_id_from_u64(r).value_or(no_node);  // too wide: no broker has it
      if (!d.brokers.contains(id) || std::find(out[p].begin(), out[p].end(), id) != out[p].end()) {
        return std::unexpected(meta_errc::invalid_replica_assignment);
      }
      out[p].push_back(id);
    }
  }
  return out;
}

partition_ref ref_of(const topic_id& topic, const partition_record& p) {
  // After a move, a replica without durable state joins empty (partition_record::moved); a single
  // replica has nobody to learn from and starts over, its data lost with its disk, as before.
  std::vector<node_id> bootstrap;
  if (!p.moved || (p.replicas.size() == 1 && !p.moving())) bootstrap = p.replicas;
  return partition_ref{topic, p.partition, p.group, p.inc, p.replicas, std::move(bootstrap),
                       p.moving() ? p.target() : std::vector<node_id>{}, p.moving() ? p.move_id : log_index{}};
}

result create_topic(meta_data& d, const pb::MetaCreateTopic& c, log_index index) {
  if (!rules::valid_topic_name(c.name())) return std::unexpected(meta_errc::invalid_topic_name);
  auto id = topic_id::from_bytes(c.topic_id());
  if (!id || id->is_zero()) return std::unexpected(meta_errc::invalid_topic_id);
  if (d.topics.contains(c.name())) return std::unexpected(meta_errc::topic_already_exists);
  if (d.topic_names.contains(*id)) return std::unexpected(meta_errc::topic_id_already_exists);
  if (d.topics.size() >= max_topics) return std::unexpected(meta_errc::too_many_topics);
  auto configs = rules::decode_configs(c.configs());
  if (!configs) return std::unexpected(configs.error());
  auto replicas = c.assignments().empty() ? auto_assignment(d, c) : manual_assignment(d, c);
  if (!replicas) return std::unexpected(replicas.error());

  // Everything is valid: from here on nothing fails. Group ids come from the replicated counter and
  // the incarnation is this record's index, so every replica derives the same group for each
  // partition (docs/design.md "Partition groups").
  topic_record t{c.name(), *id, static_cast<std::int32_t>(replicas->front().size()), std::move(*configs), {}, index};
  apply_result r = done(command_kind::create_topic);
  t.partitions.reserve(replicas->size());
  for (std::size_t p = 0; p < replicas->size(); ++p) {
    partition_record pr{static_cast<std::int32_t>(p), std::move((*replicas)[p]), d.next_group,
                        incarnation{index.value}, node_id{}, term_id{}};
    ++d.next_group.value;
    r.created.push_back(ref_of(t.id, pr));
    t.partitions.push_back(std::move(pr));
  }
  d.topic_names.emplace(t.id, t.name);
  std::string name = t.name;
  d.topics.emplace(std::move(name), std::move(t));
  return r;
}

result delete_topic(meta_data& d, const pb::MetaDeleteTopic& c) {
  auto t = find_topic(d, c.topic());
  if (!t) return std::unexpected(t.error());
  apply_result r = done(command_kind::delete_topic);
  for (const auto& p : (*t)->partitions) r.removed.push_back(ref_of((*t)->id, p));
  d.topic_names.erase((*t)->id);
  d.topics.erase((*t)->name);
  return r;
}

// Kafka's CreatePartitions: the topic grows to c.count() partitions (partition_growth.h holds the
// rules). Each new partition is a new Raft group, allocated from the counter, whose incarnation is
// this record's index, exactly as create_topic does for a topic's partitions.
result create_partitions(meta_data& d, const pb::MetaCreatePartitions& c, log_index index) {
  auto t = find_topic(d, c.topic());
  if (!t) return std::unexpected(t.error());
  const auto current = static_cast<std::int32_t>((*t)->partitions.size());
  std::optional<replica_assignment> manual;
  if (!c.assignments().empty()) {
    if (c.assignments_size() > max_partitions_per_topic) return std::unexpected(meta_errc::invalid_partitions);
    manual.emplace();
    for (int i = 0; i < c.assignments_size(); ++i) {
      const auto& a = c.assignments(i);
      // Rows come in index order, starting at the first new partition.
      if (a.partition() != current + i || a.replicas_size() > max_replication_factor) {
        return std::unexpected(meta_errc::invalid_replica_assignment);
      }
      auto& row = manual->emplace_back();
      for (std::uint64_t r : a.replicas()) row.push_back(node_id_from_u64(r).value_or(no_node));  // wide: unknown
    }
  }
  auto added = plan_partition_growth(d, **t, c.count(), manual);
  if (!added) return std::unexpected(added.error());

  apply_result r = done(command_kind::create_partitions);
  for (auto& replicas : *added) {
    partition_record pr{static_cast<std::int32_t>((*t)->partitions.size()), std::move(replicas), d.next_group,
                        incarnation{index.value}, node_id{}, term_id{}};
    ++d.next_group.value;
    r.created.push_back(ref_of((*t)->id, pr));
    (*t)->partitions.push_back(std::move(pr));
  }
  return r;
}

result set_partition_leader(meta_data& d, const pb::MetaSetPartitionLeader& c) {
  auto id = topic_id::from_bytes(c.topic_id());
  if (!id) return std::unexpected(meta_errc::invalid_topic_id);
  auto name = d.topic_names.find(*id);
  if (name == d.topic_names.end()) return std::unexpected(meta_errc::unknown_topic);
  auto& parts = d.topics.find(name->second)->second.partitions;
  if (c.partition() < 0 || static_cast<std::size_t>(c.partition()) >= parts.size()) {
    return std::unexpected(meta_errc::unknown_partition);
  }
  partition_record& p = parts[static_cast<std::size_t>(c.partition())];
  const auto reported = node_id_from_u64(c.leader());  // 0 is "no leader"; too wide is refused
  if (!reported) return std::unexpected(meta_errc::invalid_leader);
  const node_id leader = *reported;
  const term_id epoch{c.leader_epoch()};
  if (leader != no_node && std::find(p.replicas.begin(), p.replicas.end(), leader) == p.replicas.end()) {
    return std::unexpected(meta_errc::invalid_leader);
  }
  if (epoch < p.leader_epoch) return std::unexpected(meta_errc::stale_leader_epoch);
  // The ISR a leader reports: replicas of this partition, each once, the leader among them
  // (Kafka's AlterPartition rules). Kept in replica order, so equal sets are equal records.
  std::vector<node_id> isr;
  for (std::uint64_t r : c.isr()) {
    const auto id = node_id_from_u64(r);
    if (!id || std::find(p.replicas.begin(), p.replicas.end(), *id) == p.replicas.end() ||
        std::find(isr.begin(), isr.end(), *id) != isr.end()) {
      return std::unexpected(meta_errc::invalid_leader);
    }
    isr.push_back(*id);
  }
  if (!isr.empty() && (leader == no_node || std::find(isr.begin(), isr.end(), leader) == isr.end())) {
    return std::unexpected(meta_errc::invalid_leader);
  }
  std::vector<node_id> ordered;
  for (node_id r : p.replicas)
    if (std::find(isr.begin(), isr.end(), r) != isr.end()) ordered.push_back(r);
  if (epoch == p.leader_epoch) {
    if (leader == p.leader) {
      // The same leader in the same term may report a changed ISR; an empty one changes nothing.
      if (ordered.empty() || ordered == p.isr) return unchanged(command_kind::set_partition_leader);
      p.isr = std::move(ordered);
      return done(command_kind::set_partition_leader);
    }
    // Raft allows at most one leader per term (Raft paper §5.2, Election Safety), so a second
    // leader for the same term is a stale or confused report. "No leader" may replace a leader and
    // a leader may replace "no leader" within one term.
    if (leader != no_node && p.leader != no_node) return std::unexpected(meta_errc::stale_leader_epoch);
  }
  p.leader = leader;
  p.leader_epoch = epoch;
  // A new leader's report without an ISR keeps the old one until it reports its own.
  if (!ordered.empty()) p.isr = std::move(ordered);
  return done(command_kind::set_partition_leader);
}

// A config map after a record's sets, removals and list edits (MetaAlterTopicConfig,
// MetaAlterClusterConfig), each bounded as one topic's configs. A key is at most one of set,
// removed or edited in one record: the order between them would be unclear.
template <typename Change>
std::expected<std::map<std::string, std::string>, meta_errc> edited_configs(
    const std::map<std::string, std::string>& current, const Change& c) {
  auto set = rules::decode_configs(c.set());
  if (!set) return std::unexpected(set.error());
  if (static_cast<std::size_t>(c.remove_size()) > max_configs_per_topic) {
    return std::unexpected(meta_errc::invalid_config);
  }
  std::map<std::string, std::string> next = current;
  for (const std::string& key : c.remove()) {
    if (!rules::bounded(key, max_config_key_bytes) || set->contains(key)) {
      return std::unexpected(meta_errc::invalid_config);
    }
    next.erase(key);
  }
  for (auto& [key, value] : *set) next[key] = value;
  if (c.edits_size() > static_cast<int>(max_configs_per_topic)) return std::unexpected(meta_errc::invalid_config);
  for (const auto& e : c.edits()) {
    if (!rules::bounded(e.key(), max_config_key_bytes) || set->contains(e.key()) ||
        std::find(c.remove().begin(), c.remove().end(), e.key()) != c.remove().end() ||
        e.base().size() > max_config_value_bytes || e.items_size() > static_cast<int>(max_config_value_bytes)) {
      return std::unexpected(meta_errc::invalid_config);
    }
    auto at = next.find(e.key());
    auto items = config_list::split(at != next.end() ? std::string_view(at->second) : std::string_view(e.base()));
    for (const std::string& item : e.items()) {
      const bool there = std::find(items.begin(), items.end(), item) != items.end();
      if (e.append() && !there) items.push_back(item);
      if (!e.append()) std::erase(items, item);
    }
    std::string value = config_list::join(items);
    if (value.size() > max_config_value_bytes) return std::unexpected(meta_errc::invalid_config);
    next[e.key()] = std::move(value);
  }
  if (next.size() > max_configs_per_topic) return std::unexpected(meta_errc::invalid_config);
  return next;
}

result alter_topic_config(meta_data& d, const pb::MetaAlterTopicConfig& c) {
  auto t = find_topic(d, c.topic());
  if (!t) return std::unexpected(t.error());
  auto next = edited_configs((*t)->configs, c);
  if (!next) return std::unexpected(next.error());
  const bool changed = *next != (*t)->configs;
  (*t)->configs = std::move(*next);
  apply_result r = done_if(command_kind::alter_topic_config, changed);
  if (changed) {
    for (const auto& p : (*t)->partitions) r.reconfigured.push_back(ref_of((*t)->id, p));
  }
  return r;
}

// The cluster-wide broker defaults. Which keys are defaults of which topic configs is the Kafka
// front end's schema (kafka/handlers/topic_config_schema.h), not a replicated rule: the record
// holds keys and values only, as a topic's configs do.
result alter_cluster_config(meta_data& d, const pb::MetaAlterClusterConfig& c) {
  auto next = edited_configs(d.cluster_configs, c);
  if (!next) return std::unexpected(next.error());
  const bool changed = *next != d.cluster_configs;
  d.cluster_configs = std::move(*next);
  apply_result r = done_if(command_kind::alter_cluster_config, changed);
  if (changed) {
    for (const auto& [name, t] : d.topics)
      for (const auto& p : t.partitions) r.reconfigured.push_back(ref_of(t.id, p));
  }
  return r;
}

// Kafka's ElectLeaders: no state changes (changed stays false); the result names the partitions
// whose leaders the shell asks to transfer. Every partition must exist, so a request racing a
// topic deletion is refused as a whole and its proposer answers UNKNOWN_TOPIC_OR_PARTITION.
result elect_leaders(meta_data& d, const pb::MetaElectLeaders& c) {
  auto id = topic_id::from_bytes(c.topic_id());
  if (!id) return std::unexpected(meta_errc::invalid_topic_id);
  auto name = d.topic_names.find(*id);
  if (name == d.topic_names.end()) return std::unexpected(meta_errc::unknown_topic);
  const topic_record& t = d.topics.find(name->second)->second;
  if (static_cast<std::size_t>(c.partitions_size()) > t.partitions.size()) return std::unexpected(meta_errc::unknown_partition);
  apply_result r = unchanged(command_kind::elect_leaders);
  r.elect_expires_at_ms = c.expires_at_ms();
  for (std::int32_t p : c.partitions()) {
    if (p < 0 || static_cast<std::size_t>(p) >= t.partitions.size()) return std::unexpected(meta_errc::unknown_partition);
    r.elect.push_back(ref_of(t.id, t.partitions[static_cast<std::size_t>(p)]));
  }
  return r;
}

// The partition a reassignment record names.
std::expected<std::pair<topic_record*, partition_record*>, meta_errc> find_partition(meta_data& d, const std::string& raw_id,
                                                                                    std::int32_t partition) {
  auto id = topic_id::from_bytes(raw_id);
  if (!id) return std::unexpected(meta_errc::invalid_topic_id);
  auto name = d.topic_names.find(*id);
  if (name == d.topic_names.end()) return std::unexpected(meta_errc::unknown_topic);
  topic_record& t = d.topics.find(name->second)->second;
  if (partition < 0 || static_cast<std::size_t>(partition) >= t.partitions.size()) {
    return std::unexpected(meta_errc::unknown_partition);
  }
  return std::pair{&t, &t.partitions[static_cast<std::size_t>(partition)]};
}

// Kafka's AlterPartitionReassignments for one partition (replica_moves.h has the rules).
result alter_reassignment(meta_data& d, const pb::MetaAlterReassignment& c, log_index index) {
  auto found = find_partition(d, c.topic_id(), c.partition());
  if (!found) return std::unexpected(found.error());
  auto [t, p] = *found;
  std::expected<bool, meta_errc> changed = false;
  if (c.cancel()) {
    if (!c.replicas().empty()) return std::unexpected(meta_errc::malformed_command);
    changed = cancel_move(d, *p, index);
  } else {
    if (c.replicas_size() > max_replication_factor) return std::unexpected(meta_errc::invalid_replica_assignment);
    std::vector<node_id> target;
    for (std::uint64_t r : c.replicas()) target.push_back(node_id_from_u64(r).value_or(no_node));  // wide: refused
    changed = begin_move(d, *p, target, index);
  }
  if (!changed) return std::unexpected(changed.error());
  apply_result r = done_if(command_kind::alter_reassignment, *changed);
  if (*changed) r.moved.push_back(ref_of(t->id, *p));
  return r;
}

// A partition leader's report that its group reached the move's target.
result complete_reassignment(meta_data& d, const pb::MetaCompleteReassignment& c) {
  auto found = find_partition(d, c.topic_id(), c.partition());
  if (!found) return std::unexpected(found.error());
  auto [t, p] = *found;
  std::vector<node_id> target;
  for (std::uint64_t r : c.replicas()) target.push_back(node_id_from_u64(r).value_or(no_node));
  if (!finish_move(d, *p, incarnation{c.incarnation()}, log_index{c.move_id()}, target)) {
    return unchanged(command_kind::complete_reassignment);
  }
  apply_result r = done(command_kind::complete_reassignment);
  r.moved.push_back(ref_of(t->id, *p));
  return r;
}

// Kafka's AllocateProducerIds (KIP-730): the next block of producer ids, for a registered broker.
// The counter only grows, and snapshots carry it, so no id is handed out twice even after every
// node restarts; a block a broker never finishes is simply never used.
result allocate_producer_ids(meta_data& d, const pb::MetaAllocateProducerIds& c) {
  if (!rules::valid_node_id(c.node_id())) return std::unexpected(meta_errc::invalid_broker);
  if (!d.brokers.contains(node_id_from_u64(c.node_id()).value_or(no_node))) {
    return std::unexpected(meta_errc::unknown_broker);
  }
  CHRONIK_ASSERT(d.next_producer_id >= 0, "the producer id counter never goes negative");
  // The counter after this block must still be an INT64: Kafka's producer id is one, and >= 0.
  if (d.next_producer_id > INT64_MAX - producer_id_block_size) return std::unexpected(meta_errc::producer_ids_exhausted);
  apply_result r = done(command_kind::allocate_producer_ids);
  r.producer_ids_first = d.next_producer_id;
  r.producer_ids_count = producer_id_block_size;
  d.next_producer_id += producer_id_block_size;
  return r;
}

result dispatch(meta_data& d, const pb::MetaCommand& cmd, log_index index) {
  switch (cmd.command_case()) {
    case pb::MetaCommand::kSetClusterId: return set_cluster_id(d, cmd.set_cluster_id());
    case pb::MetaCommand::kRegisterBroker: return register_broker(d, cmd.register_broker(), index);
    case pb::MetaCommand::kUnregisterBroker: return unregister_broker(d, cmd.unregister_broker());
    case pb::MetaCommand::kSetBrokerState: return set_broker_state(d, cmd.set_broker_state());
    case pb::MetaCommand::kCreateTopic: return create_topic(d, cmd.create_topic(), index);
    case pb::MetaCommand::kDeleteTopic: return delete_topic(d, cmd.delete_topic());
    case pb::MetaCommand::kSetPartitionLeader: return set_partition_leader(d, cmd.set_partition_leader());
    case pb::MetaCommand::kAlterTopicConfig: return alter_topic_config(d, cmd.alter_topic_config());
    case pb::MetaCommand::kCreatePartitions: return create_partitions(d, cmd.create_partitions(), index);
    case pb::MetaCommand::kElectLeaders: return elect_leaders(d, cmd.elect_leaders());
    case pb::MetaCommand::kAlterReassignment: return alter_reassignment(d, cmd.alter_reassignment(), index);
    case pb::MetaCommand::kCompleteReassignment: return complete_reassignment(d, cmd.complete_reassignment());
    case pb::MetaCommand::kAllocateProducerIds: return allocate_producer_ids(d, cmd.allocate_producer_ids());
    case pb::MetaCommand::kAlterScramCredentials: return scram::alter(d, cmd.alter_scram_credentials());
    case pb::MetaCommand::kCreateAcls: return acls::create(d, cmd.create_acls());
    case pb::MetaCommand::kDeleteAcls: return acls::remove(d, cmd.delete_acls());
    case pb::MetaCommand::kSetBrokerDrained: return set_broker_drained(d, cmd.set_broker_drained());
    case pb::MetaCommand::kSetBrokerDecommission: return set_broker_decommission(d, cmd.set_broker_decommission());
    case pb::MetaCommand::kAlterClusterConfig: return alter_cluster_config(d, cmd.alter_cluster_config());
    default: return std::unexpected(meta_errc::malformed_command);  // no command, or one we do not know
  }
}

}  // namespace

std::string_view to_string(broker_state s) {
  switch (s) {
    case broker_state::alive: return "alive";
    case broker_state::dead: return "dead";
    case broker_state::draining: return "draining";
  }
  return "unknown";
}

std::string_view to_string(decommission_state s) {
  switch (s) {
    case decommission_state::none: return "none";
    case decommission_state::moving: return "moving";
    case decommission_state::done: return "done";
  }
  return "unknown";
}

std::expected<apply_result, meta_errc> meta_state::apply(log_index index, std::string_view command) {
  CHRONIK_ASSERT(index > d_.applied, "__meta entries are applied once, in log order");
  // A rejected command is still applied: its outcome (the error) is decided, and a snapshot taken
  // after it must not make a restored replica apply it again.
  d_.applied = index;
  pb::MetaCommand cmd;
  if (command.size() > static_cast<std::size_t>(INT_MAX) ||
      !cmd.ParseFromArray(command.data(), static_cast<int>(command.size()))) {
    return std::unexpected(meta_errc::malformed_command);
  }
  return dispatch(d_, cmd, index);
}

void meta_state::skip(log_index index) {
  CHRONIK_ASSERT(index > d_.applied, "__meta entries are applied once, in log order");
  d_.applied = index;
}

const broker_record* meta_state::broker(node_id id) const {
  auto it = d_.brokers.find(id);
  return it == d_.brokers.end() ? nullptr : &it->second;
}

const topic_record* meta_state::topic(std::string_view name) const {
  auto it = d_.topics.find(name);
  return it == d_.topics.end() ? nullptr : &it->second;
}

const topic_record* meta_state::topic(const topic_id& id) const {
  auto it = d_.topic_names.find(id);
  return it == d_.topic_names.end() ? nullptr : topic(it->second);
}

const partition_record* meta_state::partition(const topic_id& id, std::int32_t partition) const {
  const topic_record* t = topic(id);
  if (t == nullptr || partition < 0 || static_cast<std::size_t>(partition) >= t->partitions.size()) return nullptr;
  return &t->partitions[static_cast<std::size_t>(partition)];
}

bool meta_state::replica_rejoins(node_id node, std::string_view uuid, const partition_ref& ref) const {
  if (ref.replicas.size() < 2) return false;
  // The partition's own incarnation (the index of the record that created it), not its topic's:
  // a partition added after this uuid registered was never held by an earlier life of the node.
  const partition_record* p = partition(ref.topic, ref.partition);
  if (p == nullptr) return false;
  const broker_record* b = broker(node);
  // Not registered under this uuid yet: the controller has not seen this data directory, so any
  // partition that lists the node id was placed on an earlier one.
  if (b == nullptr || b->uuid != uuid) return true;
  return p->inc.value < b->epoch.value;
}

std::vector<partition_ref> meta_state::groups_for(node_id node) const {
  std::vector<partition_ref> out;
  for (const auto& [name, t] : d_.topics) {
    for (const auto& p : t.partitions) {
      if (std::find(p.replicas.begin(), p.replicas.end(), node) != p.replicas.end()) out.push_back(ref_of(t.id, p));
    }
  }
  return out;
}

}  // namespace chronik::metadata
