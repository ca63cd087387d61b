// DeleteRecords (key 21), versions 0-2: moves each named partition's log start offset up to the
// offset asked for (-1: the high watermark), as KIP-107 says. The partition's leader proposes a
// control entry to the partition's Raft group (kafka/partition/control_entry.h), every replica
// applies it by moving its log start and compacting the entries below it, and the answer for a
// partition goes back once the entry is committed and applied on the leader, with the new log
// start as its low watermark (docs/kafka.md "Deleting records").
//
// Errors per partition: NOT_LEADER_OR_FOLLOWER from any replica but the ready leader (the client
// refreshes Metadata and asks the leader), OFFSET_OUT_OF_RANGE for an offset above the high
// watermark, UNKNOWN_TOPIC_OR_PARTITION, REQUEST_TIMED_OUT when not applied within timeout_ms
// (the deletion may still apply: it is in the log), KAFKA_STORAGE_ERROR on a fenced node.
#include <algorithm>
#include <chrono>
#include <memory>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/partition_errors.h"
#include "kafka/protocol/messages/delete_records.h"

namespace chronik::kafka {
namespace {

// Kafka's bound on request.timeout: the wait never outlives the client's own timeout by much.
constexpr std::int32_t max_timeout_ms = 300'000;

// One request: the answer skeleton in request order, filled as partitions settle.
struct delete_state {
  delete_records_response resp;
  std::size_t open = 0;
  std::int16_t version = 0;
  responder out;
  explicit delete_state(responder r) : out(std::move(r)) {}

  void settle(delete_records_partition_result& slot, const std::expected<std::int64_t, partition_errc>& r) {
    if (r) {
      slot.low_watermark = *r;
    } else {
      slot.error = to_error_code(r.error());
    }
    if (--open == 0) finish();
  }

  void finish() {
    writer w;
    encode_delete_records_response(resp, version, w);
    out.respond(std::move(w));
  }
};

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_delete_records_request(body, version);
  if (!req) return out.close("DeleteRecords: " + describe(req.error()));

  auto st = std::make_shared<delete_state>(out);
  st->version = version;
  // The skeleton first, so that answers given at once find their slots; the extra count keeps the
  // request open until every partition has been handed out.
  std::size_t partitions = 0;
  for (const auto& t : req->topics) {
    delete_records_topic_result tr;
    tr.name = t.name;
    for (const auto& p : t.partitions) {
      delete_records_partition_result pr;
      pr.partition_index = p.partition_index;
      tr.partitions.push_back(pr);
    }
    partitions += t.partitions.size();
    st->resp.topics.push_back(std::move(tr));
  }
  st->open = partitions + 1;

  // DELETE on each topic (Kafka's rule).
  std::vector<bool> allowed;
  for (const auto& t : req->topics) allowed.push_back(authorized_on_topic(ctx, out, acl::operation::remove, t.name));
  partition_manager& mgr = ctx.partitions();
  const auto deadline = mgr.now() + std::chrono::milliseconds(std::clamp(req->timeout_ms, 0, max_timeout_ms));
  for (std::size_t ti = 0; ti < req->topics.size(); ++ti) {
    const auto& t = req->topics[ti];
    for (std::size_t pi = 0; pi < t.partitions.size(); ++pi) {
      const auto& p = t.partitions[pi];
      auto& slot = st->resp.topics[ti].partitions[pi];
      if (!allowed[ti]) {
        slot.error = error_code::topic_authorization_failed;
        --st->open;
        continue;
      }
      if (is_internal_topic(t.name)) {
        // Only the group coordinator trims it, at its checkpoints; a client's cut would drop
        // committed offsets.
        slot.error = error_code::invalid_topic_exception;
        --st->open;
        continue;
      }
      partition_replica* r = mgr.find(t.name, p.partition_index);
      if (r == nullptr) {
        slot.error = missing_partition_error(ctx, t.name, p.partition_index);
        --st->open;
        continue;
      }
      if (r->config().compact && !r->config().compact_and_delete) {
        // Kafka's answer: without the delete policy, records leave only through compaction.
        slot.error = error_code::policy_violation;
        --st->open;
        continue;
      }
      r->delete_records(p.offset, deadline,
                        [st, &slot](const std::expected<std::int64_t, partition_errc>& res) { st->settle(slot, res); });
    }
  }
  if (--st->open == 0) st->finish();
}

}  // namespace

const api_handler delete_records_handler{api_key::delete_records, {0, 2}, handle};

}  // namespace chronik::kafka
