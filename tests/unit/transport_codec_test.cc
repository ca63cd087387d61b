// The transport codec without sockets: every message type round-trips field for field,
// heartbeats coalesce without reordering a group, and malformed or oversized batches are refused
// with an error instead of a crash (consensus/transport/codec.h).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <random>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include "consensus/transport/codec.h"
#include "transport_test_util.h"

// While armed, any single allocation above allocation_limit fails with bad_alloc instead of
// reaching malloc, and the largest request is recorded: a decoder that sizes a buffer from a count
// it has not checked shows up here without the test needing the memory.
namespace {
bool allocation_armed = false;
std::size_t allocation_limit = 0;
std::size_t largest_allocation = 0;
}  // namespace

// GCC sees malloc behind this operator new and free behind the matching deletes, and warns about
// a mismatch that is not there: both sides are replaced together.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (allocation_armed) {
    largest_allocation = std::max(largest_allocation, n);
    if (n > allocation_limit) throw std::bad_alloc();
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace chronik::consensus {
namespace {

using testing::expect_same;
using testing::full_message;

constexpr node_id sender{1};
constexpr node_id receiver{2};
constexpr std::size_t max_bytes = 1u << 20;

batch_header header() { return {transport_protocol_version, "c1", "uuid-1", sender}; }

std::expected<decoded_batch, transport_error> round_trip(const std::vector<group_message>& items,
                                                         std::size_t limit = max_bytes) {
  capnp::MallocMessageBuilder builder;
  encode_batch(builder.initRoot<schemas::Batch>(), header(), items, receiver);
  return decode_batch(builder.getRoot<schemas::Batch>().asReader(), receiver, limit);
}

TEST(TransportCodec, EveryMessageTypeRoundTrips) {
  std::vector<group_message> items;
  for (int t = 0; t <= static_cast<int>(message_type::read_index_response); ++t)
    items.push_back({group_id{static_cast<std::uint64_t>(t + 10)},
                     full_message(static_cast<message_type>(t), 1, 2, t)});
  auto decoded = round_trip(items);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().text;
  EXPECT_EQ(decoded->header.cluster_id, "c1");
  EXPECT_EQ(decoded->header.node_uuid, "uuid-1");
  EXPECT_EQ(decoded->header.sender, sender);
  ASSERT_EQ(decoded->messages.size(), items.size());
  // Fully populated heartbeats are not coalescible, so everything stays in order.
  EXPECT_EQ(decoded->coalesced_heartbeats, 0u);
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(decoded->messages[i].group, items[i].group);
    expect_same(decoded->messages[i].msg, items[i].msg);
  }
}

TEST(TransportCodec, HeartbeatsCoalesceButNeverReorderAGroup) {
  std::vector<group_message> items;
  for (std::uint64_t g = 1; g <= 100; ++g) items.push_back(testing::heartbeat(g, 1, 2));
  items.back().msg.context = "read-7";
  // Group 5 also has an append after its heartbeat: it must travel in full, heartbeat first.
  auto append = testing::appends(5, 1, 2, 10, 1);
  items.push_back(append[0]);
  message response;
  response.type = message_type::heartbeat_response;
  response.from = sender;
  response.to = receiver;
  response.term = term_id{9};
  items.push_back({group_id{200}, response});
  auto decoded = round_trip(items);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().text;
  EXPECT_EQ(decoded->coalesced_heartbeats, 100u);  // 99 groups + group 200's response
  ASSERT_EQ(decoded->messages.size(), items.size());
  std::vector<message_type> group5;
  for (const auto& item : decoded->messages) {
    if (item.group == group_id{5}) group5.push_back(item.msg.type);
    if (item.group == group_id{100}) {
      EXPECT_EQ(item.msg.context, "read-7");
    }
    if (item.group == group_id{200}) {
      EXPECT_EQ(item.msg.type, message_type::heartbeat_response);
    }
    if (item.group == group_id{42}) expect_same(item.msg, testing::heartbeat(42, 1, 2).msg);
  }
  EXPECT_EQ(group5, (std::vector{message_type::heartbeat, message_type::append}));
}

TEST(TransportCodec, UnknownEnumsAreRefused) {
  capnp::MallocMessageBuilder builder;
  auto batch = builder.initRoot<schemas::Batch>();
  encode_batch(batch, header(), std::vector{testing::appends(1, 1, 2, 1, 1)[0]}, receiver);
  batch.getMessages()[0].setType(static_cast<schemas::MessageType>(77));
  auto bad_type = decode_batch(batch.asReader(), receiver, max_bytes);
  ASSERT_FALSE(bad_type.has_value());
  EXPECT_EQ(bad_type.error().code, transport_errc::malformed);
  EXPECT_NE(bad_type.error().text.find("unknown message type 77"), std::string::npos);

  batch.getMessages()[0].setType(schemas::MessageType::APPEND);
  batch.getMessages()[0].getEntries()[0].setType(static_cast<schemas::EntryType>(9));
  auto bad_entry = decode_batch(batch.asReader(), receiver, max_bytes);
  ASSERT_FALSE(bad_entry.has_value());
  EXPECT_NE(bad_entry.error().text.find("unknown entry type 9"), std::string::npos);
}

TEST(TransportCodec, MissingIdentityAndMisaddressedMessagesAreRefused) {
  auto with = [](auto edit) {
    capnp::MallocMessageBuilder builder;
    auto batch = builder.initRoot<schemas::Batch>();
    encode_batch(batch, header(), std::vector{testing::heartbeat(1, 1, 2)}, receiver);
    auto full = testing::appends(1, 1, 2, 1, 1);
    capnp::MallocMessageBuilder other;
    auto copy = other.initRoot<schemas::Batch>();
    encode_batch(copy, header(), full, receiver);
    batch.setMessages(copy.getMessages().asReader());
    edit(batch);
    return decode_batch(batch.asReader(), receiver, max_bytes);
  };
  EXPECT_TRUE(with([](auto) {}).has_value());
  auto no_uuid = with([](auto b) { b.disownNodeUuid(); });
  ASSERT_FALSE(no_uuid.has_value());
  EXPECT_EQ(no_uuid.error().code, transport_errc::malformed);
  EXPECT_FALSE(with([](auto b) { b.setSenderNode(0); }).has_value());
  auto spoofed = with([](auto b) { b.getMessages()[0].setFrom(3); });
  ASSERT_FALSE(spoofed.has_value());
  EXPECT_EQ(spoofed.error().code, transport_errc::malformed);
  auto misrouted = with([](auto b) { b.getMessages()[0].setTo(3); });
  ASSERT_FALSE(misrouted.has_value());
  EXPECT_EQ(misrouted.error().code, transport_errc::identity_mismatch);
  // Ids are 64-bit on the wire and 32-bit in a node id (base/node_id.h): one that does not fit is
  // malformed, never truncated into another node's id (2^32 + 1 would have named node 1).
  constexpr std::uint64_t wide = (std::uint64_t{1} << 32) + 1;
  for (auto edit : {+[](schemas::Batch::Builder b) { b.setSenderNode(wide); },
                    +[](schemas::Batch::Builder b) { b.getMessages()[0].setFrom(wide); },
                    +[](schemas::Batch::Builder b) { b.getMessages()[0].setTo(wide); }}) {
    auto refused = with(edit);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, transport_errc::malformed);
  }
}

TEST(TransportCodec, OversizedBatchIsRefused) {
  auto big = testing::appends(1, 1, 2, 1, 10, 4096);
  EXPECT_TRUE(round_trip(big, 64 * 1024).has_value());
  auto refused = round_trip(big, 16 * 1024);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, transport_errc::oversized);
  // The sender's estimate bounds what the receiver counts, so a batch built within max_bytes
  // is never refused for its size.
  std::size_t estimate = 0;
  for (const auto& item : big) estimate += estimate_bytes(item.msg);
  EXPECT_TRUE(round_trip(big, estimate).has_value());
  EXPECT_FALSE(round_trip(big, estimate - 1).has_value());
}

// Rewrites pointer slot `field` of the root Batch (a one-element struct list) into a list that claims
// `count` zero-sized structs: a few bytes on the wire, and only `count` words of Cap'n Proto's
// traversal limit.
void claim_zero_sized_elements(kj::Array<capnp::word>& words, unsigned field, std::uint64_t count) {
  auto get = [&](std::size_t i) {
    std::uint64_t v;
    std::memcpy(&v, static_cast<const void*>(&words[1 + i]), 8);  // words[0] is the one-segment table
    return v;
  };
  auto put = [&](std::size_t i, std::uint64_t v) { std::memcpy(static_cast<void*>(&words[1 + i]), &v, 8); };
  auto offset = [](std::uint64_t ptr) { return static_cast<std::int64_t>(static_cast<std::int32_t>(ptr) >> 2); };
  const std::uint64_t root = get(0);
  const std::size_t fields = static_cast<std::size_t>(1 + offset(root) + ((root >> 32) & 0xffff) + field);
  const std::uint64_t list = get(fields);
  const std::size_t tag = static_cast<std::size_t>(static_cast<std::int64_t>(fields) + 1 + offset(list));
  put(fields, (list & 0xffffffffu) | (std::uint64_t{7} << 32));  // inline composite, 0 words
  put(tag, count << 2);  // element count, 0 data words, 0 pointers
}

TEST(TransportCodec, ClaimedCountsNeverSizeAnAllocation) {
  for (unsigned field : {2u, 3u}) {  // the pointer slots of Batch.messages and Batch.heartbeats
    capnp::MallocMessageBuilder builder;
    auto batch = builder.initRoot<schemas::Batch>();
    batch.setProtocolVersion(transport_protocol_version);
    batch.setNodeUuid(capnp::Data::Reader(reinterpret_cast<const kj::byte*>("uuid-1"), 6));
    batch.setSenderNode(sender.value());
    batch.initMessages(1);
    batch.initHeartbeats(1);
    auto words = kj::heapArray<capnp::word>(capnp::messageToFlatArray(builder).asPtr());
    claim_zero_sized_elements(words, field, 4'000'000);
    capnp::FlatArrayMessageReader reader(words.asPtr());
    const auto root = reader.getRoot<schemas::Batch>();
    ASSERT_EQ(field == 2 ? root.getMessages().size() : root.getHeartbeats().size(), 4'000'000u);

    largest_allocation = 0;
    allocation_limit = 16 * max_bytes;
    allocation_armed = true;
    std::optional<std::expected<decoded_batch, transport_error>> decoded;
    try {
      decoded = decode_batch(root, receiver, max_bytes);
    } catch (const std::bad_alloc&) {
    }
    allocation_armed = false;
    EXPECT_LE(largest_allocation, 16 * max_bytes) << "field " << field;
    ASSERT_TRUE(decoded.has_value()) << "decode_batch threw bad_alloc for field " << field;
    ASSERT_FALSE(decoded->has_value());
    EXPECT_EQ(decoded->error().code, transport_errc::oversized);
  }
}

TEST(TransportCodec, CorruptedBytesNeverCrash) {
  std::vector<group_message> items;
  for (int t = 0; t < 13; ++t)
    items.push_back({group_id{1}, full_message(static_cast<message_type>(t), 1, 2, t)});
  capnp::MallocMessageBuilder builder;
  encode_batch(builder.initRoot<schemas::Batch>(), header(), items, receiver);
  const auto words = capnp::messageToFlatArray(builder);
  std::mt19937_64 rng(12345);
  int decoded = 0;
  for (int round = 0; round < 2000; ++round) {
    auto copy = kj::heapArray<capnp::word>(words.asPtr());
    auto bytes = copy.asBytes();
    // Leave the segment table alone (the RPC framing checks it) and damage the content.
    for (int flips = 0; flips < 4; ++flips)
      bytes[8 + rng() % (bytes.size() - 8)] = static_cast<kj::byte>(rng());
    std::optional<capnp::FlatArrayMessageReader> reader;
    schemas::Batch::Reader root;
    try {
      reader.emplace(copy.asPtr());
      root = reader->getRoot<schemas::Batch>();
    } catch (const kj::Exception&) {
      continue;  // a damaged root pointer; the RPC layer refuses such a message itself
    }
    EXPECT_NO_THROW({
      if (decode_batch(root, receiver, max_bytes)) ++decoded;
    });
  }
  SUCCEED() << decoded << " of 2000 damaged batches still decoded";
}

}  // namespace
}  // namespace chronik::consensus
