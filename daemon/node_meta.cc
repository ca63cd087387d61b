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

std::string encode_node_meta(const node_config& cfg, const node_uuid& uuid, const metadata::formation& f,
                             const std::string& joining_cluster, bool storage_failed) {
  proto::NodeMeta meta;
  meta.set_node_id(cfg.node_id.value());
  meta.set_node_uuid(uuid.raw());
  meta.set_cluster_name(cfg.cluster_name);
  meta.set_bootstrap_expect(cfg.bootstrap_expect);
  switch (f.state) {
    case metadata::formation::kind::fresh: meta.set_formation(proto::FORMATION_FRESH); break;
    case metadata::formation::kind::promised: meta.set_formation(proto::FORMATION_PROMISED); break;
    case metadata::formation::kind::member: meta.set_formation(proto::FORMATION_MEMBER); break;
  }
  meta.set_promised_to(f.founder.id.value());
  meta.set_founder_uuid(f.founder.uuid);
  meta.set_round(f.round);
  meta.set_cluster_id(f.cluster_id);
  for (const auto& v : f.voters) {
    meta.add_voters(v.id.value());
    meta.add_voter_uuids(v.uuid);
  }
  meta.set_joining_cluster(joining_cluster);
  meta.set_rpc_addr(cfg.rpc_addr());
  meta.set_kafka_addr(cfg.kafka_addr());
  meta.set_admin_addr(cfg.admin_addr());
  meta.set_version(std::string(software_version));
  meta.set_storage_failed(storage_failed);
  // The default (one PLAINTEXT listener at kafka_addr) goes unsaid: gossip metadata is small.
  const auto& listeners = cfg.kafka_listeners.resolved;
  const bool default_only = listeners.size() == 1 && listeners[0].name == "PLAINTEXT" &&
                            listeners[0].protocol == kafka::security_protocol::plaintext &&
                            listeners[0].advertised() == cfg.kafka_addr();
  if (!default_only) {
    for (const auto& l : listeners) {
      auto* e = meta.add_kafka_listeners();
      e->set_name(l.name);
      e->set_addr(l.advertised());
    }
  }
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
  view.cluster_id_hex = meta.cluster_id();
  view.voters.assign(meta.voters().begin(), meta.voters().end());
  auto& f = view.formation_state;
  switch (meta.formation()) {
    case proto::FORMATION_PROMISED: f.state = metadata::formation::kind::promised; break;
    case proto::FORMATION_MEMBER: f.state = metadata::formation::kind::member; break;
    default: f.state = metadata::formation::kind::fresh; break;
  }
  f.founder = {chronik::node_id{meta.promised_to()}, meta.founder_uuid()};
  f.round = meta.round();
  f.cluster_id = meta.cluster_id();
  // Voters without a matching uuid (a malformed or older peer) are dropped rather than guessed.
  if (meta.voter_uuids_size() == meta.voters_size())
    for (int i = 0; i < meta.voters_size(); ++i) f.voters.push_back({chronik::node_id{meta.voters(i)}, meta.voter_uuids(i)});
  view.joining_cluster = meta.joining_cluster();
  view.rpc_addr = meta.rpc_addr();
  view.kafka_addr = meta.kafka_addr();
  view.admin_addr = meta.admin_addr();
  view.version = meta.version();
  view.storage_failed = meta.storage_failed();
  // Bounded by gossip's max_meta_bytes already; a peer's list beyond __meta's bound is cut there.
  for (const auto& l : meta.kafka_listeners()) view.kafka_listeners.push_back({l.name(), l.addr()});
  return view;
}

}  // namespace chronik::daemon
