// DescribeTransactions (key 65, KIP-664): an admin client asks the coordinator of each
// transactional id for its state, producer id and epoch, timeout, the start of its open transaction
// and the partitions in it (kafka-transactions.sh describe; docs/transactions.md "Handlers"). The
// admin client sends each id to its coordinator (FindCoordinator key type 1); an id this node does
// not coordinate gets NOT_COORDINATOR. The views come from memory, so each is sent only once the
// coordinator's leadership of the id's partition is confirmed.
#include <memory>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/txn_errors.h"
#include "kafka/protocol/messages/describe_transactions.h"

namespace chronik::kafka {
namespace {

described_transaction from_view(const txn_view& v) {
  described_transaction d;
  d.transactional_id = v.transactional_id;
  d.transaction_state = std::string(to_string(v.state));
  d.transaction_timeout_ms = v.timeout_ms;
  d.transaction_start_time_ms = v.start_ms;
  d.producer_id = v.producer_id;
  d.producer_epoch = v.producer_epoch;
  for (const auto& p : v.partitions) {  // sorted by topic, so each topic's partitions are together
    if (d.topics.empty() || d.topics.back().topic != p.topic) d.topics.push_back({p.topic, {}});
    d.topics.back().partitions.push_back(p.partition);
  }
  return d;
}

described_transaction failed(const std::string& id, error_code e) {
  described_transaction d;
  d.error = e;
  d.transactional_id = id;
  d.transaction_start_time_ms = -1;
  d.producer_id = -1;
  d.producer_epoch = -1;
  return d;
}

// The answer under construction: sent once every confirmation is back.
struct pending_answer {
  describe_transactions_response resp;
  std::size_t open = 0;
  responder out;
  std::int16_t version = 0;
  void settle() {
    if (--open > 0) return;
    writer w;
    encode_describe_transactions_response(resp, version, w);
    out.respond(std::move(w));
  }
};

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_describe_transactions_request(body, version);
  if (!req) return out.close("DescribeTransactions: " + describe(req.error()));
  txn_coordinator* core = ctx.transactions();
  auto answer = std::make_shared<pending_answer>(pending_answer{{}, 1, out, version});
  for (const auto& id : req->transactional_ids) {
    // DESCRIBE on the transactional id (Kafka's rule).
    if (!authorized_on_transactional_id(ctx, out, acl::operation::describe, id)) {
      answer->resp.transaction_states.push_back(failed(id, error_code::transactional_id_authorization_failed));
      continue;
    }
    if (core == nullptr) {
      answer->resp.transaction_states.push_back(failed(id, error_code::coordinator_not_available));
      continue;
    }
    auto view = core->describe(id);
    if (!view) {
      answer->resp.transaction_states.push_back(failed(id, to_error_code(view.error(), true)));
      continue;
    }
    const std::size_t slot = answer->resp.transaction_states.size();
    answer->resp.transaction_states.push_back(from_view(*view));
    ++answer->open;
    ctx.confirm_transaction_coordinator(id, [answer, slot, id](bool confirmed) {
      if (!confirmed) answer->resp.transaction_states[slot] = failed(id, error_code::not_coordinator);
      answer->settle();
    });
  }
  answer->settle();  // the loop's own hold: answers now if nothing waits
}

}  // namespace

const api_handler describe_transactions_handler{api_key::describe_transactions, describe_transactions_versions,
                                                handle};

}  // namespace chronik::kafka
