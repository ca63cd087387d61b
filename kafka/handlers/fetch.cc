// Fetch (key 1), versions 4-13, for consumers: committed record batches from each partition's
// leader replica, never past the high watermark (docs/design.md "Reads"). Long-poll: when fewer
// than min_bytes are available, the request parks on the partition manager until one of its
// partitions applies new records or max_wait_ms passes, then looks again.
//
// v13 names topics by id (KIP-516). The ids are resolved to names once per request, through
// `__meta`'s index (broker_context::topic_name), not on every wake of a long poll; a topic whose id
// no topic has is answered UNKNOWN_TOPIC_ID for each of its partitions, as Kafka does.
//
// Fetch sessions (KIP-227) are not kept: every request is a full fetch and the response carries
// session id 0, which tells clients to keep sending full requests. A request naming a session id
// gets FETCH_SESSION_ID_NOT_FOUND. Every answer reports the last stable offset; a read_committed
// fetch (KIP-98) gets records only below it and the aborted transactions among them, which the
// consumer drops; read_uncommitted gets no aborted list (null). Control batches (transaction
// markers) are returned as stored: clients skip them.
//
// Authorization: READ on each topic (Kafka's rule for consumers; replication is Raft, so there is
// no follower fetch), decided once per request; an unauthorized topic's partitions are answered
// TOPIC_AUTHORIZATION_FAILED.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/node_id.h"
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/partition_errors.h"
#include "kafka/protocol/messages/fetch.h"

namespace chronik::kafka {
namespace {

// Kafka clients wait at most fetch.max.wait.ms (default 500); this only bounds a hostile value.
constexpr std::int32_t max_wait_cap_ms = 60'000;

struct fetch_state {
  fetch_request req;
  std::int16_t version = 0;
  partition_manager::clock::time_point deadline;
  responder out;
  // v13+: the name of each of req.topics, resolved from its id; empty for an unknown id (a topic
  // name never is). Unused before v13, where the request names the topics.
  std::vector<std::string> resolved;
  std::vector<bool> authorized;  // per req.topics: READ allowed
  fetch_state(fetch_request r, std::int16_t v, responder o) : req(std::move(r)), version(v), out(std::move(o)) {}
  // The name of req.topics[i], or nullptr when its id is unknown.
  const std::string* name_of(std::size_t i) const {
    if (version < 13) return &req.topics[i].topic;
    return resolved[i].empty() ? nullptr : &resolved[i];
  }
};

struct collected {
  fetch_response resp;
  std::uint64_t bytes = 0;
  bool any_error = false;
  std::vector<consensus::group_id> groups;  // the partitions to wait on
};

fetch_partition_response one_partition(broker_context& ctx, const fetch_state& st, const std::string& topic,
                                       const fetch_partition& p, std::uint64_t budget, collected& c) {
  fetch_partition_response out;
  out.partition_index = p.partition;
  out.records = byte_chain();
  partition_replica* r = ctx.partitions().find(topic, p.partition);
  if (r == nullptr) {
    out.error = missing_partition_error(ctx, topic, p.partition);
    return out;
  }
  if (auto e = check_leader_epoch(st.version >= 9 ? p.current_leader_epoch : -1, *r); e != error_code::none) {
    out.error = e;
    return out;
  }
  c.groups.push_back(r->group());
  // The replica always returns its first entry (KIP-74: a batch larger than the limits still
  // comes, or a consumer could never pass it); with the request's budget spent, that entry is
  // dropped and only the offsets are reported.
  const std::uint64_t max = std::min<std::uint64_t>(budget, static_cast<std::uint64_t>(std::max(0, p.partition_max_bytes)));
  const isolation level = st.req.isolation_level == 1 ? isolation::read_committed : isolation::read_uncommitted;
  auto data = r->fetch(p.fetch_offset, max, level);
  if (!data) {
    out.error = to_error_code(data.error());
    if (data.error() == partition_errc::offset_out_of_range || data.error() == partition_errc::not_leader) {
      out.high_watermark = r->high_watermark();
      out.log_start_offset = r->log_start_offset();
    }
    // The Kafka edge of the node id (base/node_id.h): a leader Kafka cannot name is left out, as
    // an unknown one is, rather than wrapped into some other broker's id.
    const auto broker = kafka_broker_id(r->leader());
    if (data.error() == partition_errc::not_leader && r->leader() != no_node && broker) {
      out.current_leader = leader_id_and_epoch{*broker, static_cast<std::int32_t>(r->leader_epoch().value)};
    }
    return out;
  }
  out.high_watermark = data->high_watermark;
  out.last_stable_offset = data->last_stable_offset;
  if (level == isolation::read_committed) {
    std::vector<aborted_transaction> aborted;
    aborted.reserve(data->aborted.size());
    for (const auto& a : data->aborted) aborted.push_back(aborted_transaction{a.producer_id, a.first_offset});
    out.aborted_transactions = std::move(aborted);
  }
  out.log_start_offset = data->log_start_offset;
  if (max != 0) out.records = std::move(data->records);
  return out;
}

fetch_partition_response refused(const fetch_partition& p, error_code e) {
  fetch_partition_response out;
  out.partition_index = p.partition;
  out.error = e;
  out.records = byte_chain();
  return out;
}

collected collect(broker_context& ctx, const fetch_state& st) {
  collected c;
  c.resp.session_id = 0;
  std::uint64_t budget = static_cast<std::uint64_t>(std::max(0, st.req.max_bytes));
  for (std::size_t i = 0; i < st.req.topics.size(); ++i) {
    const fetch_topic& t = st.req.topics[i];
    const std::string* name = st.name_of(i);
    fetch_topic_response tr;
    tr.topic = t.topic;
    tr.topic_id = t.topic_id;
    for (const auto& p : t.partitions) {
      auto pr = name == nullptr        ? refused(p, error_code::unknown_topic_id)
                : !st.authorized[i]    ? refused(p, error_code::topic_authorization_failed)
                                       : one_partition(ctx, st, *name, p, budget, c);
      if (pr.error != error_code::none) c.any_error = true;
      const std::uint64_t n = pr.records ? pr.records->size() : 0;
      budget -= std::min(budget, n);
      c.bytes += n;
      tr.partitions.push_back(std::move(pr));
    }
    c.resp.topics.push_back(std::move(tr));
  }
  return c;
}

void respond(const fetch_state& st, const fetch_response& resp) {
  st.out.note_error(resp.error);
  for (const auto& t : resp.topics)
    for (const auto& p : t.partitions) st.out.note_error(p.error);
  writer w;
  encode_fetch_response(resp, st.version, w);
  st.out.respond(std::move(w));
}

// Answers when there is enough, something went wrong, or time is up; parks otherwise.
void attempt(broker_context& ctx, const std::shared_ptr<fetch_state>& st) {
  collected c = collect(ctx, *st);
  partition_manager& mgr = ctx.partitions();
  const auto now = mgr.now();
  const bool enough = c.bytes >= static_cast<std::uint64_t>(std::max(0, st->req.min_bytes)) && c.bytes > 0;
  if (enough || c.any_error || c.groups.empty() || now >= st->deadline || st->req.min_bytes <= 0) {
    return respond(*st, c.resp);
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(st->deadline - now);
  // Woken by new data, a leadership change or the deadline; a wake after the deadline answers
  // with whatever there is, so this parks at most until the deadline.
  mgr.wait_for_data(c.groups, std::max(left, std::chrono::milliseconds(1)), [&ctx, st] { attempt(ctx, st); });
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_fetch_request(body, version);
  if (!req) return out.close("Fetch: " + describe(req.error()));
  if (version >= 7 && req->session_id != 0) {
    fetch_response resp;
    resp.error = error_code::fetch_session_id_not_found;
    out.note_error(resp.error);
    writer w;
    encode_fetch_response(resp, version, w);
    return out.respond(std::move(w));
  }
  const auto wait = std::chrono::milliseconds(std::clamp(req->max_wait_ms, 0, max_wait_cap_ms));
  auto st = std::make_shared<fetch_state>(std::move(*req), version, out);
  if (version >= 13) {
    st->resolved.reserve(st->req.topics.size());
    for (const auto& t : st->req.topics) st->resolved.push_back(ctx.topic_name(t.topic_id).value_or(std::string()));
  }
  for (std::size_t i = 0; i < st->req.topics.size(); ++i) {
    const std::string* name = st->name_of(i);
    st->authorized.push_back(name != nullptr && authorized_on_topic(ctx, out, acl::operation::read, *name));
  }
  st->deadline = ctx.partitions().now() + wait;
  attempt(ctx, st);
}

}  // namespace

const api_handler fetch_handler{api_key::fetch, fetch_versions, handle};

}  // namespace chronik::kafka
