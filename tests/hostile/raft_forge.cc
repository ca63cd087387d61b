// raft_forge: the hostile-client suite's forged Raft peer (issue 13, "Counters that wrap"; docs/raft.md
// "Values that cannot wrap"). It opens the real Raft transport as node --self with that node's uuid
// and the cluster id (both public in /v1/cluster), so the receiver's identity checks pass, and sends
// node --to one batch: for each group of --groups a heartbeat, a vote request and an append, all at
// term 2^64 - 1. The receiver must drop every one of them before they touch its term or its log.
//
// Exits 0 once the receiver accepted the batch (the drops are its business), 1 if it refused or
// did not answer within 10 s, 2 on bad arguments.
//
//   raft_forge --self 3 --uuid <hex> --cluster-id <hex> --bind 127.0.0.98 --to 1
//              --address 127.0.0.11:20001 --groups 1,1024
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "consensus/transport/raft_transport.h"

namespace {

using namespace chronik::consensus;

constexpr std::uint64_t wrap_term = std::numeric_limits<std::uint64_t>::max();

std::vector<group_message> forged(node_id self, node_id to, const std::vector<std::uint64_t>& groups) {
  std::vector<group_message> out;
  for (const std::uint64_t g : groups) {
    message hb{.type = message_type::heartbeat, .from = self, .to = to, .term = term_id{wrap_term}};
    message vote{.type = message_type::vote, .from = self, .to = to, .term = term_id{wrap_term},
                 .index = log_index{1}, .log_term = term_id{wrap_term}};
    message append{.type = message_type::append, .from = self, .to = to, .term = term_id{wrap_term}};
    append.entries.push_back(entry{.term = term_id{wrap_term}, .index = log_index{1}, .data = "forged"});
    for (auto* m : {&hb, &vote, &append}) out.push_back(group_message{group_id{g}, *m});
  }
  return out;
}

std::vector<std::uint64_t> parse_groups(const std::string& text) {
  std::vector<std::uint64_t> groups;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',') && groups.size() < 64;) groups.push_back(std::stoull(item));
  return groups;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  for (const char* key : {"--self", "--uuid", "--cluster-id", "--bind", "--to", "--address", "--groups"}) {
    if (!args.contains(key)) {
      std::fprintf(stderr, "raft_forge: missing %s\n", key);
      return 2;
    }
  }
  const node_id self{static_cast<std::uint32_t>(std::stoul(args["--self"]))};
  const node_id to{static_cast<std::uint32_t>(std::stoul(args["--to"]))};

  auto log = std::make_shared<spdlog::logger>("forge", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  transport_config cfg = transport_config::local();
  cfg.self = self;
  cfg.node_uuid = args["--uuid"];
  cfg.cluster_id = args["--cluster-id"];
  cfg.listen_address = args["--bind"] + ":0";
  asio::io_context io;
  raft_transport transport(io, cfg, log);
  if (auto started = transport.start(); !started) {
    std::fprintf(stderr, "raft_forge: transport: %s\n", started.error().text.c_str());
    return 2;
  }
  transport.set_peer(to, args["--address"]);
  const auto items = forged(self, to, parse_groups(args["--groups"]));
  transport.send(to, items);

  // Bounded wait for the receiver's answer to our one call.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  transport_counters c = transport.counters();
  while (c.batches_sent == 0 && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(20));
    c = transport.counters();
  }
  transport.stop();
  std::printf("raft_forge: %zu messages to node %llu: batches answered %llu, refused %llu, failed calls %llu\n",
              items.size(), static_cast<unsigned long long>(to.value()),
              static_cast<unsigned long long>(c.batches_sent), static_cast<unsigned long long>(c.refusals_received),
              static_cast<unsigned long long>(c.call_failures));
  return c.batches_sent >= 1 && c.refusals_received == 0 ? 0 : 1;
}
