#include "kafka/protocol/header.h"

namespace chronik::kafka {

std::expected<request_header, codec_error> decode_request_header(reader& r) {
  request_header h;
  h.key = static_cast<api_key>(r.read_int16());
  h.api_version = r.read_int16();
  h.correlation_id = r.read_int32();
  // client_id is a classic nullable string in header v2 as well (KIP-482 kept it for old parsers).
  h.client_id = r.read_nullable_string();
  if (r.ok() && h.api_version < 0) {
    r.fail_at(2, codec_errc::invalid_value, "negative api version");
  }
  if (request_header_version(h.key, h.api_version) == 2) r.skip_tagged_fields(framing::flexible);
  return finish(r, std::move(h));
}

void encode_request_header(const request_header& header, writer& w) {
  w.write_int16(static_cast<std::int16_t>(header.key));
  w.write_int16(header.api_version);
  w.write_int32(header.correlation_id);
  w.write_nullable_string(header.client_id);
  if (request_header_version(header.key, header.api_version) == 2) {
    w.write_empty_tagged_fields(framing::flexible);
  }
}

void encode_response_header(std::int32_t correlation_id, api_key key, std::int16_t version,
                            writer& w) {
  w.write_int32(correlation_id);
  if (response_header_version(key, version) == 1) w.write_empty_tagged_fields(framing::flexible);
}

std::expected<std::int32_t, codec_error> decode_response_header(reader& r, api_key key,
                                                                std::int16_t version) {
  std::int32_t correlation_id = r.read_int32();
  if (response_header_version(key, version) == 1) r.skip_tagged_fields(framing::flexible);
  return finish(r, std::move(correlation_id));
}

}  // namespace chronik::kafka
