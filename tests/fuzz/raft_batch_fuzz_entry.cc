// Received Raft RPC batches (consensus/transport/codec.h). See fuzz_entries.h for the contract.
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "consensus/transport/codec.h"
#include "consensus/transport/transport_config.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace chronik::fuzz {
namespace {

using namespace consensus;

constexpr std::string_view target = "raft_batch";
constexpr node_id receiver{2};

const capnp::ReaderOptions reader_options{traversal_limit_bytes / sizeof(capnp::word), 64};

bool same(const message& a, const message& b) {
  return a.type == b.type && a.from == b.from && a.to == b.to && a.term == b.term && a.index == b.index &&
         a.log_term == b.log_term && a.entries == b.entries && a.commit == b.commit && a.reject == b.reject &&
         a.reject_hint == b.reject_hint && a.hint_term == b.hint_term && a.snap_meta == b.snap_meta &&
         a.snap_offset == b.snap_offset && a.snap_data == b.snap_data && a.snap_done == b.snap_done &&
         a.context == b.context;
}

// Messages of one group keep their order; the codec may interleave groups differently.
std::map<std::uint64_t, std::vector<const message*>> by_group(const decoded_batch& b) {
  std::map<std::uint64_t, std::vector<const message*>> out;
  for (const group_message& m : b.messages) out[m.group.value].push_back(&m.msg);
  return out;
}

void check_round_trip(const decoded_batch& first) {
  capnp::MallocMessageBuilder builder;
  encode_batch(builder.initRoot<schemas::Batch>(), first.header, first.messages, receiver);
  const kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
  capnp::FlatArrayMessageReader reader(words.asPtr(), reader_options);
  auto second = decode_batch(reader.getRoot<schemas::Batch>(), receiver, transport_config{}.max_message_bytes);
  if (!second) oracle_failed(target, "re-encoded batch refused: " + second.error().text);
  const batch_header& h1 = first.header;
  const batch_header& h2 = second->header;
  if (h1.protocol_version != h2.protocol_version || h1.cluster_id != h2.cluster_id ||
      h1.node_uuid != h2.node_uuid || h1.sender != h2.sender) {
    oracle_failed(target, "round trip changed the batch header");
  }
  const auto g1 = by_group(first);
  const auto g2 = by_group(*second);
  if (g1.size() != g2.size()) oracle_failed(target, "round trip changed the groups");
  for (const auto& [group, msgs] : g1) {
    const auto it = g2.find(group);
    if (it == g2.end() || it->second.size() != msgs.size()) oracle_failed(target, "round trip changed a group");
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      if (!same(*msgs[i], *it->second[i])) oracle_failed(target, "round trip changed a message");
    }
  }
}

}  // namespace

verdict raft_batch_run(const std::uint8_t* data, std::size_t size) {
  // The transport receives word-aligned segments; copy, zero-padding the last word.
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>((size + sizeof(capnp::word) - 1) / sizeof(capnp::word));
  if (words.size() > 0) {
    std::memset(words.begin(), 0, words.size() * sizeof(capnp::word));
    std::memcpy(words.begin(), data, size);
  }
  // Framing errors (segment table, root pointer) are the RPC layer's: there they end the
  // connection. They are caught here, at the same border.
  kj::Own<capnp::FlatArrayMessageReader> message;
  schemas::Batch::Reader root;
  try {
    message = kj::heap<capnp::FlatArrayMessageReader>(words.asPtr(), reader_options);
    root = message->getRoot<schemas::Batch>();
  } catch (const kj::Exception&) {
    return verdict::refused;
  }
  // Everything past the root is decode_batch's to check: an exception escaping it is a crash.
  auto decoded = decode_batch(root, receiver, transport_config{}.max_message_bytes);
  if (!decoded) return verdict::refused;
  check_round_trip(*decoded);
  return verdict::accepted;
}

}  // namespace chronik::fuzz
