#include "consensus/transport/outbox.h"

namespace chronik::consensus {

transport_counters counter_cells::snapshot() const {
  auto v = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  transport_counters out;
  out.batches_sent = v(batches_sent);
  out.messages_sent = v(messages_sent);
  out.heartbeats_coalesced_sent = v(heartbeats_coalesced_sent);
  out.batches_received = v(batches_received);
  out.messages_received = v(messages_received);
  out.refusals_sent = v(refusals_sent);
  out.refusals_received = v(refusals_received);
  out.accept_errors = v(accept_errors);
  out.tls_handshake_failures = v(tls_handshake_failures);
  out.tls_identity_refusals = v(tls_identity_refusals);
  out.tls_connections = v(tls_connections);
  out.plaintext_connections = v(plaintext_connections);
  out.connects = v(connects);
  out.reconnects = v(reconnects);
  out.connect_failures = v(connect_failures);
  out.call_failures = v(call_failures);
  out.drops_outbox_full = v(drops_outbox_full);
  out.drops_no_route = v(drops_no_route);
  out.drops_oversized = v(drops_oversized);
  out.drops_failed = v(drops_failed);
  return out;
}

transport_bridge::transport_bridge(const transport_config& cfg)
    : max_message_bytes_(cfg.max_message_bytes),
      outbox_max_messages_(cfg.outbox_max_messages),
      outbox_max_bytes_(cfg.outbox_max_bytes),
      cluster_id_(cfg.cluster_id) {}

void transport_bridge::mark_dirty(node_id peer, peer_entry& entry) {
  if (!entry.dirty) {
    entry.dirty = true;
    dirty_.push_back(peer);
  }
  if (!wake_pending_ && wake_.get() != nullptr) {
    wake_pending_ = true;
    wake_->fulfill();
  }
}

void transport_bridge::push(node_id to, std::vector<group_message>&& items) {
  std::size_t oversized = 0;
  std::size_t full = 0;
  std::lock_guard lock(mu_);
  auto it = peers_.find(to.value());
  if (it == peers_.end() || it->second.address.empty()) {
    bump(counters.drops_no_route, items.size());
    return;
  }
  peer_entry& entry = it->second;
  const std::size_t before = entry.outbox.size();
  for (auto& item : items) {
    const std::size_t bytes = estimate_bytes(item.msg);
    if (bytes > max_message_bytes_) {
      ++oversized;
    } else if (entry.outbox.size() >= outbox_max_messages_ ||
               entry.outbox_bytes + bytes > outbox_max_bytes_) {
      ++full;
    } else {
      entry.outbox_bytes += bytes;
      entry.outbox.push_back(queued{std::move(item), bytes});
    }
  }
  if (oversized > 0) bump(counters.drops_oversized, oversized);
  if (full > 0) bump(counters.drops_outbox_full, full);
  if (entry.outbox.size() != before) mark_dirty(to, entry);
}

void transport_bridge::set_peer(node_id peer, std::string address, std::string expected_uuid) {
  std::lock_guard lock(mu_);
  peer_entry& entry = peers_[peer.value()];
  const bool moved = entry.address != address;
  entry.address = std::move(address);
  entry.expected_uuid = std::move(expected_uuid);
  if (moved) mark_dirty(peer, entry);
}

void transport_bridge::peer_alive(node_id peer) {
  std::lock_guard lock(mu_);
  auto it = peers_.find(peer.value());
  if (it == peers_.end()) return;  // never given an address: no link to wake
  it->second.alive = true;
  mark_dirty(peer, it->second);
}

bool transport_bridge::take_alive(node_id peer) {
  std::lock_guard lock(mu_);
  auto it = peers_.find(peer.value());
  if (it == peers_.end() || !it->second.alive) return false;
  it->second.alive = false;
  return true;
}

void transport_bridge::set_cluster_id(std::string cluster_id) {
  std::lock_guard lock(mu_);
  cluster_id_ = std::move(cluster_id);
}

void transport_bridge::request_stop() {
  std::lock_guard lock(mu_);
  stop_requested_ = true;
  if (stop_.get() != nullptr) stop_->fulfill();
}

void transport_bridge::clear_stop() {
  std::lock_guard lock(mu_);
  stop_requested_ = false;
}

std::vector<node_id> transport_bridge::arm_wake(
    kj::Own<kj::CrossThreadPromiseFulfiller<void>> fulfiller) {
  std::lock_guard lock(mu_);
  wake_ = kj::mv(fulfiller);
  wake_pending_ = false;
  std::vector<node_id> changed;
  changed.swap(dirty_);
  for (node_id id : changed) peers_[id.value()].dirty = false;
  return changed;
}

void transport_bridge::arm_stop(kj::Own<kj::CrossThreadPromiseFulfiller<void>> fulfiller) {
  std::lock_guard lock(mu_);
  stop_ = kj::mv(fulfiller);
  if (stop_requested_) stop_->fulfill();
}

void transport_bridge::disarm() {
  std::lock_guard lock(mu_);
  wake_ = nullptr;
  stop_ = nullptr;
}

std::size_t transport_bridge::take_batch(node_id peer, std::size_t max_bytes,
                                         std::vector<group_message>& out) {
  std::lock_guard lock(mu_);
  auto it = peers_.find(peer.value());
  if (it == peers_.end()) return 0;
  peer_entry& entry = it->second;
  std::size_t taken = 0;
  std::size_t bytes = 0;
  while (!entry.outbox.empty()) {
    queued& next = entry.outbox.front();
    if (taken > 0 && bytes + next.bytes > max_bytes) break;
    bytes += next.bytes;
    entry.outbox_bytes -= next.bytes;
    out.push_back(std::move(next.item));
    entry.outbox.pop_front();
    ++taken;
  }
  return taken;
}

bool transport_bridge::has_pending(node_id peer) {
  std::lock_guard lock(mu_);
  auto it = peers_.find(peer.value());
  return it != peers_.end() && !it->second.outbox.empty();
}

std::size_t transport_bridge::drop_queued(node_id peer) {
  std::lock_guard lock(mu_);
  auto it = peers_.find(peer.value());
  if (it == peers_.end()) return 0;
  const std::size_t dropped = it->second.outbox.size();
  it->second.outbox.clear();
  it->second.outbox_bytes = 0;
  return dropped;
}

std::string transport_bridge::peer_address(node_id peer) {
  std::lock_guard lock(mu_);
  auto it = peers_.find(peer.value());
  return it == peers_.end() ? std::string() : it->second.address;
}

std::string transport_bridge::expected_uuid(node_id peer) {
  std::lock_guard lock(mu_);
  auto it = peers_.find(peer.value());
  return it == peers_.end() ? std::string() : it->second.expected_uuid;
}

std::string transport_bridge::cluster_id() {
  std::lock_guard lock(mu_);
  return cluster_id_;
}

}  // namespace chronik::consensus
