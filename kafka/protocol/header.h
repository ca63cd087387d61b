// Request and response headers (see api.h for which version each API uses).
//
// A request frame on the socket is: int32 size, then the header, then the body. The server framing
// strips the size; decode_request_header() reads the header from the start of the frame body and
// leaves the reader at the first body byte.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "kafka/protocol/api.h"
#include "kafka/protocol/codec_error.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {

struct request_header {
  api_key key = api_key::api_versions;  // may hold a key this codec does not know
  std::int16_t api_version = 0;
  std::int32_t correlation_id = 0;
  std::optional<std::string> client_id;
};

// Reads header v1 or v2, chosen by request_header_version(key, version). Unknown tagged fields of
// v2 are skipped. An unknown api key is not an error here: it is read as header v1 (the server
// answers such requests by closing the connection, and the header is enough to log them).
std::expected<request_header, codec_error> decode_request_header(reader& r);
void encode_request_header(const request_header& header, writer& w);

// Writes response header v0 or v1 for (key, version): the correlation id, plus an empty
// tagged-field section for v1.
void encode_response_header(std::int32_t correlation_id, api_key key, std::int16_t version,
                            writer& w);
// Reads a response header and returns its correlation id (clients and tests).
std::expected<std::int32_t, codec_error> decode_response_header(reader& r, api_key key,
                                                                std::int16_t version);

}  // namespace chronik::kafka
