// kafka_service's replica moves (AlterPartitionReassignments, ListPartitionReassignments; docs/kafka.md
// "Moving replicas"): the `__meta` records that start, cancel and finish a move, and the answers
// to the clients that asked. The move itself runs on each partition's leader
// (partition_manager::drive_moves, kafka/partition/move_planner.h). Kept apart from
// kafka_service.cc.
#include <algorithm>

#include "daemon/kafka_service.h"
#include "kafka/partition/partition_replica.h"
#include "metadata/meta_commands.h"

namespace chronik::daemon {
namespace {

kafka::reassignment_outcome move_outcome_of(metadata::meta_errc e) {
  switch (e) {
    case metadata::meta_errc::invalid_topic_id:
    case metadata::meta_errc::unknown_topic:
    case metadata::meta_errc::unknown_partition: return kafka::reassignment_outcome::unknown;
    case metadata::meta_errc::no_reassignment: return kafka::reassignment_outcome::no_reassignment;
    default: return kafka::reassignment_outcome::invalid_replicas;
  }
}

std::string refusal(metadata::meta_errc e) {
  if (e == metadata::meta_errc::invalid_replica_assignment) {
    return "every new replica must be a distinct, registered and alive broker";
  }
  return std::string(metadata::to_string(e));
}

}  // namespace

void kafka_service::alter_reassignments(std::vector<kafka::reassignment_request> wanted,
                                        std::chrono::milliseconds timeout, reassignments_done done) {
  auto req = std::make_shared<move_request>();
  req->results.resize(wanted.size());
  req->open = wanted.size();
  req->done = std::move(done);
  if (wanted.empty()) {
    req->done(std::move(req->results));
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const auto& w = wanted[i];
    const auto* t = meta_.state().topic(w.topic);
    if (t == nullptr || w.partition < 0 || static_cast<std::size_t>(w.partition) >= t->partitions.size()) {
      settle_move(*req, i, {kafka::reassignment_outcome::unknown, "unknown topic or partition"});
      continue;
    }
    // The record names the topic by id, so a namesake created meanwhile is never moved.
    std::string cmd = metadata::commands::alter_reassignment(t->id, w.partition, w.replicas, random_());
    if (auto r = meta_.propose(cmd); !r) {
      settle_move(*req, i, {kafka::reassignment_outcome::not_controller, r.error()});
      continue;
    }
    pending_moves_.emplace(std::move(cmd), pending_move{req, i, deadline});
  }
}

std::vector<kafka::reassignment_info> kafka_service::reassignments() const {
  std::vector<kafka::reassignment_info> out;
  for (const auto& [name, t] : meta_.state().topics()) {
    for (const auto& p : t.partitions) {
      if (p.moving()) out.push_back({name, p.partition, p.replicas, p.adding(), p.removing()});
    }
  }
  return out;
}

void kafka_service::settle_move(move_request& req, std::size_t slot, kafka::reassignment_result result) {
  req.results[slot] = std::move(result);
  if (--req.open == 0 && req.done) {
    auto done = std::move(req.done);
    done(std::move(req.results));
  }
}

void kafka_service::on_move_applied(std::string_view command,
                                    const std::expected<metadata::apply_result, metadata::meta_errc>& r) {
  auto [lo, hi] = pending_moves_.equal_range(std::string(command));
  for (auto it = lo; it != hi;) {
    auto p = std::move(it->second);
    it = pending_moves_.erase(it);
    if (r) {
      settle_move(*p.request, p.slot, {kafka::reassignment_outcome::accepted, {}});
    } else {
      settle_move(*p.request, p.slot, {move_outcome_of(r.error()), refusal(r.error())});
    }
  }
}

void kafka_service::expire_moves(std::chrono::steady_clock::time_point now) {
  for (auto it = pending_moves_.begin(); it != pending_moves_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    auto p = std::move(it->second);
    it = pending_moves_.erase(it);
    settle_move(*p.request, p.slot, {kafka::reassignment_outcome::timed_out, "not applied within the request's timeout"});
  }
}

// The leader's report that its group reached the target, at most once a second per group: the
// record may be lost with a `__meta` leader change, and a repeat after it applied is refused as
// stale by every replica, harmlessly.
void kafka_service::report_move_done(const metadata::partition_ref& ref) {
  constexpr auto repeat_after = std::chrono::seconds(1);
  const auto now = last_tick_;
  auto [it, fresh] = move_reported_.try_emplace(ref.group.value, now);
  if (!fresh && now < it->second + repeat_after) return;
  it->second = now;
  if (auto r = meta_.propose(metadata::commands::complete_reassignment(ref.topic, ref.partition, ref.inc, ref.move_id, ref.target)); !r) {
    log_->debug("kafka: cannot report the end of group {}'s move: {}", ref.group.value, r.error());
  }
}

}  // namespace chronik::daemon
