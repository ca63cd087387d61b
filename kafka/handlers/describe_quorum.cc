// DescribeQuorum (key 55; KIP-595, KIP-836, KIP-853): chronik's `__meta` Raft group in the shape
// of KRaft's metadata quorum, so that Kafka's tools (kafka-metadata-quorum) and admin clients'
// describeMetadataQuorum can read it (docs/kafka.md "The metadata quorum"). The topic is KRaft's
// "__cluster_metadata", partition 0: leader id, leader epoch = the Raft term, high watermark = the
// commit index, voters and observers (learners) with their log end offsets (the leader's match
// indexes), and in v2 the voters' listeners.
//
// KRaft brokers forward this request to the active controller, and so does a chronik node that does
// not lead `__meta`: it asks the leader (broker_context::leader_metadata_quorum, over the leader's
// Kafka port) and answers with the leader's view. If the leader cannot be asked or does not answer
// as the leader, the node answers what it knows itself: the leader, the term, its own commit index
// and the membership, with progress -1 (unknown) except its own log end.
#include <string_view>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/describe_quorum.h"

namespace chronik::kafka {
namespace {

constexpr std::string_view metadata_topic = "__cluster_metadata";

template <class State>
State replica_state(const quorum_replica& r) {
  State s;
  s.replica_id = kafka_id(r.id);
  s.replica_directory_id = r.directory_id;
  s.log_end_offset = r.log_end_offset;
  s.last_fetch_timestamp = r.last_fetch_ms;
  s.last_caught_up_timestamp = r.last_caught_up_ms;
  return s;
}

describe_quorum_partition_data describe(std::int32_t index, const std::optional<quorum_info>& q) {
  describe_quorum_partition_data p;
  p.partition_index = index;
  if (index != 0) {
    p.error = error_code::unknown_topic_or_partition;
    p.error_message = "the metadata log has one partition, 0";
    return p;
  }
  if (!q) {
    // This node runs no `__meta` replica yet (the cluster is still forming).
    p.error = error_code::not_leader_or_follower;
    p.error_message = "this node holds no replica of the metadata log yet";
    return p;
  }
  p.leader_id = kafka_id(q->leader);
  p.leader_epoch = q->leader_epoch;
  p.high_watermark = q->high_watermark;
  for (const auto& r : q->voters) p.current_voters.push_back(replica_state<describe_quorum_replica_state>(r));
  for (const auto& r : q->observers) p.observers.push_back(replica_state<describe_quorum_observer_state>(r));
  return p;
}

void answer(broker_context& ctx, const describe_quorum_request& req, const std::optional<quorum_info>& quorum,
            const responder& out) {
  const std::int16_t version = out.header().api_version;
  describe_quorum_response resp;
  for (const auto& t : req.topics) {
    describe_quorum_topic_data td;
    td.topic_name = t.topic_name;
    for (const auto& p : t.partitions) {
      if (t.topic_name == metadata_topic) {
        td.partitions.push_back(describe(p.partition_index, quorum));
        continue;
      }
      describe_quorum_partition_data unknown;
      unknown.partition_index = p.partition_index;
      unknown.error = error_code::unknown_topic_or_partition;
      unknown.error_message = "only the metadata log, " + std::string(metadata_topic) + ", has a quorum to describe";
      td.partitions.push_back(std::move(unknown));
    }
    resp.topics.push_back(std::move(td));
  }
  if (quorum) {
    // The voters' endpoints (KIP-853). chronik has no separate controller listener: a voter is
    // reached at its Kafka listener.
    const auto brokers = ctx.brokers();
    for (const auto& v : quorum->voters) {
      describe_quorum_node n;
      n.node_id = kafka_id(v.id);
      for (const auto& b : brokers) {
        if (b.id != v.id) continue;
        // uint16 on the wire, held as int16: the port's two bytes unchanged. Every listener.
        const auto as_int16 = [](std::int32_t port) { return static_cast<std::int16_t>(static_cast<std::uint16_t>(port)); };
        if (b.endpoints.empty()) n.listeners.push_back({"PLAINTEXT", b.host, as_int16(b.port)});
        for (const auto& e : b.endpoints) n.listeners.push_back({e.listener, e.host, as_int16(e.port)});
      }
      resp.nodes.push_back(std::move(n));
    }
  }
  writer w;
  encode_describe_quorum_response(resp, version, w);
  out.respond(std::move(w));
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  auto req = decode_describe_quorum_request(body, out.header().api_version);
  if (!req) {
    out.close("DescribeQuorum: " + describe(req.error()));
    return;
  }
  if (!authorized_on_cluster(ctx, out, acl::operation::describe)) {  // DESCRIBE on the cluster (Kafka's rule)
    describe_quorum_response refused;
    refused.error = error_code::cluster_authorization_failed;
    writer w;
    encode_describe_quorum_response(refused, out.header().api_version, w);
    out.respond(std::move(w));
    return;
  }
  if (out.header().client_id == inter_broker_client_id) {  // forwarded by another node: not again
    answer(ctx, *req, ctx.metadata_quorum(), out);
    return;
  }
  ctx.leader_metadata_quorum([&ctx, req = std::move(*req), out](std::optional<quorum_info> quorum) {
    answer(ctx, req, quorum, out);
  });
}

}  // namespace

const api_handler describe_quorum_handler{api_key::describe_quorum, describe_quorum_versions, handle};

}  // namespace chronik::kafka
