// Heartbeat (key 12): keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin.
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/group_errors.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/heartbeat.h"

namespace chronik::kafka {
namespace {

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_heartbeat_request(body, version);
  if (!req) {
    out.close("Heartbeat: " + describe(req.error()));
    return;
  }
  heartbeat_response resp;
  if (!authorized_on_group(ctx, out, acl::operation::read, req->group_id)) {
    resp.error = error_code::group_authorization_failed;  // READ on the group (Kafka's rule)
  } else if (req->group_id.empty()) {
    resp.error = error_code::invalid_group_id;
  } else if (auto coordinator = coordinator_here(ctx, req->group_id); !coordinator) {
    resp.error = coordinator.error();
  } else if (auto beat = (*coordinator)->heartbeat(req->group_id, req->generation_id, req->member_id,
                                                    req->group_instance_id);  // v3+ (KIP-345)
             !beat) {
    resp.error = to_error_code(beat.error());
  }
  out.note_error(resp.error);
  writer w;
  encode_heartbeat_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler heartbeat_handler{api_key::heartbeat, heartbeat_versions, handle};

}  // namespace chronik::kafka
