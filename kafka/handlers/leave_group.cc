// LeaveGroup (key 13): members leave at once instead of timing out, so the group rebalances
// without waiting a session timeout. v3+ batches members and answers each; a member is named by
// its member id, its group.instance.id (KIP-345, which fences an old member id of the instance),
// or by its instance id alone, which removes whichever member the instance is bound to.
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/group_errors.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/leave_group.h"

namespace chronik::kafka {
namespace {

error_code leave_one(group_coordinator& coordinator, const std::string& group, const std::string& member,
                     const std::optional<std::string>& instance = std::nullopt) {
  auto left = coordinator.leave(group, member, instance);
  return left ? error_code::none : to_error_code(left.error());
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_leave_group_request(body, version);
  if (!req) {
    out.close("LeaveGroup: " + describe(req.error()));
    return;
  }
  leave_group_response resp;
  if (!authorized_on_group(ctx, out, acl::operation::read, req->group_id)) {
    resp.error = error_code::group_authorization_failed;  // READ on the group (Kafka's rule)
  } else if (req->group_id.empty()) {
    resp.error = error_code::invalid_group_id;
  } else if (auto coordinator = coordinator_here(ctx, req->group_id); !coordinator) {
    resp.error = coordinator.error();
  } else if (version <= 2) {
    resp.error = leave_one(**coordinator, req->group_id, req->member_id);
  } else {
    for (const auto& m : req->members) {
      resp.members.push_back(
          {m.member_id, m.group_instance_id, leave_one(**coordinator, req->group_id, m.member_id, m.group_instance_id)});
    }
  }
  out.note_error(resp.error);
  for (const auto& m : resp.members) out.note_error(m.error);
  writer w;
  encode_leave_group_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler leave_group_handler{api_key::leave_group, leave_group_versions, handle};

}  // namespace chronik::kafka
