// Daemon configuration: every bad-input path of load_node_config, the precedence
// preset < file < flags, defaults, and the node_uuid file in a temporary data directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "daemon/config.h"
#include "config_test_fixture.h"
#include "daemon/node_identity.h"
#include "daemon/rpc_tls_files.h"
#include "kafka/server/server_config.h"

namespace chronik::daemon {
namespace {

using config_testing::config_test;
using config_testing::temp_dir;
namespace fs = std::filesystem;

// --- defaults ---------------------------------------------------------------------------------

TEST_F(config_test, defaults_without_file) {
  auto cfg = load_node_config(std::nullopt, {});
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->node_id.value(), 1u);
  EXPECT_EQ(cfg->cluster_name, "chronik");
  EXPECT_EQ(cfg->bind, "127.0.0.1");
  EXPECT_EQ(cfg->gossip_port, 7946);
  EXPECT_EQ(cfg->rpc_port, 9093);
  EXPECT_EQ(cfg->kafka_port, 9092);
  EXPECT_EQ(cfg->admin_port, 9644);
  EXPECT_TRUE(cfg->seeds.empty());
  EXPECT_EQ(cfg->data_dir, fs::path("./data/node-1"));
  EXPECT_EQ(cfg->bootstrap_expect, 3u);
  EXPECT_EQ(cfg->meta_voters, 0u);
  EXPECT_EQ(cfg->voter_replace_after_ms, 10'000u);
  EXPECT_EQ(cfg->preset, gossip_preset::lan);
  EXPECT_EQ(cfg->level, log_level::info);
  EXPECT_EQ(cfg->gossip.probe_interval_ms, gossip::config::lan().probe_interval_ms);
  EXPECT_EQ(cfg->gossip_addr(), "127.0.0.1:7946");
  EXPECT_EQ(cfg->admin_addr(), "127.0.0.1:9644");
}

TEST_F(config_test, empty_file_gives_defaults) {
  auto cfg = load("");
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->node_id.value(), 1u);
  EXPECT_EQ(cfg->gossip_port, 7946);
}

TEST_F(config_test, data_dir_default_uses_node_id) {
  auto from_file = load("node_id = 7\n");
  ASSERT_TRUE(from_file) << from_file.error();
  EXPECT_EQ(from_file->data_dir, fs::path("./data/node-7"));

  cli_overrides cli;
  cli.node_id = 12;
  auto from_flag = load("node_id = 7\n", cli);
  ASSERT_TRUE(from_flag) << from_flag.error();
  EXPECT_EQ(from_flag->data_dir, fs::path("./data/node-12"));

  auto explicit_dir = load("node_id = 7\ndata_dir = \"/var/lib/chronik\"\n");
  ASSERT_TRUE(explicit_dir) << explicit_dir.error();
  EXPECT_EQ(explicit_dir->data_dir, fs::path("/var/lib/chronik"));
}

TEST_F(config_test, full_file_is_read) {
  auto cfg = load(R"(
node_id = 3
cluster_name = "prod-eu"
bind = "10.0.0.3"
gossip_port = 8946
rpc_port = 10093
kafka_port = 10092
admin_port = 10644
seeds = ["10.0.0.1:8946", "10.0.0.2:8946"]
data_dir = "/srv/chronik"
bootstrap_expect = 5
preset = "wan"
log_level = "debug"

[gossip]
probe_interval_ms = 4000
reap_after_ms = 3600000
)");
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->node_id.value(), 3u);
  EXPECT_EQ(cfg->cluster_name, "prod-eu");
  EXPECT_EQ(cfg->bind, "10.0.0.3");
  EXPECT_EQ(cfg->gossip_port, 8946);
  EXPECT_EQ(cfg->rpc_port, 10093);
  EXPECT_EQ(cfg->kafka_port, 10092);
  EXPECT_EQ(cfg->admin_port, 10644);
  EXPECT_EQ(cfg->seeds, (std::vector<std::string>{"10.0.0.1:8946", "10.0.0.2:8946"}));
  EXPECT_EQ(cfg->data_dir, fs::path("/srv/chronik"));
  EXPECT_EQ(cfg->bootstrap_expect, 5u);
  EXPECT_EQ(cfg->preset, gossip_preset::wan);
  EXPECT_EQ(cfg->level, log_level::debug);
  EXPECT_EQ(cfg->gossip.probe_interval_ms, 4000u);
  EXPECT_EQ(cfg->gossip.reap_after_ms, 3600000u);
  // Untouched gossip fields keep the wan preset's values.
  EXPECT_EQ(cfg->gossip.suspicion_mult, gossip::config::wan().suspicion_mult);
}

// --- precedence: preset < file < flags ---------------------------------------------------------

TEST_F(config_test, file_gossip_key_overrides_preset) {
  auto cfg = load("preset = \"local\"\n[gossip]\nprobe_interval_ms = 300\n");
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->preset, gossip_preset::local);
  EXPECT_EQ(cfg->gossip.probe_interval_ms, 300u);
  EXPECT_EQ(cfg->gossip.tick_ms, gossip::config::local().tick_ms);
}

TEST_F(config_test, cli_preset_beats_file_preset_and_file_gossip_keys_still_apply) {
  cli_overrides cli;
  cli.preset = "local";
  auto cfg = load("preset = \"wan\"\n[gossip]\ngossip_nodes = 5\n", cli);
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->preset, gossip_preset::local);
  EXPECT_EQ(cfg->gossip.probe_interval_ms, gossip::config::local().probe_interval_ms);
  EXPECT_EQ(cfg->gossip.gossip_nodes, 5u);
}

TEST_F(config_test, cli_flags_beat_file_keys) {
  cli_overrides cli;
  cli.node_id = 9;
  cli.bind = "127.0.0.9";
  cli.gossip_port = 17946;
  cli.rpc_port = 19093;
  cli.kafka_port = 19092;
  cli.admin_port = 19644;
  cli.seeds = {"127.0.0.1:17946"};
  cli.data_dir = "/tmp/x";
  cli.bootstrap_expect = 1;
  cli.cluster_name = "other";
  cli.log_level = "warn";
  auto cfg = load(R"(
node_id = 2
bind = "127.0.0.2"
gossip_port = 7000
rpc_port = 7001
kafka_port = 7002
admin_port = 7003
seeds = ["127.0.0.5:7000"]
data_dir = "/tmp/y"
bootstrap_expect = 4
cluster_name = "mine"
log_level = "error"
)", cli);
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->node_id.value(), 9u);
  EXPECT_EQ(cfg->bind, "127.0.0.9");
  EXPECT_EQ(cfg->gossip_port, 17946);
  EXPECT_EQ(cfg->rpc_port, 19093);
  EXPECT_EQ(cfg->kafka_port, 19092);
  EXPECT_EQ(cfg->admin_port, 19644);
  EXPECT_EQ(cfg->seeds, std::vector<std::string>{"127.0.0.1:17946"});
  EXPECT_EQ(cfg->data_dir, fs::path("/tmp/x"));
  EXPECT_EQ(cfg->bootstrap_expect, 1u);
  EXPECT_EQ(cfg->cluster_name, "other");
  EXPECT_EQ(cfg->level, log_level::warn);
}

TEST_F(config_test, every_gossip_field_is_settable_by_name) {
  const char* names[] = {"tick_ms", "probe_interval_ms", "probe_timeout_ms", "indirect_checks",
                         "gossip_interval_ms", "gossip_nodes", "gossip_to_dead_ms", "retransmit_mult",
                         "suspicion_mult", "suspicion_max_timeout_mult", "awareness_max_multiplier",
                         "push_pull_interval_ms", "reconnect_interval_ms", "join_retry_min_ms",
                         "join_retry_max_ms", "reap_after_ms", "max_datagram_bytes", "max_meta_bytes"};
  for (const char* name : names) {
    // A value of 1 may fail validate(), but never as an unknown key.
    auto probe = load(std::string("[gossip]\n") + name + " = 1\n");
    if (!probe) {
      EXPECT_EQ(probe.error().find("unknown key"), std::string::npos) << probe.error();
    }
  }
  auto cfg = load("[gossip]\nmax_meta_bytes = 600\nmax_datagram_bytes = 1200\njoin_retry_max_ms = 4000\n");
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->gossip.max_meta_bytes, 600u);
  EXPECT_EQ(cfg->gossip.max_datagram_bytes, 1200u);
  EXPECT_EQ(cfg->gossip.join_retry_max_ms, 4000u);
}

// --- bad input: file ---------------------------------------------------------------------------

TEST_F(config_test, missing_file) {
  auto cfg = load_node_config(dir_.path() / "absent.toml", {});
  ASSERT_FALSE(cfg);
  EXPECT_TRUE(cfg.error().starts_with("config error: config: cannot read ")) << cfg.error();
}

TEST_F(config_test, unparsable_toml_names_file_and_line) {
  const auto err = error_of("node_id = 1\ncluster_name = \n");
  EXPECT_TRUE(err.starts_with("config error: config: ")) << err;
  EXPECT_NE(err.find("TOML parse error"), std::string::npos) << err;
  EXPECT_NE(err.find("(line 2)"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
}

// tests/fuzz config target: bad UTF-8 inside a string made toml11 3.7 read past its buffer while
// reporting the error (ASan heap-buffer-overflow). The loader now refuses it before toml11 runs.
TEST_F(config_test, invalid_utf8_is_refused_before_parsing) {
  const std::string bad_string = "node_id = 1\nbind = '127.0.0.1\xff\xff\xff'\n";
  auto err = error_of(bad_string);
  EXPECT_TRUE(err.starts_with("config error: config: ")) << err;
  EXPECT_NE(err.find("TOML parse error: not UTF-8 (line 2)"), std::string::npos) << err;
  // Overlong, surrogate, above U+10FFFF, cut off at the end.
  for (const std::string bytes : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    err = error_of("node_id = 1\ncluster_name = \"x" + bytes + "\"\n");
    EXPECT_NE(err.find("not UTF-8 (line 2)"), std::string::npos) << err;
  }
}

// tests/fuzz config target: toml11 parses nested arrays and inline tables by recursion, and a
// few thousand levels overflowed the stack (SIGSEGV). The loader now refuses deep nesting first.
TEST_F(config_test, deep_nesting_is_refused_before_parsing) {
  for (const std::string& value : {std::string(100000, '['), std::string(50000, '{') + "}",
                                   "[" + std::string(40, '[') + std::string(41, ']')}) {
    const auto err = error_of("node_id = 1\nseeds = " + value + "\n");
    EXPECT_NE(err.find("TOML parse error: arrays or tables nested deeper than 32"), std::string::npos) << err;
  }
  // Brackets inside strings and comments do not count; a [table] header is one level.
  auto cfg = load("# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n[gossip]\nprobe_interval_ms = 900\n");
  ASSERT_TRUE(cfg) << cfg.error();
  cfg = load("data_dir = \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[\"\nnode_id = 2\n");
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->node_id.value(), 2u);
}

TEST_F(config_test, utf8_text_is_accepted) {
  auto cfg = load("# caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e\nnode_id = 4\n");
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->node_id.value(), 4u);
}

TEST_F(config_test, duplicate_key_is_a_parse_error) {
  const auto err = error_of("node_id = 1\nnode_id = 2\n");
  EXPECT_NE(err.find("TOML parse error"), std::string::npos) << err;
}

TEST_F(config_test, unknown_top_level_key) {
  EXPECT_EQ(error_of("node_idd = 1\n"), "config error: node_idd: unknown key");
  EXPECT_EQ(error_of("[raft]\nx = 1\n"), "config error: raft: unknown key");
}

TEST_F(config_test, unknown_gossip_key) {
  EXPECT_EQ(error_of("[gossip]\nprobe_intervall_ms = 1\n"), "config error: gossip.probe_intervall_ms: unknown key");
}

TEST_F(config_test, gossip_must_be_a_table) {
  EXPECT_EQ(error_of("gossip = 3\n"), "config error: gossip: expected a table, got integer");
}

TEST_F(config_test, wrong_types) {
  EXPECT_EQ(error_of("node_id = \"1\"\n"), "config error: node_id: expected an integer, got string");
  EXPECT_EQ(error_of("gossip_port = 1.5\n"), "config error: gossip_port: expected an integer, got float");
  EXPECT_EQ(error_of("bind = 127\n"), "config error: bind: expected a string, got integer");
  EXPECT_EQ(error_of("cluster_name = true\n"), "config error: cluster_name: expected a string, got boolean");
  EXPECT_EQ(error_of("seeds = \"127.0.0.1:7946\"\n"), "config error: seeds: expected an array of strings, got string");
  EXPECT_EQ(error_of("seeds = [1, 2]\n"), "config error: seeds: expected an array of strings, got array containing a integer");
  EXPECT_EQ(error_of("preset = 1\n"), "config error: preset: expected a string, got integer");
  EXPECT_EQ(error_of("[gossip]\ntick_ms = \"5\"\n"), "config error: gossip.tick_ms: expected an integer, got string");
}

TEST_F(config_test, node_id_zero_and_out_of_range) {
  EXPECT_EQ(error_of("node_id = 0\n"), "config error: node_id: 0 is out of range 1..2147483647");
  EXPECT_EQ(error_of("node_id = -3\n"), "config error: node_id: -3 is out of range 1..2147483647");
  EXPECT_EQ(error_of("node_id = 4294967296\n"), "config error: node_id: 4294967296 is out of range 1..2147483647");
}

// The node id is the Kafka broker id, an INT32: the largest id Kafka can name loads, the next is
// refused at load time (docs/config.md).
TEST_F(config_test, node_id_must_be_a_kafka_broker_id) {
  auto top = load("node_id = 2147483647\n");
  ASSERT_TRUE(top.has_value()) << top.error();
  EXPECT_EQ(top->node_id.value(), 2147483647u);
  EXPECT_EQ(error_of("node_id = 2147483648\n"), "config error: node_id: 2147483648 is out of range 1..2147483647");
  EXPECT_EQ(error_of("node_id = 4294967295\n"), "config error: node_id: 4294967295 is out of range 1..2147483647");
}

TEST_F(config_test, ports_out_of_range) {
  EXPECT_EQ(error_of("gossip_port = 0\n"), "config error: gossip_port: 0 is out of range 1..65535");
  EXPECT_EQ(error_of("rpc_port = 70000\n"), "config error: rpc_port: 70000 is out of range 1..65535");
  EXPECT_EQ(error_of("kafka_port = -1\n"), "config error: kafka_port: -1 is out of range 1..65535");
  EXPECT_EQ(error_of("admin_port = 65536\n"), "config error: admin_port: 65536 is out of range 1..65535");
}

TEST_F(config_test, ports_must_differ) {
  EXPECT_EQ(error_of("admin_port = 7946\n"), "config error: admin_port: 7946 is already used by gossip_port");
}

TEST_F(config_test, bad_bind_addresses) {
  EXPECT_EQ(error_of("bind = \"localhost\"\n"), "config error: bind: \"localhost\" is not an IPv4 address");
  EXPECT_EQ(error_of("bind = \"256.0.0.1\"\n"), "config error: bind: \"256.0.0.1\" is not an IPv4 address");
  EXPECT_EQ(error_of("bind = \"1.2.3\"\n"), "config error: bind: \"1.2.3\" is not an IPv4 address");
  EXPECT_EQ(error_of("bind = \"1.2.3.4.5\"\n"), "config error: bind: \"1.2.3.4.5\" is not an IPv4 address");
  EXPECT_EQ(error_of("bind = \"::1\"\n"), "config error: bind: \"::1\" is not an IPv4 address");
  EXPECT_EQ(error_of("bind = \"\"\n"), "config error: bind: \"\" is not an IPv4 address");
  // 0.0.0.0 binds every interface but names none: it needs `advertise`.
  EXPECT_EQ(error_of("bind = \"0.0.0.0\"\n"),
            "config error: advertise: needed when bind is 0.0.0.0: the address peers and clients use");
}

TEST_F(config_test, log_format_and_module_levels) {
  auto cfg = load("log_format = \"json\"\nlog_level = \"warn\"\n[log_levels]\nraft = \"debug\"\nkafka = \"error\"\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error();
  EXPECT_EQ(cfg->format, log_format::json);
  EXPECT_EQ(cfg->level, log_level::warn);
  EXPECT_EQ(cfg->module_levels.size(), 2u);
  EXPECT_EQ(cfg->module_levels.at("raft"), log_level::debug);
  EXPECT_EQ(cfg->module_levels.at("kafka"), log_level::error);
  EXPECT_EQ(load("")->format, log_format::text);
  EXPECT_EQ(error_of("log_format = \"xml\"\n"), "config error: log_format: \"xml\" is not text or json");
  EXPECT_EQ(error_of("[log_levels]\nraf = \"debug\"\n"),
            "config error: log_levels.raf: unknown module; one of admin, daemon, formation, gossip, kafka, meta, raft");
  EXPECT_EQ(error_of("[log_levels]\nraft = \"loud\"\n"),
            "config error: log_levels.raft: expected one of trace, debug, info, warn, error, critical, off");
  EXPECT_EQ(error_of("log_levels = \"raft=debug\"\n"), "config error: log_levels: expected a table of module = \"level\"");
}

TEST_F(config_test, bad_seeds) {
  EXPECT_EQ(error_of("seeds = [\"127.0.0.1\"]\n"), "config error: seeds: \"127.0.0.1\": expected HOST:PORT");
  EXPECT_EQ(error_of("seeds = [\"bad host:7946\"]\n"),
            "config error: seeds: \"bad host:7946\": \"bad host\" is neither an IPv4 address nor a host name");
  EXPECT_NE(error_of("seeds = [\"no-such-host.invalid:7946\"]\n").find("config error: seeds: \"no-such-host.invalid:7946\": cannot resolve"),
            std::string::npos);
  EXPECT_EQ(error_of("seeds = [\"127.0.0.1:0\"]\n"), "config error: seeds: \"127.0.0.1:0\": port \"0\" is not in 1..65535");
  EXPECT_EQ(error_of("seeds = [\"127.0.0.1:70000\"]\n"), "config error: seeds: \"127.0.0.1:70000\": port \"70000\" is not in 1..65535");
  EXPECT_EQ(error_of("seeds = [\"127.0.0.1:\"]\n"), "config error: seeds: \"127.0.0.1:\": port \"\" is not in 1..65535");
  EXPECT_EQ(error_of("seeds = [\"127.0.0.1:79x\"]\n"), "config error: seeds: \"127.0.0.1:79x\": port \"79x\" is not in 1..65535");
}

TEST_F(config_test, bad_preset_log_level_cluster_name_data_dir_bootstrap_expect) {
  EXPECT_EQ(error_of("preset = \"fast\"\n"), "config error: preset: \"fast\" is not one of lan, wan, local");
  EXPECT_EQ(error_of("log_level = \"verbose\"\n"),
            "config error: log_level: \"verbose\" is not one of trace, debug, info, warn, error, critical, off");
  EXPECT_EQ(error_of("cluster_name = \"a b\"\n"), "config error: cluster_name: \"a b\" must be 1..64 characters of [A-Za-z0-9._-]");
  EXPECT_EQ(error_of("cluster_name = \"\"\n"), "config error: cluster_name: \"\" must be 1..64 characters of [A-Za-z0-9._-]");
  EXPECT_EQ(error_of("data_dir = \"\"\n"), "config error: data_dir: must not be empty");
  EXPECT_EQ(error_of("bootstrap_expect = 0\n"), "config error: bootstrap_expect: 0 is out of range 1..1000");
}

// --- gossip encryption (docs/security.md "Gossip encryption") -------------------------------

TEST_F(config_test, gossip_key_and_verify_flags) {
  const std::string key = gossip::key_to_base64(gossip::gossip_key{1, 2, 3});
  auto none = load_node_config(std::nullopt, {});
  ASSERT_TRUE(none) << none.error();
  EXPECT_FALSE(none->gossip_key.has_value());
  EXPECT_TRUE(none->gossip_verify_incoming);
  EXPECT_TRUE(none->gossip_verify_outgoing);

  auto cfg = load("gossip_key = \"" + key + "\"\ngossip_verify_incoming = false\n");
  ASSERT_TRUE(cfg) << cfg.error();
  ASSERT_TRUE(cfg->gossip_key.has_value());
  EXPECT_EQ(gossip::key_to_base64(*cfg->gossip_key), key);
  EXPECT_FALSE(cfg->gossip_verify_incoming);
  EXPECT_TRUE(cfg->gossip_verify_outgoing);

  // The flag overrides the file.
  cli_overrides cli;
  const std::string other = gossip::key_to_base64(gossip::gossip_key{9});
  cli.gossip_key = other;
  auto flagged = load("gossip_key = \"" + key + "\"\n", cli);
  ASSERT_TRUE(flagged) << flagged.error();
  EXPECT_EQ(gossip::key_to_base64(*flagged->gossip_key), other);
}

TEST_F(config_test, bad_gossip_key_is_refused_without_echoing_it) {
  const std::string problem = "must be the base64 of 32 random bytes (chronik-server keygen prints one)";
  EXPECT_EQ(error_of("gossip_key = \"c2VjcmV0\"\n"), "config error: gossip_key: " + problem);  // 6 bytes
  EXPECT_EQ(error_of("gossip_key = \"" + std::string(24, 'A') + "\"\n"),  // 16 bytes: AES-128
            "config error: gossip_key: " + problem);
  EXPECT_EQ(error_of("gossip_key = \"" + std::string(42, 'A') + "!=\"\n"), "config error: gossip_key: " + problem);
  EXPECT_EQ(error_of("gossip_key = 5\n"), "config error: gossip_key: expected a string, got integer");
  EXPECT_EQ(error_of("gossip_verify_incoming = \"no\"\n"),
            "config error: gossip_verify_incoming: expected a boolean, got string");
  EXPECT_EQ(error_of("gossip_verify_outgoing = 0\n"),
            "config error: gossip_verify_outgoing: expected a boolean, got integer");
  EXPECT_EQ(error_of("gossip_verify_outgoing = false\n"),
            "config error: gossip_verify_outgoing: false needs gossip_verify_incoming = false too (plaintext "
            "senders must accept plaintext)");
  EXPECT_TRUE(load("gossip_verify_outgoing = false\ngossip_verify_incoming = false\n"));
  cli_overrides cli;
  cli.gossip_key = "c2VjcmV0";
  EXPECT_EQ(cli_error_of(cli), "config error: gossip_key: " + problem + " (from --gossip-key)");
}

TEST_F(config_test, meta_voters_and_voter_replace_after) {
  EXPECT_EQ(error_of("meta_voters = 4\n"), "config error: meta_voters: must be 0 (automatic) or odd: 1, 3, 5, 7 or 9");
  EXPECT_EQ(error_of("meta_voters = 11\n"), "config error: meta_voters: 11 is out of range 0..9");
  EXPECT_EQ(error_of("voter_replace_after_ms = 50\n"),
            "config error: voter_replace_after_ms: 50 is out of range 100..86400000");
  EXPECT_EQ(error_of("meta_voters = \"3\"\n").substr(0, 33), "config error: meta_voters: expect");
  cli_overrides cli;
  cli.meta_voters = 2;
  EXPECT_EQ(cli_error_of(cli), "config error: meta_voters: must be 0 (automatic) or odd: 1, 3, 5, 7 or 9 (from --meta-voters)");
  cli.meta_voters = 5;
  cli.voter_replace_after_ms = 2500;
  auto cfg = load_node_config(std::nullopt, cli);
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->meta_voters, 5u);
  EXPECT_EQ(cfg->voter_replace_after_ms, 2500u);
  cli_overrides local;
  local.preset = "local";
  auto l = load_node_config(std::nullopt, local);
  ASSERT_TRUE(l) << l.error();
  EXPECT_EQ(l->voter_replace_after_ms, 1'000u) << "the preset's default";
}

TEST_F(config_test, resource_bounds_have_defaults_and_ranges) {
  auto d = load_node_config(std::nullopt, {});
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->kafka_max_request_bytes, 100u << 20);
  EXPECT_EQ(d->kafka_max_queued_request_bytes, 256u << 20);
  EXPECT_EQ(d->kafka_max_in_flight_per_connection, 8u);
  EXPECT_EQ(d->kafka_max_in_flight_per_connection, kafka::server_config{}.max_in_flight) << "one default";
  EXPECT_EQ(d->kafka_max_connections, 4096u);
  EXPECT_EQ(d->kafka_max_connections_per_ip, 1024u);
  EXPECT_EQ(d->kafka_connections_max_idle_ms, 600'000u);
  EXPECT_EQ(d->auto_create_topics_max_per_request, 16u);
  EXPECT_EQ(d->auto_create_topics_max_per_second, 32u);
  auto cfg = load_node_config(
      write("kafka_max_request_bytes = 1048576\nkafka_max_queued_request_bytes = 2097152\n"
            "kafka_max_connections = 100\nkafka_max_connections_per_ip = 10\n"
            "kafka_connections_max_idle_ms = 60000\nauto_create_topics_max_per_request = 2\n"
            "auto_create_topics_max_per_second = 4\nkafka_max_in_flight_per_connection = 64\n"),
      {});
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->kafka_max_request_bytes, 1u << 20);
  EXPECT_EQ(cfg->kafka_max_queued_request_bytes, 2u << 20);
  EXPECT_EQ(cfg->kafka_max_in_flight_per_connection, 64u);
  EXPECT_EQ(cfg->kafka_max_connections, 100u);
  EXPECT_EQ(cfg->kafka_max_connections_per_ip, 10u);
  EXPECT_EQ(cfg->kafka_connections_max_idle_ms, 60'000u);
  EXPECT_EQ(cfg->auto_create_topics_max_per_request, 2u);
  EXPECT_EQ(cfg->auto_create_topics_max_per_second, 4u);
  EXPECT_EQ(error_of("kafka_max_in_flight_per_connection = 0\n"),
            "config error: kafka_max_in_flight_per_connection: 0 is out of range 1..1024");
  EXPECT_EQ(error_of("kafka_max_connections_per_ip = 0\n"),
            "config error: kafka_max_connections_per_ip: 0 is out of range 1..1000000");
  EXPECT_EQ(error_of("kafka_connections_max_idle_ms = \"10m\"\n"),
            "config error: kafka_connections_max_idle_ms: expected an integer, got string");
  EXPECT_EQ(error_of("kafka_max_request_bytes = 2147483648\n"),
            "config error: kafka_max_request_bytes: 2147483648 is out of range 64..1073741824");
  EXPECT_EQ(error_of("kafka_max_queued_request_bytes = 1048576\n"),
            "config error: kafka_max_queued_request_bytes: 1048576 is less than kafka_max_request_bytes (104857600)");
}

TEST_F(config_test, transaction_coordinator_keys_have_kafkas_defaults_and_ranges) {
  auto d = load_node_config(std::nullopt, {});
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->transaction_state_log_num_partitions, 50u);
  EXPECT_EQ(d->transaction_state_log_replication_factor, 3u);
  EXPECT_EQ(d->transaction_max_timeout_ms, 900'000u);
  EXPECT_EQ(d->transactional_id_expiration_ms, 604'800'000u);
  auto cfg = load_node_config(
      write("transaction_state_log_num_partitions = 4\ntransaction_state_log_replication_factor = 1\n"
            "transaction_max_timeout_ms = 60000\ntransactional_id_expiration_ms = 3600000\n"),
      {});
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->transaction_state_log_num_partitions, 4u);
  EXPECT_EQ(cfg->transaction_state_log_replication_factor, 1u);
  EXPECT_EQ(cfg->transaction_max_timeout_ms, 60'000u);
  EXPECT_EQ(cfg->transactional_id_expiration_ms, 3'600'000u);
  EXPECT_EQ(error_of("transaction_state_log_num_partitions = 0\n"),
            "config error: transaction_state_log_num_partitions: 0 is out of range 1..1000");
  EXPECT_EQ(error_of("transaction_max_timeout_ms = 2147483648\n"),
            "config error: transaction_max_timeout_ms: 2147483648 is out of range 1..2147483647");
}

TEST_F(config_test, kafka_topic_defaults) {
  auto cfg = load_node_config(
      write("auto_create_topics = false\nnum_partitions = 6\ndefault_replication_factor = 1\nfetch_cache_bytes = 0\n"), {});
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->fetch_cache_bytes, 0u);
  EXPECT_EQ(error_of("fetch_cache_bytes = -1\n"), "config error: fetch_cache_bytes: -1 is out of range 0..68719476736");
  EXPECT_FALSE(cfg->group_initial_rebalance_delay_ms) << "unset: the preset decides";
  auto delay = load_node_config(write("group_initial_rebalance_delay_ms = 0\n"), {});
  ASSERT_TRUE(delay) << delay.error();
  EXPECT_EQ(delay->group_initial_rebalance_delay_ms, 0);
  EXPECT_EQ(error_of("group_initial_rebalance_delay_ms = 300001\n"),
            "config error: group_initial_rebalance_delay_ms: 300001 is out of range 0..300000");
  EXPECT_FALSE(cfg->auto_create_topics);
  EXPECT_EQ(cfg->num_partitions, 6);
  EXPECT_EQ(cfg->default_replication_factor, 1);
  EXPECT_EQ(error_of("auto_create_topics = 1\n"), "config error: auto_create_topics: expected a boolean, got integer");
  EXPECT_EQ(error_of("num_partitions = 0\n"), "config error: num_partitions: 0 is out of range 1..10000");
  EXPECT_EQ(error_of("node_id = true\n"), "config error: node_id: expected an integer, got boolean");
}

TEST_F(config_test, gossip_values_out_of_range_and_validate_failures) {
  EXPECT_EQ(error_of("[gossip]\ntick_ms = -1\n"), "config error: gossip.tick_ms: -1 is out of range 0..4294967295");
  EXPECT_EQ(error_of("[gossip]\ntick_ms = 0\n"), "config error: gossip.tick_ms: must be in 1..1000");
  EXPECT_EQ(error_of("[gossip]\nprobe_timeout_ms = 1000\n"),
            "config error: gossip.probe_timeout_ms: must be less than probe_interval_ms");
  EXPECT_EQ(error_of("[gossip]\ngossip_nodes = 0\n"), "config error: gossip.gossip_nodes: must be in 1..64");
}

// --- bad input: flags ----------------------------------------------------------------------------

TEST_F(config_test, flag_errors_name_key_and_flag) {
  cli_overrides a;
  a.node_id = 0;
  EXPECT_EQ(cli_error_of(a), "config error: node_id: 0 is out of range 1..2147483647 (from --node-id)");
  cli_overrides b;
  b.gossip_port = 70000;
  EXPECT_EQ(cli_error_of(b), "config error: gossip_port: 70000 is out of range 1..65535 (from --gossip-port)");
  cli_overrides c;
  c.bind = "example.com";
  EXPECT_EQ(cli_error_of(c), "config error: bind: \"example.com\" is not an IPv4 address (from --bind)");
  cli_overrides d;
  d.seeds = {"127.0.0.1:7946", "nope"};
  EXPECT_EQ(cli_error_of(d), "config error: seeds: \"nope\": expected HOST:PORT (from --seed)");
  cli_overrides e;
  e.preset = "turbo";
  EXPECT_EQ(cli_error_of(e), "config error: preset: \"turbo\" is not one of lan, wan, local (from --preset)");
  cli_overrides f;
  f.log_level = "loud";
  EXPECT_NE(cli_error_of(f).find("(from --log-level)"), std::string::npos);
  cli_overrides g;
  g.admin_port = 0;
  EXPECT_EQ(cli_error_of(g), "config error: admin_port: 0 is out of range 1..65535 (from --admin-port)");
}

TEST_F(config_test, cli_preset_error_wins_over_valid_file_preset) {
  cli_overrides cli;
  cli.preset = "bogus";
  EXPECT_NE(error_of("preset = \"lan\"\n", cli).find("(from --preset)"), std::string::npos);
}

// --- address helpers ----------------------------------------------------------------------------

TEST(address_test, ipv4) {
  EXPECT_TRUE(is_ipv4("127.0.0.1"));
  EXPECT_TRUE(is_ipv4("0.0.0.0"));
  EXPECT_TRUE(is_ipv4("255.255.255.255"));
  EXPECT_FALSE(is_ipv4("01.2.3.4"));
  EXPECT_FALSE(is_ipv4("1.2.3.4."));
  EXPECT_FALSE(is_ipv4(".1.2.3"));
  EXPECT_FALSE(is_ipv4("1..2.3"));
  EXPECT_FALSE(is_ipv4("+1.2.3.4"));
  EXPECT_FALSE(is_ipv4("1.2.3.4 "));
  EXPECT_FALSE(is_ipv4("1234.1.1.1"));
}

TEST(address_test, endpoint) {
  auto ep = parse_ipv4_endpoint("10.1.2.3:65535");
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->ip, "10.1.2.3");
  EXPECT_EQ(ep->port, 65535);
  EXPECT_FALSE(parse_ipv4_endpoint("10.1.2.3:-1"));
  EXPECT_FALSE(parse_ipv4_endpoint("[::1]:7946"));
}

// --- node identity -----------------------------------------------------------------------------

TEST(node_identity_test, created_once_and_stable) {
  temp_dir dir;
  const auto data = dir.path() / "a" / "b";  // missing parents are created
  auto first = load_or_create_node_uuid(data);
  ASSERT_TRUE(first) << first.error();
  std::ifstream in(data / "node_uuid");
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(contents, first->hex() + "\n");
  EXPECT_EQ(first->hex().size(), 32u);
  EXPECT_FALSE(fs::exists(data / "node_uuid.tmp"));

  auto second = load_or_create_node_uuid(data);
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(*first, *second);
}

TEST(node_identity_test, different_directories_get_different_uuids) {
  temp_dir dir;
  auto a = load_or_create_node_uuid(dir.path() / "a");
  auto b = load_or_create_node_uuid(dir.path() / "b");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST(node_identity_test, file_without_newline_is_accepted) {
  temp_dir dir;
  std::ofstream(dir.path() / "node_uuid") << "00112233445566778899aabbccddeeff";
  auto id = load_or_create_node_uuid(dir.path());
  ASSERT_TRUE(id) << id.error();
  EXPECT_EQ(id->hex(), "00112233445566778899aabbccddeeff");
  EXPECT_EQ(id->raw().size(), 16u);
}

TEST(node_identity_test, corrupt_file_is_rejected_and_kept) {
  const std::string bad_contents[] = {"", "xyz\n", "00112233445566778899aabbccddeef\n",
                                      "00112233445566778899aabbccddeeff00\n",
                                      "00112233445566778899aabbccddeeff\n\n",
                                      "0011223344556677889gaabbccddeeff\n"};
  for (const auto& bad : bad_contents) {
    temp_dir dir;
    std::ofstream(dir.path() / "node_uuid", std::ios::binary) << bad;
    auto id = load_or_create_node_uuid(dir.path());
    ASSERT_FALSE(id) << "accepted: " << bad;
    EXPECT_NE(id.error().find("corrupt"), std::string::npos) << id.error();
    std::ifstream in(dir.path() / "node_uuid", std::ios::binary);
    std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(after, bad);  // never overwritten
  }
}

TEST(node_identity_test, data_dir_that_is_a_file_is_an_error) {
  temp_dir dir;
  std::ofstream(dir.path() / "plain") << "x";
  auto id = load_or_create_node_uuid(dir.path() / "plain");
  ASSERT_FALSE(id);
  EXPECT_TRUE(id.error().starts_with("node_uuid: ")) << id.error();
}

TEST(node_identity_test, data_dir_lock_is_exclusive_and_released) {
  temp_dir dir;
  {
    auto first = data_dir_lock::acquire(dir.path() / "d");
    ASSERT_TRUE(first) << first.error();
    auto second = data_dir_lock::acquire(dir.path() / "d");
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().find("in use"), std::string::npos) << second.error();
  }
  EXPECT_TRUE(data_dir_lock::acquire(dir.path() / "d"));
}

TEST(node_identity_test, hex_round_trip) {
  auto id = node_uuid::random();
  ASSERT_TRUE(id);
  auto back = node_uuid::from_hex(id->hex());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *id);
  EXPECT_FALSE(node_uuid::from_hex("zz"));
  EXPECT_EQ(to_hex(std::string("\x00\xff\x10", 3)), "00ff10");
}

// --- authorization (docs/config.md "Authorization", docs/security.md "Authorization: ACLs") --

TEST_F(config_test, super_users_and_no_acl_found) {
  auto defaults = load("");
  ASSERT_TRUE(defaults) << defaults.error();
  EXPECT_TRUE(defaults->super_users.empty());
  EXPECT_EQ(defaults->no_acl_found, kafka::acl::no_acl_rule::allow_unauthenticated);
  for (const auto& [text, rule] : {std::pair{"allow_unauthenticated", kafka::acl::no_acl_rule::allow_unauthenticated},
                                   std::pair{"allow", kafka::acl::no_acl_rule::allow},
                                   std::pair{"deny", kafka::acl::no_acl_rule::deny}}) {
    auto cfg = load(std::string("no_acl_found = \"") + text + "\"\n");
    ASSERT_TRUE(cfg) << cfg.error();
    EXPECT_EQ(cfg->no_acl_found, rule) << text;
  }
  // Any principal type, a TLS client certificate's CN, the longest principal Kafka's wire allows.
  const std::string longest = "User:" + std::string(kafka::acl::max_principal_bytes - 5, 'a');
  auto cfg = load("super_users = [\"User:admin\", \"User:broker-1.example.com\", \"Group:ops\", \"" + longest +
                  "\"]\nno_acl_found = \"deny\"\n");
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(cfg->super_users,
            (std::vector<std::string>{"User:admin", "User:broker-1.example.com", "Group:ops", longest}));
  EXPECT_EQ(cfg->no_acl_found, kafka::acl::no_acl_rule::deny);
  auto none = load("super_users = []\n");
  ASSERT_TRUE(none) << none.error();
  EXPECT_TRUE(none->super_users.empty());
}

TEST_F(config_test, bad_super_users_and_no_acl_found_are_refused_in_one_line_naming_the_key) {
  const std::string rules = " is not one of allow_unauthenticated, allow, deny";
  EXPECT_EQ(error_of("no_acl_found = \"denied\"\n"), "config error: no_acl_found: \"denied\"" + rules);
  EXPECT_EQ(error_of("no_acl_found = \"Deny\"\n"), "config error: no_acl_found: \"Deny\"" + rules);
  EXPECT_EQ(error_of("no_acl_found = \"\"\n"), "config error: no_acl_found: \"\"" + rules);
  EXPECT_EQ(error_of("no_acl_found = false\n"), "config error: no_acl_found: expected a string, got boolean");
  EXPECT_EQ(error_of("no_acl_found = [\"deny\"]\n"),
            "config error: no_acl_found: expected a string, got array of strings");

  const std::string form = " is not a principal of the form User:name";
  EXPECT_EQ(error_of("super_users = \"User:admin\"\n"),
            "config error: super_users: expected an array of strings, got string");
  EXPECT_EQ(error_of("super_users = [1]\n"),
            "config error: super_users: expected an array of strings, got array containing a integer");
  EXPECT_EQ(error_of("super_users = [\"admin\"]\n"), "config error: super_users: \"admin\"" + form);
  EXPECT_EQ(error_of("super_users = [\":admin\"]\n"), "config error: super_users: \":admin\"" + form);
  EXPECT_EQ(error_of("super_users = [\"User:\"]\n"), "config error: super_users: \"User:\"" + form);
  EXPECT_EQ(error_of("super_users = [\"\"]\n"), "config error: super_users: \"\"" + form);
  // The first bad entry is named, after good ones.
  EXPECT_EQ(error_of("super_users = [\"User:admin\", \"alice\"]\n"), "config error: super_users: \"alice\"" + form);
  const std::string too_long = "User:" + std::string(kafka::acl::max_principal_bytes - 4, 'a');
  EXPECT_EQ(error_of("super_users = [\"" + too_long + "\"]\n"), "config error: super_users: \"" + too_long + "\"" + form);

  // Whatever the value holds, the error stays one line.
  for (const std::string toml : {"no_acl_found = \"de\\nny\"\n", "super_users = [\"ad\\nmin\"]\n",
                                 "super_users = [\"\\r\\nadmin\"]\n"}) {
    const std::string e = error_of(toml);
    EXPECT_EQ(e.find_first_of("\r\n"), std::string::npos) << e;
    EXPECT_TRUE(e.starts_with("config error: no_acl_found: ") || e.starts_with("config error: super_users: ")) << e;
  }
  EXPECT_EQ(error_of("no_acl_found = \"de\\nny\"\n"), "config error: no_acl_found: \"de\\x0any\"" + rules);
  EXPECT_EQ(error_of("super_users = [\"ad\\tmin\"]\n"), "config error: super_users: \"ad\\x09min\"" + form);
  EXPECT_EQ(error_of("\"no_acl\\nfound\" = \"deny\"\n"), "config error: no_acl\\x0afound: unknown key");
}

// --- mutual TLS between nodes (docs/config.md "Between nodes: mutual TLS") -------------------

TEST_F(config_test, rpc_tls_files_are_read_and_checked_at_load) {
  const auto certs = dir_.path() / "certs";
  ASSERT_TRUE(make_certs({certs, {1, 2}, 30, false}).has_value());
  auto keys = [&](const std::string& ca, const std::string& cert, const std::string& key) {
    return "rpc_tls_ca_file = \"" + (certs / ca).string() + "\"\nrpc_tls_cert_file = \"" + (certs / cert).string() +
           "\"\nrpc_tls_key_file = \"" + (certs / key).string() + "\"\n";
  };
  auto cfg = load(keys("ca.crt", "node-1.crt", "node-1.key"));
  ASSERT_TRUE(cfg.has_value()) << cfg.error();
  EXPECT_NE(cfg->rpc_tls_cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(cfg->rpc_tls_key_pem.find("PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(cfg->rpc_tls_verify_incoming);
  EXPECT_TRUE(cfg->rpc_tls_verify_outgoing);
  auto none = load("");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->rpc_tls_cert_pem.empty());

  // Each failure is one line naming the key at fault.
  auto starts = [](const std::string& e, const std::string& prefix) {
    EXPECT_TRUE(e.starts_with(prefix)) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  };
  starts(error_of(keys("ca.crt", "node-2.crt", "node-2.key")), "config error: rpc_tls_cert_file: ");
  EXPECT_NE(error_of(keys("ca.crt", "node-2.crt", "node-2.key")).find("is for node 2, this node is 1"), std::string::npos);
  starts(error_of(keys("ca.crt", "node-1.crt", "node-2.key")), "config error: rpc_tls_key_file: ");
  starts(error_of(keys("absent.crt", "node-1.crt", "node-1.key")), "config error: rpc_tls_ca_file: ");
  starts(error_of(keys("ca.crt", "ca.key", "node-1.key")), "config error: rpc_tls_cert_file: ");
  starts(error_of("rpc_tls_cert_file = \"" + (certs / "node-1.crt").string() + "\"\n"), "config error: rpc_tls_ca_file: ");
  starts(error_of(keys("ca.crt", "node-1.crt", "node-1.key") + "rpc_tls_verify_outgoing = false\n"),
         "config error: rpc_tls_verify_outgoing: ");
  starts(error_of("rpc_tls_verify_incoming = \"no\"\n"), "config error: rpc_tls_verify_incoming: ");
  starts(error_of("rpc_tls_cert = \"x\"\n"), "config error: rpc_tls_cert: unknown key");

  // The rolling switch-on's steps load.
  cfg = load(keys("ca.crt", "node-1.crt", "node-1.key") + "rpc_tls_verify_incoming = false\nrpc_tls_verify_outgoing = false\n");
  ASSERT_TRUE(cfg.has_value()) << cfg.error();
  EXPECT_FALSE(cfg->rpc_tls_verify_incoming);
  EXPECT_FALSE(cfg->rpc_tls_verify_outgoing);
}

}  // namespace
}  // namespace chronik::daemon
