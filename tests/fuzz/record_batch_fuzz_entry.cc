// Produced-batch validation and the readers of stored batches (kafka/protocol/batch_validation.h,
// batch_records.h, record_batch.h). See fuzz_entries.h for the input layout and the oracle.
#include <string>
#include <vector>

#include "kafka/protocol/batch_records.h"
#include "kafka/protocol/batch_validation.h"
#include "kafka/protocol/record_batch.h"
#include "tests/fuzz/fuzz_entries.h"
#include "tests/fuzz/fuzz_support.h"

namespace chronik::fuzz {
namespace {

using namespace kafka;

constexpr std::string_view target = "record_batch";
constexpr std::int64_t now_ms = 1'700'000'000'000;

std::uint32_t load_be32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// Rewrites the CRC of every batch whose length fits, walking batchLength from the start.
void fix_crcs(std::string& s) {
  std::size_t at = 0;
  while (at + record_batch_header_size <= s.size()) {
    const std::uint32_t length = load_be32(s, at + 8);
    if (length < static_cast<std::uint32_t>(record_batch_min_length) || length > s.size() - at - 12) return;
    const std::uint32_t crc = compute_record_batch_crc(std::string_view(s).substr(at, 12 + length));
    for (std::size_t i = 0; i < 4; ++i) s[at + record_batch_crc_offset + i] = static_cast<char>(crc >> (24 - 8 * i));
    at += 12 + length;
  }
}

batch_rules rules_from(std::uint8_t mode) {
  batch_rules rules;
  rules.now_ms = now_ms;
  if (mode & 2u) rules.timestamps = timestamp_type::log_append_time;
  if (mode & 4u) rules.max_batch_bytes = 256;
  if (mode & 8u) {
    rules.timestamp_before_max_ms = 60'000;
    rules.timestamp_after_max_ms = 60'000;
  }
  if (mode & 16u) rules.max_inflated_bytes = 4096;
  return rules;
}

// What a reader of stored (possibly bad) batches does: split without trusting the CRC, then look
// inside each batch. Nothing here may crash or allocate from an unchecked count.
void read_stored(std::string_view blob, std::size_t inflate_limit) {
  auto batches = split_record_batches(blob, crc_check::skip, trailing_partial::ignore);
  if (!batches) return;
  for (const record_batch_view& b : *batches) {
    const std::string_view section = b.bytes.substr(record_batch_header_size);
    if (b.header.has_known_compression()) {
      auto inflated = decompress_records(b.header.compression(), section, inflate_limit);
      if (inflated && inflated->size() > inflate_limit) oracle_failed(target, "decompression passed its limit");
    }
    auto positions = record_positions(b);
    if (positions && b.header.compression() == compression_type::none &&
        positions->size() > section.size() / min_record_bytes) {
      oracle_failed(target, "more records than the section can hold");
    }
  }
}

// The promises of an accepted blob: it splits with valid CRCs into the accepted batches, each
// holding exactly the counted records at offsets 0..n-1 from its base, and validates again as is.
void check_accepted(std::string& blob, const accepted_records& ok, const batch_rules& rules) {
  auto batches = split_record_batches(blob, crc_check::verify, trailing_partial::reject);
  if (!batches) oracle_failed(target, "accepted blob does not split: " + describe(batches.error()));
  if (batches->size() != ok.batches.size()) oracle_failed(target, "batch count differs");
  std::int64_t total = 0;
  for (std::size_t i = 0; i < batches->size(); ++i) {
    const record_batch_view& b = (*batches)[i];
    const accepted_batch& a = ok.batches[i];
    if (b.offset != a.offset || b.bytes.size() != a.size) oracle_failed(target, "batch bounds differ");
    if (b.header.records_count != a.records || b.header.last_offset_delta != a.records - 1) {
      oracle_failed(target, "accepted header disagrees with the count");
    }
    auto positions = record_positions(b);
    if (!positions) oracle_failed(target, "accepted batch unreadable: " + describe(positions.error()));
    if (positions->size() != static_cast<std::size_t>(a.records)) oracle_failed(target, "record count differs");
    for (std::size_t k = 0; k < positions->size(); ++k) {
      if ((*positions)[k].offset != b.header.base_offset + static_cast<std::int64_t>(k)) {
        oracle_failed(target, "record offsets are not consecutive");
      }
      if ((*positions)[k].timestamp > b.header.max_timestamp &&
          b.header.timestamp() == timestamp_type::create_time) {
        oracle_failed(target, "a record is later than maxTimestamp");
      }
    }
    total += a.records;
  }
  if (total != ok.records) oracle_failed(target, "records total differs");
  const std::string before = blob;
  auto again = validate_produced_records(blob, rules);
  if (!again) oracle_failed(target, "accepted blob refused on a second pass: " + again.error().text);
  if (again->records != ok.records || blob != before) oracle_failed(target, "second pass changed the blob");
}

}  // namespace

verdict record_batch_run(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return verdict::refused;
  const std::uint8_t mode = data[0];
  std::string blob(as_text(data + 1, size - 1));
  if (mode & 1u) fix_crcs(blob);
  const batch_rules rules = rules_from(mode);
  read_stored(blob, rules.max_inflated_bytes);

  const std::string original = blob;
  auto result = validate_produced_records(blob, rules);
  if (!result) {
    if (blob != original) oracle_failed(target, "a refused blob was modified");
    if (result.error().batch < 0) oracle_failed(target, "rejection names no batch");
    return verdict::refused;
  }
  if (result->batches.empty()) oracle_failed(target, "accepted with no batch");
  check_accepted(blob, *result, rules);
  return verdict::accepted;
}

}  // namespace chronik::fuzz
