// JoinGroup (key 11): hands the join to this node's group coordinator and answers when the
// coordinator does, which for a rebalance is after every member rejoined or the rebalance timeout
// passed (up to the client's rebalance timeout later). v5+ carries group.instance.id: static
// membership (KIP-345), where a restarted consumer takes its old place without a rebalance.
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/group_errors.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/join_group.h"

namespace chronik::kafka {
namespace {

void answer(const responder& out, std::int16_t version, join_group_response resp) {
  out.note_error(resp.error);
  writer w;
  encode_join_group_response(resp, version, w);
  out.respond(std::move(w));
}

join_group_response to_response(join_result r) {
  join_group_response resp;
  resp.error = to_error_code(r.error);
  resp.generation_id = r.generation_id;
  if (r.error == group_errc::none) resp.protocol_type = std::move(r.protocol_type);
  resp.protocol_name = std::move(r.protocol_name);
  resp.leader = std::move(r.leader_id);
  resp.member_id = std::move(r.member_id);
  for (auto& m : r.members) {
    resp.members.push_back({std::move(m.member_id), std::move(m.group_instance_id), std::move(m.metadata)});
  }
  return resp;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_join_group_request(body, version);
  if (!req) {
    out.close("JoinGroup: " + describe(req.error()));
    return;
  }
  join_group_response refused;
  refused.member_id = req->member_id;
  if (!authorized_on_group(ctx, out, acl::operation::read, req->group_id)) {
    refused.error = error_code::group_authorization_failed;  // READ on the group (Kafka's rule)
    answer(out, version, std::move(refused));
    return;
  }
  if (req->group_id.empty()) {
    refused.error = error_code::invalid_group_id;
    answer(out, version, std::move(refused));
    return;
  }
  auto coordinator = coordinator_here(ctx, req->group_id);
  if (!coordinator) {
    refused.error = coordinator.error();
    answer(out, version, std::move(refused));
    return;
  }
  join_params p;
  p.group_id = std::move(req->group_id);
  p.member_id = std::move(req->member_id);
  p.client_id = out.header().client_id.value_or("");
  p.client_host = out.client_host();
  p.session_timeout_ms = req->session_timeout_ms;
  p.rebalance_timeout_ms = req->rebalance_timeout_ms;
  p.protocol_type = std::move(req->protocol_type);
  for (auto& proto : req->protocols) p.protocols.push_back({std::move(proto.name), std::move(proto.metadata)});
  p.require_known_member_id = version >= 4;  // KIP-394
  p.group_instance_id = std::move(req->group_instance_id);  // v5+, else absent
  (*coordinator)->join(std::move(p), [out, version](join_result r) {
    answer(out, version, to_response(std::move(r)));
  });
}

}  // namespace

const api_handler join_group_handler{api_key::join_group, join_group_versions, handle};

}  // namespace chronik::kafka
