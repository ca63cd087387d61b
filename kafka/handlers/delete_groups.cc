// DeleteGroups (key 42): deletes groups that have no members, with their committed offsets, at
// their coordinator (KIP-229; docs/kafka.md "Deleting groups and offsets"). Each group is answered
// on its own, as in Kafka: NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS when another node
// coordinates it or this one is still loading it (the client asks FindCoordinator again, or
// retries), INVALID_GROUP_ID for an empty id, GROUP_ID_NOT_FOUND for a group the coordinator does
// not have, NON_EMPTY_GROUP while it has members. A deletion is answered once its tombstones are
// committed in the group's `__consumer_offsets` partition, so a later coordinator never brings the
// group back; the response waits for the last group of the request.
#include <cstddef>
#include <memory>

#include "kafka/handlers/group_errors.h"
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/delete_groups.h"

namespace chronik::kafka {
namespace {

// The answers gathered so far; the coordinator's callbacks run on the handlers' thread, one at a
// time, so a count is enough to know when the last one arrived.
struct pending_deletion {
  responder out;
  std::int16_t version = 0;
  delete_groups_response resp;
  std::size_t waiting = 0;

  void answered(std::size_t i, error_code e) {
    resp.results[i].error = e;
    release();
  }
  void release() {
    if (--waiting == 0) {
      writer w;
      encode_delete_groups_response(resp, version, w);
      out.respond(std::move(w));
    }
  }
};

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_delete_groups_request(body, version);
  if (!req) {
    out.close("DeleteGroups: " + describe(req.error()));
    return;
  }
  auto pending = std::make_shared<pending_deletion>(pending_deletion{out, version, {}, 0});
  for (const std::string& id : req->groups_names) pending->resp.results.push_back({id, error_code::none});
  // One more than the groups, released after the loop: an answer given at once cannot respond
  // before every group has been asked.
  pending->waiting = req->groups_names.size() + 1;
  for (std::size_t i = 0; i < req->groups_names.size(); ++i) {
    const std::string& id = req->groups_names[i];
    if (!authorized_on_group(ctx, out, acl::operation::remove, id)) {  // DELETE on the group (Kafka's rule)
      pending->answered(i, error_code::group_authorization_failed);
      continue;
    }
    if (id.empty()) {
      pending->answered(i, error_code::invalid_group_id);
      continue;
    }
    auto coordinator = coordinator_here(ctx, id);
    if (!coordinator) {
      pending->answered(i, coordinator.error());
      continue;
    }
    (*coordinator)->delete_group(id, [pending, i](group_errc e) { pending->answered(i, to_error_code(e)); });
  }
  pending->release();
}

}  // namespace

const api_handler delete_groups_handler{api_key::delete_groups, delete_groups_versions, handle};

}  // namespace chronik::kafka
