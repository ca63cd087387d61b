// `__meta` snapshots: the whole state as one MetaSnapshot in canonical order, and its restore.
//
// Restore checks a snapshot against the same rules the commands obey (meta_rules.h) plus the
// invariants the commands keep (unique group ids below the counter, partitions 0..n-1, leaders among
// replicas), so a damaged or hostile snapshot is refused instead of becoming a state that no
// sequence of commands could have produced.
#include <algorithm>
#include <climits>
#include <set>
#include <utility>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "metadata/meta_acls.h"
#include "metadata/meta_rules.h"
#include "metadata/meta_scram.h"

namespace chronik::metadata {
namespace {

namespace pb = chronik::proto;
constexpr std::uint32_t snapshot_format_version = 1;

void encode_configs(const std::map<std::string, std::string>& configs,
                    google::protobuf::RepeatedPtrField<pb::MetaConfigEntry>* out) {
  for (const auto& [key, value] : configs) {
    auto* e = out->Add();
    e->set_key(key);
    e->set_value(value);
  }
}

void encode_topic(const topic_record& t, pb::MetaTopic* out) {
  out->set_name(t.name);
  out->set_topic_id(t.id.to_bytes());
  out->set_replication_factor(t.replication_factor);
  encode_configs(t.configs, out->mutable_configs());
  out->set_created_index(t.created_index.value);
  for (const auto& p : t.partitions) {
    auto* m = out->add_partitions();
    m->set_partition(p.partition);
    for (node_id r : p.replicas) m->add_replicas(r.value());
    m->set_group_id(p.group.value);
    m->set_incarnation(p.inc.value);
    m->set_leader(p.leader.value());
    m->set_leader_epoch(p.leader_epoch.value);
    for (node_id r : p.isr) m->add_isr(r.value());
    for (node_id r : p.move_to) m->add_move_to(r.value());
    for (node_id r : p.move_from) m->add_move_from(r.value());
    m->set_moved(p.moved);
    m->set_move_id(p.move_id.value);
  }
}

std::expected<broker_record, meta_errc> decode_broker(const pb::MetaBroker& m) {
  // An id too wide for a node id becomes no_node, which valid_broker refuses: never truncated.
  broker_record b{node_id_from_u64(m.node_id()).value_or(no_node), m.node_uuid(), m.kafka_addr(), m.rpc_addr(), m.rack(),
                  broker_state::alive, log_index{m.epoch()}};
  if (m.listeners_size() > static_cast<int>(max_listeners_per_broker)) return std::unexpected(meta_errc::malformed_snapshot);
  for (const auto& l : m.listeners()) b.listeners.push_back({l.name(), l.addr()});
  auto state = rules::decode_state(m.state());
  auto decommission = rules::decode_decommission(m.decommission());
  if (!rules::valid_broker(b) || !state || !decommission) return std::unexpected(meta_errc::malformed_snapshot);
  b.state = *state;
  b.drained = m.drained();
  b.decommission = *decommission;
  return b;
}

// Group ids seen so far across all topics: each must be unique and below the counter.
struct group_check {
  group_id next;
  std::set<group_id> seen;
  bool take(group_id g) {
    return g >= first_partition_group_id && g < next && seen.insert(g).second;
  }
};

// Distinct replicas of `p`, each once: the shape of isr, move_to and move_from.
bool decode_subset(const google::protobuf::RepeatedField<std::uint64_t>& raw, const partition_record& p,
                   std::vector<node_id>& out) {
  for (std::uint64_t r : raw) {
    const node_id id = node_id_from_u64(r).value_or(no_node);
    if (std::find(p.replicas.begin(), p.replicas.end(), id) == p.replicas.end() ||
        std::find(out.begin(), out.end(), id) != out.end()) {
      return false;
    }
    out.push_back(id);
  }
  return true;
}

std::expected<partition_record, meta_errc> decode_partition(const pb::MetaPartition& m, std::int32_t index,
                                                            std::int32_t rf, group_check& groups) {
  const auto leader = node_id_from_u64(m.leader());  // 0 is "no leader"; too wide is refused
  partition_record p{m.partition(), {}, group_id{m.group_id()}, incarnation{m.incarnation()},
                     leader.value_or(no_node), term_id{m.leader_epoch()}};
  // A partition that never moved has its topic's replication factor; a move may change it (KIP-860)
  // and, while it runs, list the target and the leaving replicas together.
  const bool sized = m.moved() ? m.replicas_size() >= 1 && m.replicas_size() <= 2 * max_replication_factor
                               : m.replicas_size() == rf;
  bool ok = leader.has_value() && p.partition == index && sized && p.inc.value != 0 && groups.take(p.group);
  for (std::uint64_t r : m.replicas()) {
    const node_id id = node_id_from_u64(r).value_or(no_node);  // a wide r fails valid_node_id
    ok = ok && rules::valid_node_id(r) && std::find(p.replicas.begin(), p.replicas.end(), id) == p.replicas.end();
    p.replicas.push_back(id);
  }
  ok = ok && (p.leader == no_node || std::find(p.replicas.begin(), p.replicas.end(), p.leader) != p.replicas.end());
  ok = ok && decode_subset(m.isr(), p, p.isr) && decode_subset(m.move_to(), p, p.move_to) &&
       decode_subset(m.move_from(), p, p.move_from);
  p.moved = m.moved();
  p.move_id = log_index{m.move_id()};
  // Only a moved partition has a move, and a move has an origin; the replicas list its target first.
  ok = ok && (p.moving() ? p.moved && !p.move_from.empty() && p.move_to.size() <= static_cast<std::size_t>(max_replication_factor) &&
                                std::equal(p.move_to.begin(), p.move_to.end(), p.replicas.begin())
                         : p.move_from.empty() && p.move_id.value == 0);
  if (!ok) return std::unexpected(meta_errc::malformed_snapshot);
  return p;
}

std::expected<topic_record, meta_errc> decode_topic(const pb::MetaTopic& m, group_check& groups) {
  auto id = topic_id::from_bytes(m.topic_id());
  auto configs = rules::decode_configs(m.configs());
  const std::int32_t rf = m.replication_factor();
  if (!rules::valid_topic_name(m.name()) || !id || id->is_zero() || !configs || rf < 1 ||
      rf > max_replication_factor || m.partitions_size() < 1 || m.partitions_size() > max_partitions_per_topic) {
    return std::unexpected(meta_errc::malformed_snapshot);
  }
  topic_record t{m.name(), *id, rf, std::move(*configs), {}, log_index{m.created_index()}};
  t.partitions.reserve(static_cast<std::size_t>(m.partitions_size()));
  for (int i = 0; i < m.partitions_size(); ++i) {
    auto p = decode_partition(m.partitions(i), i, rf, groups);
    if (!p) return std::unexpected(p.error());
    // A partition is created by its topic's record or a later CreatePartitions record.
    if (p->inc.value < t.created_index.value) return std::unexpected(meta_errc::malformed_snapshot);
    t.partitions.push_back(std::move(*p));
  }
  return t;
}

std::expected<meta_data, meta_errc> decode_snapshot(const pb::MetaSnapshot& s) {
  if (s.format_version() != snapshot_format_version || s.cluster_id().size() > max_id_bytes ||
      s.next_group_id() < first_partition_group_id.value ||
      static_cast<std::size_t>(s.brokers_size()) > max_brokers ||
      static_cast<std::size_t>(s.topics_size()) > max_topics ||
      s.next_producer_id() > static_cast<std::uint64_t>(INT64_MAX) ||
      static_cast<std::size_t>(s.scram_users_size()) > max_scram_users ||
      static_cast<std::size_t>(s.acls_size()) > max_acl_bindings) {
    return std::unexpected(meta_errc::malformed_snapshot);
  }
  meta_data d;
  d.applied = log_index{s.applied_index()};
  d.cluster_id = s.cluster_id();
  d.next_group = group_id{s.next_group_id()};
  d.next_producer_id = static_cast<std::int64_t>(s.next_producer_id());  // absent: 0 (older snapshots)
  std::set<std::string_view> uuids;
  for (const auto& m : s.brokers()) {
    auto b = decode_broker(m);
    if (!b || !uuids.insert(m.node_uuid()).second) return std::unexpected(meta_errc::malformed_snapshot);
    if (!d.brokers.emplace(b->id, std::move(*b)).second) return std::unexpected(meta_errc::malformed_snapshot);
  }
  for (const auto& m : s.acls()) {
    auto a = acls::decode(m);
    if (!a || !d.acls.insert(std::move(*a)).second) return std::unexpected(meta_errc::malformed_snapshot);
  }
  for (const auto& m : s.scram_users()) {
    auto u = scram::decode(m);
    if (!u || !d.scram_users.insert(std::move(*u)).second) return std::unexpected(meta_errc::malformed_snapshot);
  }
  auto cluster_configs = rules::decode_configs(s.cluster_configs());
  if (!cluster_configs) return std::unexpected(meta_errc::malformed_snapshot);
  d.cluster_configs = std::move(*cluster_configs);
  group_check groups{d.next_group, {}};
  for (const auto& m : s.topics()) {
    auto t = decode_topic(m, groups);
    if (!t) return std::unexpected(t.error());
    if (!d.topic_names.emplace(t->id, t->name).second) return std::unexpected(meta_errc::malformed_snapshot);
    std::string name = t->name;
    if (!d.topics.emplace(std::move(name), std::move(*t)).second) {
      return std::unexpected(meta_errc::malformed_snapshot);
    }
  }
  return d;
}

}  // namespace

std::string meta_state::snapshot() const {
  pb::MetaSnapshot s;
  s.set_format_version(snapshot_format_version);
  s.set_applied_index(d_.applied.value);
  s.set_cluster_id(d_.cluster_id);
  s.set_next_group_id(d_.next_group.value);
  for (const auto& [id, b] : d_.brokers) {
    auto* m = s.add_brokers();
    m->set_node_id(id.value());
    m->set_node_uuid(b.uuid);
    m->set_kafka_addr(b.kafka_addr);
    m->set_rpc_addr(b.rpc_addr);
    m->set_rack(b.rack);
    m->set_state(rules::encode_state(b.state));
    m->set_epoch(b.epoch.value);
    m->set_drained(b.drained);
    m->set_decommission(rules::encode_decommission(b.decommission));
    for (const auto& l : b.listeners) {
      auto* e = m->add_listeners();
      e->set_name(l.name);
      e->set_addr(l.addr);
    }
  }
  for (const auto& [name, t] : d_.topics) encode_topic(t, s.add_topics());
  s.set_next_producer_id(static_cast<std::uint64_t>(d_.next_producer_id));
  for (const auto& [user, creds] : d_.scram_users) scram::encode(user, creds, s.add_scram_users());
  for (const auto& a : d_.acls) acls::encode(a, s.add_acls());
  encode_configs(d_.cluster_configs, s.mutable_cluster_configs());
  // The message has no map fields, so its encoding is already canonical; asking for deterministic
  // output anyway keeps it so if a map is ever added.
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    s.SerializeToCodedStream(&coded);
  }
  return out;
}

std::expected<void, meta_errc> meta_state::restore(std::string_view bytes) {
  pb::MetaSnapshot s;
  if (bytes.size() > static_cast<std::size_t>(INT_MAX) ||
      !s.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return std::unexpected(meta_errc::malformed_snapshot);
  }
  auto d = decode_snapshot(s);
  if (!d) return std::unexpected(d.error());
  d_ = std::move(*d);
  return {};
}

}  // namespace chronik::metadata
