// The addresses a node binds and the ones it tells peers and clients to use (docs/config.md
// "Addresses"). A node may bind 0.0.0.0 (every interface, as in a container) and advertise
// another address: `advertise` (an IPv4 address or a host name) for gossip, Raft RPC and the
// default Kafka listener, or `gossip_advertise` / `rpc_advertise` ("HOST:PORT") where a port is
// mapped (NAT, container port publishing). Seeds may be host names too.
//
// Host names are resolved to one IPv4 address once, when the config is loaded: every address the
// node advertises or dials through gossip is a numeric "IP:PORT", which is what the gossip
// member table, `__meta`'s broker records and the Raft transport compare and dial. A name that
// does not resolve stops `start` with one line naming its key.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace chronik::daemon {

struct node_config;

// "HOST:PORT" split, HOST an IPv4 address or a DNS name (letters, digits, '-' and '.', at most
// 253 characters), PORT in 1..65535. The error names the problem, not the key.
struct host_port {
  std::string host;
  std::uint16_t port = 0;
};
std::expected<host_port, std::string> parse_host_port(std::string_view text);
bool valid_host_name(std::string_view host);

// One IPv4 address for `host`: a dotted quad as it is, else the first IPv4 address
// getaddrinfo(AF_INET) gives. Error: why it did not resolve.
std::expected<std::string, std::string> resolve_ipv4(const std::string& host);

// Fills cfg.advertise_ip, cfg.advertised_gossip and cfg.advertised_rpc from bind, advertise,
// gossip_advertise and rpc_advertise, and resolves every seed to "IP:PORT". Error: one line
// naming the key ("config error: advertise: ...").
std::expected<void, std::string> resolve_node_addresses(node_config& cfg);

}  // namespace chronik::daemon
