#include "daemon/config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <limits>
#include <map>
#include <system_error>
#include <utility>
#include <variant>

#include <toml.hpp>

#include "daemon/node_addresses.h"
#include "daemon/rpc_tls_files.h"
#include "daemon/toml_text_checks.h"

namespace chronik::daemon {

namespace {

// std::map keeps keys sorted, so with several bad keys the reported one does not depend on hash
// order: the same file always gives the same error line.
using toml_value = toml::basic_value<toml::discard_comments, std::map, std::vector>;

// A setting as the loader sees it, whether it came from TOML or from a flag. Keeping one form lets
// file values and flags share every range and format check, and so the same error wording.
struct wrong_type {
  std::string got;
};
using raw_value = std::variant<std::int64_t, std::string, std::vector<std::string>, bool, wrong_type>;

using step_result = std::expected<void, std::string>;

// Appends `text` with control bytes written as \xNN, so that an error stays one line whatever a
// quoted key or value holds.
void append_one_line(std::string& line, std::string_view text) {
  constexpr char hex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      line.push_back(c);
    } else {
      line.append("\\x").push_back(hex[byte >> 4]);
      line.push_back(hex[byte & 0xf]);
    }
  }
}

std::unexpected<std::string> fail(std::string_view key, std::string_view problem,
                                  std::string_view flag = {}) {
  std::string line = "config error: ";
  append_one_line(line, key);
  line.append(": ");
  append_one_line(line, problem);
  if (!flag.empty()) line.append(" (from ").append(flag).append(")");
  return std::unexpected(std::move(line));
}

std::string_view type_name(toml::value_t type) {
  switch (type) {
    case toml::value_t::boolean: return "boolean";
    case toml::value_t::integer: return "integer";
    case toml::value_t::floating: return "float";
    case toml::value_t::string: return "string";
    case toml::value_t::offset_datetime:
    case toml::value_t::local_datetime: return "datetime";
    case toml::value_t::local_date: return "date";
    case toml::value_t::local_time: return "time";
    case toml::value_t::array: return "array";
    case toml::value_t::table: return "table";
    case toml::value_t::empty: return "nothing";
  }
  return "unknown";
}

raw_value to_raw(const toml_value& v) {
  if (v.is_boolean()) return v.as_boolean(std::nothrow);
  if (v.is_integer()) return v.as_integer(std::nothrow);
  if (v.is_string()) return v.as_string(std::nothrow).str;
  if (v.is_array()) {
    std::vector<std::string> items;
    for (const auto& item : v.as_array(std::nothrow)) {
      if (!item.is_string()) return wrong_type{"array containing a " + std::string(type_name(item.type()))};
      items.push_back(item.as_string(std::nothrow).str);
    }
    return items;
  }
  return wrong_type{std::string(type_name(v.type()))};
}

std::string_view raw_type_name(const raw_value& v) {
  if (std::holds_alternative<std::int64_t>(v)) return "integer";
  if (std::holds_alternative<std::string>(v)) return "string";
  if (std::holds_alternative<std::vector<std::string>>(v)) return "array of strings";
  if (std::holds_alternative<bool>(v)) return "boolean";
  return std::get<wrong_type>(v).got;
}

std::expected<std::int64_t, std::string> want_int(std::string_view key, const raw_value& v,
                                                  std::int64_t lo, std::int64_t hi,
                                                  std::string_view flag) {
  const auto* n = std::get_if<std::int64_t>(&v);
  if (n == nullptr) return fail(key, "expected an integer, got " + std::string(raw_type_name(v)), flag);
  if (*n < lo || *n > hi) {
    return fail(key, std::to_string(*n) + " is out of range " + std::to_string(lo) + ".." +
                         std::to_string(hi), flag);
  }
  return *n;
}

std::expected<std::string, std::string> want_string(std::string_view key, const raw_value& v,
                                                    std::string_view flag) {
  const auto* s = std::get_if<std::string>(&v);
  if (s == nullptr) return fail(key, "expected a string, got " + std::string(raw_type_name(v)), flag);
  return *s;
}

// --- gossip fields ---------------------------------------------------------------------------

struct gossip_field {
  std::string_view name;
  std::uint32_t gossip::config::*u32 = nullptr;
  std::uint64_t gossip::config::*u64 = nullptr;
};

// Every gossip::config field by its exact name. The size check below breaks the build when a
// field is added or removed, so this table and docs/config.md cannot silently fall behind.
constexpr std::array<gossip_field, 18> gossip_fields{{
    {"tick_ms", &gossip::config::tick_ms},
    {"probe_interval_ms", &gossip::config::probe_interval_ms},
    {"probe_timeout_ms", &gossip::config::probe_timeout_ms},
    {"indirect_checks", &gossip::config::indirect_checks},
    {"gossip_interval_ms", &gossip::config::gossip_interval_ms},
    {"gossip_nodes", &gossip::config::gossip_nodes},
    {"gossip_to_dead_ms", &gossip::config::gossip_to_dead_ms},
    {"retransmit_mult", &gossip::config::retransmit_mult},
    {"suspicion_mult", &gossip::config::suspicion_mult},
    {"suspicion_max_timeout_mult", &gossip::config::suspicion_max_timeout_mult},
    {"awareness_max_multiplier", &gossip::config::awareness_max_multiplier},
    {"push_pull_interval_ms", &gossip::config::push_pull_interval_ms},
    {"reconnect_interval_ms", &gossip::config::reconnect_interval_ms},
    {"join_retry_min_ms", &gossip::config::join_retry_min_ms},
    {"join_retry_max_ms", &gossip::config::join_retry_max_ms},
    {"reap_after_ms", nullptr, &gossip::config::reap_after_ms},
    {"max_datagram_bytes", &gossip::config::max_datagram_bytes},
    {"max_meta_bytes", &gossip::config::max_meta_bytes},
}};
static_assert(sizeof(gossip::config) == 15 * 4 + 4 + 8 + 2 * 4,
              "gossip::config changed: update gossip_fields and docs/config.md");

step_result apply_gossip_key(gossip::config& g, const std::string& name, const raw_value& v) {
  const std::string key = "gossip." + name;
  for (const auto& field : gossip_fields) {
    if (field.name != name) continue;
    if (field.u32 != nullptr) {
      auto n = want_int(key, v, 0, std::numeric_limits<std::uint32_t>::max(), {});
      if (!n) return std::unexpected(n.error());
      g.*field.u32 = static_cast<std::uint32_t>(*n);
    } else {
      auto n = want_int(key, v, 0, std::numeric_limits<std::int64_t>::max(), {});
      if (!n) return std::unexpected(n.error());
      g.*field.u64 = static_cast<std::uint64_t>(*n);
    }
    return {};
  }
  return fail(key, "unknown key");
}

// --- top-level keys --------------------------------------------------------------------------

bool valid_cluster_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::uint16_t* port_field(node_config& cfg, std::string_view key) {
  if (key == "gossip_port") return &cfg.gossip_port;
  if (key == "rpc_port") return &cfg.rpc_port;
  if (key == "kafka_port") return &cfg.kafka_port;
  if (key == "admin_port") return &cfg.admin_port;
  return nullptr;
}

// Resource bounds (docs/config.md "Resource bounds"): one range each.
struct bound_key {
  std::string_view name;
  std::int64_t lo = 0;
  std::int64_t hi = 0;
  std::uint64_t node_config::*field = nullptr;
};
constexpr std::array<bound_key, 16> bound_keys{{
    {"kafka_max_request_bytes", 64, std::int64_t{1} << 30, &node_config::kafka_max_request_bytes},
    {"kafka_max_queued_request_bytes", 64, std::int64_t{64} << 30, &node_config::kafka_max_queued_request_bytes},
    {"kafka_max_in_flight_per_connection", 1, 1024, &node_config::kafka_max_in_flight_per_connection},
    {"kafka_max_connections", 1, 1'000'000, &node_config::kafka_max_connections},
    {"kafka_max_connections_per_ip", 1, 1'000'000, &node_config::kafka_max_connections_per_ip},
    {"kafka_connections_max_idle_ms", 1000, 604'800'000, &node_config::kafka_connections_max_idle_ms},
    {"auto_create_topics_max_per_request", 1, 10'000, &node_config::auto_create_topics_max_per_request},
    {"auto_create_topics_max_per_second", 1, 10'000, &node_config::auto_create_topics_max_per_second},
    {"offsets_topic_num_partitions", 1, 1'000, &node_config::offsets_topic_num_partitions},
    {"offsets_topic_replication_factor", 1, 16, &node_config::offsets_topic_replication_factor},
    {"offsets_retention_minutes", 1, 5'256'000, &node_config::offsets_retention_minutes},
    {"producer_id_expiration_ms", 1'000, 31'536'000'000, &node_config::producer_id_expiration_ms},
    {"transaction_state_log_num_partitions", 1, 1'000, &node_config::transaction_state_log_num_partitions},
    {"transaction_state_log_replication_factor", 1, 16, &node_config::transaction_state_log_replication_factor},
    {"transaction_max_timeout_ms", 1, 2'147'483'647, &node_config::transaction_max_timeout_ms},
    {"transactional_id_expiration_ms", 1'000, 31'536'000'000, &node_config::transactional_id_expiration_ms},
}};

const bound_key* find_bound_key(std::string_view key) {
  for (const auto& b : bound_keys) {
    if (b.name == key) return &b;
  }
  return nullptr;
}

step_result apply_number_key(node_config& cfg, std::string_view key, const raw_value& v,
                             std::string_view flag) {
  if (const auto* b = find_bound_key(key)) {
    auto n = want_int(key, v, b->lo, b->hi, flag);
    if (!n) return std::unexpected(n.error());
    cfg.*(b->field) = static_cast<std::uint64_t>(*n);
    return {};
  }
  if (auto* port = port_field(cfg, key)) {
    auto n = want_int(key, v, 1, 65535, flag);
    if (!n) return std::unexpected(n.error());
    *port = static_cast<std::uint16_t>(*n);
    return {};
  }
  if (key == "node_id") {
    // The node id is also the Kafka broker id, an INT32 (docs/design.md "Identity"): an id Kafka
    // cannot name is refused here rather than failing later at the Kafka edge.
    auto n = want_int(key, v, 1, std::numeric_limits<std::int32_t>::max(), flag);
    if (!n) return std::unexpected(n.error());
    cfg.node_id = gossip::node_id{static_cast<std::uint32_t>(*n)};
    return {};
  }
  if (key == "meta_voters") {
    auto n = want_int(key, v, 0, 9, flag);
    if (!n) return std::unexpected(n.error());
    // An even voter count tolerates no more failures than the odd count below it.
    if (*n != 0 && *n % 2 == 0) return fail(key, "must be 0 (automatic) or odd: 1, 3, 5, 7 or 9", flag);
    cfg.meta_voters = static_cast<std::uint32_t>(*n);
    return {};
  }
  if (key == "num_partitions") {
    auto n = want_int(key, v, 1, 10'000, flag);
    if (!n) return std::unexpected(n.error());
    cfg.num_partitions = static_cast<std::int32_t>(*n);
    return {};
  }
  if (key == "group_initial_rebalance_delay_ms") {
    auto n = want_int(key, v, 0, 300'000, flag);
    if (!n) return std::unexpected(n.error());
    cfg.group_initial_rebalance_delay_ms = static_cast<std::int32_t>(*n);
    return {};
  }
  if (key == "replica_lag_time_max_ms") {
    auto n = want_int(key, v, 100, 3'600'000, flag);
    if (!n) return std::unexpected(n.error());
    cfg.replica_lag_time_max_ms = *n;
    return {};
  }
  if (key == "fetch_cache_bytes") {
    auto n = want_int(key, v, 0, std::int64_t{64} << 30, flag);
    if (!n) return std::unexpected(n.error());
    cfg.fetch_cache_bytes = static_cast<std::uint64_t>(*n);
    return {};
  }
  if (key == "default_replication_factor") {
    auto n = want_int(key, v, 1, 16, flag);
    if (!n) return std::unexpected(n.error());
    cfg.default_replication_factor = static_cast<std::int16_t>(*n);
    return {};
  }
  if (key == "meta_snapshot_entries") {
    auto n = want_int(key, v, 4, 1'000'000'000, flag);
    if (!n) return std::unexpected(n.error());
    cfg.meta_snapshot_entries = static_cast<std::uint64_t>(*n);
    return {};
  }
  if (key == "voter_replace_after_ms") {
    auto n = want_int(key, v, 100, 86'400'000, flag);
    if (!n) return std::unexpected(n.error());
    cfg.voter_replace_after_ms = static_cast<std::uint32_t>(*n);
    return {};
  }
  // bootstrap_expect: more than a thousand founding voters is certainly a typo.
  auto n = want_int(key, v, 1, 1000, flag);
  if (!n) return std::unexpected(n.error());
  cfg.bootstrap_expect = static_cast<std::uint32_t>(*n);
  return {};
}

step_result apply_seeds(node_config& cfg, const raw_value& v, std::string_view flag) {
  const auto* list = std::get_if<std::vector<std::string>>(&v);
  if (list == nullptr) {
    return fail("seeds", "expected an array of strings, got " + std::string(raw_type_name(v)), flag);
  }
  for (const auto& seed : *list) {
    auto ep = parse_host_port(seed);  // names are resolved with the other addresses (node_addresses.h)
    if (!ep) return fail("seeds", "\"" + seed + "\": " + ep.error(), flag);
  }
  cfg.seeds = *list;
  return {};
}

step_result apply_string_key(node_config& cfg, std::string_view key, const raw_value& v,
                             std::string_view flag) {
  auto s = want_string(key, v, flag);
  if (!s) return std::unexpected(s.error());
  if (key == "bind") {
    if (!is_ipv4(*s)) return fail(key, "\"" + *s + "\" is not an IPv4 address", flag);
    cfg.bind = *s;  // 0.0.0.0 needs `advertise` (checked in resolve_node_addresses)
  } else if (key == "advertise") {
    if (!is_ipv4(*s) && !valid_host_name(*s)) return fail(key, "\"" + *s + "\" is neither an IPv4 address nor a host name", flag);
    cfg.advertise = *s;
  } else if (key == "gossip_advertise" || key == "rpc_advertise") {
    if (auto hp = parse_host_port(*s); !hp) return fail(key, "\"" + *s + "\": " + hp.error(), flag);
    (key == "gossip_advertise" ? cfg.gossip_advertise : cfg.rpc_advertise) = *s;
  } else if (key == "admin_bind") {
    if (!is_ipv4(*s)) return fail(key, "\"" + *s + "\" is not an IPv4 address", flag);
    // The admin address is advertised in gossip for keyring propagation, so it must be routable.
    if (*s == "0.0.0.0") return fail(key, "0.0.0.0 cannot be advertised; give one of the node's addresses", flag);
    cfg.admin_bind = *s;
  } else if (key == "admin_token_file") {
    if (s->empty()) return fail(key, "must not be empty", flag);
    cfg.admin_token_file = *s;
  } else if (key == "cluster_name") {
    if (!valid_cluster_name(*s)) return fail(key, "\"" + *s + "\" must be 1..64 characters of [A-Za-z0-9._-]", flag);
    cfg.cluster_name = *s;
  } else if (key == "data_dir") {
    if (s->empty()) return fail(key, "must not be empty", flag);
    cfg.data_dir = *s;
  } else if (key == "gossip_key") {
    // The key itself is never echoed: error lines end up in logs.
    auto k = gossip::key_from_base64(*s);
    if (!k) return fail(key, "must be the base64 of 32 random bytes (chronik-server keygen prints one)", flag);
    cfg.gossip_key = *k;
  } else if (key == "log_level") {
    auto level = parse_log_level(*s);
    if (!level) return fail(key, "\"" + *s + "\" is not one of trace, debug, info, warn, error, critical, off", flag);
    cfg.level = *level;
  } else if (key == "log_format") {
    if (*s != "text" && *s != "json") return fail(key, "\"" + *s + "\" is not text or json", flag);
    cfg.format = *s == "json" ? log_format::json : log_format::text;
  }
  return {};
}

// sasl_enabled_mechanisms: Kafka's mechanism names, at least one, each once.
step_result apply_sasl_mechanisms(node_config& cfg, std::string_view key, const raw_value& v, std::string_view flag) {
  const auto* list = std::get_if<std::vector<std::string>>(&v);
  if (list == nullptr) return fail(key, "expected an array of strings, got " + std::string(raw_type_name(v)), flag);
  if (list->empty()) return fail(key, "at least one mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", flag);
  std::vector<kafka::sasl::sasl_mechanism> out;
  for (const auto& name : *list) {
    auto m = kafka::sasl::sasl_mechanism_named(name);
    if (!m) return fail(key, "\"" + name + "\" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", flag);
    if (std::find(out.begin(), out.end(), *m) != out.end()) return fail(key, "\"" + name + "\" is listed twice", flag);
    out.push_back(*m);
  }
  cfg.sasl_enabled_mechanisms = std::move(out);
  return {};
}

// The Kafka listener keys (daemon/kafka_listeners.h): strings and arrays of strings.
step_result apply_listener_key(node_config& cfg, std::string_view key, const raw_value& v, std::string_view flag) {
  std::expected<void, std::string> r;
  if (const auto* s = std::get_if<std::string>(&v)) {
    r = set_kafka_listener_key(cfg.kafka_listeners, key, *s);
  } else if (const auto* list = std::get_if<std::vector<std::string>>(&v)) {
    r = set_kafka_listener_key(cfg.kafka_listeners, key, *list);
  } else {
    return fail(key, "expected a string or an array of strings, got " + std::string(raw_type_name(v)), flag);
  }
  if (!r) return fail(key, r.error(), flag);
  return {};
}

// The authorization keys (docs/config.md "Authorization").
step_result apply_authorization_key(node_config& cfg, std::string_view key, const raw_value& v,
                                    std::string_view flag) {
  if (key == "no_acl_found") {
    auto s = want_string(key, v, flag);
    if (!s) return std::unexpected(s.error());
    auto rule = kafka::acl::parse_no_acl_rule(*s);
    if (!rule) return fail(key, "\"" + *s + "\" is not one of allow_unauthenticated, allow, deny", flag);
    cfg.no_acl_found = *rule;
    return {};
  }
  const auto* list = std::get_if<std::vector<std::string>>(&v);
  if (list == nullptr) return fail(key, "expected an array of strings, got " + std::string(raw_type_name(v)), flag);
  for (const auto& p : *list) {
    const auto colon = p.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == p.size() || p.size() > kafka::acl::max_principal_bytes) {
      return fail(key, "\"" + p + "\" is not a principal of the form User:name", flag);
    }
  }
  cfg.super_users = *list;
  return {};
}

// The [rpc_tls] keys (docs/config.md "Between nodes"): three paths and the two switches.
step_result apply_rpc_tls_key(node_config& cfg, std::string_view key, const raw_value& v, std::string_view flag) {
  if (key == "rpc_tls_verify_incoming" || key == "rpc_tls_verify_outgoing") {
    const auto* b = std::get_if<bool>(&v);
    if (b == nullptr) return fail(key, "expected a boolean, got " + std::string(raw_type_name(v)), flag);
    (key == "rpc_tls_verify_incoming" ? cfg.rpc_tls_verify_incoming : cfg.rpc_tls_verify_outgoing) = *b;
    return {};
  }
  std::filesystem::path* path = key == "rpc_tls_ca_file"     ? &cfg.rpc_tls_ca_file
                                : key == "rpc_tls_cert_file" ? &cfg.rpc_tls_cert_file
                                : key == "rpc_tls_key_file"  ? &cfg.rpc_tls_key_file
                                                             : nullptr;
  if (path == nullptr) return fail(key, "unknown key", flag);
  auto s = want_string(key, v, flag);
  if (!s) return std::unexpected(s.error());
  if (s->empty()) return fail(key, "must not be empty", flag);
  *path = *s;
  return {};
}

step_result apply_top_key(node_config& cfg, std::string_view key, const raw_value& v,
                          std::string_view flag = {}) {
  if (key.starts_with("rpc_tls_")) return apply_rpc_tls_key(cfg, key, v, flag);
  if (key == "super_users" || key == "no_acl_found") return apply_authorization_key(cfg, key, v, flag);
  if (is_kafka_listener_key(key)) return apply_listener_key(cfg, key, v, flag);
  if (key == "sasl_enabled_mechanisms") return apply_sasl_mechanisms(cfg, key, v, flag);
  if (key == "node_id" || key == "bootstrap_expect" || key == "meta_voters" || key == "voter_replace_after_ms" ||
      key == "meta_snapshot_entries" || key == "num_partitions" || key == "default_replication_factor" ||
      key == "fetch_cache_bytes" || key == "replica_lag_time_max_ms" || key == "group_initial_rebalance_delay_ms" ||
      find_bound_key(key) != nullptr ||
      port_field(cfg, key) != nullptr) {
    return apply_number_key(cfg, key, v, flag);
  }
  if (key == "seeds") return apply_seeds(cfg, v, flag);
  if (key == "bind" || key == "advertise" || key == "gossip_advertise" || key == "rpc_advertise" ||
      key == "cluster_name" || key == "data_dir" || key == "log_level" || key == "log_format" || key == "gossip_key" ||
      key == "admin_bind" || key == "admin_token_file") {
    return apply_string_key(cfg, key, v, flag);
  }
  if (key == "auto_create_topics" || key == "gossip_verify_incoming" || key == "gossip_verify_outgoing") {
    const auto* b = std::get_if<bool>(&v);
    if (b == nullptr) return fail(key, "expected a boolean, got " + std::string(raw_type_name(v)), flag);
    (key == "auto_create_topics"       ? cfg.auto_create_topics
     : key == "gossip_verify_incoming" ? cfg.gossip_verify_incoming
                                       : cfg.gossip_verify_outgoing) = *b;
    return {};
  }
  if (key == "preset" || key == "gossip" || key == "log_levels") return {};  // tables: apply_file
  return fail(key, "unknown key", flag);
}

// --- file ------------------------------------------------------------------------------------

std::expected<toml_value, std::string> read_toml(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return fail("config", "cannot read " + file.string() + ": " +
                              (ec ? ec.message() : std::string("no such regular file")));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail("config", "cannot open " + file.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  const std::string text = std::move(bytes).str();
  // TOML files are UTF-8 (TOML 1.0 "Spec"). Checked here, before toml11: its report of bad UTF-8
  // inside a string reads past the end of its own buffer (toml11 3.7, found by tests/fuzz).
  if (const std::size_t bad = first_invalid_utf8(text); bad != std::string_view::npos) {
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n');
    return fail("config", file.string() + ": TOML parse error: not UTF-8 (line " + std::to_string(line) + ")");
  }
  if (toml_nesting(text) > max_toml_nesting) {
    return fail("config", file.string() + ": TOML parse error: arrays or tables nested deeper than " +
                              std::to_string(max_toml_nesting));
  }
  // toml11 signals every syntax problem by exception; they stop here (docs/design.md "Errors").
  try {
    std::istringstream source(text);
    auto root = toml::parse<toml::discard_comments, std::map, std::vector>(source, file.string());
    if (!root.is_table()) return fail("config", file.string() + ": top level is not a table");
    return root;
  } catch (const std::exception& e) {
    return fail("config", file.string() + ": TOML parse error: " + one_line_parse_error(e.what()));
  }
}

std::expected<gossip_preset, std::string> choose_preset(const toml_value* root, const cli_overrides& cli) {
  if (cli.preset) {
    auto p = parse_preset(*cli.preset);
    if (!p) return fail("preset", "\"" + *cli.preset + "\" is not one of lan, wan, local", "--preset");
    return *p;
  }
  if (root != nullptr) {
    const auto& table = root->as_table(std::nothrow);
    if (auto it = table.find("preset"); it != table.end()) {
      auto s = want_string("preset", to_raw(it->second), {});
      if (!s) return std::unexpected(s.error());
      auto p = parse_preset(*s);
      if (!p) return fail("preset", "\"" + *s + "\" is not one of lan, wan, local");
      return *p;
    }
  }
  return gossip_preset::lan;
}

step_result apply_file(node_config& cfg, const toml_value& root) {
  const auto& table = root.as_table(std::nothrow);
  for (const auto& [key, value] : table) {
    if (auto r = apply_top_key(cfg, key, to_raw(value)); !r) return r;
  }
  if (auto levels = table.find("log_levels"); levels != table.end()) {
    if (!levels->second.is_table()) return fail("log_levels", "expected a table of module = \"level\"");
    // The names module_logger is called with (daemon/logging.h); a typo would otherwise be ignored.
    constexpr std::string_view modules[] = {"admin", "daemon", "formation", "gossip", "kafka", "meta", "raft"};
    for (const auto& [module, value] : levels->second.as_table(std::nothrow)) {
      if (std::ranges::find(modules, std::string_view(module)) == std::end(modules))
        return fail("log_levels." + module, "unknown module; one of admin, daemon, formation, gossip, kafka, meta, raft");
      const auto* text = value.is_string() ? &value.as_string(std::nothrow).str : nullptr;
      auto level = text ? parse_log_level(*text) : std::nullopt;
      if (!level) return fail("log_levels." + module, "expected one of trace, debug, info, warn, error, critical, off");
      cfg.module_levels[module] = *level;
    }
  }
  auto it = table.find("gossip");
  if (it == table.end()) return {};
  if (!it->second.is_table()) return fail("gossip", "expected a table, got " + std::string(type_name(it->second.type())));
  for (const auto& [name, value] : it->second.as_table(std::nothrow)) {
    if (auto r = apply_gossip_key(cfg.gossip, name, to_raw(value)); !r) return r;
  }
  return {};
}

step_result apply_cli(node_config& cfg, const cli_overrides& cli) {
  struct entry {
    std::string_view key;
    std::string_view flag;
    std::optional<raw_value> value;
  };
  auto opt = [](const auto& o) -> std::optional<raw_value> {
    if (!o) return std::nullopt;
    return raw_value{*o};
  };
  const entry entries[] = {
      {"node_id", "--node-id", opt(cli.node_id)},
      {"bind", "--bind", opt(cli.bind)},
      {"advertise", "--advertise", opt(cli.advertise)},
      {"gossip_advertise", "--gossip-advertise", opt(cli.gossip_advertise)},
      {"rpc_advertise", "--rpc-advertise", opt(cli.rpc_advertise)},
      {"gossip_port", "--gossip-port", opt(cli.gossip_port)},
      {"rpc_port", "--rpc-port", opt(cli.rpc_port)},
      {"kafka_port", "--kafka-port", opt(cli.kafka_port)},
      {"admin_port", "--admin-port", opt(cli.admin_port)},
      {"admin_bind", "--admin-bind", opt(cli.admin_bind)},
      {"admin_token_file", "--admin-token-file", opt(cli.admin_token_file)},
      {"seeds", "--seed", cli.seeds.empty() ? std::nullopt : std::optional<raw_value>(cli.seeds)},
      {"data_dir", "--data-dir", opt(cli.data_dir)},
      {"bootstrap_expect", "--bootstrap-expect", opt(cli.bootstrap_expect)},
      {"meta_voters", "--meta-voters", opt(cli.meta_voters)},
      {"voter_replace_after_ms", "--voter-replace-after-ms", opt(cli.voter_replace_after_ms)},
      {"meta_snapshot_entries", "--meta-snapshot-entries", opt(cli.meta_snapshot_entries)},
      {"cluster_name", "--cluster-name", opt(cli.cluster_name)},
      {"log_level", "--log-level", opt(cli.log_level)},
      {"log_format", "--log-format", opt(cli.log_format)},
      {"gossip_key", "--gossip-key", opt(cli.gossip_key)},
  };
  for (const auto& e : entries) {
    if (!e.value) continue;
    if (auto r = apply_top_key(cfg, e.key, *e.value, e.flag); !r) return r;
  }
  return {};
}

// Listeners share one address, so two services on one port would fail at bind time with a less
// helpful message.
step_result check_distinct_ports(const node_config& cfg) {
  const std::pair<std::string_view, std::uint16_t> ports[] = {
      {"gossip_port", cfg.gossip_port}, {"rpc_port", cfg.rpc_port},
      {"kafka_port", cfg.kafka_port}, {"admin_port", cfg.admin_port}};
  for (std::size_t i = 0; i < std::size(ports); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (ports[i].second == ports[j].second) {
        return fail(ports[i].first, std::to_string(ports[i].second) + " is already used by " +
                                        std::string(ports[j].first));
      }
    }
  }
  return {};
}

}  // namespace

std::string node_config::admin_ip() const {
  if (!admin_bind.empty()) return admin_bind;
  return bind.starts_with("127.") ? bind : std::string("127.0.0.1");
}

namespace {
// All three files or none; then the files themselves (rpc_tls_files.h), so a bad one stops `start`
// with one line naming its key, before anything binds.
step_result load_rpc_tls(node_config& cfg) {
  const int given = !cfg.rpc_tls_ca_file.empty() + !cfg.rpc_tls_cert_file.empty() + !cfg.rpc_tls_key_file.empty();
  if (given == 0) return {};
  if (given != 3) {
    const char* missing = cfg.rpc_tls_ca_file.empty()     ? "rpc_tls_ca_file"
                          : cfg.rpc_tls_cert_file.empty() ? "rpc_tls_cert_file"
                                                          : "rpc_tls_key_file";
    return fail(missing, "needed with the other rpc_tls_*_file keys (all three or none)");
  }
  // As for gossip: nodes that dial plaintext but refuse it cannot talk to each other.
  if (!cfg.rpc_tls_verify_outgoing && cfg.rpc_tls_verify_incoming) {
    return fail("rpc_tls_verify_outgoing", "false needs rpc_tls_verify_incoming = false too (plaintext senders must accept plaintext)");
  }
  auto pems = load_rpc_tls_files({cfg.rpc_tls_ca_file, cfg.rpc_tls_cert_file, cfg.rpc_tls_key_file}, cfg.node_id);
  if (!pems) return std::unexpected("config error: " + pems.error());
  cfg.rpc_tls_ca_pem = std::move(pems->ca_pem);
  cfg.rpc_tls_cert_pem = std::move(pems->cert_pem);
  cfg.rpc_tls_key_pem = std::move(pems->key_pem);
  return {};
}
}  // namespace

std::string_view to_string(gossip_preset preset) {
  switch (preset) {
    case gossip_preset::lan: return "lan";
    case gossip_preset::wan: return "wan";
    case gossip_preset::local: return "local";
  }
  return "lan";
}

std::optional<gossip_preset> parse_preset(std::string_view text) {
  if (text == "lan") return gossip_preset::lan;
  if (text == "wan") return gossip_preset::wan;
  if (text == "local") return gossip_preset::local;
  return std::nullopt;
}

gossip::config preset_config(gossip_preset preset) {
  switch (preset) {
    case gossip_preset::wan: return gossip::config::wan();
    case gossip_preset::local: return gossip::config::local();
    case gossip_preset::lan: break;
  }
  return gossip::config::lan();
}

std::uint32_t preset_voter_replace_after_ms(gossip_preset preset) {
  switch (preset) {
    case gossip_preset::wan: return 30'000;
    case gossip_preset::local: return 1'000;
    case gossip_preset::lan: break;
  }
  return 10'000;
}

namespace {
constexpr std::array<std::pair<std::string_view, log_level>, 7> log_level_names{{
    {"trace", log_level::trace}, {"debug", log_level::debug}, {"info", log_level::info},
    {"warn", log_level::warn}, {"error", log_level::error}, {"critical", log_level::critical},
    {"off", log_level::off},
}};
}  // namespace

std::string_view to_string(log_level level) {
  for (const auto& [name, value] : log_level_names) {
    if (value == level) return name;
  }
  return "info";
}

std::optional<log_level> parse_log_level(std::string_view text) {
  for (const auto& [name, value] : log_level_names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

namespace {
// One decimal octet: 1..3 digits, no sign, no leading zero ("010" is octal to inet_aton but
// decimal to humans, so it is refused rather than guessed).
bool valid_octet(std::string_view part) {
  if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
  if (part.find_first_not_of("0123456789") != std::string_view::npos) return false;
  unsigned value = 0;
  std::from_chars(part.data(), part.data() + part.size(), value);
  return value <= 255;
}
}  // namespace

bool is_ipv4(std::string_view text) {
  int parts = 0;
  for (;;) {
    const auto dot = text.find('.');
    if (!valid_octet(text.substr(0, dot)) || ++parts > 4) return false;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return parts == 4;
}

std::expected<ipv4_endpoint, std::string> parse_ipv4_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::unexpected("expected IP:PORT");
  const auto ip = text.substr(0, colon);
  const auto port_text = text.substr(colon + 1);
  if (!is_ipv4(ip)) return std::unexpected("\"" + std::string(ip) + "\" is not an IPv4 address");
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    return std::unexpected("port \"" + std::string(port_text) + "\" is not in 1..65535");
  }
  return ipv4_endpoint{std::string(ip), static_cast<std::uint16_t>(port)};
}

std::expected<node_config, std::string> load_node_config(std::optional<std::filesystem::path> file,
                                                         const cli_overrides& cli) {
  std::optional<toml_value> root;
  if (file) {
    auto parsed = read_toml(*file);
    if (!parsed) return std::unexpected(parsed.error());
    root = std::move(*parsed);
  }
  node_config cfg;
  auto preset = choose_preset(root ? &*root : nullptr, cli);
  if (!preset) return std::unexpected(preset.error());
  cfg.preset = *preset;
  cfg.gossip = preset_config(cfg.preset);
  cfg.voter_replace_after_ms = preset_voter_replace_after_ms(cfg.preset);

  if (root) {
    if (auto r = apply_file(cfg, *root); !r) return std::unexpected(r.error());
  }
  if (auto r = apply_cli(cfg, cli); !r) return std::unexpected(r.error());
  if (cfg.data_dir.empty()) {
    cfg.data_dir = std::filesystem::path("./data") / ("node-" + std::to_string(cfg.node_id.value()));
  }
  if (auto r = cfg.gossip.validate(); !r) return std::unexpected("config error: gossip." + r.error());
  if (auto r = check_distinct_ports(cfg); !r) return std::unexpected(r.error());
  // Nodes that send plaintext but refuse it cannot talk to each other: no step of the rolling
  // switch-on (docs/security.md "Gossip encryption") has this pair.
  if (!cfg.gossip_verify_outgoing && cfg.gossip_verify_incoming) {
    return fail("gossip_verify_outgoing", "false needs gossip_verify_incoming = false too (plaintext senders must accept plaintext)");
  }
  if (auto r = resolve_node_addresses(cfg); !r) return std::unexpected(r.error());
  if (auto r = resolve_kafka_listeners(cfg.kafka_listeners, cfg.bind, cfg.advertise_ip, cfg.kafka_port,
                                      {{"gossip_port", cfg.gossip_port}, {"rpc_port", cfg.rpc_port}, {"admin_port", cfg.admin_port}});
      !r) {
    return std::unexpected(r.error());
  }
  if (auto r = load_rpc_tls(cfg); !r) return std::unexpected(r.error());
  // One request of the largest size must always fit in the node-wide budget.
  if (cfg.kafka_max_queued_request_bytes < cfg.kafka_max_request_bytes) {
    return fail("kafka_max_queued_request_bytes",
                std::to_string(cfg.kafka_max_queued_request_bytes) + " is less than kafka_max_request_bytes (" +
                    std::to_string(cfg.kafka_max_request_bytes) + ")");
  }
  return cfg;
}

}  // namespace chronik::daemon
