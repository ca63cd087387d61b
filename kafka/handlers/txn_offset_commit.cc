// TxnOffsetCommit (key 28; KIP-98, KIP-447): a transactional producer commits a consumer group's
// offsets as part of its transaction (confluent-kafka's send_offsets_to_transaction). Sent to the
// group's coordinator, after AddOffsetsToTxn put the group's `__consumer_offsets` partition into
// the transaction. The coordinator writes them as the producer's transactional batch and answers
// once that is committed; they stay pending, invisible to OffsetFetch, until the transaction's
// marker reaches the partition (docs/kafka.md "Transactional offsets").
//
// v0-3 are served: v3 carries the consumer's generation, member id and instance id, which the
// coordinator checks as Kafka does (-1 / "" / null skip the check); v4 only allows KIP-890's
// TRANSACTION_ABORTABLE, and v5+ belong to KIP-890 part 2, neither implemented. As Kafka 3.x
// without transaction verification, the coordinator does not ask the transaction coordinator
// whether the group was added to the transaction.
#include "kafka/handlers/group_errors.h"
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/txn_offset_commit.h"

namespace chronik::kafka {
namespace {

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_txn_offset_commit_request(body, version);
  if (!req) {
    out.close("TxnOffsetCommit: " + describe(req.error()));
    return;
  }
  txn_offset_commit_response resp;
  // Authorization (Kafka's rules): WRITE on the transactional id, READ on the group, READ on each
  // topic; the first two refuse every partition, the last its topic's.
  const error_code refused =
      !authorized_on_transactional_id(ctx, out, acl::operation::write, req->transactional_id)
          ? error_code::transactional_id_authorization_failed
      : !authorized_on_group(ctx, out, acl::operation::read, req->group_id) ? error_code::group_authorization_failed
                                                                            : error_code::none;
  // Every partition's answer, in request order; the ones still `none` go to the coordinator.
  for (const auto& t : req->topics) {
    const auto topic = ctx.topic(t.name);
    const bool topic_allowed = authorized_on_topic(ctx, out, acl::operation::read, t.name);
    txn_offset_commit_response_topic tr{t.name, {}};
    for (const auto& p : t.partitions) {
      const error_code e = refused != error_code::none                  ? refused
                           : !topic_allowed                             ? error_code::topic_authorization_failed
                           : partition_exists(topic, p.partition_index) ? error_code::none
                                                                        : error_code::unknown_topic_or_partition;
      tr.partitions.push_back({p.partition_index, e});
    }
    resp.topics.push_back(std::move(tr));
  }
  txn_commit_params params;
  params.group_id = req->group_id;
  params.producer_id = req->producer_id;
  params.producer_epoch = req->producer_epoch;
  params.generation_id = req->generation_id;
  params.member_id = req->member_id;
  params.group_instance_id = req->group_instance_id;
  for (std::size_t i = 0; i < req->topics.size(); ++i) {
    for (std::size_t j = 0; j < req->topics[i].partitions.size(); ++j) {
      if (resp.topics[i].partitions[j].error != error_code::none) continue;
      const auto& p = req->topics[i].partitions[j];
      params.offsets.push_back({{req->topics[i].name, p.partition_index},
                                {p.committed_offset, p.committed_leader_epoch, p.committed_metadata, 0}});
    }
  }
  // Hands each partition that went to the coordinator its outcome, in the same order.
  auto finish = [out, version, resp = std::move(resp)](
                    const std::expected<std::vector<group_errc>, error_code>& results) mutable {
    std::size_t next = 0;
    for (auto& t : resp.topics) {
      for (auto& p : t.partitions) {
        if (p.error != error_code::none) continue;
        if (!results) {
          p.error = results.error();
        } else if (next < results->size()) {
          p.error = to_error_code((*results)[next++]);
        }
      }
    }
    writer w;
    encode_txn_offset_commit_response(resp, version, w);
    out.respond(std::move(w));
  };
  // No producer: nothing could ever commit these offsets. Kafka's coordinators answer an unknown
  // producer id mapping.
  if (params.producer_id < 0 || params.producer_epoch < 0) {
    return finish(std::unexpected(error_code::invalid_producer_id_mapping));
  }
  auto coordinator = coordinator_here(ctx, req->group_id);
  if (!coordinator) return finish(std::unexpected(coordinator.error()));
  if (params.offsets.empty()) return finish(std::vector<group_errc>{});
  (*coordinator)->commit_txn_offsets(params, [finish = std::move(finish)](
                                                 std::expected<std::vector<group_errc>, group_errc> r) mutable {
    if (!r) return finish(std::unexpected(to_error_code(r.error())));
    finish(*r);
  });
}

}  // namespace

// v4+ not served (see above).
const api_handler txn_offset_commit_handler{api_key::txn_offset_commit, {0, 3}, handle};

}  // namespace chronik::kafka
