// Every message body of every API and version that has a description (schemas/kafka/*.api), both
// requests and responses, through the generated catalog. See fuzz_entries.h for the contract.
#include <string>

#include "kafka/protocol/messages/catalog.h"
#include "kafka/protocol/wire.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace chronik::fuzz {

// Decodes one body with the catalog's codec; an accepted body is encoded again, and those bytes must
// decode and encode to themselves: the encoder and decoder agree on every field the version carries.
verdict reencode_twice(std::string_view target_name, const kafka::message_codec& codec, bool request,
                       std::int16_t version, std::string_view body) {
  const auto reencode = request ? codec.reencode_request : codec.reencode_response;
  auto first = reencode(body, version);
  if (!first) return verdict::refused;
  auto second = reencode(*first, version);
  const std::string what = std::string(codec.name) + " v" + std::to_string(version) + (request ? " request" : " response");
  if (!second) oracle_failed(target_name, what + ": the re-encoded body does not decode: " + kafka::describe(second.error()));
  if (*second != *first) oracle_failed(target_name, what + ": the round trip changed the body");
  return verdict::accepted;
}

verdict kafka_message_run(const std::uint8_t* data, std::size_t size) {
  if (size < 5) return verdict::refused;
  const auto key = static_cast<kafka::api_key>(static_cast<std::int16_t>((data[0] << 8) | data[1]));
  const auto version = static_cast<std::int16_t>((data[2] << 8) | data[3]);
  const bool request = (data[4] & 1) == 0;
  const kafka::message_codec* codec = kafka::find_message_codec(key);
  if (codec == nullptr) return verdict::refused;
  return reencode_twice("kafka_message", *codec, request, version, as_text(data + 5, size - 5));
}

}  // namespace chronik::fuzz
