// SyncGroup (key 14): the leader hands in every member's assignment, each member gets its own.
// A follower's answer waits in the coordinator until the leader's SyncGroup arrives.
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/group_errors.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/sync_group.h"

namespace chronik::kafka {
namespace {

void answer(const responder& out, std::int16_t version, sync_group_response resp) {
  out.note_error(resp.error);
  writer w;
  encode_sync_group_response(resp, version, w);
  out.respond(std::move(w));
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_sync_group_request(body, version);
  if (!req) {
    out.close("SyncGroup: " + describe(req.error()));
    return;
  }
  sync_group_response refused;
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
  sync_params p;
  p.group_id = std::move(req->group_id);
  p.generation_id = req->generation_id;
  p.member_id = std::move(req->member_id);
  p.protocol_type = std::move(req->protocol_type);
  p.protocol_name = std::move(req->protocol_name);
  p.group_instance_id = std::move(req->group_instance_id);  // v3+ (KIP-345)
  for (auto& a : req->assignments) p.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));
  (*coordinator)->sync(std::move(p), [out, version](sync_result r) {
    sync_group_response resp;
    resp.error = to_error_code(r.error);
    if (r.error == group_errc::none) {
      resp.protocol_type = std::move(r.protocol_type);
      resp.protocol_name = std::move(r.protocol_name);
    }
    resp.assignment = std::move(r.assignment);
    answer(out, version, std::move(resp));
  });
}

}  // namespace

const api_handler sync_group_handler{api_key::sync_group, sync_group_versions, handle};

}  // namespace chronik::kafka
