// Field rules shared by the `__meta` commands (meta_state.cc) and snapshot restore
// (meta_snapshot.cc), so a snapshot is held to the same rules as the commands that built it.
// Private to metadata/: it speaks Protobuf, which must not cross the module's API.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>

#include <google/protobuf/repeated_ptr_field.h>

#include "meta.pb.h"
#include "metadata/meta_state.h"

namespace chronik::metadata::rules {

// Non-empty and at most `max` bytes.
inline bool bounded(std::string_view s, std::size_t max) { return !s.empty() && s.size() <= max; }

// Kafka broker ids are int32 and consensus uses 0 for "none".
bool valid_node_id(std::uint64_t id);

// Kafka's rule (Topic.validate): 1..249 bytes of [a-zA-Z0-9._-], and neither "." nor "..".
bool valid_topic_name(std::string_view name);

bool valid_broker(const broker_record& b);

std::expected<broker_state, meta_errc> decode_state(int raw);
proto::MetaBrokerState encode_state(broker_state s);
std::expected<decommission_state, meta_errc> decode_decommission(int raw);
proto::MetaDecommission encode_decommission(decommission_state s);

// At most max_configs_per_topic entries, bounded keys and values, no key twice.
std::expected<std::map<std::string, std::string>, meta_errc> decode_configs(
    const google::protobuf::RepeatedPtrField<proto::MetaConfigEntry>& entries);

}  // namespace chronik::metadata::rules
