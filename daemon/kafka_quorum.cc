// kafka_service::metadata_quorum and leader_metadata_quorum (DescribeQuorum): the `__meta` Raft
// group as KRaft's metadata quorum (docs/kafka.md "The metadata quorum"). Kept apart from
// kafka_service.cc: it reads the Raft host's status of group 1 and the brokers' registrations, and
// asks the `__meta` leader for its view when this node does not lead; it changes nothing.
#include <algorithm>
#include <chrono>

#include "daemon/kafka_service.h"
#include "daemon/node_identity.h"
#include "kafka/protocol/messages/describe_quorum.h"

namespace chronik::daemon {
namespace {

template <class State>
kafka::quorum_replica replica_of(const State& s) {
  kafka::quorum_replica r;
  r.id = node_id_from_kafka(s.replica_id);
  r.directory_id = s.replica_directory_id;
  r.log_end_offset = s.log_end_offset;
  r.last_fetch_ms = s.last_fetch_timestamp;
  r.last_caught_up_ms = s.last_caught_up_timestamp;
  return r;
}

// Asks `leader` (believed to be `expected`) for the metadata quorum, on the worker thread. Only an
// answer in which it names itself the leader is its view of every voter's progress.
std::expected<kafka::quorum_info, std::string> ask_leader(kafka_client& client, const kafka_address& leader,
                                                          chronik::node_id expected) {
  const kafka::describe_quorum_request req{{{"__cluster_metadata", {{0}}}}};
  auto resp = client.call<kafka::describe_quorum_response>(
      leader, kafka::api_key::describe_quorum, kafka::describe_quorum_versions,
      [&](kafka::writer& w, std::int16_t v) { kafka::encode_describe_quorum_request(req, v, w); },
      kafka::decode_describe_quorum_response);
  if (!resp) return std::unexpected(resp.error());
  if (resp->error != kafka::error_code::none) {
    return std::unexpected("DescribeQuorum to broker " + leader.text() + ": " + std::string(kafka::to_string(resp->error)));
  }
  if (resp->topics.size() != 1 || resp->topics[0].partitions.size() != 1) {
    return std::unexpected("DescribeQuorum to broker " + leader.text() + ": not the one partition asked");
  }
  const auto& p = resp->topics[0].partitions[0];
  if (p.error != kafka::error_code::none) {
    return std::unexpected("DescribeQuorum to broker " + leader.text() + ": " + std::string(kafka::to_string(p.error)));
  }
  if (p.leader_id != kafka::kafka_id(expected)) {
    return std::unexpected("broker " + leader.text() + " does not lead __meta now");
  }
  kafka::quorum_info q;
  q.leader = expected;
  q.leader_epoch = p.leader_epoch;
  q.high_watermark = p.high_watermark;
  for (const auto& v : p.current_voters) q.voters.push_back(replica_of(v));
  for (const auto& o : p.observers) q.observers.push_back(replica_of(o));
  return q;
}

}  // namespace

std::optional<kafka::quorum_info> kafka_service::metadata_quorum() const {
  const auto* host = raft_.host();
  if (host == nullptr) return std::nullopt;
  auto st = host->status(metadata::meta_group_id);
  if (!st) return std::nullopt;  // no `__meta` replica here yet
  const bool leading = st->state == consensus::role::leader;
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();

  kafka::quorum_info q;
  q.leader = st->leader;
  q.leader_epoch = static_cast<std::int32_t>(std::min<std::uint64_t>(st->term.value, INT32_MAX));
  q.high_watermark = static_cast<std::int64_t>(st->commit.value);
  q.leader_here = leading;
  const auto replica = [&](chronik::node_id id) {
    kafka::quorum_replica r;
    r.id = id;
    if (const auto* b = meta_.state().broker(id)) {
      if (auto u = node_uuid::from_hex(b->uuid)) r.directory_id = u->bytes;
    }
    if (id == st->id) {
      // Our own log end is always known; the leader counts as caught up now (KIP-836).
      r.log_end_offset = static_cast<std::int64_t>(st->last_index.value);
      if (leading) r.last_caught_up_ms = now_ms;
    } else if (leading) {
      auto m = st->match.find(id);
      if (m != st->match.end()) {
        r.log_end_offset = static_cast<std::int64_t>(m->second.value);
        // The leader keeps no fetch times; what it knows is whether the replica holds its whole
        // log at this moment, and then it is caught up now. Otherwise: unknown (-1).
        if (m->second == st->last_index) r.last_caught_up_ms = now_ms;
      }
    }
    return r;
  };
  for (auto id : st->conf.voters) q.voters.push_back(replica(id));
  for (auto id : st->conf.learners) q.observers.push_back(replica(id));
  return q;
}

// Kafka's brokers forward DescribeQuorum to the active controller; a node that does not lead
// `__meta` asks the leader at its Kafka address the same way, with inter_broker_client_id so that
// the leader answers from its own view. Whatever goes wrong (no known leader, no address, a full
// queue, no answer within the worker's deadlines, or an answer from a node that no longer leads),
// the answer is this node's own view: the leader, the term and the membership are right, only the
// other replicas' progress is unknown.
void kafka_service::leader_metadata_quorum(std::function<void(std::optional<kafka::quorum_info>)> done) {
  auto here = metadata_quorum();
  if (!here || here->leader_here || here->leader == chronik::no_node) {
    done(std::move(here));
    return;
  }
  const auto* b = meta_.state().broker(here->leader);
  const auto ep = b != nullptr ? parse_ipv4_endpoint(b->kafka_addr) : std::unexpected(std::string("not registered"));
  if (!ep) {
    done(std::move(here));
    return;
  }
  const kafka_address leader{ep->ip, ep->port};
  const bool queued = quorum_worker_.submit([leader, expected = here->leader, here, done,
                                             log = log_](kafka_client& client) -> std::function<void()> {
    auto got = ask_leader(client, leader, expected);
    if (!got) log->debug("kafka: DescribeQuorum answered from this node's view: {}", got.error());
    return [done, answer = got ? std::optional(std::move(*got)) : here] { done(answer); };
  });
  if (!queued) done(std::move(here));
}

}  // namespace chronik::daemon
