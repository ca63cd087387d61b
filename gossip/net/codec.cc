// Core message values <-> chronik::proto::GossipEnvelope. See codec.h for the contract.
#include "gossip/net/codec.h"

#include <climits>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "gossip.pb.h"

namespace chronik::gossip {
namespace {

namespace pb = chronik::proto;

template <typename... F>
struct overloaded : F... {
  using F::operator()...;
};

std::unexpected<codec_error> fail(codec_errc code, std::string text) {
  return std::unexpected(codec_error{code, std::move(text)});
}

pb::MemberState state_to_wire(member_state state) {
  switch (state) {
    case member_state::alive: return pb::MEMBER_ALIVE;
    case member_state::suspect: return pb::MEMBER_SUSPECT;
    case member_state::dead: return pb::MEMBER_DEAD;
    case member_state::left: return pb::MEMBER_LEFT;
  }
  return pb::MEMBER_DEAD;  // unreachable for valid enum values; dead is the safe reading
}

// proto3 enums are open: an unknown number survives parsing, so it must be checked here.
std::expected<member_state, codec_error> state_from_wire(int value) {
  switch (value) {
    case pb::MEMBER_ALIVE: return member_state::alive;
    case pb::MEMBER_SUSPECT: return member_state::suspect;
    case pb::MEMBER_DEAD: return member_state::dead;
    case pb::MEMBER_LEFT: return member_state::left;
    default: return fail(codec_errc::bad_enum, "unknown member state " + std::to_string(value));
  }
}

void record_to_wire(const member_record& in, pb::MemberRecord& out) {
  out.set_node(in.node.value());
  out.set_incarnation(in.inc.value);
  out.set_state(state_to_wire(in.state));
  out.set_uuid(in.uuid);
  out.set_addr(in.addr);
  out.set_meta(in.meta);
}

void message_to_wire(const message& msg, pb::GossipMessage& out) {
  std::visit(overloaded{
                 [&](const ping_msg& m) {
                   auto* p = out.mutable_ping();
                   p->set_seq(m.seq);
                   p->set_target(m.target.value());
                 },
                 [&](const indirect_ping_msg& m) {
                   auto* p = out.mutable_indirect_ping();
                   p->set_seq(m.seq);
                   p->set_target(m.target.value());
                   p->set_target_addr(m.target_addr);
                   p->set_want_nack(m.want_nack);
                 },
                 [&](const ack_msg& m) { out.mutable_ack()->set_seq(m.seq); },
                 [&](const nack_msg& m) { out.mutable_nack()->set_seq(m.seq); },
                 [&](const alive_msg& m) {
                   auto* p = out.mutable_alive();
                   p->set_node(m.node.value());
                   p->set_incarnation(m.inc.value);
                   p->set_uuid(m.uuid);
                   p->set_addr(m.addr);
                   p->set_meta(m.meta);
                   p->set_replaces_dead_holder(m.replaces);
                 },
                 [&](const suspect_msg& m) {
                   auto* p = out.mutable_suspect();
                   p->set_node(m.node.value());
                   p->set_incarnation(m.inc.value);
                   p->set_from(m.from.value());
                 },
                 [&](const dead_msg& m) {
                   auto* p = out.mutable_dead();
                   p->set_node(m.node.value());
                   p->set_incarnation(m.inc.value);
                   p->set_from(m.from.value());
                 },
                 [&](const push_pull_msg& m) {
                   auto* p = out.mutable_push_pull();
                   p->set_join(m.join);
                   p->set_reply(m.reply);
                   p->mutable_members()->Reserve(static_cast<int>(m.members.size()));
                   for (const auto& rec : m.members) record_to_wire(rec, *p->add_members());
                   p->mutable_digests()->Reserve(static_cast<int>(m.digests.size()));
                   for (const auto& d : m.digests) {
                     auto* w = p->add_digests();
                     w->set_node(d.node.value());
                     w->set_incarnation(d.inc.value);
                     w->set_state(state_to_wire(d.state));
                     w->set_identity(d.identity);
                   }
                   p->set_compact(m.compact);
                   p->mutable_want()->Reserve(static_cast<int>(m.want.size()));
                   for (node_id id : m.want) p->add_want(id.value());
                 },
             },
             msg);
}

std::expected<message, codec_error> push_pull_from_wire(const pb::PushPull& in) {
  push_pull_msg out;
  out.join = in.join();
  out.reply = in.reply();
  out.members.reserve(static_cast<std::size_t>(in.members_size()));
  for (const auto& rec : in.members()) {
    auto state = state_from_wire(rec.state());
    if (!state) return std::unexpected(state.error());
    out.members.push_back(member_record{node_id{rec.node()}, incarnation{rec.incarnation()}, *state,
                                        rec.uuid(), rec.addr(), rec.meta()});
  }
  out.digests.reserve(static_cast<std::size_t>(in.digests_size()));
  for (const auto& d : in.digests()) {
    auto state = state_from_wire(d.state());
    if (!state) return std::unexpected(state.error());
    out.digests.push_back(member_digest{node_id{d.node()}, incarnation{d.incarnation()}, *state, d.identity()});
  }
  out.compact = in.compact();
  out.want.reserve(static_cast<std::size_t>(in.want_size()));
  for (std::uint32_t id : in.want()) out.want.push_back(node_id{id});
  return out;
}

std::expected<message, codec_error> message_from_wire(const pb::GossipMessage& in) {
  using pbm = pb::GossipMessage;
  switch (in.body_case()) {
    case pbm::kPing: return ping_msg{in.ping().seq(), node_id{in.ping().target()}};
    case pbm::kIndirectPing: {
      const auto& p = in.indirect_ping();
      return indirect_ping_msg{p.seq(), node_id{p.target()}, p.target_addr(), p.want_nack()};
    }
    case pbm::kAck: return ack_msg{in.ack().seq()};
    case pbm::kNack: return nack_msg{in.nack().seq()};
    case pbm::kAlive: {
      const auto& p = in.alive();
      return alive_msg{node_id{p.node()}, incarnation{p.incarnation()}, p.uuid(), p.addr(), p.meta(),
                       p.replaces_dead_holder()};
    }
    case pbm::kSuspect: {
      const auto& p = in.suspect();
      return suspect_msg{node_id{p.node()}, incarnation{p.incarnation()}, node_id{p.from()}};
    }
    case pbm::kDead: {
      const auto& p = in.dead();
      return dead_msg{node_id{p.node()}, incarnation{p.incarnation()}, node_id{p.from()}};
    }
    case pbm::kPushPull: return push_pull_from_wire(in.push_pull());
    case pbm::BODY_NOT_SET: break;
  }
  // A body kind added by a newer version also lands here: Protobuf keeps it as an unknown field.
  return fail(codec_errc::empty_message, "message has no known body");
}

std::expected<envelope, codec_error> decode_bytes(const char* data, std::size_t size,
                                                  std::size_t max_bytes) {
  if (size > max_bytes || size > static_cast<std::size_t>(INT_MAX)) {
    return fail(codec_errc::oversized, "input of " + std::to_string(size) +
                                           " bytes exceeds the limit of " + std::to_string(max_bytes));
  }
  pb::GossipEnvelope wire;
  if (!wire.ParseFromArray(data, static_cast<int>(size))) {
    return fail(codec_errc::parse_failed, "not a valid GossipEnvelope (" + std::to_string(size) +
                                              " bytes)");
  }
  if (wire.version() != wire_version) {
    return fail(codec_errc::unknown_version, "version " + std::to_string(wire.version()) +
                                                 ", expected " + std::to_string(wire_version));
  }
  envelope env;
  env.cluster = wire.cluster();
  env.from = node_id{wire.from()};
  env.from_addr = wire.from_addr();
  env.messages.reserve(static_cast<std::size_t>(wire.messages_size()));
  for (int i = 0; i < wire.messages_size(); ++i) {
    auto msg = message_from_wire(wire.messages(i));
    if (!msg) {
      auto err = std::move(msg.error());
      err.text = "message " + std::to_string(i) + ": " + err.text;
      return std::unexpected(std::move(err));
    }
    env.messages.push_back(std::move(*msg));
  }
  return env;
}

}  // namespace

std::string_view to_string(codec_errc code) {
  switch (code) {
    case codec_errc::oversized: return "oversized";
    case codec_errc::parse_failed: return "parse_failed";
    case codec_errc::unknown_version: return "unknown_version";
    case codec_errc::empty_message: return "empty_message";
    case codec_errc::bad_enum: return "bad_enum";
  }
  return "unknown";
}

std::string encode(const envelope& env) {
  try {
    pb::GossipEnvelope wire;
    wire.set_version(wire_version);
    wire.set_cluster(env.cluster);
    wire.set_from(env.from.value());
    wire.set_from_addr(env.from_addr);
    wire.mutable_messages()->Reserve(static_cast<int>(env.messages.size()));
    for (const auto& msg : env.messages) message_to_wire(msg, *wire.add_messages());
    std::string out;
    if (!wire.SerializeToString(&out)) return {};
    return out;
  } catch (const std::exception&) {
    // Only allocation failure can get here; the empty result tells the caller to drop the packet.
    return {};
  }
}

std::expected<envelope, codec_error> decode(std::string_view bytes, std::size_t max_bytes) {
  try {
    return decode_bytes(bytes.data(), bytes.size(), max_bytes);
  } catch (const std::exception& e) {
    return fail(codec_errc::parse_failed, std::string("exception while decoding: ") + e.what());
  }
}

std::expected<envelope, codec_error> decode(std::span<const std::byte> bytes, std::size_t max_bytes) {
  return decode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                max_bytes);
}

}  // namespace chronik::gossip
