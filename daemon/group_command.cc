#include "daemon/group_command.h"

#include <iostream>

#include <nlohmann/json.hpp>

#include "daemon/group_queries.h"
#include "daemon/group_report.h"
#include "daemon/kafka_client.h"

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

std::expected<kafka_address, std::string> bootstrap_of(const group_command_options& opts) {
  auto at = parse_kafka_address(opts.bootstrap);
  if (!at) return std::unexpected("--bootstrap: \"" + opts.bootstrap + "\": " + at.error());
  return at;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "; ") + l;
  return out;
}

// Kafka's tool reports a group that neither has members nor committed offsets as missing.
bool group_missing(const group_state_view& view, const std::map<topic_partition, std::int64_t>& committed) {
  return (view.state == "Dead" || view.state.empty()) && view.members.empty() && committed.empty();
}

std::expected<reset_spec, std::string> reset_spec_of(const group_command_options& opts) {
  const int targets = (opts.to_earliest ? 1 : 0) + (opts.to_latest ? 1 : 0) + (opts.to_offset ? 1 : 0);
  if (targets != 1) return std::unexpected("give exactly one of --to-earliest, --to-latest, --to-offset N");
  if (opts.to_earliest) return reset_spec{reset_target::earliest, 0};
  if (opts.to_latest) return reset_spec{reset_target::latest, 0};
  if (*opts.to_offset < 0) return std::unexpected("--to-offset must be >= 0");
  return reset_spec{reset_target::offset, *opts.to_offset};
}

// Earliest and latest offsets of every selected partition; all must be known to plan a reset.
std::expected<std::map<topic_partition, partition_bounds>, std::string> selected_bounds(
    kafka_client& client, const std::vector<topic_selector>& selectors) {
  std::vector<std::string> topics;
  for (const auto& s : selectors) topics.push_back(s.topic);
  auto earliest = list_partition_offsets(client, topics, earliest_timestamp);
  if (!earliest) return std::unexpected(earliest.error());
  auto latest = list_partition_offsets(client, topics, latest_timestamp);
  if (!latest) return std::unexpected(latest.error());
  if (!earliest->failures.empty()) return std::unexpected(join(earliest->failures));
  if (!latest->failures.empty()) return std::unexpected(join(latest->failures));
  return select_partitions(selectors, earliest->offsets, latest->offsets);
}

}  // namespace

int run_group_list(const group_command_options& opts) {
  auto at = bootstrap_of(opts);
  if (!at) return fail(at.error(), exit_usage);
  kafka_client client(*at);
  auto groups = list_groups(client);
  if (!groups) return fail(groups.error());
  if (opts.json) {
    print_json(group_list_json(*groups));
  } else {
    std::cout << format_group_list(*groups);
  }
  return exit_ok;
}

int run_group_describe(const group_command_options& opts) {
  auto at = bootstrap_of(opts);
  if (!at) return fail(at.error(), exit_usage);
  kafka_client client(*at);
  auto view = describe_group(client, opts.group);
  if (!view) return fail(view.error());
  auto committed = fetch_committed(client, opts.group, std::nullopt);
  if (!committed) return fail(committed.error());
  if (group_missing(*view, *committed)) return fail("group \"" + opts.group + "\" does not exist");

  const auto topics = topics_of(view->members, *committed);
  std::map<topic_partition, std::int64_t> log_end;
  if (!topics.empty()) {
    auto ends = list_partition_offsets(client, topics, latest_timestamp);
    if (!ends) return fail(ends.error());
    // A partition without a leader shows "-" as its log end, as in Kafka's tool; say why.
    for (const auto& f : ends->failures) std::cerr << "chronik-server: warning: " << f << "\n";
    log_end = std::move(ends->offsets);
  }
  group_description d{opts.group, view->state, view->protocol_type, view->protocol, std::move(view->members), {}};
  d.partitions = join_partitions(d.members, *committed, log_end);
  if (opts.json) {
    print_json(group_description_json(d));
  } else {
    std::cout << format_group_description(d);
  }
  return exit_ok;
}

int run_group_reset_offsets(const group_command_options& opts) {
  auto at = bootstrap_of(opts);
  if (!at) return fail(at.error(), exit_usage);
  auto spec = reset_spec_of(opts);
  if (!spec) return fail(spec.error(), exit_usage);
  if (opts.topics.empty()) return fail("give at least one --topic TOPIC[:P,Q,...]", exit_usage);
  std::vector<topic_selector> selectors;
  for (const auto& t : opts.topics) {
    auto s = parse_topic_selector(t);
    if (!s) return fail(s.error(), exit_usage);
    selectors.push_back(std::move(*s));
  }

  kafka_client client(*at);
  auto view = describe_group(client, opts.group);
  if (!view) return fail(view.error());
  // Checked before planning, as Kafka's tool does; the coordinator checks again at the commit.
  if (opts.execute && !view->members.empty()) {
    return fail("group \"" + opts.group + "\" has " + std::to_string(view->members.size()) +
                " active members (state " + view->state +
                "): offsets can only be reset while the group is empty; stop its consumers first");
  }
  auto bounds = selected_bounds(client, selectors);
  if (!bounds) return fail(bounds.error());
  std::vector<std::string> topics;
  for (const auto& s : selectors) topics.push_back(s.topic);
  auto committed = fetch_committed(client, opts.group, topics);
  if (!committed) return fail(committed.error());
  const auto plan = plan_reset(*spec, *bounds, *committed);

  if (opts.execute) {
    std::map<topic_partition, std::int64_t> offsets;
    for (const auto& r : plan) offsets[{r.topic, r.partition}] = r.target;
    if (auto done = commit_as_empty_group(client, opts.group, offsets); !done) return fail(done.error());
  }
  if (opts.json) {
    print_json(reset_plan_json(opts.group, plan, opts.execute));
  } else {
    std::cout << format_reset_plan(opts.group, plan);
  }
  if (!opts.execute) std::cerr << "chronik-server: dry run, nothing committed: add --execute to commit these offsets\n";
  return exit_ok;
}

int run_group_delete(const group_command_options& opts) {
  auto at = bootstrap_of(opts);
  if (!at) return fail(at.error(), exit_usage);
  kafka_client client(*at);
  if (auto done = delete_group(client, opts.group); !done) return fail(done.error());
  if (opts.json) {
    print_json({{"group", opts.group}, {"deleted", true}});
  } else {
    std::cout << "Deleted group " << opts.group << "\n";
  }
  return exit_ok;
}

}  // namespace chronik::daemon
