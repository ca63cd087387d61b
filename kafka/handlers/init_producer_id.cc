// InitProducerId (key 22, KIP-98): an idempotent producer asks any broker for a producer id before
// its first write; its batches then carry that id, epoch 0 and per-partition sequence numbers,
// which each partition checks (kafka/partition/producer_state.h; docs/kafka.md "Idempotent
// producers"). The id comes from this node's block of ids that `__meta` hands out (KIP-730), so it
// is unique in the cluster and never given again, even after every node restarted.
//
// Without a transactional id Kafka always answers a fresh id with epoch 0, even when v3+ carries
// the producer's current id and epoch (KIP-360's bump is for transactional ids; an idempotent
// producer that hit a sequence error simply starts over with a new id).
//
// With a transactional id the request goes to the id's transaction coordinator (FindCoordinator
// key type 1; docs/transactions.md "Handlers"), whose core bumps the id's epoch, fencing older
// instances, and aborts a transaction they left open. The core never allocates a producer id: for
// a new id (or an exhausted epoch) it answers need_producer_id, and the handler calls it again
// with one from this node's block, so a request that only bumps an epoch spends none. The answer
// is sent once the new epoch is stored.
//
// Authorization (Kafka's rules, KIP-679): with a transactional id, WRITE on it, else
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; without one, IDEMPOTENT_WRITE on the cluster or WRITE on
// at least one topic, else CLUSTER_AUTHORIZATION_FAILED.
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/producer_id_errors.h"
#include "kafka/handlers/txn_errors.h"
#include "kafka/protocol/messages/init_producer_id.h"

namespace chronik::kafka {
namespace {

// How long a request may wait for this node's next block of ids: about a `__meta` commit.
constexpr std::chrono::milliseconds block_wait{5'000};

void answer(const responder& out, std::int16_t version, error_code error, std::int64_t id, std::int16_t epoch) {
  init_producer_id_response resp;
  resp.error = error;
  resp.producer_id = id;
  resp.producer_epoch = epoch;
  writer w;
  encode_init_producer_id_response(resp, version, w);
  out.respond(std::move(w));
}

void answer_txn(const responder& out, std::int16_t version, const init_producer_result& r) {
  // KIP-588: PRODUCER_FENCED from v4; older clients know INVALID_PRODUCER_EPOCH.
  answer(out, version, to_error_code(r.error, version >= 4), r.producer_id, r.producer_epoch);
}

// One call of the core; a need_producer_id answer takes an id from this node's block and calls
// again with it (at most once: the second call carries the id).
void init_transactional(broker_context& ctx, init_producer_params params, const responder& out) {
  const std::int16_t version = out.header().api_version;
  txn_coordinator* core = ctx.transactions();
  if (core == nullptr) return answer(out, version, error_code::coordinator_not_available, -1, -1);
  const std::string id = params.transactional_id;
  call_coordinator<init_producer_result>(
      ctx, id, [&](init_producer_callback cb) { core->init_producer_id(params, std::move(cb)); },
      [&ctx, params, out, version](init_producer_result r) {
        if (r.error != txn_errc::need_producer_id || params.fresh_producer_id) return answer_txn(out, version, r);
        ctx.allocate_producer_id(block_wait, [&ctx, params, out, version](std::expected<std::int64_t, producer_id_outcome> pid) mutable {
          if (!pid) return answer(out, version, to_error_code(pid.error()), -1, -1);
          params.fresh_producer_id = *pid;
          init_transactional(ctx, std::move(params), out);
        });
      });
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_init_producer_id_request(body, version);
  if (!req) return out.close("InitProducerId: " + describe(req.error()));
  if (req->transactional_id && !req->transactional_id->empty()) {
    if (!authorized_on_transactional_id(ctx, out, acl::operation::write, *req->transactional_id)) {
      return answer(out, version, error_code::transactional_id_authorization_failed, -1, -1);
    }
    init_producer_params params;
    params.transactional_id = std::move(*req->transactional_id);
    params.transaction_timeout_ms = req->transaction_timeout_ms;
    // v3+ (KIP-360): -1/-1 means the producer has none yet.
    if (req->producer_id >= 0) params.expected = producer_id_and_epoch{req->producer_id, req->producer_epoch};
    return init_transactional(ctx, std::move(params), out);
  }
  if (!authorized_on_cluster(ctx, out, acl::operation::idempotent_write) &&
      !authorized_on_any(ctx, out, acl::operation::write, acl::resource_type::topic)) {
    return answer(out, version, error_code::cluster_authorization_failed, -1, -1);
  }
  ctx.allocate_producer_id(block_wait, [out, version](std::expected<std::int64_t, producer_id_outcome> id) {
    if (!id) return answer(out, version, to_error_code(id.error()), -1, -1);
    answer(out, version, error_code::none, *id, 0);
  });
}

}  // namespace

const api_handler init_producer_id_handler{api_key::init_producer_id, init_producer_id_versions, handle};

}  // namespace chronik::kafka
