#include "metadata/meta_rules.h"

#include <algorithm>
#include <climits>

namespace chronik::metadata {

bool topic_id::is_zero() const {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::string topic_id::to_bytes() const { return std::string(bytes.begin(), bytes.end()); }

std::optional<topic_id> topic_id::from_bytes(std::string_view raw) {
  topic_id t;
  if (raw.size() != t.bytes.size()) return std::nullopt;
  std::transform(raw.begin(), raw.end(), t.bytes.begin(), [](char c) { return static_cast<std::uint8_t>(c); });
  return t;
}

std::string_view to_string(meta_errc e) {
  switch (e) {
    case meta_errc::malformed_command: return "malformed command";
    case meta_errc::cluster_id_mismatch: return "cluster id mismatch";
    case meta_errc::invalid_broker: return "invalid broker";
    case meta_errc::broker_uuid_conflict: return "broker uuid used by another broker id";
    case meta_errc::broker_uuid_mismatch: return "broker uuid mismatch";
    case meta_errc::unknown_broker: return "unknown broker";
    case meta_errc::too_many_brokers: return "too many brokers";
    case meta_errc::invalid_topic_name: return "invalid topic name";
    case meta_errc::invalid_topic_id: return "invalid topic id";
    case meta_errc::topic_already_exists: return "topic already exists";
    case meta_errc::topic_id_already_exists: return "topic id already exists";
    case meta_errc::unknown_topic: return "unknown topic";
    case meta_errc::too_many_topics: return "too many topics";
    case meta_errc::invalid_partitions: return "invalid partitions";
    case meta_errc::invalid_replication_factor: return "invalid replication factor";
    case meta_errc::invalid_replica_assignment: return "invalid replica assignment";
    case meta_errc::invalid_config: return "invalid config";
    case meta_errc::unknown_partition: return "unknown partition";
    case meta_errc::no_reassignment: return "no replica move in progress";
    case meta_errc::invalid_leader: return "leader is not a replica";
    case meta_errc::stale_leader_epoch: return "stale leader epoch";
    case meta_errc::malformed_snapshot: return "malformed snapshot";
    case meta_errc::producer_ids_exhausted: return "producer ids exhausted";
    case meta_errc::invalid_scram_credential: return "invalid SCRAM credential";
    case meta_errc::unknown_scram_credential: return "no such SCRAM credential";
    case meta_errc::too_many_scram_users: return "too many SCRAM users";
    case meta_errc::invalid_acl: return "invalid ACL binding";
    case meta_errc::too_many_acls: return "too many ACL bindings";
    case meta_errc::too_few_brokers: return "too few brokers would be left for a topic's replicas";
    case meta_errc::decommission_incomplete: return "a partition still has a replica on the broker";
    case meta_errc::wrong_decommission_state:
      return "the broker's decommission cannot go there (start from none, cancel or finish from moving)";
  }
  return "unknown meta error";
}

namespace rules {

bool valid_node_id(std::uint64_t id) { return id >= 1 && id <= static_cast<std::uint64_t>(INT32_MAX); }

bool valid_topic_name(std::string_view name) {
  if (!bounded(name, max_topic_name_bytes) || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

bool valid_broker(const broker_record& b) {
  const bool listeners_ok =
      b.listeners.size() <= max_listeners_per_broker &&
      std::all_of(b.listeners.begin(), b.listeners.end(), [](const listener_endpoint& l) {
        return bounded(l.name, max_field_bytes) && bounded(l.addr, max_field_bytes);
      });
  return valid_node_id(b.id.value()) && bounded(b.uuid, max_id_bytes) && bounded(b.kafka_addr, max_field_bytes) &&
         bounded(b.rpc_addr, max_field_bytes) && b.rack.size() <= max_field_bytes && listeners_ok;
}

std::expected<broker_state, meta_errc> decode_state(int raw) {
  // proto3 enums are open: any int arrives, so every value is checked, including 0 (unset).
  switch (raw) {
    case proto::META_BROKER_ALIVE: return broker_state::alive;
    case proto::META_BROKER_DEAD: return broker_state::dead;
    case proto::META_BROKER_DRAINING: return broker_state::draining;
    default: return std::unexpected(meta_errc::malformed_command);
  }
}

proto::MetaBrokerState encode_state(broker_state s) {
  switch (s) {
    case broker_state::alive: return proto::META_BROKER_ALIVE;
    case broker_state::dead: return proto::META_BROKER_DEAD;
    case broker_state::draining: return proto::META_BROKER_DRAINING;
  }
  return proto::META_BROKER_STATE_UNSPECIFIED;
}

std::expected<decommission_state, meta_errc> decode_decommission(int raw) {
  switch (raw) {
    case proto::META_DECOMMISSION_NONE: return decommission_state::none;
    case proto::META_DECOMMISSION_MOVING: return decommission_state::moving;
    case proto::META_DECOMMISSION_DONE: return decommission_state::done;
    default: return std::unexpected(meta_errc::malformed_command);
  }
}

proto::MetaDecommission encode_decommission(decommission_state s) {
  switch (s) {
    case decommission_state::none: return proto::META_DECOMMISSION_NONE;
    case decommission_state::moving: return proto::META_DECOMMISSION_MOVING;
    case decommission_state::done: return proto::META_DECOMMISSION_DONE;
  }
  return proto::META_DECOMMISSION_NONE;
}

std::expected<std::map<std::string, std::string>, meta_errc> decode_configs(
    const google::protobuf::RepeatedPtrField<proto::MetaConfigEntry>& entries) {
  if (static_cast<std::size_t>(entries.size()) > max_configs_per_topic) {
    return std::unexpected(meta_errc::invalid_config);
  }
  std::map<std::string, std::string> out;
  for (const auto& e : entries) {
    // A key twice in one record has no agreed winner, so the record is refused (Kafka answers
    // INVALID_REQUEST to the same thing).
    if (!bounded(e.key(), max_config_key_bytes) || e.value().size() > max_config_value_bytes ||
        !out.emplace(e.key(), e.value()).second) {
      return std::unexpected(meta_errc::invalid_config);
    }
  }
  return out;
}

}  // namespace rules
}  // namespace chronik::metadata
