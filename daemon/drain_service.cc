#include "daemon/drain_service.h"

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/meta_service.h"
#include "daemon/node_raft.h"
#include "metadata/leadership_drain.h"
#include "metadata/meta_commands.h"

namespace chronik::daemon {
namespace {

constexpr auto tick_every = std::chrono::milliseconds(100);
// A group's transfer is asked again after this long: Raft gives an unfinished transfer up after an
// election timeout (dissertation §3.10), and the target may have changed since.
constexpr auto ask_again_after = std::chrono::seconds(1);
constexpr std::size_t max_named_partitions = 20;

}  // namespace

struct drain_service::impl {
  meta_service& meta;
  node_raft& raft;
  admin_server& admin;
  chronik::node_id self;
  std::shared_ptr<spdlog::logger> log;
  std::chrono::steady_clock::time_point next_tick{};
  struct asked {
    chronik::node_id target;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::uint64_t, asked> transfers;  // by group id: the last transfer this node asked for

  void tick(std::chrono::steady_clock::time_point now);
  // True while this node leads `group`.
  bool hand_over(consensus::group_id group, std::vector<chronik::node_id> preference, const std::set<chronik::node_id>& drained,
                 const std::set<chronik::node_id>& dead, std::chrono::steady_clock::time_point now);
  admin_server::answer set(const admin_server::request& req, metadata::commands::drain_state state);
  admin_server::answer progress(const admin_server::request& req);
};

void drain_service::impl::tick(std::chrono::steady_clock::time_point now) {
  if (now < next_tick) return;
  next_tick = now + tick_every;
  consensus::raft_host* host = raft.host();
  if (host == nullptr || host->failed()) return;
  const metadata::meta_state& state = meta.state();
  const auto mode = metadata::campaign_mode_for(state, self);
  host->set_campaign_mode(mode);  // also after the node replaced its host
  if (mode == consensus::campaign_mode::eager) {
    transfers.clear();
    return;
  }
  const std::set<chronik::node_id> drained = metadata::drained_nodes(state);
  std::set<chronik::node_id> dead;
  for (const auto& [id, b] : state.brokers())
    if (b.state == metadata::broker_state::dead) dead.insert(id);
  std::size_t led = 0;
  for (const auto& [name, t] : state.topics())
    for (const auto& p : t.partitions)
      led += hand_over(p.group, p.replicas, drained, dead, now) ? 1 : 0;  // status() refuses a group not hosted here
  if (metadata::meta_goes_now(led)) hand_over(metadata::meta_group_id, {}, drained, dead, now);
}

bool drain_service::impl::hand_over(consensus::group_id group, std::vector<chronik::node_id> preference,
                                    const std::set<chronik::node_id>& drained, const std::set<chronik::node_id>& dead,
                                    std::chrono::steady_clock::time_point now) {
  consensus::raft_host& host = *raft.host();
  auto s = host.status(group);
  if (!s || s->state != consensus::role::leader) {
    transfers.erase(group.value);
    return false;
  }
  const metadata::drain_group_view view{self, std::move(preference), s->conf.voters, s->match, s->last_index};
  const auto target = metadata::drain_target(view, drained, dead);
  if (!target) return true;  // nowhere to go: the drain reports the leadership as left
  auto it = transfers.find(group.value);
  if (it != transfers.end() && it->second.target == *target && now < it->second.at + ask_again_after) return true;
  transfers[group.value] = {*target, now};
  if (auto r = host.transfer_leadership(group, *target); !r) {
    log->debug("drain: cannot transfer group {} to {}: {}", group.value, target->value(), r.error().text);
    return true;
  }
  log->info("drain: transferring leadership of group {} to {}", group.value, target->value());
  return true;
}

admin_server::answer drain_service::impl::set(const admin_server::request& req, metadata::commands::drain_state state) {
  const auto node = admin_server::node_in_match(req.match);
  if (!node) return admin_server::refusal(400, "not a node id: " + req.match);
  auto r = admin.call_on_io([this, node = *node, state]() -> nlohmann::json {
    if (meta.state().broker(node) == nullptr) return {{"status", 404}, {"error", "no broker " + std::to_string(node.value())}};
    if (auto p = meta.propose(metadata::commands::set_broker_drained(node, state)); !p) {
      return {{"status", 503}, {"error", "cannot propose to __meta: " + p.error()}};
    }
    log->info("drain: node {} {} (proposed)", node.value(),
              state == metadata::commands::drain_state::drained ? "drained" : "undrained");
    return {{"status", 202}, {"node_id", node.value()}, {"drained", state == metadata::commands::drain_state::drained}};
  });
  if (!r) return admin_server::refusal(503, r.error());
  return admin_server::with_status(std::move(*r));
}

admin_server::answer drain_service::impl::progress(const admin_server::request& req) {
  const auto node = admin_server::node_in_match(req.match);
  if (!node) return admin_server::refusal(400, "not a node id: " + req.match);
  auto r = admin.call_on_io([this, node = *node]() -> nlohmann::json {
    const auto& state = meta.state();
    const auto* b = state.broker(node);
    if (b == nullptr) return {{"status", 404}, {"error", "no broker " + std::to_string(node.value())}};
    nlohmann::json named = nlohmann::json::array();
    for (const auto& [name, t] : state.topics())
      for (const auto& p : t.partitions)
        if (p.leader == node && named.size() < max_named_partitions) named.push_back(name + "-" + std::to_string(p.partition));
    const std::size_t led = metadata::partitions_led_by(state, node);
    const bool meta_leader = meta.status().meta_leader == node.value();
    return {{"status", 200},          {"node_id", node.value()},     {"drained", b->drained},
            {"partitions_led", led},   {"meta_leader", meta_leader}, {"leaderships", led + (meta_leader ? 1 : 0)},
            {"partitions", named}};
  });
  if (!r) return admin_server::refusal(503, r.error());
  return admin_server::with_status(std::move(*r));
}

drain_service::drain_service(meta_service& meta, node_raft& raft, admin_server& admin, chronik::node_id self,
                             std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_shared<impl>(impl{meta, raft, admin, self, std::move(log), {}, {}})) {
  using metadata::commands::drain_state;
  admin.add_route(admin_server::method::post, "/v1/nodes/([0-9]+)/drain",
                  [s = impl_](const admin_server::request& req) { return s->set(req, drain_state::drained); });
  admin.add_route(admin_server::method::post, "/v1/nodes/([0-9]+)/undrain",
                  [s = impl_](const admin_server::request& req) { return s->set(req, drain_state::undrained); });
  admin.add_route(admin_server::method::get, "/v1/nodes/([0-9]+)/drain",
                  [s = impl_](const admin_server::request& req) { return s->progress(req); });
}

void drain_service::tick(std::chrono::steady_clock::time_point now) { impl_->tick(now); }

}  // namespace chronik::daemon
