#include "daemon/kafka_listeners.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <map>
#include <system_error>

#include "daemon/config.h"

namespace chronik::daemon {
namespace {

std::unexpected<std::string> fail(std::string_view key, std::string_view problem) {
  std::string line = "config error: ";
  line.append(key).append(": ").append(problem);
  return std::unexpected(std::move(line));
}

// Kafka's listener names: letters, digits, '_' and '-' (they appear in config keys there).
bool valid_listener_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::ranges::all_of(name, [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) != 0 || std::isdigit(static_cast<unsigned char>(c)) != 0 ||
           c == '_' || c == '-';
  });
}

// RFC 1123 host names (letters, digits, '-' and '.'); IPv4 literals pass too.
bool valid_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  return std::ranges::all_of(host, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
  });
}

constexpr std::array<std::string_view, 3> list_keys{"listeners", "advertised_listeners",
                                                    "listener_security_protocol_map"};

}  // namespace

bool is_kafka_listener_key(std::string_view key) {
  return std::ranges::find(list_keys, key) != list_keys.end() || key == "inter_broker_listener_name" ||
         key == "kafka_tls_cert_file" || key == "kafka_tls_key_file" || key == "kafka_tls_ca_file" ||
         key == "kafka_tls_client_auth";
}

std::expected<void, std::string> set_kafka_listener_key(kafka_listener_settings& s, std::string_view key,
                                                        const std::vector<std::string>& value) {
  if (key == "listeners") {
    if (value.empty()) return std::unexpected("must name at least one listener");
    s.listeners = value;
  } else if (key == "advertised_listeners") {
    s.advertised_listeners = value;
  } else if (key == "listener_security_protocol_map") {
    s.protocol_map = value;
  } else {
    return std::unexpected("expected a string, got array of strings");
  }
  return {};
}

std::expected<void, std::string> set_kafka_listener_key(kafka_listener_settings& s, std::string_view key,
                                                        const std::string& value) {
  if (std::ranges::find(list_keys, key) != list_keys.end()) {
    return std::unexpected("expected an array of strings, got string");
  }
  if (key == "kafka_tls_client_auth") {
    if (value == "none") {
      s.tls_client_auth = kafka::tls_client_auth::none;
    } else if (value == "requested") {
      s.tls_client_auth = kafka::tls_client_auth::requested;
    } else if (value == "required") {
      s.tls_client_auth = kafka::tls_client_auth::required;
    } else {
      return std::unexpected("\"" + value + "\" is not one of none, requested, required");
    }
    return {};
  }
  if (value.empty()) return std::unexpected("must not be empty");
  if (key == "inter_broker_listener_name") s.inter_broker_listener_name = value;
  if (key == "kafka_tls_cert_file") s.tls_cert_file = value;
  if (key == "kafka_tls_key_file") s.tls_key_file = value;
  if (key == "kafka_tls_ca_file") s.tls_ca_file = value;
  return {};
}

std::expected<listener_address, std::string> parse_listener_address(std::string_view text) {
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return std::unexpected("\"" + std::string(text) + "\" is not NAME://HOST:PORT");
  listener_address out;
  out.name = std::string(text.substr(0, sep));
  if (!valid_listener_name(out.name)) {
    return std::unexpected("listener name \"" + out.name + "\" must be 1..64 of [A-Z0-9_-]");
  }
  const auto rest = text.substr(sep + 3);
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) return std::unexpected("\"" + std::string(text) + "\" has no port");
  out.host = std::string(rest.substr(0, colon));
  const auto port_text = rest.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return std::unexpected("port \"" + std::string(port_text) + "\" of listener " + out.name + " is not in 1..65535");
  }
  out.port = static_cast<std::uint16_t>(port);
  if (!out.host.empty() && !valid_host_name(out.host)) {
    return std::unexpected("host \"" + out.host + "\" of listener " + out.name + " is not a host name or IPv4 address");
  }
  return out;
}

namespace {

std::expected<std::map<std::string, kafka::security_protocol>, std::string> protocol_map_of(
    const kafka_listener_settings& s) {
  std::map<std::string, kafka::security_protocol> map;
  for (const auto& [name, p] : kafka::security_protocol_names) map[std::string(name)] = p;
  for (const auto& entry : s.protocol_map) {
    const auto colon = entry.find(':');
    const std::string name = entry.substr(0, colon);
    if (colon == std::string::npos || !valid_listener_name(name)) {
      return fail("listener_security_protocol_map", "\"" + entry + "\" is not NAME:PROTOCOL");
    }
    const auto p = kafka::parse_security_protocol(std::string_view(entry).substr(colon + 1));
    if (!p) {
      return fail("listener_security_protocol_map",
                  "\"" + entry.substr(colon + 1) + "\" is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
    }
    // A protocol's own name means that protocol (Kafka refuses remapping it, too).
    if (kafka::parse_security_protocol(name) && kafka::parse_security_protocol(name) != p) {
      return fail("listener_security_protocol_map", "\"" + entry + "\" remaps a protocol's own name");
    }
    map[name] = *p;
  }
  return map;
}

std::expected<void, std::string> check_tls_files(const kafka_listener_settings& s, const kafka_listener& first_tls) {
  const std::string why = "needed by the " + std::string(kafka::to_string(first_tls.protocol)) + " listener " + first_tls.name;
  if (s.tls_cert_file.empty()) return fail("kafka_tls_cert_file", why);
  if (s.tls_key_file.empty()) return fail("kafka_tls_key_file", why);
  if (s.tls_client_auth != kafka::tls_client_auth::none && s.tls_ca_file.empty()) {
    return fail("kafka_tls_ca_file", "needed by kafka_tls_client_auth = requested or required");
  }
  const std::pair<std::string_view, const std::string*> files[] = {
      {"kafka_tls_cert_file", &s.tls_cert_file}, {"kafka_tls_key_file", &s.tls_key_file}, {"kafka_tls_ca_file", &s.tls_ca_file}};
  for (const auto& [key, path] : files) {
    if (path->empty()) continue;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*path, ec)) return fail(key, "cannot read " + *path + ": no such regular file");
  }
  return {};
}

}  // namespace

std::expected<void, std::string> resolve_kafka_listeners(
    kafka_listener_settings& s, const std::string& bind, const std::string& advertise_ip, std::uint16_t kafka_port,
    const std::vector<std::pair<std::string_view, std::uint16_t>>& other_ports) {
  s.resolved.clear();
  s.inter_broker = 0;
  auto map = protocol_map_of(s);
  if (!map) return std::unexpected(map.error());
  if (!s.listeners) {
    if (s.advertised_listeners) return fail("advertised_listeners", "needs listeners too");
    s.resolved.push_back({"PLAINTEXT", kafka::security_protocol::plaintext, bind, kafka_port, advertise_ip, kafka_port});
  } else {
    // `__meta` keeps at most 16 endpoints per broker (metadata::max_listeners_per_broker).
    if (s.listeners->size() > 16) return fail("listeners", "at most 16 listeners");
    for (const auto& text : *s.listeners) {
      auto a = parse_listener_address(text);
      if (!a) return fail("listeners", a.error());
      const auto p = map->find(a->name);
      if (p == map->end()) return fail("listeners", "listener " + a->name + " has no protocol in listener_security_protocol_map");
      // An empty host binds the node's own address, as Kafka binds the default interface.
      const std::string ip = a->host.empty() ? bind : a->host;
      if (!is_ipv4(ip)) return fail("listeners", "listener " + a->name + " must bind an IPv4 address, not \"" + ip + "\"");
      for (const auto& l : s.resolved) {
        if (l.name == a->name) return fail("listeners", "listener " + a->name + " is named twice");
        if (l.port == a->port) return fail("listeners", "listeners " + l.name + " and " + a->name + " share port " + std::to_string(a->port));
      }
      // 0.0.0.0, or the node's bind address, cannot or need not be advertised as it is: clients
      // are told the node's advertised address unless advertised_listeners says otherwise.
      const std::string advertised = ip == "0.0.0.0" || ip == bind ? advertise_ip : ip;
      s.resolved.push_back({a->name, p->second, ip, a->port, advertised, a->port});
    }
  }
  if (s.advertised_listeners) {
    for (const auto& text : *s.advertised_listeners) {
      auto a = parse_listener_address(text);
      if (!a) return fail("advertised_listeners", a.error());
      auto it = std::ranges::find(s.resolved, a->name, &kafka_listener::name);
      if (it == s.resolved.end()) return fail("advertised_listeners", "listener " + a->name + " is not in listeners");
      if (a->host.empty() || a->host == "0.0.0.0") {
        return fail("advertised_listeners", "listener " + a->name + " must advertise a host clients can reach");
      }
      it->advertised_host = a->host;
      it->advertised_port = a->port;
    }
  }
  for (const auto& l : s.resolved) {
    for (const auto& [key, port] : other_ports) {
      if (l.port == port) return fail("listeners", "listener " + l.name + "'s port " + std::to_string(port) + " is already used by " + std::string(key));
    }
  }
  if (s.inter_broker_listener_name.empty()) {
    const auto plain = std::ranges::find(s.resolved, std::string("PLAINTEXT"), &kafka_listener::name);
    s.inter_broker = plain == s.resolved.end() ? 0 : static_cast<std::size_t>(plain - s.resolved.begin());
  } else {
    const auto it = std::ranges::find(s.resolved, s.inter_broker_listener_name, &kafka_listener::name);
    if (it == s.resolved.end()) return fail("inter_broker_listener_name", "listener " + s.inter_broker_listener_name + " is not in listeners");
    s.inter_broker = static_cast<std::size_t>(it - s.resolved.begin());
  }
  if (const auto& ib = s.resolved[s.inter_broker]; ib.protocol != kafka::security_protocol::plaintext) {
    return fail("inter_broker_listener_name", "listener " + ib.name + " speaks " + std::string(kafka::to_string(ib.protocol)) +
                                                  "; the brokers' own Kafka client (transaction markers) speaks PLAINTEXT only");
  }
  const auto tls = std::ranges::find_if(s.resolved, [](const kafka_listener& l) { return kafka::uses_tls(l.protocol); });
  if (tls != s.resolved.end()) {
    if (auto r = check_tls_files(s, *tls); !r) return r;
  }
  return {};
}

kafka::server_config kafka_server_listeners(const kafka_listener_settings& s) {
  kafka::server_config sc;
  sc.listeners.clear();
  for (const auto& l : s.resolved) sc.listeners.push_back({l.name, l.protocol, l.bind_ip, l.port});
  sc.tls.cert_file = s.tls_cert_file;
  sc.tls.key_file = s.tls_key_file;
  sc.tls.ca_file = s.tls_ca_file;
  sc.tls.client_auth = s.tls_client_auth;
  return sc;
}

}  // namespace chronik::daemon
