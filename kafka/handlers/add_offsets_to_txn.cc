// AddOffsetsToTxn (key 25, KIP-98): a transactional producer about to commit a consumer group's
// offsets in its transaction (TxnOffsetCommit, to the group's coordinator) first tells the id's
// transaction coordinator, which adds the group's `__consumer_offsets` partition to the
// transaction, so that the commit or abort marker reaches the offsets too (docs/transactions.md
// "Handlers"). Answered once stored, or at once when the partition already was (then only after
// the coordinator's leadership is confirmed).
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/txn_errors.h"
#include "kafka/protocol/messages/add_offsets_to_txn.h"

namespace chronik::kafka {
namespace {

void respond(const responder& out, std::int16_t version, error_code e) {
  add_offsets_to_txn_response resp;
  resp.error = e;
  writer w;
  encode_add_offsets_to_txn_response(resp, version, w);
  out.respond(std::move(w));
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_add_offsets_to_txn_request(body, version);
  if (!req) return out.close("AddOffsetsToTxn: " + describe(req.error()));
  // WRITE on the transactional id, READ on the group (Kafka's rules).
  if (!authorized_on_transactional_id(ctx, out, acl::operation::write, req->transactional_id)) {
    return respond(out, version, error_code::transactional_id_authorization_failed);
  }
  if (!authorized_on_group(ctx, out, acl::operation::read, req->group_id)) {
    return respond(out, version, error_code::group_authorization_failed);
  }
  txn_coordinator* core = ctx.transactions();
  if (core == nullptr) return respond(out, version, error_code::coordinator_not_available);
  const producer_id_and_epoch producer{req->producer_id, req->producer_epoch};
  call_coordinator<txn_errc>(
      ctx, req->transactional_id,
      [&](txn_callback cb) { core->add_offsets(req->transactional_id, producer, req->group_id, std::move(cb)); },
      [out, version](txn_errc e) { respond(out, version, to_error_code(e, version >= 2)); });
}

}  // namespace

const api_handler add_offsets_to_txn_handler{api_key::add_offsets_to_txn, add_offsets_to_txn_versions, handle};

}  // namespace chronik::kafka
