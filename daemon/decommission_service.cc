#include "daemon/decommission_service.h"

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/meta_service.h"
#include "metadata/decommission.h"
#include "metadata/meta_commands.h"

namespace chronik::daemon {
namespace {

bool lists(const std::vector<std::uint64_t>& v, chronik::node_id id) {
  return std::ranges::find(v, id.value()) != v.end();
}

}  // namespace

struct decommission_service::impl {
  meta_service& meta;
  admin_server& admin;
  std::shared_ptr<spdlog::logger> log;

  admin_server::answer set(const admin_server::request& req, metadata::decommission_state to) {
    const auto node = admin_server::node_in_match(req.match);
    if (!node) return admin_server::refusal(400, "not a node id: " + req.match);
    auto r = admin.call_on_io([this, node = *node, to]() -> nlohmann::json {
      const auto& data = meta.state().data();
      const auto* b = meta.state().broker(node);
      if (b == nullptr) return {{"status", 404}, {"error", "no broker " + std::to_string(node.value())}};
      if (b->decommission == to) {
        return {{"status", 202}, {"node_id", node.value()}, {"state", std::string(metadata::to_string(to))}};
      }
      // The state machine decides; checking here first gives the operator the reason at once.
      if (auto ok = metadata::check_decommission(data, node, to); !ok) {
        return {{"status", 409},
                {"error", "node " + std::to_string(node.value()) + ": " + std::string(metadata::to_string(ok.error()))}};
      }
      if (auto p = meta.propose(metadata::commands::set_broker_decommission(node, b->uuid, to)); !p) {
        return {{"status", 503}, {"error", "cannot propose to __meta: " + p.error()}};
      }
      log->info("decommission: node {} {} (proposed)", node.value(),
                to == metadata::decommission_state::moving ? "starts" : "cancelled");
      return {{"status", 202}, {"node_id", node.value()}, {"state", std::string(metadata::to_string(to))}};
    });
    if (!r) return admin_server::refusal(503, r.error());
    return admin_server::with_status(std::move(*r));
  }

  admin_server::answer progress(const admin_server::request& req) {
    const auto node = admin_server::node_in_match(req.match);
    if (!node) return admin_server::refusal(400, "not a node id: " + req.match);
    auto r = admin.call_on_io([this, node = *node]() -> nlohmann::json {
      if (meta.state().broker(node) == nullptr) {
        return {{"status", 404}, {"error", "no broker " + std::to_string(node.value())}};
      }
      const auto p = metadata::progress_of(meta.state().data(), node);
      const auto st = meta.status();
      const char* member = lists(st.voters, node) ? "voter" : lists(st.learners, node) ? "learner" : "none";
      return {{"status", 200},
              {"node_id", node.value()},
              {"state", std::string(metadata::to_string(p.state))},
              {"partitions_left", p.partitions_left},
              {"moving", p.moving},
              {"stuck", p.stuck},
              {"leaderships", p.leaderships},
              {"meta_member", member}};
    });
    if (!r) return admin_server::refusal(503, r.error());
    return admin_server::with_status(std::move(*r));
  }
};

decommission_service::decommission_service(meta_service& meta, admin_server& admin, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_shared<impl>(impl{meta, admin, std::move(log)})) {
  using metadata::decommission_state;
  admin.add_route(admin_server::method::post, "/v1/nodes/([0-9]+)/decommission",
                  [s = impl_](const admin_server::request& req) { return s->set(req, decommission_state::moving); });
  admin.add_route(admin_server::method::post, "/v1/nodes/([0-9]+)/decommission/cancel",
                  [s = impl_](const admin_server::request& req) { return s->set(req, decommission_state::none); });
  admin.add_route(admin_server::method::get, "/v1/nodes/([0-9]+)/decommission",
                  [s = impl_](const admin_server::request& req) { return s->progress(req); });
}

}  // namespace chronik::daemon
