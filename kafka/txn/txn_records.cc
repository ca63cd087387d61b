#include "kafka/txn/txn_records.h"

#include <algorithm>
#include <array>
#include <utility>

#include "base/assert.h"
#include "kafka/protocol/keyed_records.h"
#include "kafka/protocol/record_batch.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {
namespace {

constexpr std::int16_t key_version = 0;
constexpr std::int16_t written_value_version = 0;
// Version 1 is the first flexible one (KIP-915 froze the layout; later additions are tags).
constexpr std::int16_t max_value_version = 1;
constexpr auto max_status = static_cast<std::int8_t>(txn_status::prepare_epoch_fence);

// Kafka's names, indexed by transaction_status.
constexpr std::array<std::string_view, 8> status_names = {
    "Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead",
    "PrepareEpochFence"};

// A reader that remembers the field its first failure happened in, so an error names it.
class field_reader {
 public:
  field_reader(std::string_view input, std::string part) : r_(input), part_(std::move(part)) {}

  reader& in() { return r_; }
  void set_part(std::string part) { part_ = std::move(part); }
  template <class T>
  T field(const char* name, T value) {
    if (!r_.ok() && failed_ == nullptr) failed_ = name;
    return value;
  }
  // Decoding ends here: an earlier failure, or bytes left over, is refused.
  std::optional<txn_record_error> finish() {
    if (r_.ok() && r_.remaining() != 0) {
      return txn_record_error{part_ + ": " + std::to_string(r_.remaining()) + " bytes after the last field"};
    }
    if (r_.ok()) return std::nullopt;
    return txn_record_error{part_ + ": " + (failed_ != nullptr ? failed_ : "?") + ": " + describe(*r_.error())};
  }

 private:
  reader r_;
  std::string part_;
  const char* failed_ = nullptr;
};

std::expected<std::string, txn_record_error> decode_key(std::string_view bytes) {
  field_reader d(bytes, "transaction log key");
  const std::int16_t version = d.field("version", d.in().read_int16());
  if (!d.in().ok()) return std::unexpected(*d.finish());
  if (version != key_version) {
    return std::unexpected(txn_record_error{"transaction log key: version " + std::to_string(version) +
                                            " is not known"});
  }
  std::string id = d.field("transactional_id", d.in().read_string());
  if (auto e = d.finish()) return std::unexpected(std::move(*e));
  return id;
}

txn_topic_partitions read_topic(field_reader& d, framing f) {
  reader& r = d.in();
  txn_topic_partitions t;
  t.topic = d.field("transaction_partitions.topic", r.read_string(f));
  // read_count bounds the count by the bytes left (an int32 takes four), so the loop ends within
  // the input.
  const std::int32_t count = d.field("transaction_partitions.partition_ids", r.read_count(f));
  t.partitions.reserve(static_cast<std::size_t>(std::min<std::int32_t>(count, 1024)));
  for (std::int32_t i = 0; i < count && r.ok(); ++i) {
    t.partitions.push_back(d.field("transaction_partitions.partition_ids", r.read_int32()));
  }
  r.skip_tagged_fields(f);
  d.field("transaction_partitions.tagged fields", 0);
  return t;
}

// Version 1's top-level tags; unknown tags are skipped, a known tag of the wrong size refused.
void read_value_tags(field_reader& d, txn_record_value& v) {
  d.in().read_tagged_fields(framing::flexible, [&v](std::uint32_t tag, reader& field) {
    if (tag == 0) v.previous_producer_id = field.read_int64();
    if (tag == 1) v.next_producer_id = field.read_int64();
    if (tag == 2) v.client_transaction_version = field.read_int16();
    if ((tag <= 2) && field.ok() && field.remaining() != 0) {
      field.fail(codec_errc::invalid_length, "bytes after a tagged field's value");
    }
  });
  d.field("tagged fields", 0);
}

std::expected<txn_record_value, txn_record_error> decode_value(std::string_view bytes) {
  field_reader d(bytes, "transaction log value");
  reader& r = d.in();
  const std::int16_t version = d.field("version", r.read_int16());
  if (!r.ok()) return std::unexpected(*d.finish());
  // Kafka refuses value versions it does not know rather than guess at their layout; so do we.
  if (version < 0 || version > max_value_version) {
    return std::unexpected(txn_record_error{"transaction log value: version " + std::to_string(version) +
                                            " is not known"});
  }
  d.set_part("transaction log value v" + std::to_string(version));
  const framing f = version >= 1 ? framing::flexible : framing::classic;
  txn_record_value v;
  v.producer_id = d.field("producer_id", r.read_int64());
  v.producer_epoch = d.field("producer_epoch", r.read_int16());
  v.timeout_ms = d.field("transaction_timeout_ms", r.read_int32());
  const std::int8_t status = d.field("transaction_status", r.read_int8());
  if (r.ok() && (status < 0 || status > max_status)) {
    return std::unexpected(txn_record_error{"transaction log value v" + std::to_string(version) +
                                            ": transaction_status " + std::to_string(status) + " is not known"});
  }
  v.status = static_cast<txn_status>(status);
  const std::int32_t topics = d.field("transaction_partitions", r.read_array_length(f));
  if (r.ok() && topics >= 0) {
    v.partitions.emplace();
    v.partitions->reserve(static_cast<std::size_t>(std::min<std::int32_t>(topics, 1024)));
    for (std::int32_t i = 0; i < topics && r.ok(); ++i) v.partitions->push_back(read_topic(d, f));
  }
  v.last_update_ms = d.field("transaction_last_update_timestamp_ms", r.read_int64());
  v.start_ms = d.field("transaction_start_timestamp_ms", r.read_int64());
  if (f == framing::flexible && r.ok()) read_value_tags(d, v);
  if (auto e = d.finish()) return std::unexpected(std::move(*e));
  return v;
}

}  // namespace

std::string_view to_string(txn_status s) {
  const auto i = static_cast<std::int8_t>(s);
  CHRONIK_ASSERT(i >= 0 && i <= max_status, "a known transaction state");
  return status_names[static_cast<std::size_t>(i)];
}

std::optional<txn_status> txn_status_from_string(std::string_view name) {
  for (std::size_t i = 0; i < status_names.size(); ++i) {
    if (status_names[i] == name) return static_cast<txn_status>(i);
  }
  return std::nullopt;
}

std::string encode_txn_key(const txn_log_record& record) {
  writer w;
  w.write_int16(key_version);
  w.write_string(record.transactional_id);
  return w.take();
}

std::optional<std::string> encode_txn_value(const txn_log_record& record) {
  if (!record.value) return std::nullopt;
  const txn_record_value& v = *record.value;
  writer w;
  w.write_int16(written_value_version);
  w.write_int64(v.producer_id);
  w.write_int16(v.producer_epoch);
  w.write_int32(v.timeout_ms);
  w.write_int8(static_cast<std::int8_t>(v.status));
  if (!v.partitions) {
    w.write_array_length(-1);
  } else {
    w.write_array_length(static_cast<std::int32_t>(v.partitions->size()));
    for (const txn_topic_partitions& t : *v.partitions) {
      w.write_string(t.topic);
      w.write_array_length(static_cast<std::int32_t>(t.partitions.size()));
      for (const std::int32_t p : t.partitions) w.write_int32(p);
    }
  }
  w.write_int64(v.last_update_ms);
  w.write_int64(v.start_ms);
  return w.take();
}

std::expected<txn_log_record, txn_record_error> decode_txn_record(std::string_view key,
                                                                  std::optional<std::string_view> value) {
  auto id = decode_key(key);
  if (!id) return std::unexpected(std::move(id.error()));
  txn_log_record out{std::move(*id), std::nullopt};
  if (!value) return out;
  auto v = decode_value(*value);
  if (!v) return std::unexpected(std::move(v.error()));
  out.value = std::move(*v);
  return out;
}

std::string build_txn_batch(std::span<const txn_log_record> records, std::int64_t timestamp_ms) {
  std::vector<keyed_record> keyed;
  keyed.reserve(records.size());
  for (const txn_log_record& r : records) keyed.push_back({encode_txn_key(r), encode_txn_value(r)});
  return build_keyed_batch(keyed, timestamp_ms);
}

std::expected<std::vector<txn_log_entry>, codec_error> read_txn_records(std::string_view blob) {
  auto batches = split_record_batches(blob, crc_check::verify, trailing_partial::ignore);
  if (!batches) return std::unexpected(std::move(batches.error()));
  std::vector<txn_log_entry> out;
  for (const record_batch_view& batch : *batches) {
    if (batch.header.is_control()) continue;
    auto ok = for_each_keyed_record(batch, [&out](const keyed_record_view& rec) {
      if (!rec.key) {
        out.push_back({rec.offset, std::unexpected(txn_record_error{"transaction log key: null"})});
        return;
      }
      out.push_back({rec.offset, decode_txn_record(*rec.key, rec.value)});
    });
    if (!ok) return std::unexpected(std::move(ok.error()));
  }
  return out;
}

}  // namespace chronik::kafka
