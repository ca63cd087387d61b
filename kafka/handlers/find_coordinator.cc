// FindCoordinator (key 10): which broker coordinates a group (key type 0: the leader of the
// group's `__consumer_offsets` partition, broker_context::coordinator_for) or a transactional id
// (key type 1, KIP-98: the leader of the id's `__transaction_state` partition,
// broker_context::transaction_coordinator_for; docs/transactions.md "Finding the coordinator"), the
// same answer on every broker. v4+ (KIP-699) asks for several keys of one type at once.
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/listener_endpoints.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/messages/find_coordinator.h"

namespace chronik::kafka {
namespace {

coordinator_entry locate(broker_context& ctx, const std::string& key, std::int8_t key_type, std::string_view listener) {
  coordinator_entry e;
  e.key = key;
  // Kafka answers errors with node -1, empty host and port -1.
  e.node_id = -1;
  e.port = -1;
  if (key_type != coordinator_key_group && key_type != coordinator_key_transaction) {
    e.error = error_code::invalid_request;
    e.error_message = "unknown coordinator key type";
    return e;
  }
  if (key_type == coordinator_key_transaction && key.empty()) {
    // Kafka's answer: a transactional id is never empty.
    e.error = error_code::invalid_request;
    e.error_message = "empty transactional id";
    return e;
  }
  const auto leader =
      key_type == coordinator_key_group ? ctx.coordinator_for(key) : ctx.transaction_coordinator_for(key);
  // The coordinator's endpoint of the request's listener; one without that listener cannot be
  // reached by this client, as if unavailable (Kafka's answer too).
  const auto broker = leader ? on_listener(*leader, listener) : std::nullopt;
  if (!broker) {
    e.error = error_code::coordinator_not_available;
    return e;
  }
  e.node_id = kafka_id(broker->id);
  e.host = broker->host;
  e.port = broker->port;
  return e;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_find_coordinator_request(body, version);
  if (!req) {
    out.close("FindCoordinator: " + describe(req.error()));
    return;
  }
  find_coordinator_response resp;
  if (version >= 4) {
    for (const auto& key : req->coordinator_keys) {
      resp.coordinators.push_back(locate(ctx, key, req->key_type, out.listener()));
    }
  } else {
    coordinator_entry e = locate(ctx, req->key, req->key_type, out.listener());
    resp.error = e.error;
    resp.error_message = std::move(e.error_message);
    resp.node_id = e.node_id;
    resp.host = std::move(e.host);
    resp.port = e.port;
  }
  // DESCRIBE on the group or the transactional id (Kafka's rule), per key.
  const bool txn = req->key_type == coordinator_key_transaction;
  const error_code refused = txn ? error_code::transactional_id_authorization_failed : error_code::group_authorization_failed;
  const auto allowed = [&](const std::string& key) {
    return txn ? authorized_on_transactional_id(ctx, out, acl::operation::describe, key)
               : authorized_on_group(ctx, out, acl::operation::describe, key);
  };
  if (version >= 4) {
    for (auto& e : resp.coordinators) {
      if (allowed(e.key)) continue;
      e = coordinator_entry{e.key, -1, "", -1, refused, std::nullopt};
    }
  } else if (!allowed(req->key)) {
    resp.error = refused;
    resp.error_message = std::nullopt;
    resp.node_id = -1;
    resp.host.clear();
    resp.port = -1;
  }
  writer w;
  encode_find_coordinator_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler find_coordinator_handler{api_key::find_coordinator, find_coordinator_versions,
                                           handle};

}  // namespace chronik::kafka
