// ListTransactions (key 66, KIP-664): an admin client asks every broker for the transactional ids
// its coordinator holds, filtered by state names and producer ids, and from v1 (KIP-994) to those
// whose open transaction has run longer than a duration (kafka-transactions.sh list;
// docs/transactions.md "Handlers"). As Kafka, a state name it does not know is returned in
// unknown_state_filters and matches nothing; while a partition of the coordinator loads, the answer
// is COORDINATOR_LOAD_IN_PROGRESS. A node without a coordinator lists nothing.
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/txn_errors.h"
#include "kafka/protocol/messages/list_transactions.h"

namespace chronik::kafka {
namespace {

void respond(const responder& out, std::int16_t version, const list_transactions_response& resp) {
  writer w;
  encode_list_transactions_response(resp, version, w);
  out.respond(std::move(w));
}

// KIP-994's duration filter: an open transaction that started more than `duration_ms` before the
// coordinator's time (its last tick). Ids with no open transaction never match it.
bool runs_longer(const txn_coordinator& core, const std::string& id, std::int64_t duration_ms) {
  auto v = core.describe(id);
  return v && v->start_ms >= 0 && core.now_ms() - v->start_ms > duration_ms;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_list_transactions_request(body, version);
  if (!req) return out.close("ListTransactions: " + describe(req.error()));
  list_transactions_response resp;
  std::vector<txn_status> states;
  for (const auto& name : req->state_filters) {
    if (auto s = txn_status_from_string(name)) {
      states.push_back(*s);
    } else {
      resp.unknown_state_filters.push_back(name);
    }
  }
  const txn_coordinator* core = ctx.transactions();
  // Filters that name only unknown states match nothing (an empty filter would match all).
  if (core == nullptr || (!req->state_filters.empty() && states.empty())) return respond(out, version, resp);
  auto listed = core->list(states, req->producer_id_filters);
  if (!listed) {
    resp.error = to_error_code(listed.error(), true);
    return respond(out, version, resp);
  }
  for (const auto& l : *listed) {
    if (req->duration_filter >= 0 && !runs_longer(*core, l.transactional_id, req->duration_filter)) continue;
    // Only the ids the asker may DESCRIBE (Kafka's rule).
    if (!authorized_on_transactional_id(ctx, out, acl::operation::describe, l.transactional_id)) continue;
    resp.transaction_states.push_back({l.transactional_id, l.producer_id, std::string(to_string(l.state))});
  }
  respond(out, version, resp);
}

}  // namespace

const api_handler list_transactions_handler{api_key::list_transactions, list_transactions_versions, handle};

}  // namespace chronik::kafka
