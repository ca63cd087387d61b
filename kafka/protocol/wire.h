// The Kafka primitive types (https://kafka.apache.org/protocol#protocol_types): a bounds-checked
// reader over a byte span and a writer appending to a std::string (large blobs may be linked in
// rather than copied: byte_chain.h).
//
// The reader never throws and never trusts a length: a string, bytes or array length larger than
// the remaining input is an error, never an allocation of that size. It keeps the first error (what and
// at which byte) and afterwards every read returns a zero value, so a decoder reads its fields in a
// straight line and checks ok() once at the end (see finish()).
//
// Flexible versions (KIP-482) change strings, bytes and arrays to "compact" forms (unsigned varint
// of length + 1, 0 meaning null) and end every structure with a tagged-field section. The `framing`
// overloads pick the right form so message codecs read like the JSON definitions.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka/protocol/byte_chain.h"
#include "kafka/protocol/codec_error.h"

namespace chronik::kafka {

// Classic (pre-KIP-482) or flexible encoding of one message version.
enum class framing : std::uint8_t { classic, flexible };

using uuid = std::array<std::uint8_t, 16>;

class reader {
 public:
  explicit reader(std::string_view input) : data_(input) {}
  // The reader only views its input: refuse temporaries that would leave it dangling.
  explicit reader(std::string&&) = delete;
  explicit reader(std::span<const std::byte> input)
      : data_(reinterpret_cast<const char*>(input.data()), input.size()) {}
  // Over `input`, which lies inside *owner: read_nullable_chain then references the owner's
  // bytes instead of copying them (a client decoding a Fetch answer in place).
  reader(std::string_view input, std::shared_ptr<const std::string> owner)
      : data_(input), owner_(std::move(owner)) {}

  bool ok() const { return !error_.has_value(); }
  const std::optional<codec_error>& error() const { return error_; }
  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  // Records a failure at the current offset (the first failure wins) and exhausts the input so
  // every later read returns a zero value.
  void fail(codec_errc code, std::string_view what);
  void fail_at(std::size_t offset, codec_errc code, std::string_view what);

  std::int8_t read_int8();
  std::int16_t read_int16();
  std::int32_t read_int32();
  std::int64_t read_int64();
  std::uint32_t read_uint32();
  bool read_bool();
  std::uint32_t read_uvarint();   // at most 5 bytes
  std::uint64_t read_uvarlong();  // at most 10 bytes
  std::int32_t read_varint();     // zigzag
  std::int64_t read_varlong();    // zigzag
  uuid read_uuid();
  // A view of the next `size` input bytes (empty on error); valid as long as the input is.
  std::string_view read_raw(std::size_t size);

  std::string read_string();                            // int16 length, not null
  std::optional<std::string> read_nullable_string();    // int16 length, -1 = null
  std::string read_compact_string();                    // uvarint length+1, not null
  std::optional<std::string> read_compact_nullable_string();
  std::string read_bytes();                             // int32 length, not null
  std::optional<std::string> read_nullable_bytes();     // int32 length, -1 = null
  std::string read_compact_bytes();
  std::optional<std::string> read_compact_nullable_bytes();
  std::int32_t read_array_length();          // int32; -1 = null
  std::int32_t read_compact_array_length();  // uvarint length+1; -1 = null

  std::string read_string(framing f);
  std::optional<std::string> read_nullable_string(framing f);
  std::string read_bytes(framing f);
  std::optional<std::string> read_nullable_bytes(framing f);
  std::int32_t read_array_length(framing f);  // -1 = null
  // Nullable bytes as a chain: a view of the owner's bytes when the reader has one, else a copy.
  std::optional<byte_chain> read_nullable_chain(framing f);
  // The element count of a non-nullable array: null is an error and yields 0.
  std::int32_t read_count(framing f);

  // Reads a tagged-field section (flexible only; classic reads nothing). For each field calls
  // on_field(tag, field_reader) with a reader over exactly that field's bytes; the callback ignores
  // tags it does not know, which skips them. Tags must be strictly increasing.
  template <class F>
  void read_tagged_fields(framing f, F&& on_field);
  void skip_tagged_fields(framing f) {
    read_tagged_fields(f, [](std::uint32_t, reader&) {});
  }

 private:
  bool need(std::size_t size, std::string_view what);
  std::optional<std::string> read_sized(std::int64_t size, std::string_view what);
  // Splits off the next `size` bytes as a field reader; returns its start offset.
  std::size_t begin_field(std::uint32_t size, std::string_view& out);
  void adopt_field_error(std::size_t field_start, const reader& field);

  std::string_view data_;
  std::shared_ptr<const std::string> owner_;  // may be null
  std::size_t pos_ = 0;
  std::optional<codec_error> error_;
};

struct tagged_field {
  std::uint32_t tag = 0;
  std::string data;  // the field's encoded value
};

class writer {
 public:
  writer() = default;

  // The output, when nothing was linked (write_linked).
  const std::string& buffer() const;
  // The output in one string; linked pieces are copied in.
  std::string take();
  // The output as a chain: the writer's own bytes, with the linked pieces referenced in place.
  byte_chain take_chain();
  std::size_t size() const { return out_.size() + linked_bytes_; }
  // Overwrites 4 bytes at `at` (a length prefix reserved earlier); nothing may be linked yet.
  void patch_int32(std::size_t at, std::int32_t value);

  void write_int8(std::int8_t value);
  void write_int16(std::int16_t value);
  void write_int32(std::int32_t value);
  void write_int64(std::int64_t value);
  void write_uint32(std::uint32_t value);
  void write_bool(bool value) { write_int8(value ? 1 : 0); }
  void write_uvarint(std::uint32_t value);
  void write_uvarlong(std::uint64_t value);
  void write_varint(std::int32_t value);
  void write_varlong(std::int64_t value);
  void write_uuid(const uuid& value);
  void write_raw(std::string_view bytes) { out_.append(bytes); }

  void write_string(std::string_view value);
  void write_nullable_string(const std::optional<std::string>& value);
  void write_compact_string(std::string_view value);
  void write_compact_nullable_string(const std::optional<std::string>& value);
  void write_bytes(std::string_view value);
  void write_nullable_bytes(const std::optional<std::string>& value);
  void write_compact_bytes(std::string_view value);
  void write_compact_nullable_bytes(const std::optional<std::string>& value);
  void write_array_length(std::int32_t count);          // -1 = null
  void write_compact_array_length(std::int32_t count);  // -1 = null

  void write_string(std::string_view value, framing f);
  void write_nullable_string(const std::optional<std::string>& value, framing f);
  void write_bytes(std::string_view value, framing f);
  void write_nullable_bytes(const std::optional<std::string>& value, framing f);
  void write_array_length(std::int32_t count, framing f);  // -1 = null
  void write_array_length(std::size_t count, framing f);

  // Kafka bytes whose content is a chain (Fetch records): the length, then the pieces linked
  // into the output without a copy (docs/kafka.md "Fetch without copies"). Pieces smaller than
  // link_min_bytes are copied: a separate buffer of the write costs more than copying them.
  void write_nullable_bytes(const std::optional<byte_chain>& value, framing f);
  void write_linked(const byte_chain& bytes);
  static constexpr std::size_t link_min_bytes = 4096;

  // Writes a tagged-field section (flexible only). `fields` must be sorted by tag.
  void write_tagged_fields(framing f, const std::vector<tagged_field>& fields);
  void write_empty_tagged_fields(framing f) {
    if (f == framing::flexible) write_uvarint(0);
  }

 private:
  std::string out_;
  // Linked pieces and where they sit: each goes before out_[at], after those linked earlier.
  struct link {
    std::size_t at;
    shared_bytes piece;
  };
  std::vector<link> links_;
  std::size_t linked_bytes_ = 0;
};

// --- arrays -------------------------------------------------------------------------------------

// Reads a non-nullable array whose elements read_one(reader&) -> T decodes. The count was checked
// against the remaining bytes, and reading stops at the first error.
template <class T, class F>
std::vector<T> read_array(reader& r, framing f, F&& read_one) {
  const std::int32_t count = r.read_count(f);
  std::vector<T> out;
  // Elements may be much larger in memory than on the wire: reserve only a little up front.
  out.reserve(static_cast<std::size_t>(std::min<std::int32_t>(count, 64)));
  for (std::int32_t i = 0; i < count && r.ok(); ++i) out.push_back(read_one(r));
  return out;
}

template <class T, class F>
std::optional<std::vector<T>> read_nullable_array(reader& r, framing f, F&& read_one) {
  const std::int32_t count = r.read_array_length(f);
  if (count < 0) return std::nullopt;
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(std::min<std::int32_t>(count, 64)));
  for (std::int32_t i = 0; i < count && r.ok(); ++i) out.push_back(read_one(r));
  return out;
}

template <class T, class F>
void write_array(writer& w, framing f, const std::vector<T>& items, F&& write_one) {
  w.write_array_length(items.size(), f);
  for (const T& item : items) write_one(w, item);
}

template <class T, class F>
void write_nullable_array(writer& w, framing f, const std::optional<std::vector<T>>& items,
                          F&& write_one) {
  if (!items) {
    w.write_array_length(std::int32_t{-1}, f);
    return;
  }
  write_array(w, f, *items, std::forward<F>(write_one));
}

std::vector<std::int32_t> read_int32_array(reader& r, framing f);
void write_int32_array(writer& w, framing f, const std::vector<std::int32_t>& items);
std::vector<std::string> read_string_array(reader& r, framing f);
void write_string_array(writer& w, framing f, const std::vector<std::string>& items);

// The decoder's result: the value when every read succeeded, else the reader's first error.
template <class T>
std::expected<T, codec_error> finish(const reader& r, T&& value) {
  if (!r.ok()) return std::unexpected(*r.error());
  return std::forward<T>(value);
}

// --- template definitions -----------------------------------------------------------------------

template <class F>
void reader::read_tagged_fields(framing f, F&& on_field) {
  if (f != framing::flexible) return;
  const std::uint32_t count = read_uvarint();
  if (count > remaining()) {
    fail(codec_errc::invalid_length, "tagged field count exceeds the input");
    return;
  }
  std::int64_t previous_tag = -1;
  for (std::uint32_t i = 0; i < count && ok(); ++i) {
    const std::uint32_t tag = read_uvarint();
    const std::uint32_t size = read_uvarint();
    if (!ok()) return;
    if (static_cast<std::int64_t>(tag) <= previous_tag) {
      fail(codec_errc::invalid_value, "tagged fields out of order or repeated");
      return;
    }
    previous_tag = tag;
    std::string_view bytes;
    const std::size_t start = begin_field(size, bytes);
    if (!ok()) return;
    reader field(bytes);
    on_field(tag, field);
    adopt_field_error(start, field);
  }
}

}  // namespace chronik::kafka
