#include "daemon/topic_queries.h"

#include <algorithm>
#include <cstdio>

#include "kafka/protocol/field_values.h"
#include "kafka/protocol/messages/create_partitions.h"
#include "kafka/protocol/messages/create_topics.h"
#include "kafka/protocol/messages/delete_topics.h"
#include "kafka/protocol/messages/describe_configs.h"
#include "kafka/protocol/messages/incremental_alter_configs.h"

namespace chronik::daemon {

namespace {

using kafka::error_code;

// The broker waits this long for `__meta` to apply a topic change before it answers
// REQUEST_TIMED_OUT; below the client's own request timeout, so the answer arrives.
constexpr std::int32_t broker_timeout_ms = 8000;

std::string quoted(const std::string& topic) { return "\"" + topic + "\""; }

// "TOPIC_ALREADY_EXISTS: Topic 'x' already exists." or just the code's name.
std::string refusal(error_code e, const std::optional<std::string>& message) {
  std::string out(kafka::to_string(e));
  if (message && !message->empty()) out += ": " + *message;
  return out;
}

std::string hex_of(const kafka::uuid& id) {
  if (std::ranges::all_of(id, [](std::uint8_t b) { return b == 0; })) return {};
  std::string out;
  char buf[3];
  for (auto b : id) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    out += buf;
  }
  return out;
}

}  // namespace

std::expected<std::vector<topic_summary>, std::string> list_topics(kafka_client& client) {
  auto md = client.metadata(std::nullopt);
  if (!md) return std::unexpected(md.error());
  std::vector<topic_summary> out;
  for (const auto& t : md->topics) {
    if (t.error != error_code::none || !t.name) continue;
    topic_summary s{*t.name, static_cast<std::int32_t>(t.partitions.size()), 0, t.is_internal};
    for (const auto& p : t.partitions) {
      s.replication_factor = std::max(s.replication_factor, static_cast<std::int32_t>(p.replica_nodes.size()));
    }
    out.push_back(std::move(s));
  }
  std::ranges::sort(out, {}, &topic_summary::name);
  return out;
}

std::expected<topic_description, std::string> describe_topic_layout(kafka_client& client, const std::string& topic) {
  auto md = client.metadata(std::vector<std::string>{topic});
  if (!md) return std::unexpected(md.error());
  const auto it = std::ranges::find_if(md->topics, [&topic](const auto& t) { return t.name == topic; });
  if (it == md->topics.end() || it->error == error_code::unknown_topic_or_partition) {
    return std::unexpected("topic " + quoted(topic) + " does not exist");
  }
  if (it->error != error_code::none) {
    return std::unexpected("Metadata for topic " + quoted(topic) + " answered " + std::string(kafka::to_string(it->error)));
  }
  topic_description d{topic, hex_of(it->topic_id), it->is_internal, {}, {}};
  for (const auto& p : it->partitions) {
    partition_detail row;
    row.partition = p.partition_index;
    row.leader = p.leader_id;
    row.replicas = p.replica_nodes;
    row.isr = p.isr_nodes;
    row.offline = p.offline_replicas;
    std::ranges::sort(row.isr);
    d.partitions.push_back(std::move(row));
  }
  std::ranges::sort(d.partitions, {}, &partition_detail::partition);
  return d;
}

std::expected<std::vector<topic_config_entry>, std::string> describe_topic_configs(kafka_client& client,
                                                                                  const std::string& topic) {
  auto answer = client.call<kafka::describe_configs_response>(
      client.bootstrap(), kafka::api_key::describe_configs, {1, kafka::describe_configs_versions.max},
      [&](kafka::writer& w, std::int16_t v) {
        kafka::describe_configs_request req;
        req.resources.push_back({kafka::config_resource_type::topic, topic, std::nullopt});
        kafka::encode_describe_configs_request(req, v, w);
      },
      kafka::decode_describe_configs_response);
  if (!answer) return std::unexpected(answer.error());
  if (answer->results.size() != 1) return std::unexpected("DescribeConfigs answered no resource");
  const auto& r = answer->results.front();
  if (r.error != error_code::none) {
    return std::unexpected("DescribeConfigs of topic " + quoted(topic) + ": " + refusal(r.error, r.error_message));
  }
  std::vector<topic_config_entry> out;
  for (const auto& c : r.configs) {
    out.push_back({c.name, c.is_sensitive ? std::nullopt : c.value, config_source_name(c.config_source), c.read_only});
  }
  std::ranges::sort(out, {}, &topic_config_entry::name);
  return out;
}

std::expected<void, std::string> create_topic(kafka_client& client, const std::string& topic, std::int32_t partitions,
                                              std::int16_t replication_factor, const config_pairs& configs) {
  auto answer = client.call<kafka::create_topics_response>(
      client.bootstrap(), kafka::api_key::create_topics, kafka::create_topics_versions,
      [&](kafka::writer& w, std::int16_t v) {
        kafka::creatable_topic t;
        t.name = topic;
        t.num_partitions = partitions;
        t.replication_factor = replication_factor;
        for (const auto& [name, value] : configs) t.configs.push_back({name, value});
        kafka::create_topics_request req;
        req.topics.push_back(std::move(t));
        req.timeout_ms = broker_timeout_ms;
        kafka::encode_create_topics_request(req, v, w);
      },
      kafka::decode_create_topics_response);
  if (!answer) return std::unexpected(answer.error());
  if (answer->topics.size() != 1) return std::unexpected("CreateTopics answered no topic");
  const auto& r = answer->topics.front();
  if (r.error != error_code::none) {
    return std::unexpected("cannot create topic " + quoted(topic) + ": " + refusal(r.error, r.error_message));
  }
  return {};
}

std::expected<void, std::string> delete_topic(kafka_client& client, const std::string& topic) {
  auto answer = client.call<kafka::delete_topics_response>(
      client.bootstrap(), kafka::api_key::delete_topics, kafka::delete_topics_versions,
      [&](kafka::writer& w, std::int16_t v) {
        kafka::delete_topics_request req;
        req.topic_names = {topic};                  // v0-5
        req.topics = {{topic, kafka::uuid{}}};      // v6+
        req.timeout_ms = broker_timeout_ms;
        kafka::encode_delete_topics_request(req, v, w);
      },
      kafka::decode_delete_topics_response);
  if (!answer) return std::unexpected(answer.error());
  if (answer->responses.size() != 1) return std::unexpected("DeleteTopics answered no topic");
  const auto& r = answer->responses.front();
  if (r.error == error_code::unknown_topic_or_partition) return std::unexpected("topic " + quoted(topic) + " does not exist");
  if (r.error != error_code::none) {
    return std::unexpected("cannot delete topic " + quoted(topic) + ": " + refusal(r.error, r.error_message));
  }
  return {};
}

std::expected<void, std::string> grow_partitions(kafka_client& client, const std::string& topic, std::int32_t count) {
  auto answer = client.call<kafka::create_partitions_response>(
      client.bootstrap(), kafka::api_key::create_partitions, kafka::create_partitions_versions,
      [&](kafka::writer& w, std::int16_t v) {
        kafka::create_partitions_request req;
        req.topics.push_back({topic, count, std::nullopt});
        req.timeout_ms = broker_timeout_ms;
        kafka::encode_create_partitions_request(req, v, w);
      },
      kafka::decode_create_partitions_response);
  if (!answer) return std::unexpected(answer.error());
  if (answer->results.size() != 1) return std::unexpected("CreatePartitions answered no topic");
  const auto& r = answer->results.front();
  if (r.error == error_code::unknown_topic_or_partition) return std::unexpected("topic " + quoted(topic) + " does not exist");
  if (r.error != error_code::none) {
    return std::unexpected("cannot grow topic " + quoted(topic) + " to " + std::to_string(count) +
                           " partitions: " + refusal(r.error, r.error_message));
  }
  return {};
}

std::expected<void, std::string> alter_topic_configs(kafka_client& client, const std::string& topic,
                                                     const config_pairs& set, const std::vector<std::string>& remove) {
  auto answer = client.call<kafka::incremental_alter_configs_response>(
      client.bootstrap(), kafka::api_key::incremental_alter_configs, kafka::incremental_alter_configs_versions,
      [&](kafka::writer& w, std::int16_t v) {
        kafka::incremental_alter_configs_resource res{kafka::config_resource_type::topic, topic, {}};
        for (const auto& [name, value] : set) res.configs.push_back({name, kafka::config_operation::set, value});
        for (const auto& name : remove) res.configs.push_back({name, kafka::config_operation::remove, std::nullopt});
        kafka::incremental_alter_configs_request req;
        req.resources.push_back(std::move(res));
        kafka::encode_incremental_alter_configs_request(req, v, w);
      },
      kafka::decode_incremental_alter_configs_response);
  if (!answer) return std::unexpected(answer.error());
  if (answer->responses.size() != 1) return std::unexpected("IncrementalAlterConfigs answered no resource");
  const auto& r = answer->responses.front();
  if (r.error == error_code::unknown_topic_or_partition) return std::unexpected("topic " + quoted(topic) + " does not exist");
  if (r.error != error_code::none) {
    return std::unexpected("cannot change the configs of topic " + quoted(topic) + ": " + refusal(r.error, r.error_message));
  }
  return {};
}

}  // namespace chronik::daemon
