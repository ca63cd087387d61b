#include "consensus/transport/codec.h"

#include <string_view>
#include <unordered_set>

#include <kj/exception.h>

namespace chronik::consensus {
namespace {

// The wire enums mirror the core's enums value for value, so conversion is a cast after a range
// check; these asserts catch a core enum that grew without the schema.
static_assert(static_cast<int>(message_type::propose) == static_cast<int>(schemas::MessageType::PROPOSE));
static_assert(static_cast<int>(entry_type::conf_change) ==
              static_cast<int>(schemas::EntryType::CONF_CHANGE));

constexpr std::size_t message_overhead_bytes = 128;
constexpr std::size_t entry_overhead_bytes = 48;
constexpr std::size_t id_bytes = 16;

capnp::Data::Reader as_data(std::string_view s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}

std::string as_string(capnp::Data::Reader d) {
  return {reinterpret_cast<const char*>(d.begin()), d.size()};
}

transport_error fail(transport_errc code, std::string text) { return {code, std::move(text)}; }

void encode_ids(capnp::List<std::uint64_t>::Builder out, const std::vector<node_id>& ids) {
  for (unsigned i = 0; i < ids.size(); ++i) out.set(i, ids[i].value());
}

void encode_message(schemas::Message::Builder out, const group_message& item) {
  const message& m = item.msg;
  out.setGroup(item.group.value);
  out.setType(static_cast<schemas::MessageType>(m.type));
  out.setFrom(m.from.value());
  out.setTo(m.to.value());
  out.setTerm(m.term.value);
  out.setIndex(m.index.value);
  out.setLogTerm(m.log_term.value);
  out.setCommit(m.commit.value);
  out.setReject(m.reject);
  out.setRejectHint(m.reject_hint.value);
  out.setHintTerm(m.hint_term.value);
  if (!m.entries.empty()) {
    auto entries = out.initEntries(static_cast<unsigned>(m.entries.size()));
    for (unsigned i = 0; i < m.entries.size(); ++i) {
      const entry& e = m.entries[i];
      auto b = entries[i];
      b.setTerm(e.term.value);
      b.setIndex(e.index.value);
      b.setType(static_cast<schemas::EntryType>(e.type));
      if (!e.data.empty()) b.setData(as_data(e.data));
    }
  }
  // Only snapshot chunks carry snapshot fields; skipping them elsewhere keeps appends small.
  if (m.type == message_type::snapshot_chunk || m.snap_meta != snapshot_meta{}) {
    auto meta = out.initSnapMeta();
    meta.setIndex(m.snap_meta.index.value);
    meta.setTerm(m.snap_meta.term.value);
    auto conf = meta.initConf();
    encode_ids(conf.initVoters(static_cast<unsigned>(m.snap_meta.conf.voters.size())),
               m.snap_meta.conf.voters);
    encode_ids(conf.initLearners(static_cast<unsigned>(m.snap_meta.conf.learners.size())),
               m.snap_meta.conf.learners);
  }
  out.setSnapOffset(m.snap_offset);
  if (!m.snap_data.empty()) out.setSnapData(as_data(m.snap_data));
  out.setSnapDone(m.snap_done);
  if (!m.context.empty()) out.setContext(as_data(m.context));
}

// Running size account shared by one decode; refuses as soon as the total passes the limit so a
// huge list is never copied before being refused.
struct size_budget {
  std::size_t used = 0;
  std::size_t max = 0;
  bool add(std::size_t bytes) {
    used += bytes;
    return used <= max;
  }
};

std::expected<std::vector<node_id>, transport_error> decode_ids(
    capnp::List<std::uint64_t>::Reader in, size_budget& budget) {
  if (!budget.add(in.size() * id_bytes))
    return std::unexpected(fail(transport_errc::oversized, "configuration list too large"));
  std::vector<node_id> out;
  out.reserve(in.size());
  for (auto v : in) {
    const auto id = node_id_from_u64(v);  // 64 bits on the wire, 32 in a node id (base/node_id.h)
    if (!id) return std::unexpected(fail(transport_errc::malformed, "node id " + std::to_string(v) + " out of range"));
    out.push_back(*id);
  }
  return out;
}

std::expected<void, transport_error> decode_entries(capnp::List<schemas::Entry>::Reader in,
                                                    std::vector<entry>& out,
                                                    size_budget& budget) {
  if (!budget.add(in.size() * entry_overhead_bytes))
    return std::unexpected(fail(transport_errc::oversized, "too many entries"));
  out.reserve(in.size());
  for (auto e : in) {
    const auto type = static_cast<std::uint16_t>(e.getType());
    if (type > static_cast<std::uint16_t>(schemas::EntryType::CONF_CHANGE))
      return std::unexpected(
          fail(transport_errc::malformed, "unknown entry type " + std::to_string(type)));
    auto data = e.getData();
    if (!budget.add(data.size()))
      return std::unexpected(fail(transport_errc::oversized, "entries too large"));
    out.push_back(entry{term_id{e.getTerm()}, log_index{e.getIndex()},
                        static_cast<entry_type>(type), as_string(data)});
  }
  return {};
}

std::expected<group_message, transport_error> decode_message(schemas::Message::Reader in,
                                                            size_budget& budget) {
  const auto type = static_cast<std::uint16_t>(in.getType());
  if (type > static_cast<std::uint16_t>(schemas::MessageType::PROPOSE))
    return std::unexpected(
        fail(transport_errc::malformed, "unknown message type " + std::to_string(type)));
  if (!budget.add(message_overhead_bytes))
    return std::unexpected(fail(transport_errc::oversized, "too many messages"));
  group_message item{group_id{in.getGroup()}, {}};
  message& m = item.msg;
  m.type = static_cast<message_type>(type);
  const auto from = node_id_from_u64(in.getFrom());
  const auto to = node_id_from_u64(in.getTo());
  if (!from || !to) return std::unexpected(fail(transport_errc::malformed, "node id out of range"));
  m.from = *from;
  m.to = *to;
  m.term = term_id{in.getTerm()};
  m.index = log_index{in.getIndex()};
  m.log_term = term_id{in.getLogTerm()};
  m.commit = log_index{in.getCommit()};
  m.reject = in.getReject();
  m.reject_hint = log_index{in.getRejectHint()};
  m.hint_term = term_id{in.getHintTerm()};
  if (auto r = decode_entries(in.getEntries(), m.entries, budget); !r)
    return std::unexpected(r.error());
  if (in.hasSnapMeta()) {
    auto meta = in.getSnapMeta();
    m.snap_meta.index = log_index{meta.getIndex()};
    m.snap_meta.term = term_id{meta.getTerm()};
    auto voters = decode_ids(meta.getConf().getVoters(), budget);
    auto learners = decode_ids(meta.getConf().getLearners(), budget);
    if (!voters) return std::unexpected(voters.error());
    if (!learners) return std::unexpected(learners.error());
    m.snap_meta.conf = conf_state{std::move(*voters), std::move(*learners)};
  }
  m.snap_offset = in.getSnapOffset();
  m.snap_done = in.getSnapDone();
  auto snap_data = in.getSnapData();
  auto context = in.getContext();
  if (!budget.add(snap_data.size() + context.size()))
    return std::unexpected(fail(transport_errc::oversized, "message payload too large"));
  m.snap_data = as_string(snap_data);
  m.context = as_string(context);
  return item;
}

std::expected<void, transport_error> check_addressing(const message& m, node_id sender,
                                                      node_id receiver) {
  if (m.from != sender)
    return std::unexpected(fail(transport_errc::malformed,
                                "message from node " + std::to_string(m.from.value()) +
                                    " in a batch from node " + std::to_string(sender.value())));
  if (m.to != receiver)
    return std::unexpected(fail(transport_errc::identity_mismatch,
                                "message for node " + std::to_string(m.to.value()) +
                                    " reached node " + std::to_string(receiver.value())));
  return {};
}

std::expected<decoded_batch, transport_error> decode_checked(schemas::Batch::Reader in,
                                                             node_id receiver,
                                                             std::size_t max_bytes) {
  decoded_batch out;
  const auto sender = node_id_from_u64(in.getSenderNode());
  if (!sender) return std::unexpected(fail(transport_errc::malformed, "sender id out of range"));
  out.header = {in.getProtocolVersion(), as_string(in.getClusterId()),
                as_string(in.getNodeUuid()), *sender};
  if (out.header.sender == no_node) return std::unexpected(fail(transport_errc::malformed, "no sender id"));
  if (out.header.node_uuid.empty())
    return std::unexpected(fail(transport_errc::malformed, "no sender node_uuid"));
  size_budget budget{0, max_bytes};
  auto messages = in.getMessages();
  auto heartbeats = in.getHeartbeats();
  // A list of zero-sized structs claims up to 2^29 elements in a few bytes (Cap'n Proto charges
  // the traversal limit one word each, which still lets 8 Mi through). Every message costs at
  // least message_overhead_bytes of the budget, so a count the budget cannot hold is refused
  // here, before the reserve below is sized from it.
  const std::size_t count = std::size_t{messages.size()} + heartbeats.size();
  if (count > max_bytes / message_overhead_bytes)
    return std::unexpected(fail(transport_errc::oversized, "too many messages"));
  out.messages.reserve(count);
  for (auto wire : messages) {
    auto item = decode_message(wire, budget);
    if (!item) return std::unexpected(item.error());
    if (auto ok = check_addressing(item->msg, out.header.sender, receiver); !ok)
      return std::unexpected(ok.error());
    out.messages.push_back(std::move(*item));
  }
  for (auto hb : heartbeats) {
    auto context = hb.getContext();
    if (!budget.add(message_overhead_bytes + context.size()))
      return std::unexpected(fail(transport_errc::oversized, "too many heartbeats"));
    group_message item{group_id{hb.getGroup()}, {}};
    item.msg.type = hb.getResponse() ? message_type::heartbeat_response : message_type::heartbeat;
    item.msg.from = out.header.sender;
    item.msg.to = receiver;
    item.msg.term = term_id{hb.getTerm()};
    item.msg.commit = log_index{hb.getCommit()};
    item.msg.context = as_string(context);
    out.messages.push_back(std::move(item));
  }
  out.coalesced_heartbeats = heartbeats.size();
  return out;
}

}  // namespace

std::size_t estimate_bytes(const message& m) {
  std::size_t bytes = message_overhead_bytes + m.context.size() + m.snap_data.size() +
                      id_bytes * (m.snap_meta.conf.voters.size() + m.snap_meta.conf.learners.size());
  for (const entry& e : m.entries) bytes += entry_overhead_bytes + e.data.size();
  return bytes;
}

bool coalescible(const message& m, node_id sender, node_id receiver) {
  if (m.type != message_type::heartbeat && m.type != message_type::heartbeat_response) return false;
  return m.from == sender && m.to == receiver && m.index == log_index{} &&
         m.log_term == term_id{} && m.entries.empty() && !m.reject &&
         m.reject_hint == log_index{} && m.hint_term == term_id{} &&
         m.snap_meta == snapshot_meta{} && m.snap_offset == 0 && m.snap_data.empty() &&
         !m.snap_done;
}

void encode_batch(schemas::Batch::Builder out, const batch_header& header,
                  std::span<const group_message> items, node_id receiver) {
  out.setProtocolVersion(header.protocol_version);
  if (!header.cluster_id.empty()) out.setClusterId(as_data(header.cluster_id));
  out.setNodeUuid(as_data(header.node_uuid));
  out.setSenderNode(header.sender.value());
  // Groups that must travel in full; a group's heartbeats join its other messages there.
  std::unordered_set<std::uint64_t> full_groups;
  std::size_t compact = 0;
  for (const auto& item : items) {
    if (coalescible(item.msg, header.sender, receiver)) continue;
    full_groups.insert(item.group.value);
  }
  auto in_full = [&](const group_message& item) {
    return full_groups.contains(item.group.value) ||
           !coalescible(item.msg, header.sender, receiver);
  };
  for (const auto& item : items) compact += in_full(item) ? 0 : 1;
  auto messages = out.initMessages(static_cast<unsigned>(items.size() - compact));
  auto heartbeats = out.initHeartbeats(static_cast<unsigned>(compact));
  unsigned next_full = 0;
  unsigned next_compact = 0;
  for (const auto& item : items) {
    if (in_full(item)) {
      encode_message(messages[next_full++], item);
      continue;
    }
    auto hb = heartbeats[next_compact++];
    hb.setGroup(item.group.value);
    hb.setTerm(item.msg.term.value);
    hb.setCommit(item.msg.commit.value);
    if (!item.msg.context.empty()) hb.setContext(as_data(item.msg.context));
    hb.setResponse(item.msg.type == message_type::heartbeat_response);
  }
}

std::expected<decoded_batch, transport_error> decode_batch(schemas::Batch::Reader in,
                                                          node_id receiver, std::size_t max_bytes) {
  // Reading a malformed message throws kj::Exception (bad pointer, traversal limit exceeded);
  // the error becomes a refusal here so it never reaches the RPC layer as a crash or a
  // disconnect.
  try {
    return decode_checked(in, receiver, max_bytes);
  } catch (const kj::Exception& e) {
    return std::unexpected(
        fail(transport_errc::malformed, std::string("unreadable batch: ") +
                                            std::string(e.getDescription().cStr())));
  }
}

}  // namespace chronik::consensus
