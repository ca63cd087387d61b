#include "daemon/group_queries.h"

#include <algorithm>
#include <set>

#include "kafka/protocol/messages/delete_groups.h"
#include "kafka/protocol/messages/describe_groups.h"
#include "kafka/protocol/messages/list_groups.h"
#include "kafka/protocol/messages/list_offsets.h"
#include "kafka/protocol/messages/offset_commit.h"
#include "kafka/protocol/messages/offset_fetch.h"

namespace chronik::daemon {

namespace {

using kafka::error_code;

std::string code_text(error_code e) { return std::string(kafka::to_string(e)); }

std::string quoted(const std::string& group) { return "\"" + group + "\""; }

// The errors with which the coordinator refuses a memberless commit to a group that has members
// (Kafka's GroupCoordinator.handleCommitOffsets; kafka/groups/group_offsets.cc).
bool means_group_has_members(error_code e) {
  return e == error_code::unknown_member_id || e == error_code::illegal_generation ||
         e == error_code::rebalance_in_progress;
}

group_member to_member(const kafka::described_group_member& m, bool consumer_protocol) {
  group_member out{m.member_id, m.group_instance_id, m.client_id, m.client_host, {}, {}};
  if (!consumer_protocol) return out;
  auto decoded = decode_consumer_assignment(m.member_assignment);
  if (!decoded) {
    out.assignment_error = decoded.error();
    return out;
  }
  for (const auto& [topic, partitions] : decoded->partitions) {
    for (auto p : partitions) out.assignment.emplace_back(topic, p);
  }
  std::ranges::sort(out.assignment);
  return out;
}

// Brokers from Metadata, each by its Kafka address, asked for no topic.
std::expected<std::vector<kafka_address>, std::string> broker_addresses(kafka_client& client) {
  auto md = client.metadata(std::vector<std::string>{});
  if (!md) return std::unexpected(md.error());
  std::vector<kafka_address> out;
  for (const auto& b : md->brokers) {
    if (b.port <= 0 || b.port > 65535) return std::unexpected("Metadata names broker port " + std::to_string(b.port));
    out.push_back({b.host, static_cast<std::uint16_t>(b.port)});
  }
  if (out.empty()) return std::unexpected("Metadata from " + client.bootstrap().text() + " names no broker");
  return out;
}

// ListGroups at one broker. A broker still loading an offsets partition answers
// COORDINATOR_LOAD_IN_PROGRESS (its groups would be missing): asked again, a bounded number of times.
std::expected<kafka::list_groups_response, std::string> list_groups_at(kafka_client& client, const kafka_address& at) {
  error_code last = error_code::none;
  for (int n = 0; n < client.options().coordinator_attempts; ++n) {
    if (n > 0) client.backoff();
    auto answer = client.call<kafka::list_groups_response>(
        at, kafka::api_key::list_groups, kafka::list_groups_versions,
        [](kafka::writer& w, std::int16_t v) { kafka::encode_list_groups_request({}, v, w); },
        kafka::decode_list_groups_response);
    if (!answer || answer->error == error_code::none) return answer;
    last = answer->error;
    if (!is_coordinator_retriable(last)) break;
  }
  return std::unexpected("ListGroups on broker " + at.text() + " answered " + code_text(last));
}

}  // namespace

std::expected<std::vector<group_listing>, std::string> list_groups(kafka_client& client) {
  const auto brokers = broker_addresses(client);
  if (!brokers) return std::unexpected(brokers.error());
  std::map<std::string, group_listing> groups;
  for (const auto& at : *brokers) {
    auto answer = list_groups_at(client, at);
    if (!answer) return std::unexpected(answer.error());
    for (const auto& g : answer->groups) groups[g.group_id] = {g.group_id, g.group_state, g.protocol_type};
  }
  std::vector<group_listing> out;
  out.reserve(groups.size());
  for (auto& [id, g] : groups) out.push_back(std::move(g));
  return out;
}

std::expected<group_state_view, std::string> describe_group(kafka_client& client, const std::string& group) {
  group_state_view view;
  auto outcome = client.at_coordinator(group, [&](const kafka_address& at) -> std::expected<error_code, std::string> {
    auto answer = client.call<kafka::describe_groups_response>(
        at, kafka::api_key::describe_groups, kafka::describe_groups_versions,
        [&](kafka::writer& w, std::int16_t v) { kafka::encode_describe_groups_request({{group}, false}, v, w); },
        kafka::decode_describe_groups_response);
    if (!answer) return std::unexpected(answer.error());
    if (answer->groups.size() != 1) return std::unexpected("DescribeGroups from " + at.text() + " answered no group");
    const auto& g = answer->groups.front();
    if (g.error != error_code::none) return g.error;
    const bool consumer = g.protocol_type == "consumer";
    view = {g.group_state, g.protocol_type, g.protocol_data, {}};
    for (const auto& m : g.members) view.members.push_back(to_member(m, consumer));
    return error_code::none;
  });
  if (!outcome) return std::unexpected(outcome.error());
  return view;
}

std::expected<std::map<topic_partition, std::int64_t>, std::string> fetch_committed(
    kafka_client& client, const std::string& group, const std::optional<std::vector<std::string>>& topics) {
  std::map<topic_partition, std::int64_t> out;
  std::string partition_error;
  auto outcome = client.at_coordinator(group, [&](const kafka_address& at) -> std::expected<error_code, std::string> {
    auto answer = client.call<kafka::offset_fetch_response>(
        at, kafka::api_key::offset_fetch, {2, kafka::offset_fetch_versions.max},
        [&](kafka::writer& w, std::int16_t v) {
          // Null topics (v2+): every committed offset of the group, filtered below. Asking by
          // topic would need the partition numbers first.
          kafka::encode_offset_fetch_request({group, std::nullopt, false}, v, w);
        },
        kafka::decode_offset_fetch_response);
    if (!answer) return std::unexpected(answer.error());
    if (answer->error != error_code::none) return answer->error;
    out.clear();
    for (const auto& t : answer->topics) {
      if (topics && std::ranges::find(*topics, t.name) == topics->end()) continue;
      for (const auto& p : t.partitions) {
        if (p.error != error_code::none) {
          if (is_coordinator_retriable(p.error)) return p.error;
          partition_error = t.name + ":" + std::to_string(p.partition_index) + " " + code_text(p.error);
          continue;
        }
        if (p.committed_offset >= 0) out[{t.name, p.partition_index}] = p.committed_offset;
      }
    }
    return error_code::none;
  });
  if (!outcome) return std::unexpected(outcome.error());
  if (!partition_error.empty()) return std::unexpected("OffsetFetch for group " + quoted(group) + ": " + partition_error);
  return out;
}

namespace {

// The partitions of `topics` grouped by their leader's address; partitions without a leader and
// unknown topics go to `failures`.
struct leader_plan {
  std::map<kafka_address, std::map<std::string, std::vector<std::int32_t>>> by_leader;
  std::vector<std::string> failures;
};

std::expected<leader_plan, std::string> plan_by_leader(kafka_client& client, const std::vector<std::string>& topics) {
  auto md = client.metadata(topics);
  if (!md) return std::unexpected(md.error());
  std::map<std::int32_t, kafka_address> brokers;
  for (const auto& b : md->brokers) brokers[b.node_id] = {b.host, static_cast<std::uint16_t>(b.port)};
  leader_plan plan;
  for (const auto& t : md->topics) {
    const std::string name = t.name.value_or("?");
    if (t.error != error_code::none) {
      plan.failures.push_back("topic " + name + ": " + code_text(t.error));
      continue;
    }
    for (const auto& p : t.partitions) {
      const auto leader = brokers.find(p.leader_id);
      if (p.error != error_code::none || leader == brokers.end()) {
        plan.failures.push_back(name + ":" + std::to_string(p.partition_index) + " has no leader");
        continue;
      }
      plan.by_leader[leader->second][name].push_back(p.partition_index);
    }
  }
  return plan;
}

}  // namespace

std::expected<offsets_answer, std::string> list_partition_offsets(kafka_client& client,
                                                                  const std::vector<std::string>& topics,
                                                                  std::int64_t timestamp) {
  auto plan = plan_by_leader(client, topics);
  if (!plan) return std::unexpected(plan.error());
  offsets_answer out{{}, std::move(plan->failures)};
  for (const auto& [leader, partitions] : plan->by_leader) {
    auto answer = client.call<kafka::list_offsets_response>(
        leader, kafka::api_key::list_offsets, {1, kafka::list_offsets_versions.max},
        [&](kafka::writer& w, std::int16_t v) {
          kafka::list_offsets_request req;
          for (const auto& [topic, indexes] : partitions) {
            kafka::list_offsets_topic t{topic, {}};
            for (auto p : indexes) t.partitions.push_back({p, -1, timestamp, 1});
            req.topics.push_back(std::move(t));
          }
          kafka::encode_list_offsets_request(req, v, w);
        },
        kafka::decode_list_offsets_response);
    if (!answer) return std::unexpected(answer.error());
    for (const auto& t : answer->topics) {
      for (const auto& p : t.partitions) {
        if (p.error != error_code::none) {
          out.failures.push_back(t.name + ":" + std::to_string(p.partition_index) + " " + code_text(p.error) +
                                 " at " + leader.text());
          continue;
        }
        out.offsets[{t.name, p.partition_index}] = p.offset;
      }
    }
  }
  return out;
}

std::expected<void, std::string> commit_as_empty_group(kafka_client& client, const std::string& group,
                                                       const std::map<topic_partition, std::int64_t>& offsets) {
  std::string refusal;
  auto outcome = client.at_coordinator(group, [&](const kafka_address& at) -> std::expected<error_code, std::string> {
    auto answer = client.call<kafka::offset_commit_response>(
        at, kafka::api_key::offset_commit, {2, kafka::offset_commit_versions.max},
        [&](kafka::writer& w, std::int16_t v) {
          kafka::offset_commit_request req;
          req.group_id = group;
          req.generation_id = -1;  // not a member: Kafka's "simple" commit, for empty groups only
          for (const auto& [tp, offset] : offsets) {
            if (req.topics.empty() || req.topics.back().name != tp.first) req.topics.push_back({tp.first, {}});
            req.topics.back().partitions.push_back({tp.second, offset, -1, -1, std::string()});
          }
          kafka::encode_offset_commit_request(req, v, w);
        },
        kafka::decode_offset_commit_response);
    if (!answer) return std::unexpected(answer.error());
    for (const auto& t : answer->topics) {
      for (const auto& p : t.partitions) {
        if (p.error == error_code::none) continue;
        // The whole request fails alike on these: retry it at the new coordinator.
        if (is_coordinator_retriable(p.error)) return p.error;
        if (means_group_has_members(p.error)) {
          refusal = "group " + quoted(group) + " has active members (the coordinator answered " +
                    code_text(p.error) + "): offsets can only be reset while the group is empty; stop its consumers first";
          return error_code::none;
        }
        refusal = "OffsetCommit of " + t.name + ":" + std::to_string(p.partition_index) + " for group " +
                  quoted(group) + " answered " + code_text(p.error);
        return error_code::none;
      }
    }
    return error_code::none;
  });
  if (!outcome) return std::unexpected(outcome.error());
  if (!refusal.empty()) return std::unexpected(refusal);
  return {};
}

std::expected<void, std::string> delete_group(kafka_client& client, const std::string& group) {
  std::string refusal;
  auto outcome = client.at_coordinator(group, [&](const kafka_address& at) -> std::expected<error_code, std::string> {
    auto answer = client.call<kafka::delete_groups_response>(
        at, kafka::api_key::delete_groups, kafka::delete_groups_versions,
        [&](kafka::writer& w, std::int16_t v) { kafka::encode_delete_groups_request({{group}}, v, w); },
        kafka::decode_delete_groups_response);
    if (!answer) return std::unexpected(answer.error());
    if (answer->results.size() != 1) return std::unexpected("DeleteGroups from " + at.text() + " answered no group");
    const error_code e = answer->results.front().error;
    if (e == error_code::non_empty_group) {
      refusal = "group " + quoted(group) + " has active members (NON_EMPTY_GROUP): stop its consumers before deleting it";
    } else if (e == error_code::group_id_not_found) {
      refusal = "group " + quoted(group) + " does not exist";
    } else {
      return e;
    }
    return error_code::none;
  });
  if (!outcome) return std::unexpected(outcome.error());
  if (!refusal.empty()) return std::unexpected(refusal);
  return {};
}

}  // namespace chronik::daemon
