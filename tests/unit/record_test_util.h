// Encoding Kafka records (magic v2) for tests: what a producer puts inside a record batch. The
// broker itself never builds records; only ListOffsets by timestamp reads them
// (kafka/protocol/batch_records.h).
#pragma once

#include <cstdint>
#include <string>

namespace chronik::kafka::testing {

inline void put_uvarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline void put_varlong(std::string& out, std::int64_t v) {
  put_uvarint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

// One record: attributes, timestamp delta, offset delta, a null key, the value, no headers.
inline std::string record(std::int64_t ts_delta, std::int32_t offset_delta, const std::string& value) {
  std::string body;
  body.push_back(0);
  put_varlong(body, ts_delta);
  put_varlong(body, offset_delta);
  put_varlong(body, -1);
  put_varlong(body, static_cast<std::int64_t>(value.size()));
  body += value;
  put_varlong(body, 0);
  std::string out;
  put_varlong(out, static_cast<std::int64_t>(body.size()));
  return out + body;
}

// Three records, offsets deltas 0, 1, 2, timestamp deltas 0, 5, 9 (a producer's linger batch).
inline std::string three_records() { return record(0, 0, "a") + record(5, 1, "bb") + record(9, 2, std::string(300, 'c')); }

}  // namespace chronik::kafka::testing
