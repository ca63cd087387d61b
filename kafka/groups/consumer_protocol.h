// The subscription a consumer puts in its JoinGroup metadata when the group's protocol type is
// "consumer" (Kafka's ConsumerProtocolSubscription, clients/src/main/resources/common/message/),
// read by the coordinator only to know which topics a group's members consume: OffsetDelete
// (KIP-496) refuses to forget offsets of those (docs/kafka.md "Deleting groups and offsets"). A pure
// codec: no I/O, no clock.
//
// The bytes are an int16 version followed by the subscription at that version, in Kafka's classic
// (non-flexible) encoding:
//   v0: topics [string] | user_data bytes? (nullable)
//   v1: as v0, then owned_partitions [topic string | partitions [int32]]
//   v2: as v1, then generation_id int32
// As in Kafka's ConsumerProtocol, a version above 2 is read as version 2 (later versions may only
// add fields at the end), a negative version is refused, and bytes after the last known field are
// ignored, so that a newer client's subscription still names its topics.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka/protocol/codec_error.h"

namespace chronik::kafka {

// The protocol type of groups of Kafka consumers (ConsumerProtocol.PROTOCOL_TYPE).
inline constexpr std::string_view consumer_protocol_type = "consumer";

struct consumer_subscription {
  std::int16_t version = 0;  // as sent, possibly above 2
  std::vector<std::string> topics;
  std::optional<std::string> user_data;
  std::vector<std::pair<std::string, std::vector<std::int32_t>>> owned_partitions;  // v1+
  std::int32_t generation_id = -1;                                                  // v2+
  bool operator==(const consumer_subscription&) const = default;
};

std::expected<consumer_subscription, codec_error> parse_consumer_subscription(std::string_view metadata);

// The encoding parse_consumer_subscription reads, at `s.version` (0-2): for tests and tools.
std::string write_consumer_subscription(const consumer_subscription& s);

}  // namespace chronik::kafka
