#include "daemon/txn_marker_client.h"

#include <map>
#include <utility>

#include <asio/post.hpp>

#include "kafka/protocol/messages/write_txn_markers.h"

namespace chronik::daemon {

// Read and written on the io thread only (send, the destructor and the posted callbacks all run
// there), so a plain flag suffices: a callback the worker posted before the destructor ran finds
// it false and drops itself.
struct txn_marker_client::shared {
  bool alive = true;
};

namespace {

using result_t = std::expected<remote_marker_results, std::string>;

// Kafka groups a marker's partitions by topic; the order of first appearance is kept so that the
// answer can be matched back to the request's order.
kafka::write_txn_markers_request make_request(const std::vector<remote_marker>& markers) {
  kafka::write_txn_markers_request req;
  for (const auto& m : markers) {
    kafka::writable_txn_marker wm;
    wm.producer_id = m.producer_id;
    wm.producer_epoch = m.producer_epoch;
    wm.transaction_result = m.commit;
    wm.coordinator_epoch = m.coordinator_epoch;
    std::map<std::string, std::size_t> topic_index;
    for (const auto& p : m.partitions) {
      auto [it, added] = topic_index.try_emplace(p.topic, wm.topics.size());
      if (added) wm.topics.push_back({p.topic, {}});
      wm.topics[it->second].partition_indexes.push_back(p.partition);
    }
    req.markers.push_back(std::move(wm));
  }
  return req;
}

// The codes in request order. Kafka answers the markers in request order; a response that does not
// name a partition that was asked is refused as a whole (the caller retries it).
result_t match_response(const kafka_address& at, const std::vector<remote_marker>& markers,
                        const kafka::write_txn_markers_response& resp) {
  if (resp.markers.size() != markers.size()) {
    return std::unexpected("broker " + at.text() + " answered " + std::to_string(resp.markers.size()) +
                           " markers to a WriteTxnMarkers of " + std::to_string(markers.size()));
  }
  remote_marker_results out;
  out.reserve(markers.size());
  for (std::size_t i = 0; i < markers.size(); ++i) {
    const auto& asked = markers[i];
    const auto& answered = resp.markers[i];
    if (answered.producer_id != asked.producer_id) {
      return std::unexpected("broker " + at.text() + " answered WriteTxnMarkers for producer " +
                             std::to_string(answered.producer_id) + " where " +
                             std::to_string(asked.producer_id) + " was asked");
    }
    std::map<kafka::txn_partition, kafka::error_code> codes;
    for (const auto& t : answered.topics) {
      for (const auto& p : t.partitions) codes[{t.name, p.partition_index}] = p.error;
    }
    auto& row = out.emplace_back();
    row.reserve(asked.partitions.size());
    for (const auto& p : asked.partitions) {
      const auto it = codes.find(p);
      if (it == codes.end()) {
        return std::unexpected("broker " + at.text() + " did not answer WriteTxnMarkers for " + p.topic + "-" +
                               std::to_string(p.partition));
      }
      row.push_back(it->second);
    }
  }
  return out;
}

}  // namespace

txn_marker_client::txn_marker_client(asio::io_context& io, std::shared_ptr<spdlog::logger> log)
    : txn_marker_client(io, std::move(log), txn_marker_client_options{}) {}

txn_marker_client::txn_marker_client(asio::io_context& io, std::shared_ptr<spdlog::logger> log,
                                     txn_marker_client_options options)
    : io_(io), log_(std::move(log)), options_(options), shared_(std::make_shared<shared>()) {
  worker_ = std::thread([this] { run(); });
}

txn_marker_client::~txn_marker_client() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    // A request in progress would hold the join for up to request_timeout.
    if (client_ != nullptr) client_->interrupt();
  }
  wake_.notify_all();
  worker_.join();
  shared_->alive = false;
}

void txn_marker_client::send(kafka_address broker, std::vector<remote_marker> markers, remote_marker_done done) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() + in_flight_ < options_.max_queued) {
      queue_.push_back({std::move(broker), std::move(markers), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  // Posted, never called inline: the caller may be in the middle of its own bookkeeping.
  post_result(std::move(done), std::unexpected("WriteTxnMarkers to broker " + broker.text() + " not sent: " +
                                               std::to_string(options_.max_queued) + " sends already queued"));
}

void txn_marker_client::run() {
  kafka_client_options copts;
  copts.connect_timeout = options_.connect_timeout;
  copts.request_timeout = options_.request_timeout;
  kafka_client client(kafka_address{}, copts);  // no bootstrap: every call names its broker
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    client_ = &client;
  }
  for (;;) {
    job j;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      j = std::move(queue_.front());
      queue_.pop_front();
      in_flight_ = 1;
    }
    auto result = deliver(client, j);
    if (!result) log_->debug("txn markers: {}", result.error());
    {
      std::lock_guard lock(mu_);
      in_flight_ = 0;
      if (stopping_) break;
    }
    post_result(std::move(j.done), std::move(result));
  }
  std::lock_guard lock(mu_);
  client_ = nullptr;
}

std::expected<remote_marker_results, std::string> txn_marker_client::deliver(kafka_client& client, const job& j) {
  const auto req = make_request(j.markers);
  auto resp = client.call<kafka::write_txn_markers_response>(
      j.broker, kafka::api_key::write_txn_markers, kafka::write_txn_markers_versions,
      [&](kafka::writer& w, std::int16_t v) { kafka::encode_write_txn_markers_request(req, v, w); },
      kafka::decode_write_txn_markers_response);
  if (!resp) return std::unexpected(resp.error());
  return match_response(j.broker, j.markers, *resp);
}

void txn_marker_client::post_result(remote_marker_done done, std::expected<remote_marker_results, std::string> result) {
  asio::post(io_, [sh = shared_, done = std::move(done), result = std::move(result)]() mutable {
    if (!sh->alive) return;
    done(std::move(result));
  });
}

}  // namespace chronik::daemon
