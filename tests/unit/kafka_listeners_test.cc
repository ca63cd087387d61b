// Kafka listeners (docs/config.md "Kafka listeners and TLS"): `listeners`, `advertised_listeners`,
// `listener_security_protocol_map`, `inter_broker_listener_name` and the kafka_tls_* keys through
// load_node_config (defaults, parsing, one error line per bad key), and the endpoint a client is
// told for the listener its request arrived on (kafka/handlers/listener_endpoints.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "daemon/config.h"
#include "daemon/node_meta.h"
#include "kafka/handlers/listener_endpoints.h"

namespace chronik::daemon {
namespace {

namespace fs = std::filesystem;

class kafka_listeners_test : public ::testing::Test {
 protected:
  kafka_listeners_test() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("chronik-listeners-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
    for (const char* f : {"cert.pem", "key.pem", "ca.pem"}) std::ofstream(dir_ / f) << "x";
  }
  ~kafka_listeners_test() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::expected<node_config, std::string> load(const std::string& toml) {
    const auto file = dir_ / "node.toml";
    std::ofstream(file, std::ios::trunc) << "bind = \"10.0.0.5\"\n" << toml;
    return load_node_config(file, {});
  }
  std::string error_of(const std::string& toml) {
    auto cfg = load(toml);
    EXPECT_FALSE(cfg.has_value()) << "accepted: " << toml;
    return cfg ? std::string() : cfg.error();
  }
  std::string tls_files() const {
    return "kafka_tls_cert_file = \"" + (dir_ / "cert.pem").string() + "\"\nkafka_tls_key_file = \"" +
           (dir_ / "key.pem").string() + "\"\n";
  }

  fs::path dir_;
};

TEST_F(kafka_listeners_test, without_listeners_the_node_has_one_plaintext_listener_on_bind_and_kafka_port) {
  auto cfg = load("kafka_port = 19092\n");
  ASSERT_TRUE(cfg) << cfg.error();
  const auto& r = cfg->kafka_listeners.resolved;
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].name, "PLAINTEXT");
  EXPECT_EQ(r[0].protocol, kafka::security_protocol::plaintext);
  EXPECT_EQ(r[0].bind_ip, "10.0.0.5");
  EXPECT_EQ(r[0].port, 19092);
  EXPECT_EQ(r[0].advertised(), "10.0.0.5:19092");
  EXPECT_EQ(cfg->kafka_addr(), "10.0.0.5:19092");
  // Gossip carries nothing for the default: it is implied by kafka_addr.
  const auto meta = decode_node_meta(encode_fresh_node_meta(*cfg, node_uuid{}));
  ASSERT_TRUE(meta);
  EXPECT_TRUE(meta->kafka_listeners.empty());
}

TEST_F(kafka_listeners_test, listeners_map_names_to_protocols_and_advertise_their_own_or_the_given_address) {
  auto cfg = load(tls_files() +
                  "listeners = [\"INTERNAL://127.0.0.1:9092\", \"SSL://0.0.0.0:9094\", \"OUTSIDE://:9095\"]\n"
                  "listener_security_protocol_map = [\"INTERNAL:PLAINTEXT\", \"OUTSIDE:SASL_SSL\"]\n"
                  "advertised_listeners = [\"OUTSIDE://kafka-1.example.com:19095\"]\n"
                  "inter_broker_listener_name = \"INTERNAL\"\n");
  ASSERT_TRUE(cfg) << cfg.error();
  const auto& r = cfg->kafka_listeners.resolved;
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].name, "INTERNAL");
  EXPECT_EQ(r[0].protocol, kafka::security_protocol::plaintext);
  EXPECT_EQ(r[0].advertised(), "127.0.0.1:9092");
  EXPECT_EQ(r[1].protocol, kafka::security_protocol::ssl);
  EXPECT_EQ(r[1].bind_ip, "0.0.0.0");
  EXPECT_EQ(r[1].advertised(), "10.0.0.5:9094");  // 0.0.0.0 is advertised as bind
  EXPECT_EQ(r[2].protocol, kafka::security_protocol::sasl_ssl);
  EXPECT_EQ(r[2].bind_ip, "10.0.0.5");  // no host: the node's own address
  EXPECT_EQ(r[2].advertised(), "kafka-1.example.com:19095");
  EXPECT_EQ(cfg->kafka_addr(), "127.0.0.1:9092");  // the inter-broker listener's

  const auto sc = kafka_server_listeners(cfg->kafka_listeners);
  ASSERT_EQ(sc.listeners.size(), 3u);
  EXPECT_EQ(sc.listeners[2].name, "OUTSIDE");
  EXPECT_EQ(sc.listeners[2].port, 9095);
  EXPECT_EQ(sc.tls.cert_file, (dir_ / "cert.pem").string());

  const auto meta = decode_node_meta(encode_fresh_node_meta(*cfg, node_uuid{}));
  ASSERT_TRUE(meta);
  ASSERT_EQ(meta->kafka_listeners.size(), 3u);
  EXPECT_EQ(meta->kafka_listeners[2], (metadata::listener_endpoint{"OUTSIDE", "kafka-1.example.com:19095"}));
}

TEST_F(kafka_listeners_test, client_auth_is_parsed_and_needs_a_ca) {
  auto cfg = load(tls_files() + "listeners = [\"SSL://127.0.0.1:9094\", \"PLAINTEXT://127.0.0.1:9092\"]\n" +
                  "kafka_tls_client_auth = \"required\"\nkafka_tls_ca_file = \"" + (dir_ / "ca.pem").string() + "\"\n");
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->kafka_listeners.tls_client_auth, kafka::tls_client_auth::required);
  EXPECT_EQ(cfg->kafka_listeners.resolved[cfg->kafka_listeners.inter_broker].name, "PLAINTEXT");
  EXPECT_EQ(error_of(tls_files() + "listeners = [\"SSL://127.0.0.1:9094\", \"PLAINTEXT://127.0.0.1:9092\"]\n"
                                   "kafka_tls_client_auth = \"requested\"\n"),
            "config error: kafka_tls_ca_file: needed by kafka_tls_client_auth = requested or required");
  EXPECT_EQ(error_of("kafka_tls_client_auth = \"maybe\"\n"),
            "config error: kafka_tls_client_auth: \"maybe\" is not one of none, requested, required");
}

TEST_F(kafka_listeners_test, every_bad_key_is_one_line_naming_it) {
  const std::pair<std::string, std::string> cases[] = {
      {"listeners = \"PLAINTEXT://127.0.0.1:9092\"\n", "config error: listeners: expected an array of strings, got string"},
      {"listeners = []\n", "config error: listeners: must name at least one listener"},
      {"listeners = [\"127.0.0.1:9092\"]\n", "config error: listeners: \"127.0.0.1:9092\" is not NAME://HOST:PORT"},
      {"listeners = [\"PLAINTEXT://127.0.0.1:0\"]\n", "config error: listeners: port \"0\" of listener PLAINTEXT is not in 1..65535"},
      {"listeners = [\"plain://127.0.0.1:9092\"]\n", "config error: listeners: listener name \"plain\" must be 1..64 of [A-Z0-9_-]"},
      {"listeners = [\"OTHER://127.0.0.1:9092\"]\n",
       "config error: listeners: listener OTHER has no protocol in listener_security_protocol_map"},
      {"listeners = [\"PLAINTEXT://kafka.local:9092\"]\n",
       "config error: listeners: listener PLAINTEXT must bind an IPv4 address, not \"kafka.local\""},
      {"listeners = [\"PLAINTEXT://127.0.0.1:9092\", \"PLAINTEXT://127.0.0.1:9093\"]\nrpc_port = 9100\n",
       "config error: listeners: listener PLAINTEXT is named twice"},
      {"listeners = [\"PLAINTEXT://127.0.0.1:9092\", \"SSL://127.0.0.1:9092\"]\n",
       "config error: listeners: listeners PLAINTEXT and SSL share port 9092"},
      {"listeners = [\"PLAINTEXT://127.0.0.1:9644\"]\n",
       "config error: listeners: listener PLAINTEXT's port 9644 is already used by admin_port"},
      {"listeners = [\"PLAINTEXT://127.0.0.1:9092\"]\nadvertised_listeners = [\"SSL://x:1\"]\n",
       "config error: advertised_listeners: listener SSL is not in listeners"},
      {"listeners = [\"PLAINTEXT://0.0.0.0:9092\"]\nadvertised_listeners = [\"PLAINTEXT://0.0.0.0:9092\"]\n",
       "config error: advertised_listeners: listener PLAINTEXT must advertise a host clients can reach"},
      {"advertised_listeners = [\"PLAINTEXT://x:1\"]\n", "config error: advertised_listeners: needs listeners too"},
      {"listener_security_protocol_map = [\"INTERNAL\"]\n",
       "config error: listener_security_protocol_map: \"INTERNAL\" is not NAME:PROTOCOL"},
      {"listener_security_protocol_map = [\"INTERNAL:TLS\"]\n",
       "config error: listener_security_protocol_map: \"TLS\" is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"},
      {"listener_security_protocol_map = [\"SSL:PLAINTEXT\"]\n",
       "config error: listener_security_protocol_map: \"SSL:PLAINTEXT\" remaps a protocol's own name"},
      {"listeners = [\"PLAINTEXT://127.0.0.1:9092\"]\ninter_broker_listener_name = \"SSL\"\n",
       "config error: inter_broker_listener_name: listener SSL is not in listeners"},
      {"listeners = [\"SSL://127.0.0.1:9094\", \"PLAINTEXT://127.0.0.1:9092\"]\n",
       "config error: kafka_tls_cert_file: needed by the SSL listener SSL"},
      {"inter_broker_listener_name = 3\n",
       "config error: inter_broker_listener_name: expected a string or an array of strings, got integer"},
  };
  for (const auto& [toml, line] : cases) EXPECT_EQ(error_of(toml), line) << toml;
  EXPECT_EQ(error_of(tls_files() + "listeners = [\"SSL://127.0.0.1:9094\"]\n"),
            "config error: inter_broker_listener_name: listener SSL speaks SSL; the brokers' own Kafka client "
            "(transaction markers) speaks PLAINTEXT only");
  EXPECT_EQ(error_of("listeners = [\"SSL://127.0.0.1:9094\", \"PLAINTEXT://127.0.0.1:9092\"]\n"
                     "kafka_tls_cert_file = \"/nonexistent/cert.pem\"\nkafka_tls_key_file = \"/nonexistent/key.pem\"\n"),
            "config error: kafka_tls_cert_file: cannot read /nonexistent/cert.pem: no such regular file");
}

}  // namespace
}  // namespace chronik::daemon

namespace chronik::kafka {
namespace {

broker_info broker(std::uint32_t id, std::vector<broker_endpoint> endpoints) {
  return {chronik::node_id{id}, "10.0.0." + std::to_string(id), 9092, std::nullopt, std::move(endpoints)};
}

TEST(listener_endpoints, a_client_is_told_each_brokers_endpoint_of_its_own_listener) {
  const std::vector<broker_info> brokers{
      broker(1, {{"PLAINTEXT", "10.0.0.1", 9092}, {"SSL", "kafka-1.example.com", 9094}}),
      broker(2, {{"PLAINTEXT", "10.0.0.2", 9092}}),  // no SSL listener: left out for SSL clients
      broker(3, {}),                                  // registered before listeners: PLAINTEXT only
  };
  const auto ssl = on_listener(brokers, "SSL");
  ASSERT_EQ(ssl.size(), 1u);
  EXPECT_EQ(ssl[0].host, "kafka-1.example.com");
  EXPECT_EQ(ssl[0].port, 9094);

  const auto plain = on_listener(brokers, "PLAINTEXT");
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain[0].host, "10.0.0.1");
  EXPECT_EQ(plain[2].host, "10.0.0.3");

  EXPECT_FALSE(on_listener(brokers[1], "SSL").has_value());  // a coordinator out of reach
  EXPECT_EQ(on_listener(brokers, "").size(), 3u);            // a request built by hand keeps host:port
}

}  // namespace
}  // namespace chronik::kafka
