// EndTxn (key 26, KIP-98): a transactional producer commits or aborts its open transaction. The
// id's coordinator stores PrepareCommit or PrepareAbort and answers then; the markers then go to
// every partition of the transaction in the background (daemon/txn_marker_router.h), and the
// transaction completes once all acknowledged (docs/transactions.md "Handlers"). Until then the
// producer's next AddPartitionsToTxn gets CONCURRENT_TRANSACTIONS, which it retries. A retried
// EndTxn of a completed transaction is answered from memory, after the coordinator's leadership
// is confirmed.
//
// v0-4; v4 only allows TRANSACTION_ABORTABLE, which chronik never answers (it belongs to KIP-890's
// verification). v5+ (KIP-890 part 2) are not served.
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/txn_errors.h"
#include "kafka/protocol/messages/end_txn.h"

namespace chronik::kafka {
namespace {

void respond(const responder& out, std::int16_t version, error_code e) {
  end_txn_response resp;
  resp.error = e;
  writer w;
  encode_end_txn_response(resp, version, w);
  out.respond(std::move(w));
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_end_txn_request(body, version);
  if (!req) return out.close("EndTxn: " + describe(req.error()));
  // WRITE on the transactional id (Kafka's rule).
  if (!authorized_on_transactional_id(ctx, out, acl::operation::write, req->transactional_id)) {
    return respond(out, version, error_code::transactional_id_authorization_failed);
  }
  txn_coordinator* core = ctx.transactions();
  if (core == nullptr) return respond(out, version, error_code::coordinator_not_available);
  const producer_id_and_epoch producer{req->producer_id, req->producer_epoch};
  call_coordinator<txn_errc>(
      ctx, req->transactional_id,
      [&](txn_callback cb) { core->end_txn(req->transactional_id, producer, req->committed, std::move(cb)); },
      [out, version](txn_errc e) { respond(out, version, to_error_code(e, version >= 2)); });
}

}  // namespace

const api_handler end_txn_handler{api_key::end_txn, end_txn_versions, handle};

}  // namespace chronik::kafka
