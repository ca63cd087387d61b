#include "daemon/group_report.h"

#include <algorithm>
#include <charconv>
#include <set>

#include <nlohmann/json.hpp>

#include "kafka/protocol/wire.h"

namespace chronik::daemon {

namespace {

std::string text_or_dash(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "-"; }
std::string text_or_dash(const std::string& v) { return v.empty() ? "-" : v; }

nlohmann::json json_or_null(const std::optional<std::int64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::optional<std::int32_t> parse_partition(std::string_view text) {
  std::int32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

std::expected<consumer_assignment, std::string> decode_consumer_assignment(std::string_view bytes) {
  consumer_assignment out;
  if (bytes.empty()) return out;
  kafka::reader r(bytes);
  out.version = r.read_int16();
  if (r.ok() && out.version < 0) return std::unexpected("negative assignment version " + std::to_string(out.version));
  // The array's count was checked against the remaining bytes by the reader, which bounds the loop.
  const std::int32_t topics = r.read_count(kafka::framing::classic);
  for (std::int32_t i = 0; i < topics && r.ok(); ++i) {
    std::string topic = r.read_string();
    const std::int32_t count = r.read_count(kafka::framing::classic);
    std::vector<std::int32_t> partitions;
    for (std::int32_t j = 0; j < count && r.ok(); ++j) partitions.push_back(r.read_int32());
    out.partitions.emplace_back(std::move(topic), std::move(partitions));
  }
  out.user_data = r.read_nullable_bytes();
  if (!r.ok()) return std::unexpected("assignment does not decode: " + kafka::describe(*r.error()));
  return out;
}

std::string encode_consumer_assignment(const consumer_assignment& a) {
  kafka::writer w;
  w.write_int16(a.version);
  w.write_array_length(static_cast<std::int32_t>(a.partitions.size()));
  for (const auto& [topic, partitions] : a.partitions) {
    w.write_string(topic);
    w.write_array_length(static_cast<std::int32_t>(partitions.size()));
    for (auto p : partitions) w.write_int32(p);
  }
  w.write_nullable_bytes(a.user_data);
  return w.take();
}

std::optional<std::int64_t> consumer_lag(std::optional<std::int64_t> committed, std::optional<std::int64_t> log_end) {
  if (!committed || !log_end) return std::nullopt;
  return *log_end - *committed;
}

std::vector<partition_row> join_partitions(const std::vector<group_member>& members,
                                           const std::map<topic_partition, std::int64_t>& committed,
                                           const std::map<topic_partition, std::int64_t>& log_end) {
  std::map<topic_partition, partition_row> rows;
  auto row_for = [&rows](const topic_partition& tp) -> partition_row& {
    auto& row = rows[tp];
    row.topic = tp.first;
    row.partition = tp.second;
    return row;
  };
  for (const auto& m : members) {
    for (const auto& tp : m.assignment) {
      auto& row = row_for(tp);
      row.member_id = m.member_id;
      row.host = m.host;
      row.client_id = m.client_id;
    }
  }
  for (const auto& [tp, offset] : committed) row_for(tp).committed = offset;
  std::vector<partition_row> out;
  out.reserve(rows.size());
  for (auto& [tp, row] : rows) {
    if (auto it = log_end.find(tp); it != log_end.end()) row.log_end = it->second;
    row.lag = consumer_lag(row.committed, row.log_end);
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<std::string> topics_of(const std::vector<group_member>& members,
                                   const std::map<topic_partition, std::int64_t>& committed) {
  std::set<std::string> topics;
  for (const auto& m : members) {
    for (const auto& tp : m.assignment) topics.insert(tp.first);
  }
  for (const auto& [tp, offset] : committed) topics.insert(tp.first);
  return {topics.begin(), topics.end()};
}

std::expected<topic_selector, std::string> parse_topic_selector(std::string_view text) {
  topic_selector out;
  const auto colon = text.find(':');
  out.topic = std::string(text.substr(0, colon));
  if (out.topic.empty()) return std::unexpected("--topic: empty topic name");
  if (colon == std::string_view::npos) return out;
  std::string_view rest = text.substr(colon + 1);
  // Each turn consumes one comma-separated piece, so the loop ends with the text.
  while (true) {
    const auto comma = rest.find(',');
    const auto piece = rest.substr(0, comma);
    const auto p = parse_partition(piece);
    if (!p) return std::unexpected("--topic: \"" + std::string(piece) + "\" is not a partition number");
    out.partitions.push_back(*p);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  std::ranges::sort(out.partitions);
  const auto dup = std::ranges::unique(out.partitions);
  out.partitions.erase(dup.begin(), dup.end());
  return out;
}

std::expected<std::map<topic_partition, partition_bounds>, std::string> select_partitions(
    const std::vector<topic_selector>& selectors, const std::map<topic_partition, std::int64_t>& earliest,
    const std::map<topic_partition, std::int64_t>& latest) {
  std::map<topic_partition, partition_bounds> out;
  auto add = [&](const topic_partition& tp) -> std::expected<void, std::string> {
    const auto first = earliest.find(tp);
    const auto last = latest.find(tp);
    if (first == earliest.end() || last == latest.end()) {
      return std::unexpected("topic " + tp.first + " has no partition " + std::to_string(tp.second) +
                             " with known offsets");
    }
    out[tp] = {first->second, last->second};
    return {};
  };
  for (const auto& s : selectors) {
    std::vector<topic_partition> chosen;
    if (s.partitions.empty()) {
      for (const auto& [tp, offset] : earliest) {
        if (tp.first == s.topic) chosen.push_back(tp);
      }
      if (chosen.empty()) return std::unexpected("topic " + s.topic + " has no partition with known offsets");
    }
    for (auto p : s.partitions) chosen.emplace_back(s.topic, p);
    for (const auto& tp : chosen) {
      if (auto done = add(tp); !done) return std::unexpected(done.error());
    }
  }
  return out;
}

std::vector<reset_row> plan_reset(const reset_spec& spec, const std::map<topic_partition, partition_bounds>& bounds,
                                  const std::map<topic_partition, std::int64_t>& committed) {
  std::vector<reset_row> out;
  out.reserve(bounds.size());
  for (const auto& [tp, b] : bounds) {
    reset_row row{tp.first, tp.second, std::nullopt, 0};
    if (auto it = committed.find(tp); it != committed.end()) row.current = it->second;
    switch (spec.target) {
      case reset_target::earliest: row.target = b.earliest; break;
      case reset_target::latest: row.target = b.latest; break;
      case reset_target::offset: row.target = std::clamp(spec.offset, b.earliest, std::max(b.earliest, b.latest)); break;
    }
    out.push_back(std::move(row));
  }
  return out;
}

std::string render_table(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return "";
  const std::size_t columns = rows.front().size();
  std::vector<std::size_t> width(columns, 0);
  for (const auto& r : rows) {
    for (std::size_t c = 0; c < columns && c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c < columns; ++c) {
      const std::string& cell = c < r.size() ? r[c] : std::string();
      line += cell;
      if (c + 1 < columns) line.append(width[c] - cell.size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string format_group_list(const std::vector<group_listing>& groups) {
  std::vector<std::vector<std::string>> rows{{"GROUP", "STATE", "PROTOCOL-TYPE"}};
  for (const auto& g : groups) rows.push_back({g.group_id, text_or_dash(g.state), text_or_dash(g.protocol_type)});
  return render_table(rows);
}

nlohmann::json group_list_json(const std::vector<group_listing>& groups) {
  auto out = nlohmann::json::array();
  for (const auto& g : groups) {
    out.push_back({{"group", g.group_id}, {"state", g.state}, {"protocol_type", g.protocol_type}});
  }
  return out;
}

std::string format_group_description(const group_description& d) {
  std::string out = "GROUP " + d.group_id + "  STATE " + text_or_dash(d.state) + "  PROTOCOL " +
                    text_or_dash(d.protocol_type) + "/" + text_or_dash(d.protocol) + "  MEMBERS " +
                    std::to_string(d.members.size()) + "\n\n";
  std::vector<std::vector<std::string>> members{{"CONSUMER-ID", "INSTANCE-ID", "HOST", "CLIENT-ID", "ASSIGNMENT"}};
  for (const auto& m : d.members) {
    std::string assignment;
    for (const auto& [topic, partition] : m.assignment) {
      assignment += (assignment.empty() ? "" : ",") + topic + ":" + std::to_string(partition);
    }
    if (!m.assignment_error.empty()) assignment = "(" + m.assignment_error + ")";
    members.push_back({m.member_id, m.instance_id.value_or("-"), text_or_dash(m.host), text_or_dash(m.client_id),
                       text_or_dash(assignment)});
  }
  if (!d.members.empty()) out += render_table(members) + "\n";
  std::vector<std::vector<std::string>> rows{
      {"TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"}};
  for (const auto& p : d.partitions) {
    rows.push_back({p.topic, std::to_string(p.partition), text_or_dash(p.committed), text_or_dash(p.log_end),
                    text_or_dash(p.lag), text_or_dash(p.member_id), text_or_dash(p.host), text_or_dash(p.client_id)});
  }
  return out + render_table(rows);
}

nlohmann::json group_description_json(const group_description& d) {
  auto members = nlohmann::json::array();
  for (const auto& m : d.members) {
    auto assignment = nlohmann::json::array();
    for (const auto& [topic, partition] : m.assignment) assignment.push_back({{"topic", topic}, {"partition", partition}});
    nlohmann::json j{{"member_id", m.member_id}, {"client_id", m.client_id}, {"host", m.host}, {"assignment", assignment}};
    j["instance_id"] = m.instance_id ? nlohmann::json(*m.instance_id) : nlohmann::json(nullptr);
    if (!m.assignment_error.empty()) j["assignment_error"] = m.assignment_error;
    members.push_back(std::move(j));
  }
  auto partitions = nlohmann::json::array();
  for (const auto& p : d.partitions) {
    partitions.push_back({{"topic", p.topic}, {"partition", p.partition}, {"committed", json_or_null(p.committed)},
                          {"log_end", json_or_null(p.log_end)}, {"lag", json_or_null(p.lag)},
                          {"member_id", p.member_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.member_id)}});
  }
  return {{"group", d.group_id},    {"state", d.state},     {"protocol_type", d.protocol_type},
          {"protocol", d.protocol}, {"members", members}, {"partitions", partitions}};
}

std::string format_reset_plan(const std::string& group, const std::vector<reset_row>& rows) {
  std::vector<std::vector<std::string>> table{{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"}};
  for (const auto& r : rows) {
    table.push_back({group, r.topic, std::to_string(r.partition), text_or_dash(r.current), std::to_string(r.target)});
  }
  return render_table(table);
}

nlohmann::json reset_plan_json(const std::string& group, const std::vector<reset_row>& rows, bool executed) {
  auto partitions = nlohmann::json::array();
  for (const auto& r : rows) {
    partitions.push_back({{"topic", r.topic}, {"partition", r.partition}, {"current", json_or_null(r.current)},
                          {"new", r.target}});
  }
  return {{"group", group}, {"executed", executed}, {"partitions", partitions}};
}

}  // namespace chronik::daemon
