// Kafka request decoding, as kafka/handlers/dispatcher.cc does it: the request header, then the
// body with the decoder of the header's API. See fuzz_entries.h for the contract.
#include <string>

#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/api_versions.h"
#include "kafka/protocol/messages/create_topics.h"
#include "kafka/protocol/messages/delete_topics.h"
#include "kafka/protocol/messages/describe_configs.h"
#include "kafka/protocol/messages/fetch.h"
#include "kafka/protocol/messages/find_coordinator.h"
#include "kafka/protocol/messages/heartbeat.h"
#include "kafka/protocol/messages/join_group.h"
#include "kafka/protocol/messages/leave_group.h"
#include "kafka/protocol/messages/list_offsets.h"
#include "kafka/protocol/messages/metadata.h"
#include "kafka/protocol/messages/offset_commit.h"
#include "kafka/protocol/messages/offset_fetch.h"
#include "kafka/protocol/messages/produce.h"
#include "kafka/protocol/messages/sync_group.h"
#include "kafka/protocol/wire.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace chronik::fuzz {
namespace {

using kafka::api_key;
using kafka::codec_error;
using kafka::reader;
using kafka::writer;

constexpr std::string_view target = "kafka_request";

std::string api_name(api_key key, std::int16_t version) {
  return std::string(kafka::to_string(key)) + " v" + std::to_string(version);
}

// Decodes the body; an accepted value is encoded at the same version and must decode to an equal
// value (the encoder and decoder agree on every field the version carries).
template <class M>
verdict round_trip(reader& body, api_key key, std::int16_t version,
                   std::expected<M, codec_error> (*decode)(reader&, std::int16_t),
                   void (*encode)(const M&, std::int16_t, writer&)) {
  auto first = decode(body, version);
  if (!first) return verdict::refused;
  writer w;
  encode(*first, version, w);
  const std::string bytes = w.take();
  reader again(bytes);
  auto second = decode(again, version);
  if (!second) {
    oracle_failed(target, api_name(key, version) + ": re-encoded request does not decode: " +
                              kafka::describe(second.error()));
  }
  if (!(*second == *first)) oracle_failed(target, api_name(key, version) + ": round trip changed the request");
  return verdict::accepted;
}

verdict decode_body(reader& body, api_key key, std::int16_t v) {
  using namespace kafka;
  switch (key) {
    case api_key::produce: return round_trip(body, key, v, decode_produce_request, encode_produce_request);
    case api_key::fetch: return round_trip(body, key, v, decode_fetch_request, encode_fetch_request);
    case api_key::list_offsets:
      return round_trip(body, key, v, decode_list_offsets_request, encode_list_offsets_request);
    case api_key::metadata: return round_trip(body, key, v, decode_metadata_request, encode_metadata_request);
    case api_key::offset_commit:
      return round_trip(body, key, v, decode_offset_commit_request, encode_offset_commit_request);
    case api_key::offset_fetch:
      return round_trip(body, key, v, decode_offset_fetch_request, encode_offset_fetch_request);
    case api_key::find_coordinator:
      return round_trip(body, key, v, decode_find_coordinator_request, encode_find_coordinator_request);
    case api_key::join_group: return round_trip(body, key, v, decode_join_group_request, encode_join_group_request);
    case api_key::heartbeat: return round_trip(body, key, v, decode_heartbeat_request, encode_heartbeat_request);
    case api_key::leave_group:
      return round_trip(body, key, v, decode_leave_group_request, encode_leave_group_request);
    case api_key::sync_group: return round_trip(body, key, v, decode_sync_group_request, encode_sync_group_request);
    case api_key::api_versions:
      return round_trip(body, key, v, decode_api_versions_request, encode_api_versions_request);
    case api_key::create_topics:
      return round_trip(body, key, v, decode_create_topics_request, encode_create_topics_request);
    case api_key::delete_topics:
      return round_trip(body, key, v, decode_delete_topics_request, encode_delete_topics_request);
    case api_key::describe_configs:
      return round_trip(body, key, v, decode_describe_configs_request, encode_describe_configs_request);
    default: return verdict::refused;  // the dispatcher closes the connection on these keys
  }
}

}  // namespace

verdict kafka_request_run(const std::uint8_t* data, std::size_t size) {
  reader r(as_text(data, size));
  auto header = kafka::decode_request_header(r);
  if (!header) return verdict::refused;
  // The header round-trips too (tagged fields of header v2 are skipped, so compare the fields).
  writer hw;
  kafka::encode_request_header(*header, hw);
  const std::string head = hw.take();
  reader hr(head);
  auto again = kafka::decode_request_header(hr);
  if (!again || again->key != header->key || again->api_version != header->api_version ||
      again->correlation_id != header->correlation_id || again->client_id != header->client_id ||
      hr.remaining() != 0) {
    oracle_failed(target, "request header does not round-trip");
  }
  return decode_body(r, header->key, header->api_version);
}

}  // namespace chronik::fuzz
