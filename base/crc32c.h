// CRC-32C (Castagnoli: reflected, polynomial 0x82F63B78, initial and final XOR 0xFFFFFFFF), the
// checksum of WAL frames, snapshot files and Kafka record batches (docs/design.md "Client quirks").
//
// Header-only so that the Kafka codec and the WAL share it without one linking the other. Uses the
// SSE4.2 crc32 instruction when the CPU has it (checked once at run time, through a compiler
// builtin and the compiler's intrinsic header, no library) and a slicing-by-8 table otherwise. Pure
// functions, safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace chronik {
namespace crc32c_detail {

inline constexpr std::uint32_t poly_reflected = 0x82F63B78u;

// tables[0] is the classic byte-at-a-time table; tables[k][b] is the CRC of byte b followed by k
// zero bytes, which lets slicing-by-8 fold eight input bytes per step (Intel's "slicing-by-8").
using table_set = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr table_set make_tables() {
  table_set t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? poly_reflected : 0u);
    t[0][b] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  }
  return t;
}

// One copy for the whole program (an inline variable), computed at compile time.
inline constexpr table_set tables = make_tables();

inline std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);  // x86 and arm64 Linux are little-endian; the WAL format is too
  return v;
}

// Works on the un-inverted register; callers do the pre/post XOR.
inline std::uint32_t update_portable(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  while (n >= 8) {
    const std::uint64_t v = load_le64(p) ^ crc;
    crc = tables[7][v & 0xFF] ^ tables[6][(v >> 8) & 0xFF] ^ tables[5][(v >> 16) & 0xFF] ^
          tables[4][(v >> 24) & 0xFF] ^ tables[3][(v >> 32) & 0xFF] ^
          tables[2][(v >> 40) & 0xFF] ^ tables[1][(v >> 48) & 0xFF] ^ tables[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ tables[0][(crc ^ *p++) & 0xFFu];
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) inline std::uint32_t update_sse42(std::uint32_t crc, const unsigned char* p,
                                                                    std::size_t n) {
  std::uint64_t c = crc;
  while (n >= 8) {
    c = _mm_crc32_u64(c, load_le64(p));
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

inline bool detect_sse42() { return __builtin_cpu_supports("sse4.2"); }
#else
inline bool detect_sse42() { return false; }
#endif

// Decided once per program; a function-local static is initialised thread-safely, and an inline
// function's static is one object across translation units.
inline bool use_hardware() {
  static const bool yes = detect_sse42();
  return yes;
}

}  // namespace crc32c_detail

// The table implementation alone, so tests can check both paths agree on any machine.
inline std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t size) {
  return ~crc32c_detail::update_portable(~crc, static_cast<const unsigned char*>(data), size);
}

// Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a + b). Start from 0.
inline std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size) {
#if defined(__x86_64__)
  if (crc32c_detail::use_hardware())
    return ~crc32c_detail::update_sse42(~crc, static_cast<const unsigned char*>(data), size);
#endif
  return crc32c_extend_portable(crc, data, size);
}

inline std::uint32_t crc32c(const void* data, std::size_t size) { return crc32c_extend(0, data, size); }
inline std::uint32_t crc32c(std::string_view bytes) { return crc32c(bytes.data(), bytes.size()); }
inline std::uint32_t crc32c(std::span<const std::byte> bytes) { return crc32c(bytes.data(), bytes.size()); }

// True when crc32c_extend uses the SSE4.2 instruction.
inline bool crc32c_hardware_available() { return crc32c_detail::use_hardware(); }

}  // namespace chronik
