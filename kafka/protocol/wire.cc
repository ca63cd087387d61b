#include "kafka/protocol/wire.h"

#include <limits>

#include "base/assert.h"

namespace chronik::kafka {

std::string_view to_string(codec_errc code) {
  switch (code) {
    case codec_errc::truncated: return "truncated";
    case codec_errc::invalid_length: return "invalid_length";
    case codec_errc::invalid_value: return "invalid_value";
    case codec_errc::unsupported_version: return "unsupported_version";
    case codec_errc::unsupported_magic: return "unsupported_magic";
    case codec_errc::corrupt_batch: return "corrupt_batch";
    case codec_errc::crc_mismatch: return "crc_mismatch";
    case codec_errc::too_large: return "too_large";
  }
  return "unknown";
}

std::string describe(const codec_error& error) {
  std::string out(to_string(error.code));
  out += " at byte ";
  out += std::to_string(error.offset);
  out += ": ";
  out += error.text;
  return out;
}

// --- reader -------------------------------------------------------------------------------------

void reader::fail(codec_errc code, std::string_view what) { fail_at(pos_, code, what); }

void reader::fail_at(std::size_t offset, codec_errc code, std::string_view what) {
  if (!error_) error_ = codec_error{code, offset, std::string(what)};
  pos_ = data_.size();
}

bool reader::need(std::size_t size, std::string_view what) {
  if (!ok()) return false;
  if (size > remaining()) {
    fail(codec_errc::truncated, what);
    return false;
  }
  return true;
}

namespace {

// Big-endian load of N bytes; the caller checked the bounds.
template <class U>
U load_be(const char* p) {
  U value = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) {
    value = static_cast<U>((value << 8) | static_cast<std::uint8_t>(p[i]));
  }
  return value;
}

template <class U>
void store_be(std::string& out, U value) {
  for (std::size_t i = sizeof(U); i-- > 0;) {
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(value >> (8 * i))));
  }
}

}  // namespace

std::int8_t reader::read_int8() {
  if (!need(1, "int8")) return 0;
  return static_cast<std::int8_t>(data_[pos_++]);
}

std::int16_t reader::read_int16() {
  if (!need(2, "int16")) return 0;
  const auto v = load_be<std::uint16_t>(data_.data() + pos_);
  pos_ += 2;
  return static_cast<std::int16_t>(v);
}

std::int32_t reader::read_int32() { return static_cast<std::int32_t>(read_uint32()); }

std::uint32_t reader::read_uint32() {
  if (!need(4, "int32")) return 0;
  const auto v = load_be<std::uint32_t>(data_.data() + pos_);
  pos_ += 4;
  return v;
}

std::int64_t reader::read_int64() {
  if (!need(8, "int64")) return 0;
  const auto v = load_be<std::uint64_t>(data_.data() + pos_);
  pos_ += 8;
  return static_cast<std::int64_t>(v);
}

bool reader::read_bool() { return read_int8() != 0; }

std::uint64_t reader::read_uvarlong() {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (!need(1, "varint")) return 0;
    const auto byte = static_cast<std::uint8_t>(data_[pos_++]);
    // The tenth byte may only carry the top bit of a 64-bit value.
    if (shift == 63 && byte > 1) break;
    value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  fail(codec_errc::invalid_value, "varint longer than its type");
  return 0;
}

std::uint32_t reader::read_uvarint() {
  const std::size_t start = pos_;
  const std::uint64_t value = read_uvarlong();
  if (ok() && (value > std::numeric_limits<std::uint32_t>::max() || pos_ - start > 5)) {
    fail_at(start, codec_errc::invalid_value, "varint longer than 32 bits");
    return 0;
  }
  return static_cast<std::uint32_t>(value);
}

std::int32_t reader::read_varint() {
  const std::uint32_t v = read_uvarint();
  return static_cast<std::int32_t>((v >> 1) ^ (~(v & 1) + 1));
}

std::int64_t reader::read_varlong() {
  const std::uint64_t v = read_uvarlong();
  return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

uuid reader::read_uuid() {
  uuid out{};
  if (!need(out.size(), "uuid")) return out;
  for (auto& b : out) b = static_cast<std::uint8_t>(data_[pos_++]);
  return out;
}

std::string_view reader::read_raw(std::size_t size) {
  if (!need(size, "raw bytes")) return {};
  const std::string_view out = data_.substr(pos_, size);
  pos_ += size;
  return out;
}

// size < 0 means null; any other negative size was rejected by the caller.
std::optional<std::string> reader::read_sized(std::int64_t size, std::string_view what) {
  if (!ok() || size < 0) return std::nullopt;
  if (static_cast<std::uint64_t>(size) > remaining()) {
    fail(codec_errc::invalid_length, what);
    return std::nullopt;
  }
  std::string out(data_.substr(pos_, static_cast<std::size_t>(size)));
  pos_ += static_cast<std::size_t>(size);
  return out;
}

std::optional<std::string> reader::read_nullable_string() {
  const std::int16_t size = read_int16();
  if (size < -1) fail(codec_errc::invalid_length, "negative string length");
  return read_sized(size, "string length exceeds the input");
}

std::string reader::read_string() {
  const std::size_t start = pos_;
  auto s = read_nullable_string();
  if (ok() && !s) fail_at(start, codec_errc::invalid_value, "null in a non-nullable string");
  return s.value_or(std::string{});
}

std::optional<std::string> reader::read_compact_nullable_string() {
  const std::uint32_t size_plus_one = read_uvarint();
  return read_sized(static_cast<std::int64_t>(size_plus_one) - 1,
                    "compact string length exceeds the input");
}

std::string reader::read_compact_string() {
  const std::size_t start = pos_;
  auto s = read_compact_nullable_string();
  if (ok() && !s) fail_at(start, codec_errc::invalid_value, "null in a non-nullable string");
  return s.value_or(std::string{});
}

std::optional<std::string> reader::read_nullable_bytes() {
  const std::int32_t size = read_int32();
  if (size < -1) fail(codec_errc::invalid_length, "negative bytes length");
  return read_sized(size, "bytes length exceeds the input");
}

std::string reader::read_bytes() {
  const std::size_t start = pos_;
  auto s = read_nullable_bytes();
  if (ok() && !s) fail_at(start, codec_errc::invalid_value, "null in non-nullable bytes");
  return s.value_or(std::string{});
}

std::optional<std::string> reader::read_compact_nullable_bytes() {
  return read_compact_nullable_string();
}

std::string reader::read_compact_bytes() { return read_compact_string(); }

std::int32_t reader::read_array_length() {
  const std::int32_t count = read_int32();
  if (!ok()) return 0;
  if (count < -1) {
    fail(codec_errc::invalid_length, "negative array length");
    return 0;
  }
  // Every element takes at least one byte, so a longer array cannot be in the input.
  if (count > 0 && static_cast<std::size_t>(count) > remaining()) {
    fail(codec_errc::invalid_length, "array length exceeds the input");
    return 0;
  }
  return count;
}

std::int32_t reader::read_compact_array_length() {
  const std::uint32_t count_plus_one = read_uvarint();
  if (!ok()) return 0;
  const std::int64_t count = static_cast<std::int64_t>(count_plus_one) - 1;
  if (count > 0 && static_cast<std::uint64_t>(count) > remaining()) {
    fail(codec_errc::invalid_length, "array length exceeds the input");
    return 0;
  }
  return static_cast<std::int32_t>(count);
}

std::string reader::read_string(framing f) {
  return f == framing::flexible ? read_compact_string() : read_string();
}

std::optional<std::string> reader::read_nullable_string(framing f) {
  return f == framing::flexible ? read_compact_nullable_string() : read_nullable_string();
}

std::string reader::read_bytes(framing f) {
  return f == framing::flexible ? read_compact_bytes() : read_bytes();
}

std::optional<std::string> reader::read_nullable_bytes(framing f) {
  return f == framing::flexible ? read_compact_nullable_bytes() : read_nullable_bytes();
}

std::optional<byte_chain> reader::read_nullable_chain(framing f) {
  std::int64_t size = 0;
  if (f == framing::flexible) {
    size = static_cast<std::int64_t>(read_uvarint()) - 1;
  } else {
    size = read_int32();
    if (size < -1) fail(codec_errc::invalid_length, "negative bytes length");
  }
  if (!ok() || size < 0) return std::nullopt;
  if (static_cast<std::uint64_t>(size) > remaining()) {
    fail(codec_errc::invalid_length, "bytes length exceeds the input");
    return std::nullopt;
  }
  const std::string_view bytes = data_.substr(pos_, static_cast<std::size_t>(size));
  pos_ += static_cast<std::size_t>(size);
  if (!owner_) return byte_chain(std::string(bytes));
  byte_chain out;
  out.append(shared_bytes{owner_, bytes});
  return out;
}

std::int32_t reader::read_array_length(framing f) {
  return f == framing::flexible ? read_compact_array_length() : read_array_length();
}

std::int32_t reader::read_count(framing f) {
  const std::size_t start = pos_;
  const std::int32_t count = read_array_length(f);
  if (ok() && count < 0) {
    fail_at(start, codec_errc::invalid_value, "null in a non-nullable array");
    return 0;
  }
  return count;
}

std::size_t reader::begin_field(std::uint32_t size, std::string_view& out) {
  const std::size_t start = pos_;
  if (size > remaining()) {
    fail(codec_errc::invalid_length, "tagged field size exceeds the input");
    return start;
  }
  out = data_.substr(pos_, size);
  pos_ += size;
  return start;
}

void reader::adopt_field_error(std::size_t field_start, const reader& field) {
  if (field.ok()) return;
  fail_at(field_start + field.error()->offset, field.error()->code, field.error()->text);
}

// --- writer -------------------------------------------------------------------------------------

const std::string& writer::buffer() const {
  CHRONIK_ASSERT(links_.empty(), "buffer() of a writer with linked pieces: use take_chain()");
  return out_;
}

std::string writer::take() {
  if (links_.empty()) return std::move(out_);
  return take_chain().flatten();
}

byte_chain writer::take_chain() {
  byte_chain out;
  const auto own = std::make_shared<const std::string>(std::move(out_));
  const std::string_view all(*own);
  std::size_t from = 0;
  for (auto& l : links_) {
    out.append(shared_bytes{own, all.substr(from, l.at - from)});
    out.append(std::move(l.piece));
    from = l.at;
  }
  out.append(shared_bytes{own, all.substr(from)});
  out_.clear();
  links_.clear();
  linked_bytes_ = 0;
  return out;
}

void writer::write_linked(const byte_chain& bytes) {
  for (const auto& p : bytes.pieces()) {
    if (p.size() < link_min_bytes) {
      out_.append(p.view);
      continue;
    }
    links_.push_back({out_.size(), p});
    linked_bytes_ += p.size();
  }
}

void writer::write_nullable_bytes(const std::optional<byte_chain>& value, framing f) {
  if (!value) {
    if (f == framing::flexible) return write_uvarint(0);
    return write_int32(-1);
  }
  CHRONIK_ASSERT(value->size() < static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                 "bytes longer than an int32 length allows");
  if (f == framing::flexible) {
    write_uvarint(static_cast<std::uint32_t>(value->size() + 1));
  } else {
    write_int32(static_cast<std::int32_t>(value->size()));
  }
  write_linked(*value);
}

void writer::patch_int32(std::size_t at, std::int32_t value) {
  CHRONIK_ASSERT(links_.empty(), "patch_int32 after a piece was linked");
  CHRONIK_ASSERT(at + 4 <= out_.size(), "patch_int32 past the end of the buffer");
  const auto v = static_cast<std::uint32_t>(value);
  for (std::size_t i = 0; i < 4; ++i) {
    out_[at + i] = static_cast<char>(static_cast<std::uint8_t>(v >> (8 * (3 - i))));
  }
}

void writer::write_int8(std::int8_t value) { out_.push_back(static_cast<char>(value)); }
void writer::write_int16(std::int16_t value) { store_be(out_, static_cast<std::uint16_t>(value)); }
void writer::write_int32(std::int32_t value) { store_be(out_, static_cast<std::uint32_t>(value)); }
void writer::write_int64(std::int64_t value) { store_be(out_, static_cast<std::uint64_t>(value)); }
void writer::write_uint32(std::uint32_t value) { store_be(out_, value); }

void writer::write_uvarlong(std::uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<char>(static_cast<std::uint8_t>(value) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void writer::write_uvarint(std::uint32_t value) { write_uvarlong(value); }

void writer::write_varint(std::int32_t value) {
  const auto v = static_cast<std::uint32_t>(value);
  write_uvarint((v << 1) ^ static_cast<std::uint32_t>(value >> 31));
}

void writer::write_varlong(std::int64_t value) {
  const auto v = static_cast<std::uint64_t>(value);
  write_uvarlong((v << 1) ^ static_cast<std::uint64_t>(value >> 63));
}

void writer::write_uuid(const uuid& value) {
  for (const auto b : value) out_.push_back(static_cast<char>(b));
}

void writer::write_string(std::string_view value) {
  CHRONIK_ASSERT(value.size() <= static_cast<std::size_t>(std::numeric_limits<std::int16_t>::max()),
                 "string longer than an int16 length allows");
  write_int16(static_cast<std::int16_t>(value.size()));
  out_.append(value);
}

void writer::write_nullable_string(const std::optional<std::string>& value) {
  if (!value) return write_int16(-1);
  write_string(*value);
}

void writer::write_compact_string(std::string_view value) {
  write_uvarint(static_cast<std::uint32_t>(value.size() + 1));
  out_.append(value);
}

void writer::write_compact_nullable_string(const std::optional<std::string>& value) {
  if (!value) return write_uvarint(0);
  write_compact_string(*value);
}

void writer::write_bytes(std::string_view value) {
  CHRONIK_ASSERT(value.size() <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                 "bytes longer than an int32 length allows");
  write_int32(static_cast<std::int32_t>(value.size()));
  out_.append(value);
}

void writer::write_nullable_bytes(const std::optional<std::string>& value) {
  if (!value) return write_int32(-1);
  write_bytes(*value);
}

void writer::write_compact_bytes(std::string_view value) { write_compact_string(value); }

void writer::write_compact_nullable_bytes(const std::optional<std::string>& value) {
  write_compact_nullable_string(value);
}

void writer::write_array_length(std::int32_t count) { write_int32(count < 0 ? -1 : count); }

void writer::write_compact_array_length(std::int32_t count) {
  write_uvarint(count < 0 ? 0u : static_cast<std::uint32_t>(count) + 1);
}

void writer::write_string(std::string_view value, framing f) {
  f == framing::flexible ? write_compact_string(value) : write_string(value);
}

void writer::write_nullable_string(const std::optional<std::string>& value, framing f) {
  f == framing::flexible ? write_compact_nullable_string(value) : write_nullable_string(value);
}

void writer::write_bytes(std::string_view value, framing f) {
  f == framing::flexible ? write_compact_bytes(value) : write_bytes(value);
}

void writer::write_nullable_bytes(const std::optional<std::string>& value, framing f) {
  f == framing::flexible ? write_compact_nullable_bytes(value) : write_nullable_bytes(value);
}

void writer::write_array_length(std::int32_t count, framing f) {
  f == framing::flexible ? write_compact_array_length(count) : write_array_length(count);
}

void writer::write_array_length(std::size_t count, framing f) {
  CHRONIK_ASSERT(count <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                 "array longer than an int32 length allows");
  write_array_length(static_cast<std::int32_t>(count), f);
}

void writer::write_tagged_fields(framing f, const std::vector<tagged_field>& fields) {
  if (f != framing::flexible) return;
  write_uvarint(static_cast<std::uint32_t>(fields.size()));
  for (const auto& field : fields) {
    write_uvarint(field.tag);
    write_uvarint(static_cast<std::uint32_t>(field.data.size()));
    out_.append(field.data);
  }
}

// --- arrays of primitives -----------------------------------------------------------------------

std::vector<std::int32_t> read_int32_array(reader& r, framing f) {
  return read_array<std::int32_t>(r, f, [](reader& in) { return in.read_int32(); });
}

void write_int32_array(writer& w, framing f, const std::vector<std::int32_t>& items) {
  write_array(w, f, items, [](writer& out, std::int32_t v) { out.write_int32(v); });
}

std::vector<std::string> read_string_array(reader& r, framing f) {
  return read_array<std::string>(r, f, [f](reader& in) { return in.read_string(f); });
}

void write_string_array(writer& w, framing f, const std::vector<std::string>& items) {
  write_array(w, f, items, [f](writer& out, const std::string& v) { out.write_string(v, f); });
}

}  // namespace chronik::kafka
