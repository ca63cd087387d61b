#include "metadata/meta_commands.h"

#include "meta.pb.h"
#include "metadata/meta_acls.h"
#include "metadata/meta_rules.h"

namespace chronik::metadata::commands {
namespace {

namespace pb = chronik::proto;

std::string bytes_of(const pb::MetaCommand& cmd) {
  std::string out;
  cmd.SerializeToString(&out);
  return out;
}

void fill_ref(const topic_ref& topic, pb::MetaTopicRef* out) {
  if (const auto* name = std::get_if<std::string>(&topic)) {
    out->set_name(*name);
  } else {
    out->set_topic_id(std::get<topic_id>(topic).to_bytes());
  }
}

// std::map iterates by key, so equal inputs always give equal command bytes.
void fill_configs(const std::map<std::string, std::string>& configs,
                  google::protobuf::RepeatedPtrField<pb::MetaConfigEntry>* out) {
  for (const auto& [key, value] : configs) {
    auto* e = out->Add();
    e->set_key(key);
    e->set_value(value);
  }
}

template <typename Change>
void fill_change(const std::map<std::string, std::string>& set, const std::vector<std::string>& remove,
                 const std::vector<list_edit>& edits, Change* m) {
  fill_configs(set, m->mutable_set());
  for (const auto& key : remove) m->add_remove(key);
  for (const auto& e : edits) {
    auto* x = m->add_edits();
    x->set_key(e.key);
    x->set_append(e.append);
    for (const auto& item : e.items) x->add_items(item);
    x->set_base(e.base);
  }
}

}  // namespace

std::string set_cluster_id(std::string_view cluster_id) {
  pb::MetaCommand cmd;
  cmd.mutable_set_cluster_id()->set_cluster_id(std::string(cluster_id));
  return bytes_of(cmd);
}

std::string register_broker(const broker_registration& b) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_register_broker();
  m->set_node_id(b.id.value());
  m->set_node_uuid(b.uuid);
  m->set_kafka_addr(b.kafka_addr);
  m->set_rpc_addr(b.rpc_addr);
  m->set_rack(b.rack);
  for (const auto& l : b.listeners) {
    auto* e = m->add_listeners();
    e->set_name(l.name);
    e->set_addr(l.addr);
  }
  return bytes_of(cmd);
}

std::string unregister_broker(node_id id, std::string_view uuid) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_unregister_broker();
  m->set_node_id(id.value());
  m->set_node_uuid(std::string(uuid));
  return bytes_of(cmd);
}

std::string set_broker_state(node_id id, std::string_view uuid, broker_state state) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_set_broker_state();
  m->set_node_id(id.value());
  m->set_node_uuid(std::string(uuid));
  m->set_state(rules::encode_state(state));
  return bytes_of(cmd);
}

std::string set_broker_drained(node_id id, drain_state state) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_set_broker_drained();
  m->set_node_id(id.value());
  m->set_drained(state == drain_state::drained);
  return bytes_of(cmd);
}

std::string set_broker_decommission(node_id id, std::string_view uuid, decommission_state state) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_set_broker_decommission();
  m->set_node_id(id.value());
  m->set_node_uuid(std::string(uuid));
  m->set_state(rules::encode_decommission(state));
  return bytes_of(cmd);
}

std::string create_topic(const topic_spec& spec) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_create_topic();
  m->set_name(spec.name);
  m->set_topic_id(spec.id.to_bytes());
  m->set_partitions(spec.partitions);
  m->set_replication_factor(spec.replication_factor);
  fill_configs(spec.configs, m->mutable_configs());
  for (std::size_t p = 0; p < spec.assignments.size(); ++p) {
    auto* a = m->add_assignments();
    a->set_partition(static_cast<std::int32_t>(p));
    for (node_id r : spec.assignments[p]) a->add_replicas(r.value());
  }
  return bytes_of(cmd);
}

std::string delete_topic(const topic_ref& topic) {
  pb::MetaCommand cmd;
  fill_ref(topic, cmd.mutable_delete_topic()->mutable_topic());
  return bytes_of(cmd);
}

std::string set_partition_leader(const topic_id& topic, std::int32_t partition, node_id leader, term_id epoch,
                                 const std::vector<node_id>& isr) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_set_partition_leader();
  m->set_topic_id(topic.to_bytes());
  m->set_partition(partition);
  m->set_leader(leader.value());
  m->set_leader_epoch(epoch.value);
  for (node_id r : isr) m->add_isr(r.value());
  return bytes_of(cmd);
}

std::string create_partitions(const topic_ref& topic, std::int32_t count, const replica_assignment& assignments,
                              std::uint64_t nonce) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_create_partitions();
  fill_ref(topic, m->mutable_topic());
  m->set_count(count);
  // The rows name the last partitions of the new count: current count + i, when they are as many as
  // the partitions added (the appliers refuse them otherwise).
  const auto first = static_cast<std::int64_t>(count) - static_cast<std::int64_t>(assignments.size());
  for (std::size_t i = 0; i < assignments.size(); ++i) {
    auto* a = m->add_assignments();
    a->set_partition(static_cast<std::int32_t>(first + static_cast<std::int64_t>(i)));
    for (node_id r : assignments[i]) a->add_replicas(r.value());
  }
  m->set_nonce(nonce);
  return bytes_of(cmd);
}

std::string alter_topic_config(const topic_ref& topic, const std::map<std::string, std::string>& set,
                               const std::vector<std::string>& remove, const std::vector<list_edit>& edits) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_alter_topic_config();
  fill_ref(topic, m->mutable_topic());
  fill_change(set, remove, edits, m);
  return bytes_of(cmd);
}

std::string alter_cluster_config(const std::map<std::string, std::string>& set, const std::vector<std::string>& remove,
                                 const std::vector<list_edit>& edits) {
  pb::MetaCommand cmd;
  fill_change(set, remove, edits, cmd.mutable_alter_cluster_config());
  return bytes_of(cmd);
}

std::string elect_leaders(const topic_id& topic, const std::vector<std::int32_t>& partitions, std::int64_t expires_at_ms,
                          std::uint64_t nonce) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_elect_leaders();
  m->set_topic_id(topic.to_bytes());
  for (std::int32_t p : partitions) m->add_partitions(p);
  m->set_expires_at_ms(expires_at_ms);
  m->set_nonce(nonce);
  return bytes_of(cmd);
}

std::string alter_reassignment(const topic_id& topic, std::int32_t partition,
                               const std::optional<std::vector<node_id>>& replicas, std::uint64_t nonce) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_alter_reassignment();
  m->set_topic_id(topic.to_bytes());
  m->set_partition(partition);
  if (replicas) {
    for (node_id r : *replicas) m->add_replicas(r.value());
  } else {
    m->set_cancel(true);
  }
  m->set_nonce(nonce);
  return bytes_of(cmd);
}

std::string complete_reassignment(const topic_id& topic, std::int32_t partition, incarnation inc, log_index move_id,
                                  const std::vector<node_id>& replicas) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_complete_reassignment();
  m->set_topic_id(topic.to_bytes());
  m->set_partition(partition);
  m->set_incarnation(inc.value);
  for (node_id r : replicas) m->add_replicas(r.value());
  m->set_move_id(move_id.value);
  return bytes_of(cmd);
}

std::string allocate_producer_ids(node_id id, std::uint64_t nonce) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_allocate_producer_ids();
  m->set_node_id(id.value());
  m->set_nonce(nonce);
  return bytes_of(cmd);
}

std::string create_acls(const std::vector<acl_record>& bindings) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_create_acls();
  for (const auto& a : bindings) acls::encode(a, m->add_bindings());
  return bytes_of(cmd);
}

std::string delete_acls(const std::vector<acl_record>& bindings) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_delete_acls();
  for (const auto& a : bindings) acls::encode(a, m->add_bindings());
  return bytes_of(cmd);
}

std::string alter_scram_credentials(std::string_view user, const std::vector<scram_record>& upsertions,
                                    const std::vector<std::int8_t>& deletions, std::uint64_t nonce) {
  pb::MetaCommand cmd;
  auto* m = cmd.mutable_alter_scram_credentials();
  m->set_user(std::string(user));
  for (const auto& r : upsertions) {
    auto* k = m->add_upsertions();
    k->set_mechanism(r.mechanism);
    k->set_salt(r.salt);
    k->set_iterations(r.iterations);
    k->set_stored_key(r.stored_key);
    k->set_server_key(r.server_key);
  }
  for (std::int8_t d : deletions) m->add_deletions(d);
  m->set_nonce(nonce);
  return bytes_of(cmd);
}

}  // namespace chronik::metadata::commands
