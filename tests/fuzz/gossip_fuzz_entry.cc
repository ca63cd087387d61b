// Gossip datagrams and push-pull frames (gossip/net/codec.h), and the membership core stepping
// whatever decodes (gossip/core/membership.h). See fuzz_entries.h for the contract.
#include <string>
#include <utility>
#include <vector>

#include "gossip/core/membership.h"
#include "gossip/keyring/keyring.h"
#include "gossip/net/codec.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace chronik::fuzz {
namespace {

using namespace gossip;

constexpr std::string_view target = "gossip";
constexpr std::size_t stream_frame_bytes = 8u << 20;  // gossip_node.cc max_stream_frame_bytes

alive_msg alive(std::uint32_t id, std::uint64_t inc) {
  const std::string port = std::to_string(7000 + id);
  return alive_msg{node_id{id}, incarnation{inc}, "uuid-" + std::to_string(id), "127.0.0.1:" + port, "meta"};
}

// Node 1 of cluster "fuzz", which already knows nodes 2 and 3 (the seed corpus speaks as them).
membership known_cluster(const config& cfg) {
  membership m(cfg, self_identity{node_id{1}, "uuid-1", "127.0.0.1:7001", "meta", "fuzz"}, {"127.0.0.1:7002"}, 7);
  m.step(envelope{"fuzz", node_id{2}, "127.0.0.1:7002", {alive(2, 3), alive(3, 5)}});
  m.advance();
  return m;
}

// The keyring on the same bytes (docs/security.md "Gossip encryption"): hostile input never opens
// (a forgery would need the key), and sealing it opens back to itself, under both keys of a ring.
void check_keyring(std::string_view input) {
  gossip_key k1{}, k2{};
  k1.fill(0x11);
  k2.fill(0x22);
  keyring ring(k1);
  if (!ring.install(k2)) oracle_failed(target, "installing a second key failed");
  if (ring.open(input, "fuzz")) oracle_failed(target, "unsealed input authenticated");
  gossip_nonce nonce{};
  for (std::size_t i = 0; i < nonce.size() && i < input.size(); ++i) nonce[i] = static_cast<std::uint8_t>(input[i]);
  const std::string by_k1 = ring.seal(input, nonce, "fuzz");
  if (!ring.use(k2)) oracle_failed(target, "using the second key failed");
  auto opened = ring.open(by_k1, "fuzz");
  if (!opened || *opened != input) oracle_failed(target, "sealed input does not open to itself");
  if (ring.open(by_k1, "fuzz2")) oracle_failed(target, "sealed input opened under another label");
}

// Every packet the core sends after hostile input must still encode, decode and fit its transport.
void check_ready(const membership& m, const config& cfg) {
  for (const outbound_packet& p : m.ready().packets) {
    const std::string bytes = encode(p.env);
    if (bytes.empty()) oracle_failed(target, "the core built an envelope that does not encode");
    const std::size_t limit = p.via == transport::datagram ? cfg.max_datagram_bytes : stream_frame_bytes;
    if (bytes.size() > limit) {
      oracle_failed(target, "outbound packet of " + std::to_string(bytes.size()) + " bytes over its limit " +
                                std::to_string(limit));
    }
    if (!decode(bytes, limit)) oracle_failed(target, "outbound packet does not decode");
  }
}

}  // namespace

verdict gossip_run(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return verdict::refused;
  static const config cfg = config::lan();
  const bool datagram = (data[0] & 1u) == 0;
  const std::size_t limit = datagram ? cfg.max_datagram_bytes : stream_frame_bytes;
  check_keyring(as_text(data + 1, size - 1));
  auto env = decode(as_text(data + 1, size - 1), limit);
  if (!env) return verdict::refused;

  // Round trip: what decodes, encodes to bytes that decode to the same encoding.
  const std::string bytes = encode(*env);
  auto again = decode(bytes, stream_frame_bytes);
  if (!again) oracle_failed(target, "re-encoded envelope does not decode: " + again.error().text);
  if (encode(*again) != bytes) oracle_failed(target, "round trip changed the envelope");

  membership m = known_cluster(cfg);
  const incarnation self_before = m.self().inc;
  m.step(*env);
  check_ready(m, cfg);
  m.advance();
  // A few protocol periods, so suspicions, probes and push-pulls started by the input run.
  for (int i = 0; i < 300; ++i) {
    m.tick();
    check_ready(m, cfg);
    m.advance();
  }
  if (m.self().inc < self_before) oracle_failed(target, "own incarnation moved back");
  if (m.self().state != member_state::alive) oracle_failed(target, "the node no longer sees itself alive");
  return verdict::accepted;
}

}  // namespace chronik::fuzz
