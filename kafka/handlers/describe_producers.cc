// DescribeProducers (key 61, v0; KIP-664): the idempotent producers a partition remembers
// (kafka/partition/producer_state.h), so that an operator can see who wrote there recently and,
// once transactions exist, find a transaction left hanging. kafka-transactions.sh
// describe-producers and Admin.describeProducers send it to each partition's leader.
//
// As in Kafka, only the leader answers: a follower's table may lag the log, so it says
// NOT_LEADER_OR_FOLLOWER and the client asks Metadata again. chronik also answers that from a
// leader that has not yet applied every entry of earlier terms (partition_replica::leader_ready),
// whose table is not yet the whole log's. Internal topics are described like any other (Kafka
// does too). A producer's coordinator epoch is that of the last marker written for it (-1 before
// any), and its open transaction's first offset is what `kafka-transactions.sh abort
// --start-offset` names a hanging transaction by (-1 when none is open), as Kafka reports them.
#include <string>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/partition_errors.h"
#include "kafka/protocol/messages/describe_producers.h"

namespace chronik::kafka {
namespace {

described_producer to_described(std::int64_t producer_id, const producer_entry& e) {
  described_producer d;
  d.producer_id = producer_id;
  d.producer_epoch = e.epoch;
  // An entry exists only once a batch applied, so it has one; -1 (Kafka's "none") otherwise.
  d.last_sequence = e.batches.empty() ? -1 : e.batches.back().last_seq;
  d.last_timestamp = e.last_timestamp();
  d.coordinator_epoch = e.coordinator_epoch;
  d.current_txn_start_offset = e.txn_first_offset;
  return d;
}

describe_producers_partition_response one_partition(broker_context& ctx, const std::string& topic,
                                                    std::int32_t partition) {
  describe_producers_partition_response out;
  out.partition_index = partition;
  const partition_replica* r = ctx.partitions().find(topic, partition);
  if (r == nullptr) {
    out.error = missing_partition_error(ctx, topic, partition);
    return out;
  }
  if (!r->leader_ready()) {
    out.error = error_code::not_leader_or_follower;
    return out;
  }
  // The table is bounded by the producers writing within producer.id.expiration.ms, and Kafka
  // lists them all as well; the response is one partition's worth.
  const auto& entries = r->producers().entries();
  out.active_producers.reserve(entries.size());
  for (const auto& [id, entry] : entries) out.active_producers.push_back(to_described(id, entry));
  return out;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_describe_producers_request(body, version);
  if (!req) return out.close("DescribeProducers: " + describe(req.error()));
  describe_producers_response resp;
  for (const auto& t : req->topics) {
    describe_producers_topic_response tr;
    tr.name = t.name;
    // READ on the topic (Kafka's rule).
    const bool allowed = authorized_on_topic(ctx, out, acl::operation::read, t.name);
    for (std::int32_t p : t.partition_indexes) {
      if (!allowed) {
        describe_producers_partition_response r;
        r.partition_index = p;
        r.error = error_code::topic_authorization_failed;
        tr.partitions.push_back(std::move(r));
        continue;
      }
      tr.partitions.push_back(one_partition(ctx, t.name, p));
    }
    resp.topics.push_back(std::move(tr));
  }
  writer w;
  encode_describe_producers_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler describe_producers_handler{api_key::describe_producers, describe_producers_versions, handle};

}  // namespace chronik::kafka
