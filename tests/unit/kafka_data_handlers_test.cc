// Produce, Fetch and ListOffsets through the dispatcher, over real partition replicas: three
// raft_hosts linked in memory (tests/unit/partition_test_util.h), each node with a fake
// broker_context whose partitions() is that node's partition_manager. Requests are encoded with
// the codec's encode_*_request and responses decoded with decode_*_response, at every version the
// handlers serve.
#include <cerrno>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "consensus/storage/file_io.h"
#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/partition_errors.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/fetch.h"
#include "kafka/protocol/messages/list_offsets.h"
#include "kafka/protocol/messages/produce.h"
#include "tests/unit/partition_test_util.h"
#include "tests/unit/record_test_util.h"

namespace chronik::kafka {
namespace {

// Test ids as Kafka writes them, turned into node ids (-1: no node) as broker_context carries them.
chronik::node_id n(std::int32_t id) { return node_id_from_kafka(id); }
std::vector<chronik::node_id> ns(std::initializer_list<std::int32_t> ids) {
  std::vector<chronik::node_id> out;
  for (auto id : ids) out.push_back(n(id));
  return out;
}

using testing::make_batch;
using testing::partition_cluster;
using testing::unstamped;

constexpr group_id g{1024};
constexpr uuid t_id{0x7a, 0x1d};  // topic "t"'s id (KIP-516), as Fetch v13 names it

class data_context : public broker_context {
 public:
  data_context(partition_cluster& c, std::size_t node) : c_(c), node_(node) {
    topic_info t;
    t.name = "t";
    t.id = t_id;
    t.partitions.push_back({0, n(1), 1, ns({1, 2, 3}), ns({1, 2, 3}), {}});
    topics_["t"] = t;
  }
  chronik::node_id node_id() const override { return chronik::node_id{static_cast<std::uint32_t>(node_ + 1)}; }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return chronik::node_id{1}; }
  std::vector<broker_info> brokers() const override { return {}; }
  std::vector<topic_info> topics() const override { return {topics_.begin()->second}; }
  std::optional<topic_info> topic(std::string_view name) const override {
    auto it = topics_.find(std::string(name));
    if (it == topics_.end()) return std::nullopt;
    return it->second;
  }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request>, bool, std::chrono::milliseconds, topics_done done) override { done({}); }
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done done) override { done({}); }
  partition_manager& partitions() override { return c_.manager(node_); }

  // With deferred validation on, validate() queues its work as the node's worker thread would,
  // and run_validations() finishes it later, in order (broker_context::validate).
  bool defer_validation = false;
  void validate(std::string records, batch_rules rules, validated_fn done) override {
    if (!defer_validation) return broker_context::validate(std::move(records), rules, std::move(done));
    deferred_.push_back([records = std::move(records), rules, done = std::move(done)]() mutable {
      auto r = validate_produced_records(records, rules);
      done(std::move(records), std::move(r));
    });
  }
  std::size_t run_validations() {
    auto work = std::move(deferred_);
    deferred_.clear();
    for (auto& w : work) w();
    return work.size();
  }

 private:
  std::vector<std::function<void()>> deferred_;
  partition_cluster& c_;
  std::size_t node_;
  std::map<std::string, topic_info> topics_;
};

using reply_slot = std::shared_ptr<std::optional<handler_reply>>;

class data_handlers_test : public ::testing::Test {
 protected:
  data_handlers_test() {
    c_.create("t", g.value, {node_id{1}, node_id{2}, node_id{3}});
    EXPECT_TRUE(c_.elect(g, 0));
    for (std::size_t i = 0; i < 3; ++i) {
      ctx_.push_back(std::make_unique<data_context>(c_, i));
      disp_.push_back(std::make_unique<dispatcher>(*ctx_.back(), c_.log()));
    }
  }

  // Sends one request to node `i`; the reply may come later (acks=all, long-poll).
  reply_slot send(std::size_t i, api_key key, std::int16_t version, const std::function<void(writer&)>& body) {
    writer w;
    encode_request_header({key, version, 7, std::string("test")}, w);
    body(w);
    auto slot = std::make_shared<std::optional<handler_reply>>();
    disp_[i]->handle(client_info{"test", 1}, w.take(), [slot](handler_reply r) {
      EXPECT_FALSE(slot->has_value()) << "answered twice";
      *slot = std::move(r);
    });
    return slot;
  }
  // Runs the cluster until the reply is there.
  handler_reply wait(const reply_slot& slot) {
    EXPECT_TRUE(c_.run_until([&] { return slot->has_value(); }, 200));
    return slot->value_or(handler_reply::no_response());
  }
  template <typename T, typename Decode>
  T decode(const handler_reply& r, api_key key, std::int16_t version, Decode fn) {
    EXPECT_EQ(r.what, handler_reply::kind::respond) << r.why;
    const std::string whole = r.prefix + r.frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, key, version);
    EXPECT_TRUE(corr && *corr == 7);
    auto m = fn(rd, version);
    EXPECT_TRUE(m.has_value()) << describe(m.error());
    EXPECT_EQ(rd.remaining(), 0u);
    return m.value_or(T{});
  }

  produce_response produce(std::size_t node, std::int16_t version, std::string records, std::int16_t acks = -1,
                           std::string topic = "t") {
    produce_request req;
    req.acks = acks;
    req.timeout_ms = 5000;
    req.topics.push_back({std::move(topic), {{0, std::move(records)}}});
    auto slot = send(node, api_key::produce, version, [&](writer& w) { encode_produce_request(req, version, w); });
    return decode<produce_response>(wait(slot), api_key::produce, version, decode_produce_response);
  }
  error_code produce_error(std::string records, std::int16_t acks = -1, std::size_t node = 0, std::string topic = "t") {
    auto resp = produce(node, 9, std::move(records), acks, std::move(topic));
    return resp.topics.at(0).partitions.at(0).error;
  }

  fetch_request fetch_req(std::int64_t offset, std::int32_t max_wait_ms = 0, std::int32_t min_bytes = 0) {
    fetch_request req;
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = min_bytes;
    req.max_bytes = 1 << 20;
    // Named both ways: v4-12 read the name, v13 the id.
    const fetch_partition p{.partition = 0, .fetch_offset = offset, .partition_max_bytes = 1 << 20};
    req.topics.push_back({.topic = "t", .topic_id = t_id, .partitions = {p}});
    return req;
  }
  reply_slot send_fetch(std::size_t node, std::int16_t version, const fetch_request& req) {
    return send(node, api_key::fetch, version, [&](writer& w) { encode_fetch_request(req, version, w); });
  }
  fetch_partition_response fetch(std::size_t node, std::int16_t version, std::int64_t offset) {
    auto resp = decode<fetch_response>(wait(send_fetch(node, version, fetch_req(offset))), api_key::fetch, version,
                                       decode_fetch_response);
    return resp.topics.at(0).partitions.at(0);
  }

  list_offsets_partition_response list_offsets(std::size_t node, std::int16_t version, std::int64_t timestamp) {
    list_offsets_request req;
    req.topics.push_back({"t", {list_offsets_partition{.partition_index = 0, .timestamp = timestamp}}});
    auto slot = send(node, api_key::list_offsets, version,
                     [&](writer& w) { encode_list_offsets_request(req, version, w); });
    auto resp = decode<list_offsets_response>(wait(slot), api_key::list_offsets, version, decode_list_offsets_response);
    return resp.topics.at(0).partitions.at(0);
  }

  partition_cluster c_;
  std::vector<std::unique_ptr<data_context>> ctx_;
  std::vector<std::unique_ptr<dispatcher>> disp_;
};

TEST_F(data_handlers_test, produce_fetch_and_list_offsets_at_every_version) {
  std::vector<std::string> sent;
  std::int64_t next = 0;
  for (std::int16_t v = 3; v <= 9; ++v) {
    sent.push_back(make_batch(v, 1000 * v, "v" + std::to_string(v)));
    auto resp = produce(0, v, sent.back());
    const auto& p = resp.topics.at(0).partitions.at(0);
    EXPECT_EQ(p.error, error_code::none) << "v" << v;
    EXPECT_EQ(p.base_offset, next) << "v" << v;
    next += v;
  }
  for (std::int16_t v = 4; v <= 13; ++v) {
    auto p = fetch(0, v, 0);
    EXPECT_EQ(p.error, error_code::none) << "v" << v;
    EXPECT_EQ(p.high_watermark, next);
    EXPECT_EQ(p.last_stable_offset, next);
    if (v >= 5) {
      EXPECT_EQ(p.log_start_offset, 0);
    }
    const std::string records = p.records->flatten();
    auto batches = split_record_batches(records, crc_check::verify);
    ASSERT_TRUE(batches.has_value());
    ASSERT_EQ(batches->size(), sent.size());
    std::int64_t offset = 0;
    for (std::size_t k = 0; k < sent.size(); ++k) {
      EXPECT_EQ((*batches)[k].header.base_offset, offset);
      EXPECT_EQ(unstamped(std::string((*batches)[k].bytes)), unstamped(sent[k]));
      offset += (*batches)[k].header.last_offset_delta + 1;
    }
  }
  for (std::int16_t v = 1; v <= 8; ++v) {
    EXPECT_EQ(list_offsets(0, v, -2).offset, 0) << "v" << v;
    EXPECT_EQ(list_offsets(0, v, -1).offset, next) << "v" << v;
    EXPECT_EQ(list_offsets(0, v, 5000).offset, 3 + 4) << "v" << v;  // the v5 batch: after v3's and v4's
    EXPECT_EQ(list_offsets(0, v, 99'000).offset, -1) << "v" << v;
    if (v >= 4) {
      EXPECT_EQ(list_offsets(0, v, -1).leader_epoch, static_cast<std::int32_t>(c_.host(0).status(g)->term.value));
    }
    if (v >= 7) {  // KIP-734: the v9 batch holds the largest timestamp, 9000, from offset 3+...+8
      EXPECT_EQ(list_offsets(0, v, list_offsets_max_timestamp).offset, 33) << "v" << v;
      EXPECT_EQ(list_offsets(0, v, list_offsets_max_timestamp).timestamp, 9000) << "v" << v;
    }
    if (v >= 8) {  // KIP-405: no tiered storage, so the local log starts where the log does
      EXPECT_EQ(list_offsets(0, v, list_offsets_earliest_local).offset, 0) << "v" << v;
    }
  }
}

TEST_F(data_handlers_test, produce_errors_per_partition) {
  std::string corrupt = make_batch(1, 1, "abc");
  corrupt.back() ^= 0x20;
  std::string magic1 = make_batch(1, 1, "abc");
  magic1[16] = 1;
  EXPECT_EQ(produce_error(make_batch(1, 1, "x"), 2), error_code::invalid_required_acks);
  EXPECT_EQ(produce_error(corrupt), error_code::corrupt_message);
  EXPECT_EQ(produce_error(magic1), error_code::unsupported_for_message_format);
  EXPECT_EQ(produce_error(make_batch(1, 1, std::string(2'000'000, 'x'))), error_code::message_too_large);
  EXPECT_EQ(produce_error(make_batch(1, 1, "x"), -1, 1), error_code::not_leader_or_follower);
  EXPECT_EQ(produce_error(make_batch(1, 1, "x"), -1, 0, "nope"), error_code::unknown_topic_or_partition);
  // Only the group coordinator writes the internal offsets topic (Kafka: "Cannot append to internal
  // topic"), whether or not a replica of it is here.
  EXPECT_EQ(produce_error(make_batch(1, 1, "x"), -1, 0, "__consumer_offsets"), error_code::invalid_topic_exception);
  // Nor may anyone but the transaction coordinator write `__transaction_state`.
  EXPECT_EQ(produce_error(make_batch(1, 1, "x"), -1, 0, "__transaction_state"), error_code::invalid_topic_exception);
  EXPECT_EQ(produce_error(make_batch(1, 1, "x"), 1), error_code::none);
}

// Regression (partition suite loss-30): a batch past sequence 0 from a producer the partition
// never knew is UNKNOWN_PRODUCER_ID, with the log start (the Java client compares its last
// acknowledged offset with it), and nothing is stored; the same producer from sequence 0 is taken.
TEST_F(data_handlers_test, an_unknown_producer_past_sequence_zero_gets_unknown_producer_id_and_the_log_start) {
  const auto late = produce(0, 9, testing::make_idempotent_batch(2, 1, "late", 4000, 0, 29));
  const auto& p = late.topics.at(0).partitions.at(0);
  EXPECT_EQ(p.error, error_code::unknown_producer_id);
  EXPECT_EQ(p.log_start_offset, 0);
  EXPECT_EQ(fetch(0, 12, 0).high_watermark, 0) << "nothing stored";
  EXPECT_EQ(produce_error(testing::make_idempotent_batch(2, 1, "first", 4000, 0, 0)), error_code::none);
  EXPECT_EQ(produce_error(testing::make_idempotent_batch(2, 1, "next", 4000, 0, 2)), error_code::none);
}

// A refusal for too many proposals in flight wrote nothing: it must not read as possibly
// persisted (REQUEST_TIMED_OUT), which librdkafka 2.0 counts as delivered once a later batch of
// the producer is acknowledged. A timeout's outcome is unknown and stays REQUEST_TIMED_OUT.
TEST(partition_errors, a_refusal_that_wrote_nothing_is_not_a_timeout) {
  EXPECT_EQ(to_error_code(partition_errc::busy), error_code::not_enough_replicas);
  EXPECT_EQ(to_error_code(partition_errc::timed_out), error_code::request_timed_out);
  EXPECT_EQ(to_error_code(partition_errc::unknown_producer), error_code::unknown_producer_id);
}

// /metrics (request_metrics.h): each answered Produce counts once, under its partition's error, and
// its latency; a request on another node counts there.
TEST_F(data_handlers_test, answered_requests_are_counted_by_api_and_error) {
  EXPECT_EQ(produce_error(make_batch(1, 1, "x")), error_code::none);
  EXPECT_EQ(produce_error(make_batch(1, 1, "y")), error_code::none);
  EXPECT_EQ(produce_error(make_batch(1, 1, "x"), -1, 0, "nope"), error_code::unknown_topic_or_partition);
  EXPECT_EQ(produce_error(make_batch(1, 1, "x"), -1, 1), error_code::not_leader_or_follower);
  const auto at0 = disp_[0]->metrics().snapshot();
  ASSERT_EQ(at0.size(), 1u);
  EXPECT_EQ(at0[0].key, api_key::produce);
  EXPECT_EQ(at0[0].by_error.at(0), 2u);
  EXPECT_EQ(at0[0].by_error.at(static_cast<std::int32_t>(error_code::unknown_topic_or_partition)), 1u);
  EXPECT_EQ(at0[0].latency.count, 3u);
  // Three produce requests in, three answers out, each frame with its 4-byte size prefix.
  EXPECT_GT(disp_[0]->metrics().bytes_received(), 3u * 4u);
  EXPECT_GT(disp_[0]->metrics().bytes_sent(), 3u * 4u);
  // By API (the status page's rates): every frame here was a Produce whose header decoded.
  EXPECT_EQ(disp_[0]->metrics().bytes_of(api_key::produce).received, disp_[0]->metrics().bytes_received());
  EXPECT_EQ(disp_[0]->metrics().bytes_of(api_key::produce).sent, disp_[0]->metrics().bytes_sent());
  EXPECT_EQ(disp_[0]->metrics().bytes_of(api_key::fetch).received, 0u);
  EXPECT_EQ(disp_[0]->metrics().bytes_of(api_key::fetch).sent, 0u);
  const auto at1 = disp_[1]->metrics().snapshot();
  ASSERT_EQ(at1.size(), 1u);
  EXPECT_EQ(at1[0].by_error.at(static_cast<std::int32_t>(error_code::not_leader_or_follower)), 1u);
}

// Issue 13, disk faults: once node 1's WAL fails (an fdatasync here), it answers Kafka's
// KAFKA_STORAGE_ERROR (56) to Produce, Fetch and ListOffsets, as Kafka does for a partition on
// an offline log dir; so does the producer that was waiting when the write failed (acks=all),
// which is never told "written".
TEST_F(data_handlers_test, fenced_node_answers_kafka_storage_error) {
  EXPECT_EQ(produce_error(make_batch(1, 1, "before")), error_code::none);
  reply_slot waiting;
  {
    const std::filesystem::path dir = c_.dir(0);
    consensus::io::set_fault_injector([dir](consensus::io::fault_point p, const std::filesystem::path& f) {
      return p == consensus::io::fault_point::datasync && f.string().starts_with(dir.string()) ? EIO : 0;
    });
    produce_request req;
    req.acks = -1;
    req.timeout_ms = 5000;
    req.topics.push_back({"t", {{0, make_batch(1, 1, "lost")}}});
    waiting = send(0, api_key::produce, 9, [&](writer& w) { encode_produce_request(req, 9, w); });
    EXPECT_TRUE(c_.settle());
    consensus::io::set_fault_injector({});
  }
  ASSERT_TRUE(c_.host(0).failed());
  const auto answered = decode<produce_response>(wait(waiting), api_key::produce, 9, decode_produce_response);
  EXPECT_EQ(answered.topics.at(0).partitions.at(0).error, error_code::kafka_storage_error);
  EXPECT_EQ(produce_error(make_batch(1, 1, "x")), error_code::kafka_storage_error);
  EXPECT_EQ(produce_error(make_batch(1, 1, "x"), 1), error_code::kafka_storage_error);
  for (std::int16_t v : {4, 12}) EXPECT_EQ(fetch(0, v, 0).error, error_code::kafka_storage_error) << "v" << v;
  EXPECT_EQ(list_offsets(0, 6, -1).error, error_code::kafka_storage_error);
  // A long-poll on the fenced node is answered at once rather than parked.
  auto poll = send_fetch(0, 12, fetch_req(1, 10'000, 1));
  EXPECT_TRUE(c_.settle());
  EXPECT_TRUE(poll->has_value());
}

// KIP-467: a batch whose header lies about its records is INVALID_RECORD with the record named
// from Produce v8; older versions answer CORRUPT_MESSAGE, which their clients know. Nothing of a
// refused batch is stored.
TEST_F(data_handlers_test, lying_batches_are_invalid_record_and_not_stored) {
  record_batch_header h;
  h.records_count = 2;
  h.last_offset_delta = 1;
  h.base_timestamp = 5;
  h.max_timestamp = 5;
  const std::string lying = build_record_batch(h, testing::record(0, 0, "a") + testing::record(0, 3, "b"));
  const auto v9 = produce(0, 9, lying).topics.at(0).partitions.at(0);
  EXPECT_EQ(v9.error, error_code::invalid_record);
  ASSERT_EQ(v9.record_errors.size(), 1u);
  EXPECT_EQ(v9.record_errors[0].batch_index, 1);  // the record with offset delta 3
  ASSERT_TRUE(v9.error_message.has_value());
  EXPECT_NE(v9.error_message->find("offset delta"), std::string::npos) << *v9.error_message;
  EXPECT_EQ(produce(0, 7, lying).topics.at(0).partitions.at(0).error, error_code::corrupt_message);
  EXPECT_EQ(c_.manager(0).find(g)->high_watermark(), 0);
  EXPECT_EQ(produce_error(make_batch(1, 1, "x")), error_code::none);
}

// zstd came with Produce v7 (KIP-110).
// Validation on the node's worker thread: the request is answered only once its batches were
// checked, in the order sent, and a partition whose leader moved meanwhile answers
// NOT_LEADER_OR_FOLLOWER (nothing was proposed).
TEST_F(data_handlers_test, produce_waits_for_deferred_validation) {
  ctx_[0]->defer_validation = true;
  produce_request req;
  req.acks = -1;
  req.timeout_ms = 5000;
  req.topics.push_back({"t", {{0, make_batch(2, 1, "first")}}});
  auto first = send(0, api_key::produce, 9, [&](writer& w) { encode_produce_request(req, 9, w); });
  req.topics[0].partitions[0].records = make_batch(3, 1, "second");
  auto second = send(0, api_key::produce, 9, [&](writer& w) { encode_produce_request(req, 9, w); });
  ASSERT_TRUE(c_.settle());
  EXPECT_FALSE(first->has_value());
  EXPECT_EQ(c_.manager(0).find(g)->in_flight(), 0u) << "nothing proposed before validation";
  EXPECT_EQ(ctx_[0]->run_validations(), 2u);
  const auto a = decode<produce_response>(wait(first), api_key::produce, 9, decode_produce_response);
  const auto b = decode<produce_response>(wait(second), api_key::produce, 9, decode_produce_response);
  EXPECT_EQ(a.topics.at(0).partitions.at(0).base_offset, 0);
  EXPECT_EQ(b.topics.at(0).partitions.at(0).base_offset, 2);

  auto third = send(0, api_key::produce, 9, [&](writer& w) { encode_produce_request(req, 9, w); });
  ASSERT_TRUE(c_.settle());
  ASSERT_TRUE(c_.elect(g, 1));
  ctx_[0]->run_validations();
  const auto c = decode<produce_response>(wait(third), api_key::produce, 9, decode_produce_response);
  EXPECT_EQ(c.topics.at(0).partitions.at(0).error, error_code::not_leader_or_follower);
}

TEST_F(data_handlers_test, zstd_before_produce_v7_is_unsupported) {
  record_batch_header h;
  h.attributes = static_cast<std::int16_t>(compression_type::zstd);
  const std::string zstd = build_record_batch(h, "not even looked at");
  EXPECT_EQ(produce(0, 6, zstd).topics.at(0).partitions.at(0).error, error_code::unsupported_compression_type);
  EXPECT_EQ(produce(0, 7, zstd).topics.at(0).partitions.at(0).error, error_code::corrupt_message);
}

TEST_F(data_handlers_test, acks_zero_sends_no_response_and_closes_on_error) {
  produce_request req;
  req.acks = 0;
  req.topics.push_back({"t", {{0, make_batch(2, 1, "fire and forget")}}});
  auto slot = send(0, api_key::produce, 7, [&](writer& w) { encode_produce_request(req, 7, w); });
  ASSERT_TRUE(slot->has_value());
  EXPECT_EQ((*slot)->what, handler_reply::kind::none);
  ASSERT_TRUE(c_.run_until([&] { return c_.manager(0).find(g)->high_watermark() == 2; }));

  req.topics[0].name = "nope";
  auto bad = send(0, api_key::produce, 7, [&](writer& w) { encode_produce_request(req, 7, w); });
  ASSERT_TRUE(bad->has_value());
  EXPECT_EQ((*bad)->what, handler_reply::kind::close);
}

TEST_F(data_handlers_test, fetch_long_polls_until_data_arrives_or_max_wait_passes) {
  // At the high watermark with min_bytes 1: the request parks.
  auto parked = send_fetch(0, 11, fetch_req(0, 500, 1));
  ASSERT_TRUE(c_.tick_all());
  EXPECT_FALSE(parked->has_value());
  EXPECT_EQ(produce(0, 9, make_batch(3, 1, "wake")).topics[0].partitions[0].error, error_code::none);
  auto resp = decode<fetch_response>(wait(parked), api_key::fetch, 11, decode_fetch_response);
  const auto& p = resp.topics.at(0).partitions.at(0);
  EXPECT_EQ(p.high_watermark, 3);
  ASSERT_TRUE(p.records.has_value() && !p.records->empty());
  EXPECT_EQ(unstamped(p.records->flatten()), unstamped(make_batch(3, 1, "wake")));

  // Nothing new: answered empty once max_wait has passed, not before.
  auto idle = send_fetch(0, 11, fetch_req(3, 500, 1));
  c_.clock().advance(std::chrono::milliseconds(499));
  ASSERT_TRUE(c_.tick_all());
  EXPECT_FALSE(idle->has_value());
  c_.clock().advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(c_.tick_all());
  ASSERT_TRUE(idle->has_value());
  auto empty = decode<fetch_response>(**idle, api_key::fetch, 11, decode_fetch_response);
  EXPECT_EQ(empty.topics.at(0).partitions.at(0).error, error_code::none);
  EXPECT_TRUE(empty.topics.at(0).partitions.at(0).records->empty());
}

TEST_F(data_handlers_test, fetch_and_list_offsets_errors) {
  EXPECT_EQ(produce(0, 9, make_batch(2, 1, "x")).topics[0].partitions[0].error, error_code::none);
  auto out_of_range = fetch(0, 12, 5);
  EXPECT_EQ(out_of_range.error, error_code::offset_out_of_range);
  EXPECT_EQ(out_of_range.high_watermark, 2);
  auto follower = fetch(1, 12, 0);
  EXPECT_EQ(follower.error, error_code::not_leader_or_follower);
  ASSERT_TRUE(follower.current_leader.has_value());
  EXPECT_EQ(follower.current_leader->leader_id, 1);
  EXPECT_EQ(list_offsets(2, 5, -1).error, error_code::not_leader_or_follower);

  // A fenced epoch (KIP-320) and a session this broker never created.
  auto req = fetch_req(0);
  req.topics[0].partitions[0].current_leader_epoch = 0;
  auto fenced = decode<fetch_response>(wait(send_fetch(0, 9, req)), api_key::fetch, 9, decode_fetch_response);
  EXPECT_EQ(fenced.topics.at(0).partitions.at(0).error, error_code::fenced_leader_epoch);
  req = fetch_req(0);
  req.session_id = 77;
  auto session = decode<fetch_response>(wait(send_fetch(0, 8, req)), api_key::fetch, 8, decode_fetch_response);
  EXPECT_EQ(session.error, error_code::fetch_session_id_not_found);
}

// KIP-516: Fetch v13 names topics by id. The answer names them by the same id; a topic whose id no
// topic has is answered UNKNOWN_TOPIC_ID for each partition, at once though the request would
// long-poll, next to the data of a known one.
TEST_F(data_handlers_test, fetch_v13_reads_topics_by_id) {
  EXPECT_EQ(produce(0, 9, make_batch(2, 1, "x")).topics[0].partitions[0].error, error_code::none);
  auto req = fetch_req(0, 10'000, 1'000'000);
  const uuid unknown{0xde, 0xad};
  req.topics.push_back({.topic = "t", .topic_id = unknown, .partitions = {{.partition = 0}, {.partition = 3}}});
  auto resp = decode<fetch_response>(wait(send_fetch(0, 13, req)), api_key::fetch, 13, decode_fetch_response);
  ASSERT_EQ(resp.topics.size(), 2u);
  EXPECT_EQ(resp.topics[0].topic_id, t_id);
  EXPECT_EQ(resp.topics[0].topic, "") << "v13 carries no names";
  EXPECT_EQ(resp.topics[0].partitions.at(0).error, error_code::none);
  EXPECT_EQ(resp.topics[0].partitions.at(0).high_watermark, 2);
  EXPECT_EQ(split_record_batches(resp.topics[0].partitions.at(0).records->flatten(), crc_check::verify)->size(), 1u);
  EXPECT_EQ(resp.topics[1].topic_id, unknown);
  ASSERT_EQ(resp.topics[1].partitions.size(), 2u);
  for (const auto& p : resp.topics[1].partitions) EXPECT_EQ(p.error, error_code::unknown_topic_id);
  EXPECT_EQ(resp.topics[1].partitions[1].partition_index, 3);
}

// A fuzz smoke run through the whole request path: valid requests of several APIs, mutated
// (bytes flipped, cut short, bytes inserted), go to a live partition leader's dispatcher. Nothing
// may crash, and no request is answered twice (the reply slot checks that); a mutated request may
// legitimately stay unanswered for a while (a long-poll with a huge max_wait).
TEST_F(data_handlers_test, mutated_requests_never_crash_and_never_answer_twice) {
  std::vector<std::pair<api_key, std::pair<std::int16_t, std::string>>> seeds;
  auto add = [&](api_key key, std::int16_t version, const std::function<void(writer&)>& body) {
    writer w;
    body(w);
    seeds.push_back({key, {version, w.take()}});
  };
  const std::string batch = make_batch(3, c_.clock().wall_ms, "xyz");
  for (std::int16_t v : {3, 7, 9}) {
    produce_request req;
    req.acks = -1;
    req.timeout_ms = 100;
    req.topics.push_back({"t", {{0, batch}}});
    add(api_key::produce, v, [&](writer& w) { encode_produce_request(req, v, w); });
  }
  for (std::int16_t v : {4, 11, 12, 13}) {
    add(api_key::fetch, v, [&](writer& w) { encode_fetch_request(fetch_req(0), v, w); });
  }
  for (std::int16_t v : {1, 5}) {
    list_offsets_request req;
    req.topics.push_back({"t", {{0, -1, -1, 1}}});
    add(api_key::list_offsets, v, [&](writer& w) { encode_list_offsets_request(req, v, w); });
  }
  std::mt19937_64 rng(20261127);
  std::size_t answered = 0, sent = 0;
  for (int round = 0; round < 600; ++round) {
    for (const auto& [key, vb] : seeds) {
      std::string body = vb.second;
      switch (rng() % 3) {
        case 0:
          for (int k = 0; k < 3 && !body.empty(); ++k) body[rng() % body.size()] = static_cast<char>(rng());
          break;
        case 1: body.resize(rng() % (body.size() + 1)); break;
        default: body.insert(rng() % (body.size() + 1), std::string(1 + rng() % 8, static_cast<char>(rng()))); break;
      }
      auto slot = send(0, key, vb.first, [&](writer& w) { w.write_raw(body); });
      ++sent;
      c_.run_until([&] { return slot->has_value(); }, 5);
      answered += slot->has_value() ? 1 : 0;
    }
  }
  EXPECT_GT(answered, sent / 2) << "most mutated requests are still answered (or refused) at once";
}

}  // namespace
}  // namespace chronik::kafka
