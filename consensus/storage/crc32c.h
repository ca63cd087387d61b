// CRC-32C (Castagnoli: reflected, polynomial 0x82F63B78, initial and final XOR 0xFFFFFFFF), the
// checksum of WAL frames, snapshot files and Kafka record batches (docs/design.md "Client quirks").
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time) and a
// slicing-by-8 table otherwise. Pure functions, safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace chronik {

// Continues a CRC: crc32c_extend(crc32c(a), b) == crc32c(a + b). Start from 0.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size);

inline std::uint32_t crc32c(const void* data, std::size_t size) {
  return crc32c_extend(0, data, size);
}
inline std::uint32_t crc32c(std::string_view bytes) { return crc32c(bytes.data(), bytes.size()); }
inline std::uint32_t crc32c(std::span<const std::byte> bytes) {
  return crc32c(bytes.data(), bytes.size());
}

// The table implementation alone, so tests can check both paths agree on any machine.
std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t size);
// True when crc32c_extend uses the SSE4.2 instruction.
bool crc32c_hardware_available();

}  // namespace chronik
