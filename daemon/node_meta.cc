#include "daemon/node_meta.h"

#include "gossip.pb.h"

namespace chronik::daemon {

namespace {

std::string formation_name(proto::FormationState state) {
  switch (state) {
    case proto::FORMATION_FRESH: return "fresh";
    case proto::FORMATION_PROMISED: return "promised";
    case proto::FORMATION_MEMBER: return "member";
    default: break;
  }
  // A newer peer may announce a state this build does not know; show it rather than hide it.
  return "unknown(" + std::to_string(static_cast<int>(state)) + ")";
}

}  // namespace

std::string encode_fresh_node_meta(const node_config& cfg, const node_uuid& uuid) {
  proto::NodeMeta meta;
  meta.set_node_id(cfg.node_id.value);
  meta.set_node_uuid(uuid.raw());
  meta.set_cluster_name(cfg.cluster_name);
  meta.set_bootstrap_expect(cfg.bootstrap_expect);
  meta.set_formation(proto::FORMATION_FRESH);
  meta.set_rpc_addr(cfg.rpc_addr());
  meta.set_kafka_addr(cfg.kafka_addr());
  meta.set_admin_addr(cfg.admin_addr());
  meta.set_version(std::string(software_version));
  std::string out;
  // Serializing a message of plain fields cannot fail short of running out of memory.
  meta.SerializeToString(&out);
  return out;
}

std::optional<node_meta_view> decode_node_meta(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  proto::NodeMeta meta;
  // ParseFromArray reports failure by return value; Protobuf does not throw here.
  if (!meta.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  node_meta_view view;
  view.node_id = meta.node_id();
  view.node_uuid_hex = to_hex(meta.node_uuid());
  view.cluster_name = meta.cluster_name();
  view.bootstrap_expect = meta.bootstrap_expect();
  view.formation = formation_name(meta.formation());
  view.promised_to = meta.promised_to();
  view.cluster_id_hex = to_hex(meta.cluster_id());
  view.voters.assign(meta.voters().begin(), meta.voters().end());
  view.rpc_addr = meta.rpc_addr();
  view.kafka_addr = meta.kafka_addr();
  view.admin_addr = meta.admin_addr();
  view.version = meta.version();
  return view;
}

}  // namespace chronik::daemon
