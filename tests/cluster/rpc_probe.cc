// rpc_probe: one Raft heartbeat sent to a node's RPC port as a hostile peer would send it, through
// the real transport (consensus/transport), with or without TLS and claiming any sender. Used by
// rpc_tls_test.py (docs/security.md "Between nodes: mutual TLS") to show which peers can deliver.
//
//   rpc_probe --target IP:PORT --target-node N --claim-node Y --claim-uuid HEX --cluster-id ID
//             --group G --term T [--ca FILE --cert FILE --key FILE] [--wait-ms MS]
//
// Prints one JSON object with the sender's counters once the call was answered, refused or failed
// (or the wait ran out): {"messages_sent":..,"refusals_received":..,"connect_failures":..,
// "call_failures":..,"drops_failed":..}. Exit code 0 whatever the outcome, 2 on bad arguments.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "consensus/transport/raft_transport.h"

namespace {

using namespace chronik;
using namespace chronik::consensus;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "rpc_probe: cannot read " << path << "\n";
    std::exit(2);
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uint64_t number(const std::map<std::string, std::string>& args, const std::string& key) {
  auto it = args.find(key);
  if (it == args.end()) {
    std::cerr << "rpc_probe: " << key << " is required\n";
    std::exit(2);
  }
  return std::stoull(it->second);
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  if (!args.contains("--target") || !args.contains("--claim-uuid") || !args.contains("--cluster-id")) {
    std::cerr << "rpc_probe: --target, --claim-uuid and --cluster-id are required\n";
    return 2;
  }
  const auto target = node_id{static_cast<std::uint32_t>(number(args, "--target-node"))};
  const auto claim = node_id{static_cast<std::uint32_t>(number(args, "--claim-node"))};
  const std::uint64_t wait_ms = args.contains("--wait-ms") ? number(args, "--wait-ms") : 5000;

  transport_config cfg = transport_config::local();
  cfg.self = claim;
  cfg.node_uuid = args["--claim-uuid"];
  cfg.cluster_id = args["--cluster-id"];
  cfg.listen_address = "127.0.0.1:0";
  if (args.contains("--cert")) {
    transport_tls tls;
    tls.ca_pem = slurp(args["--ca"]);
    tls.cert_pem = slurp(args["--cert"]);
    tls.key_pem = slurp(args["--key"]);
    cfg.tls = std::move(tls);
  }
  auto log = std::make_shared<spdlog::logger>("probe", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  asio::io_context io;
  raft_transport transport(io, cfg, log);
  if (auto r = transport.start(); !r) {
    std::cerr << "rpc_probe: " << r.error().text << "\n";
    return 2;
  }
  transport.set_peer(target, args["--target"]);
  message m;
  m.type = message_type::heartbeat;
  m.from = claim;
  m.to = target;
  m.term = term_id{number(args, "--term")};
  transport.send(target, {group_message{group_id{number(args, "--group")}, std::move(m)}});

  // Bounded: the outcome (answered, refused, failed) or the wait, whichever comes first.
  auto guard = asio::make_work_guard(io);
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  transport_counters c;
  while (std::chrono::steady_clock::now() < end) {
    io.run_for(std::chrono::milliseconds(10));
    c = transport.counters();
    if (c.messages_sent + c.drops_failed > 0) break;
  }
  transport.stop();
  std::printf(
      "{\"messages_sent\": %llu, \"refusals_received\": %llu, \"connect_failures\": %llu, "
      "\"call_failures\": %llu, \"drops_failed\": %llu}\n",
      static_cast<unsigned long long>(c.messages_sent), static_cast<unsigned long long>(c.refusals_received),
      static_cast<unsigned long long>(c.connect_failures), static_cast<unsigned long long>(c.call_failures),
      static_cast<unsigned long long>(c.drops_failed));
  return 0;
}
