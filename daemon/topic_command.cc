#include "daemon/topic_command.h"

#include <iostream>
#include <limits>

#include <nlohmann/json.hpp>

#include "daemon/group_queries.h"
#include "daemon/kafka_client.h"
#include "daemon/topic_queries.h"

namespace chronik::daemon {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

int fail(const std::string& line, int code = exit_failed) {
  std::cerr << "chronik-server: " << line << "\n";
  return code;
}

void print_json(const nlohmann::json& doc) {
  std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

std::expected<kafka_address, std::string> bootstrap_of(const topic_command_options& opts) {
  auto at = parse_kafka_address(opts.bootstrap);
  if (!at) return std::unexpected("--bootstrap: \"" + opts.bootstrap + "\": " + at.error());
  return at;
}

// Fills in the log start and end offsets each leader answers; a partition it cannot answer keeps
// "-" and is named on stderr, as `group describe` does.
std::expected<void, std::string> add_offsets(kafka_client& client, topic_description& d) {
  for (const auto timestamp : {earliest_timestamp, latest_timestamp}) {
    auto answer = list_partition_offsets(client, {d.name}, timestamp);
    if (!answer) return std::unexpected(answer.error());
    for (const auto& f : answer->failures) {
      if (timestamp == latest_timestamp) std::cerr << "chronik-server: warning: " << f << "\n";
    }
    for (auto& p : d.partitions) {
      const auto it = answer->offsets.find({d.name, p.partition});
      if (it == answer->offsets.end()) continue;
      (timestamp == earliest_timestamp ? p.log_start : p.log_end) = it->second;
    }
  }
  return {};
}

std::expected<void, std::string> check_partition_count(const std::optional<std::int32_t>& n) {
  if (n && *n < 1) return std::unexpected("--partitions must be at least 1");
  return {};
}

}  // namespace

int run_topic_create(const topic_command_options& opts) {
  auto at = bootstrap_of(opts);
  if (!at) return fail(at.error(), exit_usage);
  if (!opts.partitions || !opts.replication_factor) {
    return fail("topic create needs --partitions N and --replication-factor R", exit_usage);
  }
  if (auto ok = check_partition_count(opts.partitions); !ok) return fail(ok.error(), exit_usage);
  if (*opts.replication_factor < 1 || *opts.replication_factor > std::numeric_limits<std::int16_t>::max()) {
    return fail("--replication-factor must be at least 1", exit_usage);
  }
  auto configs = parse_config_assignments(opts.configs);
  if (!configs) return fail(configs.error(), exit_usage);
  kafka_client client(*at);
  if (auto done = create_topic(client, opts.topic, *opts.partitions,
                               static_cast<std::int16_t>(*opts.replication_factor), *configs);
      !done) {
    return fail(done.error());
  }
  if (opts.json) {
    print_json({{"topic", opts.topic},
                {"created", true},
                {"partitions", *opts.partitions},
                {"replication_factor", *opts.replication_factor}});
  } else {
    std::cout << "Created topic " << opts.topic << " with " << *opts.partitions << " partitions, replication factor "
              << *opts.replication_factor << "\n";
  }
  return exit_ok;
}

int run_topic_list(const topic_command_options& opts) {
  auto at = bootstrap_of(opts);
  if (!at) return fail(at.error(), exit_usage);
  kafka_client client(*at);
  auto topics = list_topics(client);
  if (!topics) return fail(topics.error());
  if (opts.json) {
    print_json(topic_list_json(*topics));
  } else {
    std::cout << format_topic_list(*topics);
  }
  return exit_ok;
}

int run_topic_describe(const topic_command_options& opts) {
  auto at = bootstrap_of(opts);
  if (!at) return fail(at.error(), exit_usage);
  kafka_client client(*at);
  auto d = describe_topic_layout(client, opts.topic);
  if (!d) return fail(d.error());
  if (auto ok = add_offsets(client, *d); !ok) return fail(ok.error());
  auto configs = describe_topic_configs(client, opts.topic);
  if (!configs) return fail(configs.error());
  d->configs = std::move(*configs);
  if (opts.json) {
    print_json(topic_description_json(*d));
  } else {
    std::cout << format_topic_description(*d);
  }
  return exit_ok;
}

int run_topic_alter(const topic_command_options& opts) {
  auto at = bootstrap_of(opts);
  if (!at) return fail(at.error(), exit_usage);
  if (!opts.partitions && opts.configs.empty() && opts.delete_configs.empty()) {
    return fail("topic alter needs --partitions N, --config K=V or --delete-config K", exit_usage);
  }
  if (auto ok = check_partition_count(opts.partitions); !ok) return fail(ok.error(), exit_usage);
  auto configs = parse_config_assignments(opts.configs);
  if (!configs) return fail(configs.error(), exit_usage);
  for (const auto& name : opts.delete_configs) {
    if (name.empty() || name.find('=') != std::string::npos) {
      return fail("--delete-config \"" + name + "\": expected a config name", exit_usage);
    }
  }
  kafka_client client(*at);
  nlohmann::json report{{"topic", opts.topic}};
  if (opts.partitions) {
    if (auto done = grow_partitions(client, opts.topic, *opts.partitions); !done) return fail(done.error());
    report["partitions"] = *opts.partitions;
    if (!opts.json) std::cout << "Topic " << opts.topic << " now has " << *opts.partitions << " partitions\n";
  }
  if (!configs->empty() || !opts.delete_configs.empty()) {
    if (auto done = alter_topic_configs(client, opts.topic, *configs, opts.delete_configs); !done) {
      return fail(done.error());
    }
    nlohmann::json set = nlohmann::json::object();
    for (const auto& [k, v] : *configs) set[k] = v;
    report["configs_set"] = std::move(set);
    report["configs_deleted"] = opts.delete_configs;
    if (!opts.json) {
      for (const auto& [k, v] : *configs) std::cout << "Set " << k << "=" << v << " on topic " << opts.topic << "\n";
      for (const auto& k : opts.delete_configs) std::cout << "Deleted " << k << " from topic " << opts.topic << "\n";
    }
  }
  if (opts.json) print_json(report);
  return exit_ok;
}

int run_topic_delete(const topic_command_options& opts) {
  auto at = bootstrap_of(opts);
  if (!at) return fail(at.error(), exit_usage);
  kafka_client client(*at);
  if (auto done = delete_topic(client, opts.topic); !done) return fail(done.error());
  if (opts.json) {
    print_json({{"topic", opts.topic}, {"deleted", true}});
  } else {
    std::cout << "Deleted topic " << opts.topic << "\n";
  }
  return exit_ok;
}

}  // namespace chronik::daemon
