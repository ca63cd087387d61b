#include "kafka/groups/group_records.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "kafka/protocol/keyed_records.h"
#include "kafka/protocol/record_batch.h"
#include "kafka/protocol/txn_marker.h"
#include "kafka/protocol/wire.h"

namespace chronik::kafka {
namespace {

// Kafka's record types (the key's int16 prefix) and the value versions chronik writes.
constexpr std::int16_t offset_key_type_legacy = 0;
constexpr std::int16_t offset_key_type = 1;
constexpr std::int16_t group_key_type = 2;
constexpr std::int16_t offset_value_version = 3;
constexpr std::int16_t group_value_version = 3;
// The highest version of either value: 4, the first flexible one (KIP-915).
constexpr std::int16_t max_value_version = 4;

// --- decoding ------------------------------------------------------------------------------------

// A reader that remembers which field its first failure happened in, so an error names it.
class field_reader {
 public:
  field_reader(std::string_view input, std::string part) : r_(input), part_(std::move(part)) {}

  reader& in() { return r_; }
  // What is being read, once the key type or value version has said (for error messages).
  void set_part(std::string part) { part_ = std::move(part); }
  // Wraps one field's read: `value` was just read from in(); a failure is pinned to `field`.
  template <class T>
  T field(const char* name, T value) {
    if (!r_.ok() && failed_ == nullptr) failed_ = name;
    return value;
  }
  // Decoding ends here: an earlier failure, or bytes left over, is malformed.
  std::optional<group_record_error> finish() {
    if (r_.ok() && r_.remaining() != 0) {
      return malformed(part_ + ": " + std::to_string(r_.remaining()) + " bytes after the last field");
    }
    if (r_.ok()) return std::nullopt;
    return malformed(part_ + ": " + (failed_ != nullptr ? failed_ : "?") + ": " + describe(*r_.error()));
  }

  static group_record_error malformed(std::string message) {
    return group_record_error{group_record_errc::malformed, std::move(message)};
  }

 private:
  reader r_;
  std::string part_;
  const char* failed_ = nullptr;
};

std::expected<group_record_key_variant, group_record_error> decode_key(std::string_view bytes) {
  field_reader d(bytes, "key");
  const std::int16_t type = d.field("type", d.in().read_int16());
  if (!d.in().ok()) return std::unexpected(*d.finish());
  group_record_key_variant key;
  if (type == offset_key_type_legacy || type == offset_key_type) {
    d.set_part("offset commit key");
    offset_record_key k;
    k.group = d.field("group", d.in().read_string());
    k.topic = d.field("topic", d.in().read_string());
    k.partition = d.field("partition", d.in().read_int32());
    key = std::move(k);
  } else if (type == group_key_type) {
    d.set_part("group metadata key");
    key = group_record_key{d.field("group", d.in().read_string())};
  } else {
    return std::unexpected(group_record_error{group_record_errc::unknown_type,
                                              "key type " + std::to_string(type) + " is not a classic group record"});
  }
  if (auto e = d.finish()) return std::unexpected(std::move(*e));
  return key;
}

void skip_tags(field_reader& d, framing f) {
  d.in().skip_tagged_fields(f);
  d.field("tagged fields", 0);
}

// OffsetCommitValue after its version prefix.
offset_record_value read_offset_value(field_reader& d, std::int16_t version) {
  const framing f = version >= 4 ? framing::flexible : framing::classic;
  reader& r = d.in();
  offset_record_value v;
  v.offset = d.field("offset", r.read_int64());
  if (version >= 3) v.leader_epoch = d.field("leader_epoch", r.read_int32());
  v.metadata = d.field("metadata", r.read_string(f));
  v.commit_timestamp_ms = d.field("commit_timestamp", r.read_int64());
  if (version == 1) v.expire_timestamp_ms = d.field("expire_timestamp", r.read_int64());
  skip_tags(d, f);
  return v;
}

group_member_record read_member(field_reader& d, std::int16_t version, framing f) {
  reader& r = d.in();
  group_member_record m;
  m.member_id = d.field("members.member_id", r.read_string(f));
  if (version >= 3) m.group_instance_id = d.field("members.group_instance_id", r.read_nullable_string(f));
  m.client_id = d.field("members.client_id", r.read_string(f));
  m.client_host = d.field("members.client_host", r.read_string(f));
  if (version >= 1) m.rebalance_timeout_ms = d.field("members.rebalance_timeout", r.read_int32());
  m.session_timeout_ms = d.field("members.session_timeout", r.read_int32());
  // Version 0 had no rebalance timeout: Kafka loads such a member with its session timeout.
  if (version == 0) m.rebalance_timeout_ms = m.session_timeout_ms;
  m.subscription = d.field("members.subscription", r.read_bytes(f));
  m.assignment = d.field("members.assignment", r.read_bytes(f));
  d.in().skip_tagged_fields(f);
  d.field("members.tagged fields", 0);
  return m;
}

// GroupMetadataValue after its version prefix.
group_record_value read_group_value(field_reader& d, std::int16_t version) {
  const framing f = version >= 4 ? framing::flexible : framing::classic;
  reader& r = d.in();
  group_record_value v;
  v.protocol_type = d.field("protocol_type", r.read_string(f));
  v.generation = d.field("generation", r.read_int32());
  v.protocol = d.field("protocol", r.read_nullable_string(f));
  v.leader = d.field("leader", r.read_nullable_string(f));
  if (version >= 2) v.current_state_timestamp_ms = d.field("current_state_timestamp", r.read_int64());
  // read_count bounds the count by the bytes left, and every member takes several bytes, so this
  // loop ends within the input.
  const std::int32_t count = d.field("members", r.read_count(f));
  v.members.reserve(static_cast<std::size_t>(std::min<std::int32_t>(count, 64)));
  for (std::int32_t i = 0; i < count && r.ok(); ++i) v.members.push_back(read_member(d, version, f));
  skip_tags(d, f);
  return v;
}

std::expected<group_record_value_variant, group_record_error> decode_value(const group_record_key_variant& key,
                                                                           std::string_view bytes) {
  const bool offset = std::holds_alternative<offset_record_key>(key);
  const std::string name = offset ? "offset commit value" : "group metadata value";
  field_reader d(bytes, name);
  const std::int16_t version = d.field("version", d.in().read_int16());
  if (!d.in().ok()) return std::unexpected(*d.finish());
  // Kafka refuses value versions it does not know rather than guess at their layout; so do we.
  if (version < 0 || version > max_value_version) {
    return std::unexpected(field_reader::malformed(name + ": version " + std::to_string(version) + " is not known"));
  }
  d.set_part(name + " v" + std::to_string(version));
  group_record_value_variant value;
  if (offset) {
    value = read_offset_value(d, version);
  } else {
    value = read_group_value(d, version);
  }
  if (auto e = d.finish()) return std::unexpected(std::move(*e));
  return value;
}

// --- encoding ------------------------------------------------------------------------------------

void write_offset_value(writer& w, const offset_record_value& v) {
  w.write_int16(offset_value_version);
  w.write_int64(v.offset);
  w.write_int32(v.leader_epoch);
  w.write_string(v.metadata);
  w.write_int64(v.commit_timestamp_ms);
}

void write_group_value(writer& w, const group_record_value& v) {
  w.write_int16(group_value_version);
  w.write_string(v.protocol_type);
  w.write_int32(v.generation);
  w.write_nullable_string(v.protocol);
  w.write_nullable_string(v.leader);
  w.write_int64(v.current_state_timestamp_ms);
  w.write_array_length(v.members.size(), framing::classic);
  for (const group_member_record& m : v.members) {
    w.write_string(m.member_id);
    w.write_nullable_string(m.group_instance_id);
    w.write_string(m.client_id);
    w.write_string(m.client_host);
    w.write_int32(m.rebalance_timeout_ms);
    w.write_int32(m.session_timeout_ms);
    w.write_bytes(m.subscription);
    w.write_bytes(m.assignment);
  }
}

}  // namespace

std::string encode_key(const group_log_record& record) {
  writer w;
  if (const auto* k = std::get_if<offset_record_key>(&record.key)) {
    w.write_int16(offset_key_type);
    w.write_string(k->group);
    w.write_string(k->topic);
    w.write_int32(k->partition);
  } else {
    w.write_int16(group_key_type);
    w.write_string(std::get<group_record_key>(record.key).group);
  }
  return w.take();
}

std::optional<std::string> encode_value(const group_log_record& record) {
  if (!record.value) return std::nullopt;
  CHRONIK_EXPECTS(record.value->index() == record.key.index(), "a __consumer_offsets value of the other key's kind");
  writer w;
  if (const auto* v = std::get_if<offset_record_value>(&*record.value)) {
    write_offset_value(w, *v);
  } else {
    write_group_value(w, std::get<group_record_value>(*record.value));
  }
  return w.take();
}

std::expected<group_log_record, group_record_error> decode_group_record(std::string_view key,
                                                                        std::optional<std::string_view> value) {
  auto k = decode_key(key);
  if (!k) return std::unexpected(std::move(k.error()));
  group_log_record out{std::move(*k), std::nullopt};
  if (!value) return out;
  auto v = decode_value(out.key, *value);
  if (!v) return std::unexpected(std::move(v.error()));
  out.value = std::move(*v);
  return out;
}

namespace {

std::string build_batch(std::span<const group_log_record> records, std::int64_t timestamp_ms, batch_producer producer) {
  std::vector<keyed_record> keyed;
  keyed.reserve(records.size());
  for (const group_log_record& r : records) keyed.push_back({encode_key(r), encode_value(r)});
  return build_keyed_batch(keyed, timestamp_ms, producer);
}

}  // namespace

std::string build_group_batch(std::span<const group_log_record> records, std::int64_t timestamp_ms) {
  return build_batch(records, timestamp_ms, {});
}

std::string build_group_txn_batch(std::span<const group_log_record> records, std::int64_t timestamp_ms,
                                  std::int64_t producer_id, std::int16_t producer_epoch) {
  CHRONIK_EXPECTS(producer_id >= 0 && producer_epoch >= 0, "a transactional batch names its producer");
  return build_batch(records, timestamp_ms, {producer_id, producer_epoch});
}

std::expected<std::vector<group_log_item>, codec_error> read_group_log(std::string_view blob,
                                                                       group_log_filter filter) {
  auto batches = split_record_batches(blob, crc_check::verify, trailing_partial::ignore);
  if (!batches) return std::unexpected(std::move(batches.error()));
  std::vector<group_log_item> out;
  for (const record_batch_view& batch : *batches) {
    const record_batch_header& h = batch.header;
    if (h.is_control()) {
      // A marker closes its producer's transaction here (docs/kafka.md "Durable groups"); any
      // other control record carries no group state.
      if (auto m = read_txn_marker(batch)) out.push_back(group_log_marker{h.base_offset, h.producer_id, h.producer_epoch, m->commit});
      continue;
    }
    if (filter == group_log_filter::transactions && !h.is_transactional()) continue;
    // Each record carries the batch's producer when the batch is transactional: its marker decides.
    const std::int64_t producer = h.is_transactional() ? h.producer_id : -1;
    const std::int16_t epoch = h.is_transactional() ? h.producer_epoch : std::int16_t{-1};
    auto ok = for_each_keyed_record(batch, [&](const keyed_record_view& rec) {
      if (!rec.key) {
        out.push_back(group_log_entry{rec.offset, std::unexpected(field_reader::malformed("key: null")), producer, epoch});
        return;
      }
      out.push_back(group_log_entry{rec.offset, decode_group_record(*rec.key, rec.value), producer, epoch});
    });
    if (!ok) return std::unexpected(std::move(ok.error()));
  }
  return out;
}

std::expected<std::vector<group_log_entry>, codec_error> read_group_records(std::string_view blob) {
  auto items = read_group_log(blob);
  if (!items) return std::unexpected(std::move(items.error()));
  std::vector<group_log_entry> out;
  out.reserve(items->size());
  for (auto& item : *items) {
    if (auto* e = std::get_if<group_log_entry>(&item)) out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace chronik::kafka
