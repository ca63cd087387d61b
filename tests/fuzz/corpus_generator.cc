// Writes the seeds that tests/fuzz/capture_corpus.py cannot capture from clients, with our own
// encoders (tests/fuzz/README.md):
//   gossip/      envelopes that three real membership cores send node 1 while they join, gossip,
//                probe, push-pull, change metadata, lose a member and see one leave;
//   raft_batch/  Cap'n Proto batches from node 1 to node 2 with every Raft message type;
//   kafka_request/seed-gen-*  one request of every API at every version the codec implements,
//                so flexible and classic layouts of versions the clients did not use are seeded;
//   kafka_message/  a request and a response body of every API and version, from the generated
//                samples (every field of the version set).
//   fuzz_corpus_generator <corpus dir>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "consensus/transport/codec.h"
#include "gossip/core/membership.h"
#include "gossip/net/codec.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/catalog.h"
#include "kafka/protocol/messages/samples.h"

namespace {

namespace fs = std::filesystem;

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

// --- gossip -------------------------------------------------------------------------------------

std::string kinds(const chronik::gossip::envelope& env) {
  static const char* names[] = {"ping", "indirect_ping", "ack", "nack", "alive", "suspect", "dead", "push_pull"};
  std::string out;
  for (const auto& m : env.messages) out += std::string(out.empty() ? "" : "+") + names[m.index()];
  return out.empty() ? "empty" : out;
}

int gossip_seeds(const fs::path& dir) {
  using namespace chronik::gossip;
  const config cfg = config::lan();
  std::map<std::string, membership> nodes;
  for (std::uint32_t id = 1; id <= 3; ++id) {
    const std::string addr = "127.0.0.1:" + std::to_string(7000 + id);
    nodes.emplace(addr, membership(cfg, self_identity{node_id{id}, "uuid-" + std::to_string(id), addr, "meta",
                                                      "fuzz"},
                                   {"127.0.0.1:7001"}, id));
  }
  std::map<std::string, int> kept;  // per message-kind signature, so the corpus stays small
  bool node3_up = true;
  for (int tick = 0; tick < 6000; ++tick) {
    if (tick == 2000) nodes.at("127.0.0.1:7002").set_meta("meta-2");
    if (tick == 2500) node3_up = false;  // killed: suspicion, indirect probes, nacks, dead
    if (tick == 5000) nodes.at("127.0.0.1:7002").leave();
    for (auto& [addr, m] : nodes) {
      if (addr == "127.0.0.1:7003" && !node3_up) continue;
      m.tick();
    }
    for (bool progress = true; progress;) {
      progress = false;
      for (auto& [addr, m] : nodes) {
        if (!m.has_ready()) continue;
        const auto packets = m.ready().packets;
        m.advance();
        for (const auto& p : packets) {
          const auto to = nodes.find(p.to_addr);
          if (to == nodes.end() || (p.to_addr == "127.0.0.1:7003" && !node3_up)) continue;
          if (p.to_addr == "127.0.0.1:7001") {
            const bool stream = p.via == transport::stream;
            const std::string sig = std::string(stream ? "stream-" : "datagram-") + kinds(p.env);
            if (kept[sig]++ < 2) {
              write(dir, "seed-" + sig + "-" + std::to_string(kept[sig]), std::string(1, stream ? '\1' : '\0') + encode(p.env));
            }
          }
          to->second.step(p.env);
          progress = true;
        }
      }
    }
  }
  int files = 0;
  for (const auto& [sig, n] : kept) files += n < 2 ? n : 2;
  return files;
}

// --- raft batches -------------------------------------------------------------------------------

int raft_seeds(const fs::path& dir) {
  using namespace chronik::consensus;
  const batch_header header{transport_protocol_version, "fuzz-cluster", "uuid-1", node_id{1}};
  auto msg = [](message_type t, std::uint64_t term) {
    message m;
    m.type = t;
    m.from = node_id{1};
    m.to = node_id{2};
    m.term = term_id{term};
    return m;
  };
  std::vector<std::pair<std::string, std::vector<group_message>>> batches;
  {
    message a = msg(message_type::append, 3);
    a.index = log_index{10};
    a.log_term = term_id{2};
    a.commit = log_index{9};
    a.entries = {entry{term_id{3}, log_index{11}, entry_type::normal, "record batch bytes"},
                 entry{term_id{3}, log_index{12}, entry_type::conf_change, "conf"}};
    batches.push_back({"append", {{group_id{1}, a}}});
  }
  {
    std::vector<group_message> hb;
    for (std::uint64_t g = 1; g <= 4; ++g) {
      message h = msg(message_type::heartbeat, 3);
      h.commit = log_index{g * 5};
      if (g == 4) h.context = "read-ctx";
      hb.push_back({group_id{g}, h});
    }
    message r = msg(message_type::heartbeat_response, 3);
    hb.push_back({group_id{5}, r});
    batches.push_back({"heartbeats", hb});
  }
  {
    message v = msg(message_type::vote, 4);
    v.index = log_index{12};
    v.log_term = term_id{3};
    v.context = "transfer";
    message pv = msg(message_type::pre_vote, 5);
    pv.index = log_index{12};
    pv.log_term = term_id{3};
    message vr = msg(message_type::vote_response, 4);
    vr.reject = true;
    batches.push_back({"votes", {{group_id{1}, v}, {group_id{2}, pv}, {group_id{3}, vr}}});
  }
  {
    message ar = msg(message_type::append_response, 3);
    ar.index = log_index{7};
    ar.reject = true;
    ar.reject_hint = log_index{5};
    ar.hint_term = term_id{2};
    message pr = msg(message_type::propose, 3);
    pr.entries = {entry{term_id{0}, log_index{0}, entry_type::normal, "proposal"}};
    batches.push_back({"responses", {{group_id{7}, ar}, {group_id{8}, pr}}});
  }
  {
    message s = msg(message_type::snapshot_chunk, 6);
    s.snap_meta = snapshot_meta{log_index{100}, term_id{5}, conf_state{{node_id{1}, node_id{2}}, {node_id{3}}}};
    s.snap_offset = 4096;
    s.snap_data = std::string(64, 's');
    s.snap_done = true;
    message sr = msg(message_type::snapshot_response, 6);
    sr.index = log_index{100};
    message t = msg(message_type::timeout_now, 6);
    message ri = msg(message_type::read_index, 6);
    ri.context = "ctx-1";
    message rr = msg(message_type::read_index_response, 6);
    rr.index = log_index{99};
    rr.context = "ctx-2";
    batches.push_back({"snapshot_and_reads", {{group_id{2}, s}, {group_id{3}, sr}, {group_id{4}, t},
                                              {group_id{5}, ri}, {group_id{6}, rr}}});
  }
  for (const auto& [name, items] : batches) {
    capnp::MallocMessageBuilder builder;
    encode_batch(builder.initRoot<chronik::schemas::Batch>(), header, items, node_id{2});
    const kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
    const auto bytes = words.asBytes();
    write(dir, "seed-" + name, std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
  }
  return static_cast<int>(batches.size());
}

// --- kafka messages -----------------------------------------------------------------------------

// For every API and version with a description: one request frame (header and a sample body) for
// kafka_request, and a request and a response body for kafka_message, each from a generated sample
// (kafka/protocol/messages/samples.h) with every field of that version set.
int kafka_seeds(const fs::path& requests, const fs::path& messages) {
  using namespace chronik::kafka;
  int n = 0;
  for (const message_codec& c : message_codecs()) {
    const std::string name(to_string(c.key));
    for (std::int16_t v = c.versions.min; v <= c.versions.max; ++v) {
      writer w;
      encode_request_header(request_header{c.key, v, 1, "gen"}, w);
      write(requests, "seed-gen-" + name + "-v" + std::to_string(v), w.take() + samples::encoded(c.key, true, v, 1));
      for (const bool request : {true, false}) {
        const auto key = static_cast<std::uint16_t>(c.key);
        const auto ver = static_cast<std::uint16_t>(v);
        std::string prefix{static_cast<char>(key >> 8), static_cast<char>(key & 0xff), static_cast<char>(ver >> 8),
                           static_cast<char>(ver & 0xff), static_cast<char>(request ? 0 : 1)};
        write(messages, "seed-" + name + "-v" + std::to_string(v) + (request ? "-request" : "-response"),
              prefix + samples::encoded(c.key, request, v, 1));
      }
      n += 3;
    }
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  const int g = gossip_seeds(root / "gossip");
  const int r = raft_seeds(root / "raft_batch");
  const int k = kafka_seeds(root / "kafka_request", root / "kafka_message");
  std::printf("gossip: %d, raft_batch: %d, kafka_request and kafka_message (generated): %d\n", g, r, k);
  return 0;
}
