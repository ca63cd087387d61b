#include "kafka/protocol/batch_records.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include "kafka/protocol/wire.h"

namespace chronik::kafka {
namespace {

codec_error error(codec_errc code, std::string text) { return codec_error{code, 0, std::move(text)}; }

codec_error too_large(std::size_t limit) {
  return error(codec_errc::too_large, "decompressed records exceed " + std::to_string(limit) + " bytes");
}

// gzip (RFC 1952), possibly several members one after another, as java.util.zip reads them.
std::expected<std::string, codec_error> inflate_gzip(std::string_view in, std::size_t limit) {
  z_stream s{};
  if (inflateInit2(&s, 15 + 32) != Z_OK) return std::unexpected(error(codec_errc::invalid_value, "zlib init failed"));
  const std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&s, inflateEnd);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  std::string out;
  std::array<char, 16384> chunk{};
  while (true) {
    s.next_out = reinterpret_cast<Bytef*>(chunk.data());
    s.avail_out = chunk.size();
    const int rc = inflate(&s, Z_NO_FLUSH);
    out.append(chunk.data(), chunk.size() - s.avail_out);
    if (out.size() > limit) return std::unexpected(too_large(limit));
    if (rc == Z_STREAM_END) {
      if (s.avail_in == 0) return out;
      if (inflateReset(&s) != Z_OK) return std::unexpected(error(codec_errc::invalid_value, "gzip: reset failed"));
      continue;
    }
    // With output space free, Z_BUF_ERROR means no progress is possible: the input ended early.
    if (rc == Z_BUF_ERROR) return std::unexpected(error(codec_errc::truncated, "gzip: stream ends early"));
    if (rc != Z_OK) {
      return std::unexpected(error(codec_errc::invalid_value, std::string("gzip: ") + (s.msg ? s.msg : "corrupt")));
    }
  }
}

std::expected<std::string, codec_error> snappy_raw(std::string_view in, std::size_t limit) {
  std::size_t size = 0;
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &size)) {
    return std::unexpected(error(codec_errc::invalid_value, "snappy: bad length header"));
  }
  if (size > limit) return std::unexpected(too_large(limit));
  std::string out;
  if (!snappy::Uncompress(in.data(), in.size(), &out)) {
    return std::unexpected(error(codec_errc::invalid_value, "snappy: corrupt block"));
  }
  return out;
}

// Kafka's Java client (and librdkafka when asked) frames snappy the way xerial's
// SnappyOutputStream does: a 16-byte header (magic, version, compatible version) and then blocks
// of [int32 big-endian length][raw snappy block].
constexpr std::string_view xerial_magic{"\x82SNAPPY\0", 8};

std::expected<std::string, codec_error> snappy(std::string_view in, std::size_t limit) {
  if (!in.starts_with(xerial_magic)) return snappy_raw(in, limit);
  if (in.size() < 16) return std::unexpected(error(codec_errc::truncated, "snappy: xerial header"));
  reader r(in.substr(16));
  std::string out;
  while (r.remaining() > 0) {
    const std::int32_t size = r.read_int32();
    if (!r.ok() || size < 0 || static_cast<std::size_t>(size) > r.remaining()) {
      return std::unexpected(error(codec_errc::invalid_length, "snappy: xerial block length"));
    }
    auto block = snappy_raw(r.read_raw(static_cast<std::size_t>(size)), limit - out.size());
    if (!block) return block;
    out += *block;
  }
  return out;
}

// The LZ4 frame format (Kafka has used it, with a correct header checksum, since magic 1).
std::expected<std::string, codec_error> lz4_frame(std::string_view in, std::size_t limit) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
    return std::unexpected(error(codec_errc::invalid_value, "lz4: context"));
  }
  const std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> guard(ctx, LZ4F_freeDecompressionContext);
  std::string out;
  std::array<char, 65536> chunk{};
  const char* src = in.data();
  std::size_t left = in.size();
  std::size_t hint = 1;
  while (left > 0 && hint != 0) {
    std::size_t dst_size = chunk.size();
    std::size_t src_size = left;
    hint = LZ4F_decompress(ctx, chunk.data(), &dst_size, src, &src_size, nullptr);
    if (LZ4F_isError(hint)) {
      return std::unexpected(error(codec_errc::invalid_value, std::string("lz4: ") + LZ4F_getErrorName(hint)));
    }
    out.append(chunk.data(), dst_size);
    if (out.size() > limit) return std::unexpected(too_large(limit));
    src += src_size;
    left -= src_size;
    if (src_size == 0 && dst_size == 0) break;  // no progress: the frame wants input we do not have
  }
  if (hint != 0) return std::unexpected(error(codec_errc::truncated, "lz4: frame ends early"));
  return out;
}

std::expected<std::string, codec_error> zstd(std::string_view in, std::size_t limit) {
  const std::unique_ptr<ZSTD_DStream, std::size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(), ZSTD_freeDStream);
  if (!ds || ZSTD_isError(ZSTD_initDStream(ds.get()))) {
    return std::unexpected(error(codec_errc::invalid_value, "zstd: context"));
  }
  std::string out;
  std::array<char, 65536> chunk{};
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  std::size_t rc = 1;
  while (src.pos < src.size || rc != 0) {
    ZSTD_outBuffer dst{chunk.data(), chunk.size(), 0};
    const std::size_t before = src.pos;
    rc = ZSTD_decompressStream(ds.get(), &dst, &src);
    if (ZSTD_isError(rc)) {
      return std::unexpected(error(codec_errc::invalid_value, std::string("zstd: ") + ZSTD_getErrorName(rc)));
    }
    out.append(chunk.data(), dst.pos);
    if (out.size() > limit) return std::unexpected(too_large(limit));
    if (src.pos == before && dst.pos == 0) {
      if (rc != 0) return std::unexpected(error(codec_errc::truncated, "zstd: frame ends early"));
      break;
    }
  }
  return out;
}

}  // namespace

std::expected<std::string, codec_error> decompress_records(compression_type codec, std::string_view payload,
                                                           std::size_t limit) {
  switch (codec) {
    case compression_type::none:
      if (payload.size() > limit) return std::unexpected(too_large(limit));
      return std::string(payload);
    case compression_type::gzip: return inflate_gzip(payload, limit);
    case compression_type::snappy: return snappy(payload, limit);
    case compression_type::lz4: return lz4_frame(payload, limit);
    case compression_type::zstd: return zstd(payload, limit);
  }
  return std::unexpected(error(codec_errc::invalid_value, "unknown compression"));
}

namespace {

// A key, value or header value: -1 is null, anything else must lie inside the record. Returns a
// view of its bytes (empty when null or damaged).
std::string_view read_sized(reader& rec, std::int32_t size, bool nullable, const char* what) {
  if (size == -1 && nullable) return {};
  if (size < 0 || static_cast<std::size_t>(size) > rec.remaining()) {
    rec.fail(codec_errc::invalid_length, what);
    return {};
  }
  return rec.read_raw(static_cast<std::size_t>(size));
}

}  // namespace

std::expected<record_fields, codec_error> read_record(reader& r) {
  const std::size_t start = r.offset();
  const std::int32_t length = r.read_varint();
  if (!r.ok()) return std::unexpected(*r.error());
  if (length < 0 || static_cast<std::size_t>(length) > r.remaining()) {
    r.fail_at(start, codec_errc::invalid_length, "record length");
    return std::unexpected(*r.error());
  }
  const std::size_t body_start = r.offset();
  reader rec(r.read_raw(static_cast<std::size_t>(length)));
  record_fields f;
  f.attributes = rec.read_int8();
  f.timestamp_delta = rec.read_varlong();
  f.offset_delta = rec.read_varint();
  f.key_bytes = rec.read_varint();
  f.key = read_sized(rec, f.key_bytes, true, "record key");
  f.value_bytes = rec.read_varint();
  f.value = read_sized(rec, f.value_bytes, true, "record value");
  f.headers = rec.read_varint();
  if (rec.ok() && f.headers < 0) rec.fail(codec_errc::invalid_value, "negative header count");
  // Every header takes at least two bytes, so this loop ends within the record's bytes.
  for (std::int32_t h = 0; rec.ok() && h < f.headers; ++h) {
    read_sized(rec, rec.read_varint(), false, "header key");
    read_sized(rec, rec.read_varint(), true, "header value");
  }
  // The length must cover the fields exactly: bytes left over mean the record lies about itself.
  if (rec.ok() && rec.remaining() != 0) rec.fail(codec_errc::invalid_length, "record length exceeds its fields");
  if (!rec.ok()) {
    codec_error e = *rec.error();
    e.offset += body_start;
    r.fail_at(e.offset, e.code, e.text);
    return std::unexpected(std::move(e));
  }
  return f;
}

std::expected<std::vector<record_position>, codec_error> record_positions(const record_batch_view& batch) {
  const record_batch_header& h = batch.header;
  if (!h.has_known_compression()) return std::unexpected(error(codec_errc::invalid_value, "unknown compression"));
  if (batch.bytes.size() < record_batch_header_size) {
    return std::unexpected(error(codec_errc::truncated, "record batch header"));
  }
  const std::string_view section = batch.bytes.substr(record_batch_header_size);
  std::string inflated;
  std::string_view records = section;
  if (h.compression() != compression_type::none) {
    auto d = decompress_records(h.compression(), section);
    if (!d) return std::unexpected(d.error());
    inflated = std::move(*d);
    records = inflated;
  }
  // The header's count is a claim, not a size: a stored batch may lie (it was written before
  // produce validation, or the disk damaged it), so memory follows the bytes actually there.
  const std::size_t claimed = static_cast<std::size_t>(std::max<std::int32_t>(h.records_count, 0));
  std::vector<record_position> out;
  out.reserve(std::min(claimed, records.size() / min_record_bytes));
  reader r(records);
  for (std::size_t i = 0; i < claimed; ++i) {
    auto rec = read_record(r);
    if (!rec) {
      rec.error().text = "record " + std::to_string(i) + ": " + rec.error().text;
      return std::unexpected(rec.error());
    }
    record_position pos{0, h.max_timestamp};
    const bool wraps = __builtin_add_overflow(h.base_offset, std::int64_t{rec->offset_delta}, &pos.offset) ||
                       (h.timestamp() == timestamp_type::create_time &&
                        __builtin_add_overflow(h.base_timestamp, rec->timestamp_delta, &pos.timestamp));
    if (wraps) return std::unexpected(error(codec_errc::invalid_value, "record " + std::to_string(i) + " overflows"));
    out.push_back(pos);
  }
  return out;
}

}  // namespace chronik::kafka
