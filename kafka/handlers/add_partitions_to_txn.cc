// AddPartitionsToTxn (key 24, KIP-98): before its first write to a partition in a transaction, a
// transactional producer tells the id's coordinator, which stores the partition in the
// transaction so that the commit or abort marker reaches it (docs/transactions.md "Handlers").
// Answered once the Ongoing state naming the partitions is stored, or at once when they already
// were (then only after the coordinator's leadership is confirmed).
//
// v0-3 only: v4+ batch several transactions for KIP-890's broker-side verification, which chronik
// does not do. As Kafka, a partition that does not exist fails the request: it gets
// UNKNOWN_TOPIC_OR_PARTITION and every other partition OPERATION_NOT_ATTEMPTED, and the
// coordinator is not asked. So does a partition of an internal topic, with INVALID_TOPIC_EXCEPTION
// (Produce's answer for them): no client writes there, a group's offsets join a transaction through
// AddOffsetsToTxn, and a marker would never be taken by `__transaction_state`, leaving the
// transaction unfinished.
#include <algorithm>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/txn_errors.h"
#include "kafka/protocol/messages/add_partitions_to_txn.h"

namespace chronik::kafka {
namespace {

// Every partition of the request gets its code: `bad` ones (if any) `bad_code`, the others `rest`.
add_partitions_to_txn_response results(const add_partitions_to_txn_request& req,
                                       const std::function<bool(const std::string&, std::int32_t)>& bad,
                                       error_code bad_code, error_code rest) {
  add_partitions_to_txn_response resp;
  for (const auto& t : req.topics) {
    auto& out = resp.results.emplace_back();
    out.name = t.name;
    for (const std::int32_t p : t.partitions) out.results.push_back({p, bad(t.name, p) ? bad_code : rest});
  }
  return resp;
}

void respond(const responder& out, std::int16_t version, const add_partitions_to_txn_response& resp) {
  writer w;
  encode_add_partitions_to_txn_response(resp, version, w);
  out.respond(std::move(w));
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_add_partitions_to_txn_request(body, version);
  if (!req) return out.close("AddPartitionsToTxn: " + describe(req.error()));
  const auto none = [](const std::string&, std::int32_t) { return false; };
  const auto all_fail = [&](error_code e) { respond(out, version, results(*req, none, e, e)); };
  txn_coordinator* core = ctx.transactions();
  // WRITE on the transactional id, then on each topic (Kafka's rules): a refused topic's partitions
  // are answered TOPIC_AUTHORIZATION_FAILED and the others OPERATION_NOT_ATTEMPTED.
  if (!authorized_on_transactional_id(ctx, out, acl::operation::write, req->transactional_id)) {
    return all_fail(error_code::transactional_id_authorization_failed);
  }
  const auto unauthorized = [&ctx, &out](const std::string& topic, std::int32_t) {
    return !authorized_on_topic(ctx, out, acl::operation::write, topic);
  };
  if (std::ranges::any_of(req->topics, [&](const auto& t) { return unauthorized(t.name, 0); })) {
    return respond(out, version,
                   results(*req, unauthorized, error_code::topic_authorization_failed, error_code::operation_not_attempted));
  }
  if (core == nullptr) return all_fail(error_code::coordinator_not_available);

  const auto missing = [&ctx](const std::string& topic, std::int32_t p) {
    const auto t = ctx.topic(topic);
    return !t || std::ranges::none_of(t->partitions, [p](const partition_info& i) { return i.partition == p; });
  };
  const auto internal = [](const std::string& topic, std::int32_t) { return is_internal_topic(topic); };
  std::vector<txn_partition> partitions;
  bool any_missing = false, any_internal = false;
  for (const auto& t : req->topics) {
    any_internal = any_internal || is_internal_topic(t.name);
    for (const std::int32_t p : t.partitions) {
      any_missing = any_missing || missing(t.name, p);
      partitions.push_back({t.name, p});
    }
  }
  if (any_internal) {
    return respond(out, version,
                   results(*req, internal, error_code::invalid_topic_exception, error_code::operation_not_attempted));
  }
  if (any_missing) {
    return respond(out, version,
                   results(*req, missing, error_code::unknown_topic_or_partition, error_code::operation_not_attempted));
  }
  const producer_id_and_epoch producer{req->producer_id, req->producer_epoch};
  const std::string id = req->transactional_id;
  call_coordinator<txn_errc>(
      ctx, id, [&](txn_callback cb) { core->add_partitions(id, producer, partitions, std::move(cb)); },
      [out, version, req = std::move(*req), none](txn_errc e) {
        const error_code code = to_error_code(e, version >= 2);
        respond(out, version, results(req, none, code, code));
      });
}

}  // namespace

const api_handler add_partitions_to_txn_handler{api_key::add_partitions_to_txn, add_partitions_to_txn_versions, handle};

}  // namespace chronik::kafka
