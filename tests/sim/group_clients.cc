// The clients of the group simulation (group_cluster.h): committers and members (the readers are
// in group_reads.cc). They play what a Kafka consumer does against a coordinator that moves:
// FindCoordinator (any host that serves the group now), a request, and on NOT_COORDINATOR,
// COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE or a broken connection the same request
// again; a member whose generation is gone (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
// REBALANCE_IN_PROGRESS) joins again.
#include <algorithm>

#include "tests/sim/group_cluster.h"

namespace chronik::sim {

namespace {

constexpr std::uint64_t client_timeout_ticks = 400;
constexpr std::uint64_t heartbeat_ticks = 10;
constexpr std::int32_t session_timeout_ms = 1'500;
constexpr std::int32_t rebalance_timeout_ms = 1'500;

}  // namespace

std::optional<int> group_cluster::find_coordinator(const std::string& group) {
  // A deposed coordinator may still think it serves: the client cannot tell either.
  const auto hosts = static_cast<std::uint64_t>(raft_.hosts());
  const auto first = raft_.random().below(hosts);
  for (std::uint64_t i = 0; i < hosts; ++i) {
    const int h = static_cast<int>((first + i) % hosts);
    if (responsive(h) && shells_[static_cast<std::size_t>(h)].core->serves(group) == kafka::group_errc::none) return h;
  }
  return std::nullopt;
}

void group_cluster::tick_client(client& c) {
  if (c.req != request::none) {
    poll(c);
    return;
  }
  if (stopping_ || now_ < c.wait_until) return;
  const auto h = find_coordinator(c.group);
  if (!h) return;
  if (c.managed && !c.joined) return send_join(c, *h);
  if (c.managed && !c.stable) return send_sync(c, *h);
  if (c.managed && now_ >= c.next_heartbeat) {
    c.next_heartbeat = now_ + heartbeat_ticks;
    auto r = shells_[static_cast<std::size_t>(*h)].core->heartbeat(c.group, c.generation, c.member_id);
    if (!r) return member_error(c, r.error());
  }
  send_commit(c, *h);
}

// What a member does with an error: its generation is gone, or it asks another coordinator.
void group_cluster::member_error(client& c, kafka::group_errc e) {
  rng& r = raft_.random();
  c.wait_until = now_ + 1 + r.below(6);
  if (!c.managed) return;
  if (e == kafka::group_errc::unknown_member) c.member_id.clear();
  if (e == kafka::group_errc::unknown_member || e == kafka::group_errc::illegal_generation ||
      e == kafka::group_errc::rebalance_in_progress) {
    ++counts_.rejoins;
    c.joined = false;
    c.stable = false;
  }
}

void group_cluster::poll(client& c) {
  rng& r = raft_.random();
  const shell& s = shells_[static_cast<std::size_t>(c.host)];
  const bool gone = !raft_.running(c.host) || s.incarnation != c.incarnation;
  const request req = c.req;
  const bool answered = (req == request::commit && c.commit_answer->has_value()) ||
                        (req == request::join && c.join_answer->has_value()) ||
                        (req == request::sync && c.sync_answer->has_value());
  if (!answered) {
    if (gone || now_ - c.sent > client_timeout_ticks) {
      // The connection broke (the coordinator crashed) or the answer is overdue: the outcome is
      // unknown, and the client asks again.
      c.req = request::none;
      if (req == request::commit) ++counts_.commits_lost;
      c.wait_until = now_ + 1 + r.below(6);
    }
    return;
  }
  c.req = request::none;
  if (req == request::commit) {
    const auto& a = **c.commit_answer;
    if (a && a->size() == 1 && a->front() == kafka::group_errc::none) {
      ++counts_.commits_acked;
      auto& best = acked_[{c.group, c.key}];
      best = std::max(best, c.offset);
      c.next = c.offset + 1 + static_cast<std::int64_t>(r.below(3));
      c.wait_until = now_ + r.below(4);
      return;
    }
    ++counts_.commits_refused;
    return member_error(c, a ? kafka::group_errc::none : a.error());
  }
  if (req == request::join) {
    const kafka::join_result& j = **c.join_answer;
    if (j.error == kafka::group_errc::member_id_required) {
      c.member_id = j.member_id;
      return;
    }
    if (j.error != kafka::group_errc::none) return member_error(c, j.error);
    c.member_id = j.member_id;
    c.generation = j.generation_id;
    c.joined = true;
    c.members.clear();
    for (const auto& m : j.members) c.members.push_back(m.member_id);
    return;
  }
  const kafka::sync_result& y = **c.sync_answer;
  if (y.error != kafka::group_errc::none) return member_error(c, y.error);
  ++counts_.generations;
  c.stable = true;
  c.next_heartbeat = now_ + heartbeat_ticks;
}

void group_cluster::send_commit(client& c, int host) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  c.req = request::commit;
  c.host = host;
  c.incarnation = s.incarnation;
  c.sent = now_;
  c.offset = c.next;
  c.commit_answer = std::make_shared<commit_slot>();
  kafka::commit_params params;
  params.group_id = c.group;
  if (c.managed) {
    params.generation_id = c.generation;
    params.member_id = c.member_id;
  }
  params.offsets.emplace_back(c.key, kafka::committed_offset{c.offset, -1, "m" + std::to_string(c.offset), 0});
  s.core->commit_offsets(params, [slot = c.commit_answer](auto result) { *slot = std::move(result); });
}

void group_cluster::send_join(client& c, int host) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  c.req = request::join;
  c.host = host;
  c.incarnation = s.incarnation;
  c.sent = now_;
  c.join_answer = std::make_shared<std::optional<kafka::join_result>>();
  kafka::join_params params;
  params.group_id = c.group;
  params.member_id = c.member_id;
  params.client_id = c.client_id;
  params.client_host = "/127.0.0.1";
  params.session_timeout_ms = session_timeout_ms;
  params.rebalance_timeout_ms = rebalance_timeout_ms;
  params.protocol_type = "consumer";
  params.protocols = {{"range", "subscription of " + c.client_id}};
  params.require_known_member_id = true;
  s.core->join(std::move(params), [slot = c.join_answer](kafka::join_result r) { *slot = std::move(r); });
}

void group_cluster::send_sync(client& c, int host) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  c.req = request::sync;
  c.host = host;
  c.incarnation = s.incarnation;
  c.sent = now_;
  c.sync_answer = std::make_shared<std::optional<kafka::sync_result>>();
  kafka::sync_params params;
  params.group_id = c.group;
  params.generation_id = c.generation;
  params.member_id = c.member_id;
  params.protocol_type = "consumer";
  params.protocol_name = "range";
  // The leader (whoever got the members) assigns each member a text naming it and the generation.
  for (const std::string& m : c.members) {
    params.assignments.emplace_back(m, "generation " + std::to_string(c.generation) + " to " + m);
  }
  s.core->sync(std::move(params), [slot = c.sync_answer](kafka::sync_result r) { *slot = std::move(r); });
}

}  // namespace chronik::sim
