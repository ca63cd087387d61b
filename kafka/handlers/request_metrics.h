// Per-API request counts and latencies for /metrics (docs/operations.md "Metrics and readiness"):
// what the dispatcher records as each request is answered, on the io thread, in plain counters
// (no lock: the io thread is the only writer, and the admin endpoint copies them on that thread).
//
// A request is counted once, when its handler answers: under the first error code the handler
// noted for it (responder::note_error; Produce, Fetch, ListOffsets and OffsetCommit note each
// partition's error, JoinGroup, SyncGroup, Heartbeat and LeaveGroup their group's), NONE when
// it noted none and answered, and under the pseudo error "unrecorded" for APIs whose handlers do
// not note errors yet. Requests that close the connection (malformed, acks=0 failure) count
// under "connection_closed". The latency runs from the dispatcher's decoding of the header to the
// answer (queueing in the connection before that is not included).
//
// Bytes: every request frame handed to the dispatcher and every response it writes, with the
// 4-byte size prefix, as they are on the wire inside TLS. The frames of a SASL exchange before a
// connection is authenticated (kafka/server/authenticator.h) never reach the dispatcher and are
// not counted.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/latency_histogram.h"
#include "kafka/protocol/api.h"

namespace chronik::kafka {

class request_metrics {
 public:
  // The pseudo codes beside Kafka's error codes (which are >= -1).
  static constexpr std::int32_t unrecorded = -1000;
  static constexpr std::int32_t connection_closed = -1001;

  void record(api_key key, std::int32_t error, std::uint64_t latency_us);
  void received(std::uint64_t frame_bytes) { bytes_received_ += 4 + frame_bytes; }
  void sent(std::uint64_t frame_bytes) { bytes_sent_ += 4 + frame_bytes; }
  std::uint64_t bytes_received() const { return bytes_received_; }
  std::uint64_t bytes_sent() const { return bytes_sent_; }
  // The same bytes by API, once the request's header names it (a frame whose header does not
  // decode is in bytes_received only). The status page's produce and fetch rates read Produce's
  // received and Fetch's sent bytes (docs/operations.md "Status page").
  void received_by(api_key key, std::uint64_t frame_bytes);
  void sent_by(api_key key, std::uint64_t frame_bytes);
  struct byte_counts {
    std::uint64_t received = 0;
    std::uint64_t sent = 0;
  };
  byte_counts bytes_of(api_key key) const;

  struct api_entry {
    api_key key = api_key::api_versions;
    std::map<std::int32_t, std::uint64_t> by_error;  // error code (or pseudo code) -> requests
    latency_snapshot latency;
  };
  // Every API seen since start, ascending by key.
  std::vector<api_entry> snapshot() const;

 private:
  struct slot {
    bool seen = false;
    std::map<std::int32_t, std::uint64_t> by_error;
    latency_histogram latency;
    byte_counts bytes;
  };
  // Kafka's API keys are small (under 100 today); a key past the table is not counted.
  std::array<slot, 128> apis_{};
  std::uint64_t bytes_received_ = 0;
  std::uint64_t bytes_sent_ = 0;
};

// The `error` label: Kafka's name in upper case (NOT_LEADER_OR_FOLLOWER), NONE, or the pseudo codes'
// names ("unrecorded", "connection_closed").
std::string request_error_label(std::int32_t error);

}  // namespace chronik::kafka
