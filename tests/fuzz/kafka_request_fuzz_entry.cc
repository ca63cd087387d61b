// Kafka request decoding, as kafka/handlers/dispatcher.cc does it: the request header, then the
// body with the decoder of the header's API, for every API that has a description
// (schemas/kafka/*.api, reached through the generated catalog). See fuzz_entries.h for the contract.
#include <string>

#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/catalog.h"
#include "kafka/protocol/wire.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace chronik::fuzz {
namespace {

using kafka::reader;
using kafka::writer;

constexpr std::string_view target = "kafka_request";

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
  const kafka::message_codec* codec = kafka::find_message_codec(header->key);
  if (codec == nullptr) return verdict::refused;  // the dispatcher closes the connection on these keys
  const std::string_view body = as_text(data, size).substr(r.offset());
  return reencode_twice(target, *codec, true, header->api_version, body);
}

}  // namespace chronik::fuzz
