#include "daemon/leader_elections.h"

#include <algorithm>
#include <map>

#include "kafka/partition/partition_replica.h"
#include "metadata/leadership_drain.h"
#include "metadata/meta_commands.h"

namespace chronik::daemon {
namespace {

using kafka::election_outcome;

// Partitions waiting at once over all requests; beyond it a request's partitions time out at once.
constexpr std::size_t max_waiting = 100'000;

}  // namespace

leader_elections::leader_elections(leader_elections_meta meta, chronik::node_id self,
                                   std::shared_ptr<spdlog::logger> log)
    : meta_(std::move(meta)), self_(self), log_(std::move(log)), random_(std::random_device{}()) {}

void leader_elections::request(std::vector<kafka::election_request> wanted, std::chrono::milliseconds timeout,
                               kafka::broker_context::elections_done done, clock::time_point now) {
  auto req = std::make_shared<request_state>();
  req->outcomes.assign(wanted.size(), election_outcome::elected);
  req->open = wanted.size();
  req->done = std::move(done);
  if (wanted.empty()) {
    req->done({});
    return;
  }
  // One record per topic, naming the topic by id so that a namesake created meanwhile is untouched.
  std::map<std::string, std::vector<std::size_t>> by_topic;
  for (std::size_t i = 0; i < wanted.size(); ++i) by_topic[wanted[i].topic].push_back(i);
  const std::int64_t expires = meta_.wall_now_ms() + timeout.count();
  for (const auto& [name, slots] : by_topic) {
    const auto* t = meta_.state().topic(name);
    if (t == nullptr || waiting_.size() + slots.size() > max_waiting) {
      for (auto i : slots) settle(*req, i, t == nullptr ? election_outcome::unknown : election_outcome::timed_out);
      continue;
    }
    // A drained preferred replica takes no leadership (docs/operations.md "Maintenance: drain").
    std::vector<std::int32_t> parts;
    std::vector<std::size_t> asked;
    for (auto i : slots) {
      if (!metadata::may_take_leadership(meta_.state(), wanted[i].preferred)) {
        settle(*req, i, election_outcome::drained);
        continue;
      }
      parts.push_back(wanted[i].partition);
      asked.push_back(i);
    }
    if (parts.empty()) continue;
    std::string cmd = metadata::commands::elect_leaders(t->id, parts, expires, random_());
    if (auto r = meta_.propose(cmd); !r) {
      log_->debug("kafka: cannot propose a leader election for '{}': {}", name, r.error());
      for (auto i : asked) settle(*req, i, election_outcome::not_controller);
      continue;
    }
    for (auto i : asked) waiting_.push_back({req, i, t->id, wanted[i].partition, wanted[i].preferred, cmd, now + timeout});
  }
}

void leader_elections::on_applied(std::string_view command,
                                  const std::expected<metadata::apply_result, metadata::meta_errc>& r,
                                  kafka::partition_manager* partitions, consensus::raft_host* host) {
  if (r && r->kind == metadata::command_kind::elect_leaders && partitions != nullptr && host != nullptr &&
      meta_.wall_now_ms() <= r->elect_expires_at_ms) {
    for (const auto& ref : r->elect) transfer(ref, *partitions, *host);
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->command != command) {
      ++it;
      continue;
    }
    if (r) {
      it->command.clear();  // applied: now it waits for the leadership to show in `__meta`
      ++it;
      continue;
    }
    auto w = std::move(*it);
    it = waiting_.erase(it);
    settle(*w.request, w.slot, election_outcome::unknown);  // the topic or partition went away
  }
  settle_led();
}

// The leader's half. Only a ready leader transfers. The asking broker already checked that the
// preferred replica is in the ISR `__meta` holds; the leader does not check again against its own
// tracker, which has not confirmed anyone yet right after an election (its ISR report then is the
// previous one). Raft's transfer itself brings the target's log up to date before handing over and
// gives up after an election timeout (dissertation §3.10), so a lagging target costs at most that
// pause in proposals and the asker answers REQUEST_TIMED_OUT.
void leader_elections::transfer(const metadata::partition_ref& ref, kafka::partition_manager& partitions,
                                consensus::raft_host& host) {
  if (ref.replicas.empty()) return;
  const chronik::node_id target = ref.replicas.front();
  auto* rep = partitions.find(ref.group);
  if (rep == nullptr || rep->leader() != self_ || !rep->leader_ready() || target == self_) return;
  if (!metadata::may_take_leadership(meta_.state(), target)) {
    log_->info("kafka: not transferring leadership of group {} to its preferred replica {}: drained", ref.group.value,
               target.value());
    return;
  }
  if (auto t = host.transfer_leadership(ref.group, target); !t) {
    log_->info("kafka: cannot transfer leadership of group {} to {}: {}", ref.group.value, target.value(), t.error().text);
    return;
  }
  log_->info("kafka: transferring leadership of group {} to its preferred replica {}", ref.group.value, target.value());
}

void leader_elections::settle_led() {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const auto* p = it->command.empty() ? meta_.state().partition(it->topic, it->partition) : nullptr;
    if (!it->command.empty() || (p != nullptr && p->leader != it->preferred)) {
      ++it;
      continue;
    }
    auto w = std::move(*it);
    it = waiting_.erase(it);
    settle(*w.request, w.slot, p == nullptr ? election_outcome::unknown : election_outcome::elected);
  }
}

void leader_elections::tick(clock::time_point now) {
  settle_led();
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (now < it->deadline) {
      ++it;
      continue;
    }
    auto w = std::move(*it);
    it = waiting_.erase(it);
    settle(*w.request, w.slot, election_outcome::timed_out);
  }
}

void leader_elections::settle(request_state& req, std::size_t slot, election_outcome outcome) {
  req.outcomes[slot] = outcome;
  if (--req.open == 0 && req.done) {
    auto done = std::move(req.done);
    done(std::move(req.outcomes));
  }
}

}  // namespace chronik::daemon
