// The bodies of the input-boundary fuzz targets (issue 13 "Proof"), one per file
// <name>_fuzz_entry.cc. Each is shared by its libFuzzer binary (fuzz_main.cc, clang >= 19) and by
// fuzz_smoke_test.cc, which any compiler builds and `make test` runs over the checked-in corpus
// plus seeded mutations.
//
// Contract of every entry: it never crashes on any input. A decoder either refuses the input with
// its module's error or accepts it; an accepted input must then pass the target's oracle (a round
// trip through the encoder, or the invariants the accepting code promises its callers). A broken
// oracle aborts with one line on stderr naming the target and what differed, which libFuzzer and
// the smoke test both report as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chronik::fuzz {

enum class verdict : std::uint8_t { refused, accepted };

// One Kafka request frame as the server framing hands it over (the int32 size prefix stripped):
// the request header, then the body, decoded by the body decoder of the header's API key and
// version (every API the dispatcher serves, at any version the header names). An accepted request
// is encoded again at the same version and must decode to an equal value.
verdict kafka_request_run(const std::uint8_t* data, std::size_t size);

// [api key: int16 big-endian][version: int16][side byte: bit 0 set = response][body]: one message
// body of any API with a description, decoded by the generated codec (kafka/protocol/messages/
// catalog.h). An accepted body is encoded again, and those bytes must decode and encode to themselves.
verdict kafka_message_run(const std::uint8_t* data, std::size_t size);

// [rules byte][records blob]: the records blob of one produced partition. Rules byte bit 0
// recomputes each batch's CRC-32C first (so mutations get past the checksum), bits 1-3 pick the
// batch_rules (timestamp type, a tight max.message.bytes, a narrow timestamp window, a small
// decompression bound). Runs split_record_batches, record_positions and decompress_records over
// whatever splits, then validate_produced_records; an accepted blob must split again with valid
// CRCs, into batches whose records are exactly the accepted count, and validate again unchanged.
verdict record_batch_run(const std::uint8_t* data, std::size_t size);

// [mode byte][GossipEnvelope bytes]: mode bit 0 picks a UDP datagram (config::max_datagram_bytes)
// or a TCP push-pull frame (8 MiB). An accepted envelope must survive encode/decode unchanged and
// is then stepped into a small membership core (three known members), which ticks a few times.
verdict gossip_run(const std::uint8_t* data, std::size_t size);

// A received Raft batch: the bytes of one flat-array Cap'n Proto message whose root is
// schemas::Batch, addressed to node 2. KJ exceptions from the message framing are caught at this
// border as the transport does; decode_batch must refuse, never throw. An accepted batch is
// encoded again and must decode to the same messages, group by group in order.
verdict raft_batch_run(const std::uint8_t* data, std::size_t size);

// A TOML config file's text, loaded by load_node_config without command-line overrides. No
// exception may escape; an accepted config must load again to the same addresses.
verdict config_run(const std::uint8_t* data, std::size_t size);

}  // namespace chronik::fuzz

namespace chronik::kafka {
struct message_codec;
}

namespace chronik::fuzz {

// Shared by the two Kafka targets: decodes `body` with the codec of one side and version and, when
// it is accepted, checks that encoding is a fixed point (defined in kafka_message_fuzz_entry.cc).
verdict reencode_twice(std::string_view target_name, const kafka::message_codec& codec, bool request,
                       std::int16_t version, std::string_view body);

}  // namespace chronik::fuzz
