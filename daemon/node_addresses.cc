#include "daemon/node_addresses.h"

#include <charconv>
#include <memory>
#include <tuple>

#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "daemon/config.h"

namespace chronik::daemon {
namespace {

std::unexpected<std::string> fail(std::string_view key, const std::string& why) {
  return std::unexpected("config error: " + std::string(key) + ": " + why);
}

// "HOST:PORT" to "IP:PORT", or why not.
std::expected<std::string, std::string> resolve_endpoint(std::string_view text) {
  auto hp = parse_host_port(text);
  if (!hp) return std::unexpected(hp.error());
  auto ip = resolve_ipv4(hp->host);
  if (!ip) return std::unexpected(ip.error());
  return *ip + ":" + std::to_string(hp->port);
}

}  // namespace

bool valid_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-') return false;
  return host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") ==
         std::string_view::npos;
}

std::expected<host_port, std::string> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::unexpected("expected HOST:PORT");
  const auto host = text.substr(0, colon);
  const auto port_text = text.substr(colon + 1);
  if (!is_ipv4(host) && !valid_host_name(host)) {
    return std::unexpected("\"" + std::string(host.substr(0, 64)) + "\" is neither an IPv4 address nor a host name");
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return std::unexpected("port \"" + std::string(port_text.substr(0, 16)) + "\" is not in 1..65535");
  }
  return host_port{std::string(host), static_cast<std::uint16_t>(port)};
}

std::expected<std::string, std::string> resolve_ipv4(const std::string& host) {
  if (is_ipv4(host)) return host;
  if (!valid_host_name(host)) return std::unexpected("\"" + host.substr(0, 64) + "\" is not a host name");
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) return std::unexpected("cannot resolve \"" + host + "\": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family != AF_INET || a->ai_addr == nullptr) continue;
    char text[INET_ADDRSTRLEN] = {};
    const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
    if (::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text) != nullptr) return std::string(text);
  }
  return std::unexpected("\"" + host + "\" has no IPv4 address");
}

std::expected<void, std::string> resolve_node_addresses(node_config& cfg) {
  // 0.0.0.0 binds every interface but names none of them: peers and clients need an address.
  if (cfg.advertise.empty()) {
    if (cfg.bind == "0.0.0.0") return fail("advertise", "needed when bind is 0.0.0.0: the address peers and clients use");
    cfg.advertise_ip = cfg.bind;
  } else {
    auto ip = resolve_ipv4(cfg.advertise);
    if (!ip) return fail("advertise", ip.error());
    if (*ip == "0.0.0.0") return fail("advertise", "0.0.0.0 cannot be advertised");
    cfg.advertise_ip = *ip;
  }
  cfg.advertised_gossip = cfg.advertise_ip + ":" + std::to_string(cfg.gossip_port);
  cfg.advertised_rpc = cfg.advertise_ip + ":" + std::to_string(cfg.rpc_port);
  for (auto [key, given, out] : {std::tuple{"gossip_advertise", &cfg.gossip_advertise, &cfg.advertised_gossip},
                                 std::tuple{"rpc_advertise", &cfg.rpc_advertise, &cfg.advertised_rpc}}) {
    if (given->empty()) continue;
    auto endpoint = resolve_endpoint(*given);
    if (!endpoint) return fail(key, endpoint.error());
    *out = std::move(*endpoint);
  }
  for (auto& seed : cfg.seeds) {
    auto endpoint = resolve_endpoint(seed);
    if (!endpoint) return fail("seeds", "\"" + seed.substr(0, 80) + "\": " + endpoint.error());
    seed = std::move(*endpoint);
  }
  return {};
}

}  // namespace chronik::daemon
