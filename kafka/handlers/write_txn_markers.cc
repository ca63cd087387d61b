// WriteTxnMarkers (key 27), versions 0-1: a transaction coordinator asks this broker to end a
// producer's transaction in the partitions it leads, with a COMMIT or ABORT control batch (KIP-98;
// docs/transactions.md "Markers between brokers"). Every marker and partition is handed to
// partition_replica::write_marker, which checks the producer and coordinator epochs like Kafka and
// answers once the marker is committed; the response goes back when every partition has answered
// or timed out.
//
// Only brokers may send it: it needs CLUSTER_ACTION on the cluster, as in Kafka
// (kafka/handlers/authorization.h authorized_as_broker). chronik's brokers send it over the
// inter-broker listener, where that is granted; a client elsewhere needs an ACL (or to be a super
// user), as Kafka's `kafka-transactions.sh abort` does to end a hanging transaction. Refused, every
// partition of the request is answered CLUSTER_AUTHORIZATION_FAILED and nothing is written (Kafka
// answers the whole request with the error). Allowed, the partition's checks still hold (an older
// producer or coordinator epoch is refused), so even an authorized stray request can end an open
// transaction early but not rewrite a decided one.
//
// Errors per partition: NOT_LEADER_OR_FOLLOWER from anything but the ready leader (the coordinator
// looks up the leader again and retries), UNKNOWN_TOPIC_OR_PARTITION (the coordinator counts the
// partition as done, as Kafka's does), INVALID_TOPIC_EXCEPTION for `__transaction_state` and any
// internal topic other than `__consumer_offsets` (which takes the markers of transactional offset
// commits),
// INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED, REQUEST_TIMED_OUT after the deadline,
// KAFKA_STORAGE_ERROR on a fenced node.
#include <chrono>
#include <memory>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/partition_errors.h"
#include "kafka/protocol/messages/write_txn_markers.h"
#include "kafka/protocol/txn_marker.h"
#include "kafka/txn/txn_coordinator.h"

namespace chronik::kafka {
namespace {

// The request has no timeout of its own; Kafka's coordinator waits request.timeout.ms (30 s) for
// the answer, so the markers must be answered well within that. A marker not committed by then is
// answered REQUEST_TIMED_OUT and sent again by the coordinator (a marker is idempotent at the
// partition: the second finds no open transaction).
constexpr std::chrono::seconds marker_deadline{10};

// One request: the answer skeleton in request order, filled as partitions settle.
struct markers_state {
  write_txn_markers_response resp;
  std::size_t open = 0;
  std::int16_t version = 0;
  responder out;
  explicit markers_state(responder r) : out(std::move(r)) {}

  void settle(writable_txn_marker_partition_result& slot, error_code e) {
    slot.error = e;
    if (--open == 0) finish();
  }

  void finish() {
    writer w;
    encode_write_txn_markers_response(resp, version, w);
    out.respond(std::move(w));
  }
};

// The error a partition is refused with before it reaches a replica, or none.
error_code precheck(const broker_context& ctx, partition_manager& mgr, const std::string& topic,
                    std::int32_t partition, partition_replica*& replica) {
  // The transaction log never holds markers (its records are the coordinator's own); the offsets
  // topic does, for the offsets a transaction committed (KIP-98, docs/transactions.md).
  const bool internal = is_internal_topic(topic) || topic == transaction_state_topic_name;
  if (internal && topic != offsets_topic_name) return error_code::invalid_topic_exception;
  replica = mgr.find(topic, partition);
  if (replica == nullptr) return missing_partition_error(ctx, topic, partition);
  return error_code::none;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_write_txn_markers_request(body, version);
  if (!req) return out.close("WriteTxnMarkers: " + describe(req.error()));

  auto st = std::make_shared<markers_state>(out);
  st->version = version;
  // The skeleton first, so that answers given at once find their slots; the extra count keeps the
  // request open until every partition has been handed out.
  std::size_t partitions = 0;
  for (const auto& m : req->markers) {
    writable_txn_marker_result mr;
    mr.producer_id = m.producer_id;
    for (const auto& t : m.topics) {
      writable_txn_marker_topic_result tr;
      tr.name = t.name;
      for (const std::int32_t p : t.partition_indexes) tr.partitions.push_back({p, error_code::none});
      partitions += t.partition_indexes.size();
      mr.topics.push_back(std::move(tr));
    }
    st->resp.markers.push_back(std::move(mr));
  }
  st->open = partitions + 1;
  if (!authorized_as_broker(ctx, out)) {
    for (auto& mr : st->resp.markers)
      for (auto& tr : mr.topics)
        for (auto& pr : tr.partitions) pr.error = error_code::cluster_authorization_failed;
    st->finish();
    return;
  }

  partition_manager& mgr = ctx.partitions();
  const auto deadline = mgr.now() + marker_deadline;
  for (std::size_t mi = 0; mi < req->markers.size(); ++mi) {
    const auto& m = req->markers[mi];
    const txn_marker marker{m.transaction_result, m.coordinator_epoch};
    for (std::size_t ti = 0; ti < m.topics.size(); ++ti) {
      const auto& t = m.topics[ti];
      for (std::size_t pi = 0; pi < t.partition_indexes.size(); ++pi) {
        auto& slot = st->resp.markers[mi].topics[ti].partitions[pi];
        partition_replica* r = nullptr;
        if (const auto refused = precheck(ctx, mgr, t.name, t.partition_indexes[pi], r); refused != error_code::none) {
          slot.error = refused;
          --st->open;
          continue;
        }
        r->write_marker(m.producer_id, m.producer_epoch, marker, deadline,
                        [st, &slot](const std::expected<produce_ack, produce_error>& res) {
                          st->settle(slot, res ? error_code::none : to_error_code(res.error().code));
                        });
      }
    }
  }
  if (--st->open == 0) st->finish();
}

}  // namespace

const api_handler write_txn_markers_handler{api_key::write_txn_markers, {0, 1}, handle};

}  // namespace chronik::kafka
