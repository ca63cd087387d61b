#include "kafka/handlers/topic_config_schema.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

namespace chronik::kafka {
namespace {

using enum config_type;
using enum config_support;

constexpr std::int64_t int32_max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t int32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::string_view long_max = "9223372036854775807";

constexpr std::array<std::string_view, 2> cleanup_policies{"compact", "delete"};
constexpr std::array<std::string_view, 6> compression_types{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"};
constexpr std::array<std::string_view, 2> timestamp_types{"CreateTime", "LogAppendTime"};

// Kafka's LogConfig definitions (types, defaults, validators) and ServerTopicConfigSynonyms; the
// defaults of the keys chronik enforces are the ones it has always reported. Sorted by name.
constexpr std::array keys{
    topic_config_key{"cleanup.policy", list, "delete", 0, 0, cleanup_policies, enforced, "log.cleanup.policy",
                     "delete: retention drops old records; compact: the last record of every key stays; both: both."},
    topic_config_key{"compression.gzip.level", int32, "-1", -1, 9, {}, no_effect, "compression.gzip.level",
                     "Level for broker-side gzip; chronik stores batches as produced."},
    topic_config_key{"compression.lz4.level", int32, "9", 1, 17, {}, no_effect, "compression.lz4.level",
                     "Level for broker-side lz4; chronik stores batches as produced."},
    topic_config_key{"compression.type", string, "producer", 0, 0, compression_types, default_only, "compression.type",
                     "producer: batches are stored compressed as the producer sent them."},
    topic_config_key{"compression.zstd.level", int32, "3", -131072, 22, {}, no_effect, "compression.zstd.level",
                     "Level for broker-side zstd; chronik stores batches as produced."},
    topic_config_key{"delete.retention.ms", int64, "86400000", 0, INT64_MAX, {}, enforced,
                     "log.cleaner.delete.retention.ms", "How long a compacted topic keeps a key's last tombstone."},
    topic_config_key{"file.delete.delay.ms", int64, "60000", 0, INT64_MAX, {}, no_effect, "log.segment.delete.delay.ms",
                     "Delay before deleting a segment file; chronik has no segment files."},
    topic_config_key{"flush.messages", int64, long_max, 1, INT64_MAX, {}, no_effect, "log.flush.interval.messages",
                     "chronik fsyncs every entry before it is acknowledged."},
    topic_config_key{"flush.ms", int64, long_max, 0, INT64_MAX, {}, no_effect, "log.flush.interval.ms",
                     "chronik fsyncs every entry before it is acknowledged."},
    topic_config_key{"follower.replication.throttled.replicas", list, "", 0, 0, {}, no_effect, "",
                     "Replication throttles are not applied."},
    topic_config_key{"index.interval.bytes", int32, "4096", 0, int32_max, {}, no_effect, "log.index.interval.bytes",
                     "chronik indexes every entry."},
    topic_config_key{"leader.replication.throttled.replicas", list, "", 0, 0, {}, no_effect, "",
                     "Replication throttles are not applied."},
    topic_config_key{"local.retention.bytes", int64, "-2", -2, INT64_MAX, {}, no_effect, "log.local.retention.bytes",
                     "Tiered storage only."},
    topic_config_key{"local.retention.ms", int64, "-2", -2, INT64_MAX, {}, no_effect, "log.local.retention.ms",
                     "Tiered storage only."},
    topic_config_key{"max.compaction.lag.ms", int64, long_max, 1, INT64_MAX, {}, enforced,
                     "log.cleaner.max.compaction.lag.ms", "A compacted stretch this old is cleaned whatever the dirty ratio."},
    topic_config_key{"max.message.bytes", int32, "1048588", 0, int32_max, {}, enforced, "message.max.bytes",
                     "The largest record batch a producer may write to a partition."},
    topic_config_key{"message.timestamp.after.max.ms", int64, long_max, 0, INT64_MAX, {}, enforced,
                     "log.message.timestamp.after.max.ms", "How far after the leader's clock a CreateTime record may lie."},
    topic_config_key{"message.timestamp.before.max.ms", int64, long_max, 0, INT64_MAX, {}, enforced,
                     "log.message.timestamp.before.max.ms", "How far before the leader's clock a CreateTime record may lie."},
    topic_config_key{"message.timestamp.difference.max.ms", int64, long_max, 0, INT64_MAX, {}, enforced,
                     "log.message.timestamp.difference.max.ms", "Kafka 3's single bound on both sides (KIP-937 replaced it)."},
    topic_config_key{"message.timestamp.type", string, "CreateTime", 0, 0, timestamp_types, enforced,
                     "log.message.timestamp.type", "CreateTime keeps the producer's timestamps; LogAppendTime uses the leader's clock."},
    topic_config_key{"min.cleanable.dirty.ratio", float64, "0.5", 0, 1, {}, enforced, "log.cleaner.min.cleanable.ratio",
                     "The share of a compacted log not yet cleaned that makes it worth cleaning."},
    topic_config_key{"min.compaction.lag.ms", int64, "0", 0, INT64_MAX, {}, enforced,
                     "log.cleaner.min.compaction.lag.ms", "A record of a compacted topic stays uncleaned at least this long."},
    topic_config_key{"min.insync.replicas", int32, "1", 1, int32_max, {}, no_effect, "min.insync.replicas",
                     "acks=all waits for a Raft majority of the replicas, whatever this says."},
    topic_config_key{"preallocate", boolean, "false", 0, 0, {}, no_effect, "log.preallocate",
                     "chronik has no segment files to preallocate."},
    topic_config_key{"remote.log.copy.disable", boolean, "false", 0, 0, {}, no_effect, "", "Tiered storage only."},
    topic_config_key{"remote.log.delete.on.disable", boolean, "false", 0, 0, {}, no_effect, "", "Tiered storage only."},
    topic_config_key{"remote.storage.enable", boolean, "false", 0, 0, {}, default_only, "",
                     "Tiered storage is not implemented."},
    topic_config_key{"retention.bytes", int64, "-1", INT64_MIN, INT64_MAX, {}, enforced, "log.retention.bytes",
                     "Each replica drops its oldest entries while the partition holds more; -1: no limit."},
    topic_config_key{"retention.ms", int64, "604800000", -1, INT64_MAX, {}, enforced, "log.retention.ms",
                     "Each replica drops entries whose newest record is older; -1: forever."},
    topic_config_key{"segment.bytes", int32, "1073741824", 1048576, int32_max, {}, enforced, "log.segment.bytes",
                     "No segment files; a compacted topic cleans a stretch of this many bytes, as a rolled segment."},
    topic_config_key{"segment.index.bytes", int32, "10485760", 4, int32_max, {}, no_effect, "log.index.size.max.bytes",
                     "The partition's Raft log is its storage: there are no segment indexes."},
    topic_config_key{"segment.jitter.ms", int64, "0", 0, INT64_MAX, {}, no_effect, "log.roll.jitter.ms",
                     "The partition's Raft log is its storage: there are no segments."},
    topic_config_key{"segment.ms", int64, "604800000", 1, INT64_MAX, {}, enforced, "log.roll.ms",
                     "No segment files; a compacted topic cleans a stretch once its oldest entry is this old."},
    topic_config_key{"unclean.leader.election.enable", boolean, "false", 0, 0, {}, default_only,
                     "unclean.leader.election.enable", "Raft never elects a replica that lacks committed entries."},
};

constexpr bool sorted_by_name() {
  for (std::size_t i = 1; i < keys.size(); ++i)
    if (!(keys[i - 1].name < keys[i].name)) return false;
  return true;
}
static_assert(sorted_by_name(), "topic config keys are listed by name");

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// Decimal digits after an optional '-', exactly as the partition replicas read the value
// (partition_config::from_topic): Kafka would also trim spaces and take a '+', but a value stored
// that way would be accepted here and then ignored by the replicas, so it is refused instead.
std::optional<std::int64_t> parse_long(std::string_view v) {
  std::int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size()) return std::nullopt;
  return out;
}

std::optional<double> parse_double(std::string_view v) {
  double out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || !std::isfinite(out)) return std::nullopt;
  return out;
}

// A throttled-replicas list: "*", or partition:broker pairs of non-negative integers.
bool throttle_list(std::string_view value) {
  const auto items = config_list::split(value);
  if (items.size() == 1 && items[0] == "*") return true;
  return std::ranges::all_of(items, [](const std::string& item) {
    const auto colon = item.find(':');
    if (colon == std::string::npos) return false;
    const auto p = parse_long(trim(std::string_view(item).substr(0, colon)));
    const auto b = parse_long(trim(std::string_view(item).substr(colon + 1)));
    return p && b && *p >= 0 && *b >= 0;
  });
}

std::expected<void, std::string> check_type(const topic_config_key& k, std::string_view value) {
  const auto refuse = [&](std::string why) {
    return std::unexpected("invalid value " + quoted(value) + " for topic config " + quoted(k.name) + ": " + why);
  };
  switch (k.type) {
    case int16:
    case int32:
    case int64: {
      const auto v = parse_long(value);
      const bool fits = v && (k.type == int64 || (*v >= int32_min && *v <= int32_max));
      if (!fits) return refuse(k.type == int64 ? "not a long" : "not an int");
      if (*v < k.min || *v > k.max) {
        return refuse("must be in [" + std::to_string(k.min) + ", " + std::to_string(k.max) + "]");
      }
      if (k.name == "compression.gzip.level" && *v == 0) return refuse("must be -1 or in [1, 9]");
      return {};
    }
    case float64: {
      const auto v = parse_double(value);
      if (!v) return refuse("not a double");
      if (*v < static_cast<double>(k.min) || *v > static_cast<double>(k.max)) {
        return refuse("must be in [" + std::to_string(k.min) + ", " + std::to_string(k.max) + "]");
      }
      return {};
    }
    case boolean:
      if (!equals_ignore_case(trim(value), "true") && !equals_ignore_case(trim(value), "false")) {
        return refuse("not a boolean");
      }
      return {};
    case list:
      if (k.name.ends_with(".throttled.replicas")) {
        if (!throttle_list(value)) return refuse("must be '*' or a list of partition:broker");
        return {};
      }
      for (const auto& item : config_list::split(value)) {
        if (!k.allowed.empty() && std::ranges::find(k.allowed, item) == k.allowed.end()) {
          return refuse(quoted(item) + " is not one of the allowed values");
        }
      }
      return {};
    default:  // compared exactly, as the replicas compare message.timestamp.type
      if (!k.allowed.empty() && std::ranges::find(k.allowed, value) == k.allowed.end()) {
        return refuse("not one of the allowed values");
      }
      return {};
  }
}

// A default_only key accepts the values that mean its default.
bool means_default(const topic_config_key& k, std::string_view value) {
  if (k.type == boolean) return equals_ignore_case(trim(value), k.default_value);
  if (k.type == list) {
    const auto items = config_list::split(value);
    return !items.empty() && std::ranges::all_of(items, [&](const std::string& i) { return i == k.default_value; });
  }
  return value == k.default_value;
}

}  // namespace

std::span<const topic_config_key> topic_config_keys() { return keys; }

const topic_config_key* find_topic_config(std::string_view name) {
  auto it = std::ranges::lower_bound(keys, name, {}, &topic_config_key::name);
  return it != keys.end() && it->name == name ? &*it : nullptr;
}

std::expected<void, std::string> validate_topic_config(std::string_view name, std::string_view value) {
  const topic_config_key* k = find_topic_config(name);
  if (k == nullptr) return std::unexpected("unknown topic config " + quoted(name));
  if (auto ok = check_type(*k, value); !ok) return ok;
  if (k->name == "cleanup.policy" && config_list::split(value).empty()) {
    // Neither policy (keep everything, never compact) is not offered.
    return std::unexpected(std::string("topic config 'cleanup.policy' must name 'delete', 'compact' or both"));
  }
  if (k->support == default_only && !means_default(*k, value)) {
    return std::unexpected("topic config " + quoted(name) + "=" + quoted(value) + " is not supported by chronik (only " +
                           quoted(k->default_value) + ")");
  }
  return {};
}

std::expected<void, std::string> validate_topic_configs(const std::map<std::string, std::string>& configs) {
  for (const auto& [name, value] : configs) {
    if (auto ok = validate_topic_config(name, value); !ok) return ok;
  }
  return {};
}

}  // namespace chronik::kafka
