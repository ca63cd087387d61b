// ListGroups (key 16): the groups this broker coordinates. Admin clients ask every broker and merge
// the answers, as Kafka's coordinators each list only their own groups. v4 filters by state
// (KIP-518), v5 by type (KIP-848); Kafka compares both names without regard to case. Every chronik
// group is "classic" (JoinGroup/SyncGroup): ConsumerGroupHeartbeat, which makes "consumer" groups,
// is not served.
#include <algorithm>
#include <cctype>

#include "kafka/groups/group_coordinator.h"
#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/list_groups.h"

namespace chronik::kafka {
namespace {

constexpr std::string_view classic_type = "classic";

bool same_name(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_list_groups_request(body, version);
  if (!req) {
    out.close("ListGroups: " + describe(req.error()));
    return;
  }
  list_groups_response resp;
  if (const group_coordinator* groups = ctx.groups(); groups == nullptr) {
    resp.error = error_code::coordinator_not_available;
  } else {
    // DESCRIBE on the cluster lists every group; otherwise only those the asker may describe
    // (Kafka's rule).
    const bool all = authorized_on_cluster(ctx, out, acl::operation::describe);
    // A types filter without "classic" matches none of chronik's groups.
    const bool classic_wanted =
        req->types_filter.empty() ||
        std::ranges::any_of(req->types_filter, [](const std::string& t) { return same_name(t, classic_type); });
    const std::vector<std::string> ids = classic_wanted ? groups->group_ids() : std::vector<std::string>{};
    for (const std::string& id : ids) {
      if (!all && !authorized_on_group(ctx, out, acl::operation::describe, id)) continue;
      const auto view = groups->describe(id);
      if (!view) continue;
      const std::string_view state = to_string(view->state);
      if (!req->states_filter.empty() &&
          std::ranges::none_of(req->states_filter, [&](const std::string& s) { return same_name(s, state); })) {
        continue;
      }
      resp.groups.push_back({id, view->protocol_type, std::string(state), std::string(classic_type)});
    }
  }
  writer w;
  encode_list_groups_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler list_groups_handler{api_key::list_groups, list_groups_versions, handle};

}  // namespace chronik::kafka
