// DescribeGroups (key 15): state, protocol and members of groups, answered by their coordinator
// (a group coordinated elsewhere gets NOT_COORDINATOR, so the client asks FindCoordinator again).
// As in Kafka, a group this coordinator does not know is described as Dead with no members, and
// the chosen protocol and each member's metadata and assignment are filled in only when the group
// is Stable, when they are settled.
#include "kafka/groups/group_coordinator.h"
#include "kafka/handlers/group_errors.h"
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/describe_groups.h"

namespace chronik::kafka {
namespace {

described_group describe_one(broker_context& ctx, const std::string& group_id) {
  described_group d;
  d.group_id = group_id;
  auto coordinator = coordinator_here(ctx, group_id);
  if (!coordinator) {
    d.error = coordinator.error();
    return d;
  }
  const auto view = (*coordinator)->describe(group_id);
  if (!view) {
    d.group_state = std::string(to_string(group_state::dead));
    return d;
  }
  const bool stable = view->state == group_state::stable;
  d.group_state = std::string(to_string(view->state));
  d.protocol_type = view->protocol_type;
  if (stable) d.protocol_data = view->protocol_name.value_or("");
  for (const member_view& m : view->members) {
    described_group_member dm;
    dm.member_id = m.member_id;
    dm.client_id = m.client_id;
    dm.client_host = m.client_host;
    dm.group_instance_id = m.group_instance_id;  // v4+ (KIP-345)
    if (stable) {
      dm.member_metadata = m.metadata;
      dm.member_assignment = m.assignment;
    }
    d.members.push_back(std::move(dm));
  }
  return d;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_describe_groups_request(body, version);
  if (!req) {
    out.close("DescribeGroups: " + describe(req.error()));
    return;
  }
  describe_groups_response resp;
  for (const std::string& id : req->groups) {
    if (!authorized_on_group(ctx, out, acl::operation::describe, id)) {  // Kafka's rule
      resp.groups.push_back({.error = error_code::group_authorization_failed, .group_id = id});
      continue;
    }
    if (id.empty()) {
      resp.groups.push_back({.error = error_code::invalid_group_id, .group_id = id});
      continue;
    }
    resp.groups.push_back(describe_one(ctx, id));
  }
  writer w;
  encode_describe_groups_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler describe_groups_handler{api_key::describe_groups, describe_groups_versions, handle};

}  // namespace chronik::kafka
