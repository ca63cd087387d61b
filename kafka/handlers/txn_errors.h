// What the transaction handlers (InitProducerId with a transactional id, AddPartitionsToTxn,
// AddOffsetsToTxn, EndTxn, DescribeTransactions) share: the Kafka error code for each txn_errc of
// the coordinator core (error codes are chosen only in kafka/handlers), and one call into the core
// that tells an answer given from memory from one given after a write (docs/transactions.md
// "Handlers").
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "kafka/handlers/broker_context.h"
#include "kafka/protocol/error_code.h"
#include "kafka/txn/txn_coordinator.h"

namespace chronik::kafka {

// `fenced_known`: the request's version may carry PRODUCER_FENCED (KIP-588: InitProducerId v4+,
// AddPartitionsToTxn, AddOffsetsToTxn and EndTxn v2+); older clients get INVALID_PRODUCER_EPOCH,
// which they know to be fatal in the same way.
constexpr error_code to_error_code(txn_errc e, bool fenced_known) {
  switch (e) {
    case txn_errc::none: return error_code::none;
    case txn_errc::invalid_request: return error_code::invalid_request;
    case txn_errc::not_coordinator: return error_code::not_coordinator;
    case txn_errc::load_in_progress: return error_code::coordinator_load_in_progress;
    case txn_errc::coordinator_not_available: return error_code::coordinator_not_available;
    case txn_errc::concurrent_transactions: return error_code::concurrent_transactions;
    case txn_errc::producer_fenced: return fenced_known ? error_code::producer_fenced : error_code::invalid_producer_epoch;
    case txn_errc::invalid_producer_id_mapping: return error_code::invalid_producer_id_mapping;
    case txn_errc::invalid_txn_state: return error_code::invalid_txn_state;
    case txn_errc::invalid_transaction_timeout: return error_code::invalid_transaction_timeout;
    // Kafka has no bound on a transaction's partitions, hence no code for it.
    case txn_errc::too_many_partitions: return error_code::invalid_request;
    case txn_errc::transactional_id_not_found: return error_code::transactional_id_not_found;
    // An instruction to the handler, never an answer: reaching a client is a bug.
    case txn_errc::need_producer_id: return error_code::unknown_server_error;
  }
  return error_code::unknown_server_error;
}

// The error of a core answer, and the answer that says "not the coordinator".
inline txn_errc error_of(txn_errc e) { return e; }
inline txn_errc error_of(const init_producer_result& r) { return r.error; }
inline void make_not_coordinator(txn_errc& e) { e = txn_errc::not_coordinator; }
inline void make_not_coordinator(init_producer_result& r) { r = init_producer_result{.error = txn_errc::not_coordinator}; }

// Calls the core through `call(callback)` and gives `answer` the result once, after the call
// returned (a callback run inside the core must not call back into it, txn_coordinator.h, and the
// answer may). A success the core gave before returning came from memory, with no write of its
// own: it is sent only once `ctx` confirms the coordinator still leads the id's partition in the
// term it loaded (a node cut off from the others may not know yet that a newer coordinator moved
// on), else the answer is not_coordinator. Answers given later followed a write the shell
// appended, with acks=all, in the term it loaded: they are durable and current.
template <typename Result, typename Call>
void call_coordinator(broker_context& ctx, const std::string& transactional_id, Call call,
                      std::function<void(Result)> answer) {
  struct pending {
    bool returned = false;
    std::optional<Result> early;
  };
  auto p = std::make_shared<pending>();
  call([p, answer](Result r) {
    if (!p->returned) {
      p->early = std::move(r);
      return;
    }
    answer(std::move(r));
  });
  p->returned = true;
  if (!p->early) return;
  Result r = std::move(*p->early);
  if (error_of(r) != txn_errc::none) return answer(std::move(r));
  ctx.confirm_transaction_coordinator(transactional_id, [r = std::move(r), answer](bool confirmed) mutable {
    if (!confirmed) make_not_coordinator(r);
    answer(std::move(r));
  });
}

}  // namespace chronik::kafka
