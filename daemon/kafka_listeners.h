// The node's Kafka listeners as configured (docs/config.md "Kafka listeners and TLS"; Kafka's
// `listeners`, `advertised.listeners`, `listener.security.protocol.map` and
// `inter.broker.listener.name`, KIP-103), and the TLS files of the TLS listeners.
//
//   listeners = ["PLAINTEXT://127.0.0.1:9092", "SSL://0.0.0.0:9094"]
//   advertised_listeners = ["PLAINTEXT://127.0.0.1:9092", "SSL://kafka-1.example.com:9094"]
//   listener_security_protocol_map = ["INTERNAL:PLAINTEXT", "EXTERNAL:SASL_SSL"]
//   inter_broker_listener_name = "PLAINTEXT"
//
// Without `listeners` the node has today's single PLAINTEXT listener on bind:kafka_port,
// advertised as advertise:kafka_port. The config
// loader (config.cc) hands the raw keys here and calls resolve_kafka_listeners once every key is
// read; every failure is one line "config error: <key>: <problem>".
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka/server/security_protocol.h"
#include "kafka/server/server_config.h"

namespace chronik::daemon {

// One listener as the node binds it and as clients are told to reach it.
struct kafka_listener {
  std::string name;  // "PLAINTEXT", "SSL", or a name of the protocol map ("INTERNAL")
  kafka::security_protocol protocol = kafka::security_protocol::plaintext;
  std::string bind_ip;  // IPv4, or 0.0.0.0 for every interface
  std::uint16_t port = 0;
  std::string advertised_host;  // what Metadata answers: an IPv4 address or a host name
  std::uint16_t advertised_port = 0;

  std::string advertised() const { return advertised_host + ":" + std::to_string(advertised_port); }
};

struct kafka_listener_settings {
  // As given; absent: one PLAINTEXT listener on bind:kafka_port, advertised as such.
  std::optional<std::vector<std::string>> listeners;
  // As given; absent, or a listener missing from it: the listener's own address (bind for 0.0.0.0).
  std::optional<std::vector<std::string>> advertised_listeners;
  // "NAME:PROTOCOL" entries; the four protocol names always map to themselves.
  std::vector<std::string> protocol_map;
  // The listener other brokers reach this one on (transaction markers, the registered
  // kafka_addr). It must speak PLAINTEXT: the brokers' own Kafka client has no TLS or SASL. Empty:
  // "PLAINTEXT" if there is such a listener, else the first one.
  std::string inter_broker_listener_name;
  // TLS (docs/security.md "Kafka listeners and TLS"): PEM files, needed once a listener uses TLS.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_ca_file;  // CAs that client certificates must chain to
  kafka::tls_client_auth tls_client_auth = kafka::tls_client_auth::none;

  // Filled by resolve_kafka_listeners, in configuration order.
  std::vector<kafka_listener> resolved;
  std::size_t inter_broker = 0;  // index into resolved
};

// Keys this file owns: listeners, advertised_listeners, listener_security_protocol_map,
// inter_broker_listener_name, kafka_tls_cert_file, kafka_tls_key_file, kafka_tls_ca_file,
// kafka_tls_client_auth.
bool is_kafka_listener_key(std::string_view key);
// Stores one key's value (a string, or an array of strings for the three list keys). The error is
// the problem only; config.cc adds the key and the flag.
std::expected<void, std::string> set_kafka_listener_key(kafka_listener_settings& s, std::string_view key,
                                                        const std::string& value);
std::expected<void, std::string> set_kafka_listener_key(kafka_listener_settings& s, std::string_view key,
                                                        const std::vector<std::string>& value);

// Parses, checks and fills `resolved`; `other_ports` are the node's other ports by key, which no
// listener may take. A listener on `bind` or 0.0.0.0 advertises `advertise_ip` (the node's
// `advertise`, resolved) unless advertised_listeners names another address. The error is one whole
// "config error: <key>: <problem>" line.
std::expected<void, std::string> resolve_kafka_listeners(
    kafka_listener_settings& s, const std::string& bind, const std::string& advertise_ip, std::uint16_t kafka_port,
    const std::vector<std::pair<std::string_view, std::uint16_t>>& other_ports);

// "NAME://host:port" split (Kafka's listener syntax; host may be empty). The error names the problem.
struct listener_address {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
};
std::expected<listener_address, std::string> parse_listener_address(std::string_view text);

// The listener specs the Kafka server binds, with the TLS settings.
kafka::server_config kafka_server_listeners(const kafka_listener_settings& s);

}  // namespace chronik::daemon
