#include "daemon/status_service.h"

#include <future>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "daemon/config.h"
#include "daemon/keyring_admin.h"
#include "daemon/node_clock.h"
#include "daemon/node_metrics.h"
#include "daemon/rate_history.h"
#include "daemon/status_json.h"
#include "daemon/status_page.h"

namespace chronik::daemon {
namespace {

// Members asked at once; a larger cluster is asked in rounds of this many.
constexpr std::size_t fanout_parallelism = 16;
// Together below the page's 5 s refresh, so a dead member never holds up the next round.
constexpr auto member_connect_timeout = std::chrono::seconds(1);
constexpr auto member_read_timeout = std::chrono::seconds(2);

using answer = admin_server::answer;

std::int64_t ms_of(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::int64_t ms_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

struct status_service::impl {
  admin_server& admin;
  gossip::gossip_node& gossip;
  kafka_service& kafka;
  status_service_options opts;
  std::shared_ptr<spdlog::logger> log;
  // Both on the io thread only.
  rate_history history;
  periodic sampler;

  impl(admin_server& a, gossip::gossip_node& g, kafka_service& k, status_service_options o,
       std::shared_ptr<spdlog::logger> l)
      : admin(a), gossip(g), kafka(k), opts(std::move(o)), log(std::move(l)), history(opts.samples),
        sampler(opts.sample_interval) {}

  // On the io thread: this node's figures, from the same copies /metrics renders.
  nlohmann::json node_stats_here() const {
    metrics_view m;
    kafka.collect_metrics(m);
    node_stats_view v;
    v.node_id = opts.node_id;
    v.uuid_hex = opts.uuid_hex;
    v.sample_interval_ms = opts.sample_interval.count();
    v.rates = rates_of(history.samples());
    v.replicas = std::move(m.replicas);
    v.lags = std::move(m.lags);
    return node_stats_json(v);
  }

  nlohmann::json ask_member(const keyring_target& t) const {
    if (!t.unusable.empty()) return node_stats_entry(t, std::nullopt, {}, {});
    auto ep = parse_ipv4_endpoint(t.admin_addr);
    if (!ep) return node_stats_entry(t, std::nullopt, {}, "bad admin address " + t.admin_addr);
    httplib::Client client(ep->ip, ep->port);
    client.set_connection_timeout(member_connect_timeout);
    client.set_read_timeout(member_read_timeout);
    client.set_bearer_token_auth(opts.admin_token);
    auto res = client.Get("/v1/node-stats?scope=node");
    if (!res) return node_stats_entry(t, std::nullopt, {}, httplib::to_string(res.error()));
    return node_stats_entry(t, res->status, res->body, {});
  }

  nlohmann::json self_entry(const keyring_target& t) {
    auto here = admin.call_on_io([this] { return node_stats_here(); });
    if (!here) return node_stats_entry(t, std::nullopt, {}, here.error());
    return node_stats_entry(t, 200, here->dump(), {});
  }

  answer serve_node_stats(const admin_server::request& req) {
    if (req.scope == "node") {
      auto here = admin.call_on_io([this] { return node_stats_here(); });
      if (!here) return admin_server::refusal(503, here.error());
      return answer{200, std::move(*here)};
    }
    if (!req.scope.empty() && req.scope != "cluster") return admin_server::refusal(400, "scope must be node or cluster");
    // The same members keyring forwarding asks: alive or suspect, self first.
    auto targets = admin.call_on_io([this] {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& t : keyring_targets(gossip.members(), opts.node_id)) {
        out.push_back({{"node_id", t.node_id}, {"uuid", t.uuid_hex}, {"admin_addr", t.admin_addr},
                       {"self", t.self}, {"unusable", t.unusable}});
      }
      return out;
    });
    if (!targets) return admin_server::refusal(503, targets.error());
    std::vector<keyring_target> list;
    for (const auto& m : *targets) {
      list.push_back(keyring_target{m["node_id"].get<std::uint32_t>(), m["uuid"].get<std::string>(),
                                    m["admin_addr"].get<std::string>(), m["self"].get<bool>(),
                                    m["unusable"].get<std::string>()});
    }
    auto nodes = nlohmann::json::array();
    for (std::size_t first = 0; first < list.size(); first += fanout_parallelism) {
      const std::size_t last = std::min(list.size(), first + fanout_parallelism);
      std::vector<std::future<nlohmann::json>> round;
      for (std::size_t i = first; i < last; ++i) {
        round.push_back(std::async(std::launch::async, [this, &t = list[i]] {
          return t.self ? self_entry(t) : ask_member(t);
        }));
      }
      for (auto& f : round) nodes.push_back(f.get());
    }
    return answer{200, nlohmann::json{{"self", opts.node_id}, {"nodes", std::move(nodes)}}};
  }

  answer serve_partitions() {
    auto body = admin.call_on_io([this] { return partitions_json(kafka.topics()); });
    if (!body) return admin_server::refusal(503, body.error());
    return answer{200, std::move(*body)};
  }
};

status_service::status_service(admin_server& admin, gossip::gossip_node& gossip, kafka_service& kafka,
                               status_service_options opts, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_shared<impl>(admin, gossip, kafka, std::move(opts), std::move(log))) {
  admin.add_open_page("/ui", status_page_html(), status_page_headers());
  admin.add_route(admin_server::method::get, "/v1/partitions",
                  [s = impl_](const admin_server::request&) { return s->serve_partitions(); });
  admin.add_route(admin_server::method::get, "/v1/node-stats",
                  [s = impl_](const admin_server::request& req) { return s->serve_node_stats(req); });
}

void status_service::tick(std::chrono::steady_clock::time_point now, std::chrono::system_clock::time_point wall_now) {
  if (!impl_->sampler.due(now)) return;
  impl_->history.add(traffic_sample{ms_of(now), ms_of(wall_now), impl_->kafka.traffic()});
}

}  // namespace chronik::daemon
