#include "daemon/node_raft.h"

#include <functional>
#include <utility>

#include "daemon/raft_state_dir.h"

namespace chronik::daemon {

namespace {

consensus::transport_config transport_config_for(const node_config& cfg, const node_uuid& uuid) {
  auto tc = cfg.preset == gossip_preset::local ? consensus::transport_config::local()
            : cfg.preset == gossip_preset::wan ? consensus::transport_config::wan()
                                               : consensus::transport_config::lan();
  tc.self = cfg.node_id;
  tc.node_uuid = uuid.hex();
  tc.listen_address = cfg.rpc_listen_addr();
  // load_node_config read and checked the files (daemon/rpc_tls_files.h).
  if (!cfg.rpc_tls_cert_pem.empty()) {
    tc.tls = consensus::transport_tls{cfg.rpc_tls_ca_pem, cfg.rpc_tls_cert_pem, cfg.rpc_tls_key_pem,
                                      cfg.rpc_tls_verify_incoming, cfg.rpc_tls_verify_outgoing};
  }
  return tc;
}

}  // namespace

node_raft::node_raft(asio::io_context& io, const node_config& cfg, const node_uuid& uuid,
                     std::shared_ptr<spdlog::logger> log)
    : io_(io),
      cfg_(cfg),
      uuid_(uuid),
      log_(std::move(log)),
      transport_(std::make_unique<consensus::raft_transport>(io, transport_config_for(cfg, uuid), log_)) {
  transport_->on_receive([this, alive = alive_](consensus::inbound_batch&& b) {
    // Posted to io by the transport; the node may be gone, or between hosts, when it runs.
    if (!*alive || !host_) return;
    host_->step(b.from, std::move(b.messages));
  });
}

node_raft::~node_raft() { stop(); }

std::expected<void, std::string> node_raft::start() {
  if (auto r = transport_->start(); !r) {
    return std::unexpected("raft transport: cannot listen on " + cfg_.rpc_listen_addr() + ": " + r.error().text);
  }
  if (auto r = remove_discarded_raft_state(cfg_.data_dir); !r) return std::unexpected("raft host: " + r.error());
  return open_host();
}

void node_raft::stop() {
  if (!*alive_) return;
  *alive_ = false;
  host_.reset();       // joins the disk thread
  transport_->stop();  // the KJ thread goes last
}

std::expected<void, std::string> node_raft::open_host() {
  consensus::host_config hc;
  hc.self = cfg_.node_id;
  hc.data_dir = cfg_.data_dir;
  hc.rng_seed = std::hash<std::string>{}(uuid_.hex()) ^ cfg_.node_id.value();
  auto outbox = [t = transport_.get()](consensus::node_id to, std::vector<consensus::group_message> msgs) {
    t->send(to, std::move(msgs));
  };
  auto host = consensus::raft_host::open(io_, hc, outbox, log_);
  if (!host) {
    return std::unexpected("raft host: cannot open " + (cfg_.data_dir / "raft").string() + ": " + host.error().text);
  }
  host_ = std::move(*host);
  return {};
}

std::expected<void, std::string> node_raft::reopen(bool discard_state) {
  host_.reset();  // joins the disk thread and releases the WAL's lock for the new host
  if (discard_state) {
    if (auto r = discard_raft_state(cfg_.data_dir); !r) return std::unexpected("cannot discard the Raft state: " + r.error());
  }
  return open_host();
}

}  // namespace chronik::daemon
