#include "consensus/storage/frame.h"

#include <fmt/format.h>

#include "base/crc32c.h"

namespace chronik::consensus::frame {

std::uint32_t load_u32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint32_t>(u[0]) | (static_cast<std::uint32_t>(u[1]) << 8) |
         (static_cast<std::uint32_t>(u[2]) << 16) | (static_cast<std::uint32_t>(u[3]) << 24);
}

void store_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}

std::size_t begin(std::string& out, std::string_view header) {
  const std::size_t start = out.size();
  out.resize(start + header_bytes + prefix_bytes);
  store_u32(out.data() + start + header_bytes, static_cast<std::uint32_t>(header.size()));
  out.append(header);
  return start;
}

void finish(std::string& out, std::size_t start) {
  const std::size_t payload = out.size() - start - header_bytes;
  const char* p = out.data() + start + header_bytes;
  store_u32(out.data() + start, static_cast<std::uint32_t>(payload));
  store_u32(out.data() + start + 4, crc32c(p, payload));
}

std::string head(std::string_view header, std::span<const std::string_view> blob) {
  std::string out(header_bytes + prefix_bytes, '\0');
  store_u32(out.data() + header_bytes, static_cast<std::uint32_t>(header.size()));
  out.append(header);
  std::uint64_t payload = prefix_bytes + header.size();
  std::uint32_t crc = crc32c(out.data() + header_bytes, payload);
  for (const std::string_view piece : blob) {
    crc = crc32c_extend(crc, piece.data(), piece.size());
    payload += piece.size();
  }
  store_u32(out.data(), static_cast<std::uint32_t>(payload));
  store_u32(out.data() + 4, crc);
  return out;
}

decoded decode(std::string_view data, std::uint64_t offset, std::uint32_t max_record_bytes) {
  decoded d;
  if (offset == data.size()) return d;  // status::end
  d.result = status::damaged;
  const std::uint64_t left = data.size() - offset;
  if (left < header_bytes) {
    d.reason = fmt::format("incomplete frame header ({} of {} bytes)", left, header_bytes);
    return d;
  }
  const char* p = data.data() + offset;
  const std::uint32_t length = load_u32(p);
  const std::uint32_t crc = load_u32(p + 4);
  if (length < prefix_bytes || length > max_record_bytes) {
    d.reason = fmt::format("impossible frame length {}", length);
    return d;
  }
  if (length > left - header_bytes) {
    d.reason = fmt::format("frame length {} runs past the end ({} bytes left)", length,
                           left - header_bytes);
    return d;
  }
  const char* payload = p + header_bytes;
  if (crc32c(payload, length) != crc) {
    d.reason = "CRC mismatch";
    return d;
  }
  const std::uint32_t header_length = load_u32(payload);
  if (header_length > length - prefix_bytes) {
    d.result = status::malformed;
    d.reason = fmt::format("header length {} exceeds payload {}", header_length, length);
    return d;
  }
  d.result = status::ok;
  d.end = offset + header_bytes + length;
  d.header = std::string_view(payload + prefix_bytes, header_length);
  d.blob_offset = offset + header_bytes + prefix_bytes + header_length;
  d.blob = std::string_view(data.data() + d.blob_offset, d.end - d.blob_offset);
  return d;
}

}  // namespace chronik::consensus::frame
