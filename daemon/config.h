// The daemon's configuration: one struct for the node (docs/design.md "Config"), loaded from a TOML
// file and overridden by command-line flags. docs/config.md documents every key.
//
// Precedence, lowest first:
//   1. built-in defaults, and the gossip preset (lan unless `preset` or --preset says otherwise);
//   2. the TOML file: top-level keys, and [gossip] keys that override single gossip::config fields;
//   3. command-line flags of `chronik-server start`.
//
// Every failure is one line "config error: <key>: <problem>" so that main can print it and exit 2.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/acl/acl_authorizer.h"
#include "gossip/core/config.h"
#include "gossip/core/types.h"
#include "daemon/kafka_listeners.h"
#include "gossip/keyring/keyring.h"
#include "kafka/sasl/sasl_session.h"

namespace chronik::daemon {

// Named sets of gossip timings (gossip::config::lan/wan/local).
enum class gossip_preset : std::uint8_t { lan, wan, local };

std::string_view to_string(gossip_preset preset);
std::optional<gossip_preset> parse_preset(std::string_view text);
gossip::config preset_config(gossip_preset preset);
// voter_replace_after_ms's default for a preset: about ten times the preset's dead-detection time,
// so that a pause or a restart does not cost a voter.
std::uint32_t preset_voter_replace_after_ms(gossip_preset preset);

// Log verbosity; mapped onto spdlog levels by daemon/logging.h.
enum class log_level : std::uint8_t { trace, debug, info, warn, error, critical, off };
// How log lines are written (docs/operations.md "Logs"): one text line, or one JSON object per line.
enum class log_format : std::uint8_t { text, json };

std::string_view to_string(log_level level);
std::optional<log_level> parse_log_level(std::string_view text);

struct node_config {
  // chronik-server start --replace-node (a command-line act, not a config-file key): this node
  // may take over its node id from a dead or departed holder at another address
  // (docs/operations.md "Replacing a node"). Default false.
  bool replace_node = false;
  // The configured node id, unique in the cluster; 0 is reserved for "none". Default 1.
  gossip::node_id node_id{1};
  // Nodes only gossip with members of the same cluster name. Default "chronik".
  std::string cluster_name = "chronik";
  // IPv4 address every listener binds; 0.0.0.0 binds every interface and then needs `advertise`.
  // Default 127.0.0.1 (docs/config.md "Addresses").
  std::string bind = "127.0.0.1";
  // The address peers and clients are told to use for gossip, Raft RPC and the default Kafka
  // listener: an IPv4 address or a host name, resolved to IPv4 when the config is loaded.
  // Default (empty): `bind`.
  std::string advertise;
  // "HOST:PORT" advertised for gossip / Raft RPC instead of advertise:gossip_port /
  // advertise:rpc_port, where a port is mapped (NAT, container port publishing). Default empty.
  std::string gossip_advertise;
  std::string rpc_advertise;
  // Filled by load_node_config (daemon/node_addresses.h): numeric forms of the three above.
  std::string advertise_ip;
  std::string advertised_gossip;
  std::string advertised_rpc;
  std::uint16_t gossip_port = 7946;  // UDP + TCP, SWIM gossip
  std::uint16_t rpc_port = 9093;     // Cap'n Proto cluster RPC
  std::uint16_t kafka_port = 9092;   // Kafka protocol
  std::uint16_t admin_port = 9644;   // admin HTTP (/health, /v1/members)
  // IPv4 address the admin HTTP endpoint binds and advertises (docs/security.md "Admin HTTP").
  // Default (empty): `bind` when that is a loopback address (127.0.0.0/8), else 127.0.0.1, so the
  // admin endpoint is reachable from the node's host only unless configured otherwise.
  std::string admin_bind;
  // File holding the admin bearer token (mode 0600; a looser mode is warned about). The same file
  // on every node gives the cluster-wide token that keyring propagation needs. Default none: the
  // token is `<data_dir>/admin_token`, generated at the first start.
  std::optional<std::filesystem::path> admin_token_file;
  // Gossip addresses "HOST:PORT" to join through (HOST an IPv4 address or a host name, resolved
  // when the config is loaded); any order, any of them may be down. Default none.
  std::vector<std::string> seeds;
  // Holds node_uuid and, later, Raft state. Default "./data/node-<node_id>".
  std::filesystem::path data_dir;
  // Fresh nodes that must see each other before the cluster bootstraps. Default 3.
  std::uint32_t bootstrap_expect = 3;
  // `__meta` voters the controller keeps (docs/design.md "Formation" property 5): 0 is automatic, 3
  // voters, or 5 once 5 or more brokers are registered; otherwise an odd number 1..9. Default 0.
  std::uint32_t meta_voters = 0;
  // How long SWIM must have confirmed a `__meta` voter dead (or left) before the controller
  // replaces it with a live learner (property 6). Default by preset: lan 10000, wan 30000,
  // local 1000 ms; 100..86400000.
  std::uint32_t voter_replace_after_ms = 10'000;
  // `__meta` entries applied between two snapshots of its state machine; each snapshot compacts
  // the log before it (Raft paper §7). 4..1000000000, default 4096.
  std::uint64_t meta_snapshot_entries = 4096;
  // Kafka: Metadata requests create the unknown topics they name (Kafka's
  // auto.create.topics.enable). Default true.
  bool auto_create_topics = true;
  // Kafka: partitions of a topic created without a count (num.partitions). 1..10000, default 1.
  std::int32_t num_partitions = 1;
  // Kafka: replication factor of a topic created without one, capped at the live brokers
  // (default.replication.factor; Kafka's default of 1 would defeat Raft). 1..16, default 3.
  std::int16_t default_replication_factor = 3;
  // Kafka: bytes of recently applied record batches kept in memory for fetches, shared by every
  // partition on the node (kafka/partition/entry_cache.h); 0 serves every fetch from the WAL.
  // 0..64 GiB, default 32 MiB: at 100 MB/s of produce, the last third of a second, where consumers
  // that keep up read. The bytes behind it are in the page cache as WAL reads (Kafka leaves its
  // whole log there); 256 MiB made most of a broker's RSS under load (docs/performance.md).
  std::uint64_t fetch_cache_bytes = 32ull << 20;
  // Kafka: group.initial.rebalance.delay.ms, how long the first rebalance of an empty consumer
  // group waits for more members to join (docs/kafka.md "Consumer groups"). 0..300000; unset: 3000
  // under the lan and wan presets, 0 under local (as Kafka's shipped server.properties sets it).
  std::optional<std::int32_t> group_initial_rebalance_delay_ms;
  // Kafka: replica.lag.time.max.ms. A follower that has not caught up with its partition leader's
  // log for this long leaves the in-sync replicas (docs/kafka.md "In-sync replicas").
  // 100..3600000, default 30000.
  std::int64_t replica_lag_time_max_ms = 30'000;
  // Kafka listener bounds (kafka/server/server_config.h; docs/kafka.md "Server"):
  // largest request frame (socket.request.max.bytes). 64..1 GiB, default 100 MiB.
  std::uint64_t kafka_max_request_bytes = 100ull << 20;
  // Node-wide bytes of requests read but not answered; at the bound connections stop reading
  // until answers leave. At least kafka_max_request_bytes; ..64 GiB, default 256 MiB.
  std::uint64_t kafka_max_queued_request_bytes = 256ull << 20;
  // Requests one Kafka connection may have read and unanswered; at the bound it stops reading.
  // 1..1024, default 8.
  std::uint64_t kafka_max_in_flight_per_connection = 8;
  // Open Kafka connections in total, and from one client IP (max.connections.per.ip). Over
  // either, a new connection is closed at once. 1..1000000, defaults 4096 and 1024.
  std::uint64_t kafka_max_connections = 4096;
  std::uint64_t kafka_max_connections_per_ip = 1024;
  // A Kafka connection idle this long is closed (connections.max.idle.ms). 1000..604800000 (a
  // week), default 600000 (10 minutes).
  std::uint64_t kafka_connections_max_idle_ms = 600'000;
  // Topics one Metadata request may auto-create, and the node may auto-create per second; the
  // rest are answered UNKNOWN_TOPIC_OR_PARTITION and clients retry. 1..10000, defaults 16, 32.
  std::uint64_t auto_create_topics_max_per_request = 16;
  std::uint64_t auto_create_topics_max_per_second = 32;
  // Durable consumer groups (docs/kafka.md "Durable groups"): the internal topic
  // `__consumer_offsets`, created on the first FindCoordinator, gets this many partitions
  // (offsets.topic.num.partitions; 1..1000, default 50) with this many replicas, capped at the live
  // brokers (offsets.topic.replication.factor; 1..16, default 3). Fixed once the topic exists.
  std::uint64_t offsets_topic_num_partitions = 50;
  std::uint64_t offsets_topic_replication_factor = 3;
  // offsets.retention.minutes (KIP-211): committed offsets of a group without members expire this
  // long after it became empty. 1..5256000 (ten years), default 10080 (7 days).
  std::uint64_t offsets_retention_minutes = 10'080;
  // producer.id.expiration.ms (docs/kafka.md "Idempotent producers"): a partition forgets an
  // idempotent producer that wrote nothing to it for this long. 1000..31536000000 (a year), default
  // 86400000 (1 day, Kafka's).
  std::uint64_t producer_id_expiration_ms = 86'400'000;
  // Transactions (docs/transactions.md "The `__transaction_state` topic"): the internal topic
  // `__transaction_state`, created on the first FindCoordinator for a transactional id, gets this
  // many partitions (transaction.state.log.num.partitions; 1..1000, default 50) with this many
  // replicas, capped at the live brokers (transaction.state.log.replication.factor; 1..16, default
  // 3). Fixed once the topic exists.
  std::uint64_t transaction_state_log_num_partitions = 50;
  std::uint64_t transaction_state_log_replication_factor = 3;
  // transaction.max.timeout.ms: InitProducerId asking for a longer transaction timeout is refused.
  // 1..2147483647, default 900000 (15 min).
  std::uint64_t transaction_max_timeout_ms = 900'000;
  // transactional.id.expiration.ms: a transactional id idle this long is forgotten.
  // 1000..31536000000, default 604800000 (7 days).
  std::uint64_t transactional_id_expiration_ms = 604'800'000;
  // Authorization (docs/security.md "Authorization: ACLs"). super_users: principals allowed
  // everything whatever the ACLs say ("User:admin"; Kafka's super.users). Default none.
  std::vector<std::string> super_users;
  // no_acl_found: the decision for a resource that has no ACL binding at all (Kafka's
  // allow.everyone.if.no.acl.found, per listener): "allow_unauthenticated" (default) allows
  // requests from listeners that do not authenticate (User:ANONYMOUS) and denies authenticated
  // ones; "allow" allows everyone; "deny" denies everyone but super users.
  kafka::acl::no_acl_rule no_acl_found = kafka::acl::no_acl_rule::allow_unauthenticated;
  // SASL on SASL_PLAINTEXT / SASL_SSL listeners (docs/security.md "Client authentication: SASL"):
  // the mechanisms offered, any of "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512" (Kafka's
  // sasl.enabled.mechanisms), at least one, no repeats. PLAIN checks passwords against the same
  // SCRAM credentials (`chronik-server user create`). Default all three.
  std::vector<kafka::sasl::sasl_mechanism> sasl_enabled_mechanisms{
      kafka::sasl::sasl_mechanism::plain, kafka::sasl::sasl_mechanism::scram_sha_256,
      kafka::sasl::sasl_mechanism::scram_sha_512};
  // Gossip encryption (docs/security.md "Gossip encryption"): base64 of 32 random bytes (an
  // AES-256 key, `chronik-server keygen`). Installed into the data dir's keyring and made its
  // primary at start. Default none (then a keyring persisted earlier still applies).
  std::optional<gossip::gossip_key> gossip_key;
  // Consul's rolling switch-on, meaningful only with a keyring. Default true: with a key nothing
  // unencrypted is sent (outgoing) or accepted (incoming); false sends, or also accepts, plaintext.
  bool gossip_verify_incoming = true;
  bool gossip_verify_outgoing = true;
  // Kafka listeners and their TLS files (daemon/kafka_listeners.h; docs/config.md "Kafka listeners
  // and TLS"). Default: one PLAINTEXT listener on bind:kafka_port; with `listeners` set,
  // kafka_port is not used.
  kafka_listener_settings kafka_listeners;
  // Mutual TLS between nodes on the RPC port (docs/security.md "Between nodes: mutual TLS"): PEM
  // files of the cluster CA, this node's certificate (CN "chronik-node-<node_id>", made by
  // `chronik-server certs`) and its unencrypted private key. All three or none; none keeps
  // plaintext RPC, where anyone who reaches the port is trusted. Default none.
  std::filesystem::path rpc_tls_ca_file;
  std::filesystem::path rpc_tls_cert_file;
  std::filesystem::path rpc_tls_key_file;
  // The rolling switch-on, as for gossip; meaningful only with the files. Default true: only TLS
  // connections with a certificate from the CA are served (incoming) and peers are dialled with
  // TLS (outgoing); false also serves plaintext, or also dials plaintext.
  bool rpc_tls_verify_incoming = true;
  bool rpc_tls_verify_outgoing = true;
  // The three files' PEM text, read and checked by load_node_config (daemon/node_certs.h: the key
  // is the certificate's, the certificate verifies against the CA and names node_id). Not keys.
  std::string rpc_tls_ca_pem;
  std::string rpc_tls_cert_pem;
  std::string rpc_tls_key_pem;
  gossip_preset preset = gossip_preset::lan;
  log_level level = log_level::info;
  // `log_format` (--log-format): text (default) or json.
  log_format format = log_format::text;
  // [log_levels]: a level per module ("raft", "gossip", "kafka", ...) over `log_level`. Default
  // none. Reloaded on SIGHUP with log_level.
  std::map<std::string, log_level, std::less<>> module_levels;
  // Starts as preset_config(preset); [gossip] keys override single fields.
  gossip::config gossip = gossip::config::lan();

  // The advertised gossip and RPC addresses, once load_node_config has resolved them; bind:port
  // before (and in tests that build a config by hand).
  std::string gossip_addr() const {
    return advertised_gossip.empty() ? bind + ":" + std::to_string(gossip_port) : advertised_gossip;
  }
  std::string rpc_addr() const { return advertised_rpc.empty() ? rpc_listen_addr() : advertised_rpc; }
  // Where the Raft transport listens.
  std::string rpc_listen_addr() const { return bind + ":" + std::to_string(rpc_port); }
  // The advertised address of the inter-broker listener (the one registered as kafka_addr), once
  // load_node_config has resolved the listeners; bind:kafka_port before.
  std::string kafka_addr() const {
    if (kafka_listeners.resolved.empty()) return bind + ":" + std::to_string(kafka_port);
    return kafka_listeners.resolved[kafka_listeners.inter_broker].advertised();
  }
  std::string admin_ip() const;
  std::string admin_addr() const { return admin_ip() + ":" + std::to_string(admin_port); }
};

// Values given on the command line. Numbers stay wide (int64) so that the loader, not the CLI
// parser, range-checks them and names the key the same way it does for the file.
struct cli_overrides {
  std::optional<std::int64_t> node_id;
  std::optional<std::string> bind;
  std::optional<std::string> advertise;
  std::optional<std::string> gossip_advertise;
  std::optional<std::string> rpc_advertise;
  std::optional<std::int64_t> gossip_port;
  std::optional<std::int64_t> rpc_port;
  std::optional<std::int64_t> kafka_port;
  std::optional<std::int64_t> admin_port;
  std::optional<std::string> admin_bind;
  std::optional<std::string> admin_token_file;
  std::vector<std::string> seeds;  // non-empty replaces the file's seeds
  std::optional<std::string> data_dir;
  std::optional<std::int64_t> bootstrap_expect;
  std::optional<std::int64_t> meta_voters;
  std::optional<std::int64_t> voter_replace_after_ms;
  std::optional<std::int64_t> meta_snapshot_entries;
  std::optional<std::string> cluster_name;
  std::optional<std::string> preset;
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
  std::optional<std::string> gossip_key;
};

// Loads, overrides and validates. `file` absent means defaults + flags only.
std::expected<node_config, std::string> load_node_config(std::optional<std::filesystem::path> file,
                                                         const cli_overrides& cli);

// Checks "a.b.c.d" (dotted-quad IPv4, no host names).
bool is_ipv4(std::string_view text);

// Splits "IP:PORT" (IPv4, port 1..65535); the error names the problem, not the key.
struct ipv4_endpoint {
  std::string ip;
  std::uint16_t port = 0;
};
std::expected<ipv4_endpoint, std::string> parse_ipv4_endpoint(std::string_view text);

}  // namespace chronik::daemon
