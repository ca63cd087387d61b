// Expected failures of the Kafka wire codec (docs/design.md "Errors"): every decoder returns
// std::expected<T, codec_error>; nothing throws. The handlers map a codec_error to a Kafka error
// code (CORRUPT_MESSAGE, INVALID_REQUEST, UNSUPPORTED_VERSION, ...) or close the connection; the
// codec itself never picks Kafka error codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chronik::kafka {

enum class codec_errc : std::uint8_t {
  truncated,            // the input ended inside a field
  invalid_length,       // a length is negative (other than null) or exceeds the remaining input
  invalid_value,        // malformed: overlong varint, null where not nullable, bad tag order
  unsupported_version,  // the decoder does not implement this API version
  unsupported_magic,    // a record batch of magic 0 or 1 (legacy message sets)
  corrupt_batch,        // a record batch whose header fields are inconsistent
  crc_mismatch,         // a record batch whose CRC-32C does not match its bytes
  too_large,            // a decompressed payload would exceed its bound
};

std::string_view to_string(codec_errc code);

struct codec_error {
  codec_errc code = codec_errc::truncated;
  std::size_t offset = 0;  // byte offset in the decoded input where the problem was found
  std::string text;        // one line for logs: what was being read
};

// "<code> at byte <offset>: <text>", for logs and test failure messages.
std::string describe(const codec_error& error);

}  // namespace chronik::kafka
