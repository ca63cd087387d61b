// The framing shared by WAL segments and snapshot files:
//
//   frame   = [u32 length][u32 CRC32C of payload][payload]           (little-endian)
//   payload = [u32 header_length][header: Protobuf][blob: raw bytes]
//
// Internal to consensus/storage. Decoding never trusts a length: every field is checked against
// the bytes actually present before it is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace chronik::consensus::frame {

inline constexpr std::size_t header_bytes = 8;  // length + CRC
inline constexpr std::size_t prefix_bytes = 4;  // header_length at the start of the payload

// Appends the frame header placeholder, header_length and header to out and returns the frame's
// start. The caller appends the blob, then calls finish().
std::size_t begin(std::string& out, std::string_view header);
// Fills in length and CRC of the frame started at `start`, which runs to the end of out.
void finish(std::string& out, std::size_t start);

// The bytes of a frame before its blob (length, CRC, header_length, header), for a blob given in
// pieces that the caller writes right after them: a gathered write, with no copy of the blob into
// one buffer. head + the pieces, concatenated, equal what begin, the blob appended and finish make.
std::string head(std::string_view header, std::span<const std::string_view> blob);

enum class status : std::uint8_t {
  ok,
  end,        // offset is exactly the end of the data
  damaged,    // incomplete, impossible length or CRC mismatch: what a torn write leaves
  malformed,  // the CRC matches but the payload layout is impossible: written wrong, not torn
};

struct decoded {
  status result = status::end;
  std::string reason;         // for damaged and malformed
  std::uint64_t end = 0;      // offset just past this frame
  std::string_view header;    // the Protobuf header bytes
  std::uint64_t blob_offset = 0;  // offset of the blob in the same data
  std::string_view blob;
};

// Decodes the frame at `offset` of `data` (a whole file).
decoded decode(std::string_view data, std::uint64_t offset, std::uint32_t max_record_bytes);

std::uint32_t load_u32(const char* p);
void store_u32(char* p, std::uint32_t v);

}  // namespace chronik::consensus::frame
