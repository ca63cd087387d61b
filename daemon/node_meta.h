// The metadata a node gossips about itself (docs/architecture.md "Node metadata"), serialized as
// the Protobuf chronik.proto.NodeMeta into gossip::member::meta, and its decoded view for the admin
// API. Protobuf stays inside node_meta.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config.h"
#include "daemon/node_identity.h"
#include "metadata/core/bootstrap.h"
#include "metadata/meta_state.h"

namespace chronik::daemon {

inline constexpr std::string_view software_version = "0.1.0";

// Decoded NodeMeta, with the formation state as text ("fresh", "promised", "member").
struct node_meta_view {
  std::uint32_t node_id = 0;
  std::string node_uuid_hex;
  std::string cluster_name;
  std::uint32_t bootstrap_expect = 0;
  std::string formation;
  std::uint32_t promised_to = 0;
  std::string cluster_id_hex;
  std::vector<std::uint32_t> voters;
  std::string rpc_addr;
  std::string kafka_addr;
  std::string admin_addr;
  std::string version;
  metadata::formation formation_state;  // the bootstrap coordinator's view of this peer
  std::string joining_cluster;
  bool storage_failed = false;  // its WAL failed and it is fenced (docs/storage.md "Disk faults")
  // Its advertised Kafka listeners; empty: the one PLAINTEXT listener at kafka_addr.
  std::vector<metadata::listener_endpoint> kafka_listeners;
};

// NodeMeta bytes: identity, addresses "bind:port", version, the formation state (cluster ids
// and uuids are carried as hex text), and whether the node is fenced by a failed WAL.
std::string encode_node_meta(const node_config& cfg, const node_uuid& uuid, const metadata::formation& f,
                             const std::string& joining_cluster, bool storage_failed = false);
inline std::string encode_fresh_node_meta(const node_config& cfg, const node_uuid& uuid) {
  return encode_node_meta(cfg, uuid, {}, {});
}

// nullopt when the bytes are not a NodeMeta (e.g. an empty meta from a peer still starting).
std::optional<node_meta_view> decode_node_meta(std::string_view bytes);

}  // namespace chronik::daemon
