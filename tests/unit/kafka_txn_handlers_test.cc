// The transaction coordinator's handlers through the dispatcher (docs/transactions.md "Handlers"),
// with a fake broker context over a real txn_coordinator that leads partition 0 of a
// three-partition `__transaction_state` (brokers 2 and 3 lead the others), whose writes commit
// when the test says so: FindCoordinator key type 1 agrees with the placement; a transaction's
// whole life (InitProducerId's two-phase producer id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
// DescribeTransactions, ListTransactions) in classic and flexible versions; answers only once
// their write committed; PRODUCER_FENCED or INVALID_PRODUCER_EPOCH by version; NOT_COORDINATOR on
// the wrong broker or when an answer from memory cannot be confirmed; unknown partitions; no
// coordinator at all; ApiVersions' ranges.
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "kafka/handlers/dispatcher.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/field_values.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/messages/add_offsets_to_txn.h"
#include "kafka/protocol/messages/add_partitions_to_txn.h"
#include "kafka/protocol/messages/api_versions.h"
#include "kafka/protocol/messages/describe_transactions.h"
#include "kafka/protocol/messages/end_txn.h"
#include "kafka/protocol/messages/find_coordinator.h"
#include "kafka/protocol/messages/init_producer_id.h"
#include "kafka/protocol/messages/list_transactions.h"
#include "kafka/txn/txn_coordinator.h"

namespace chronik::kafka {
namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;

class fake_context : public broker_context {
 public:
  chronik::node_id node_id() const override { return chronik::node_id{1}; }
  std::optional<std::string> cluster_id() const override { return "c"; }
  chronik::node_id controller_id() const override { return chronik::node_id{1}; }
  std::vector<broker_info> brokers() const override {
    return {{chronik::node_id{1}, "127.0.0.1", 9092, std::nullopt}, {chronik::node_id{2}, "127.0.0.2", 9093, std::nullopt},
            {chronik::node_id{3}, "127.0.0.3", 9094, std::nullopt}};
  }
  std::vector<topic_info> topics() const override { return {*topic("t")}; }
  std::optional<topic_info> topic(std::string_view name) const override {
    if (name != "t") return std::nullopt;
    topic_info t;
    t.name = "t";
    t.partitions = {{0, chronik::node_id{1}, 1, {}, {}, {}}, {1, chronik::node_id{2}, 1, {}, {}, {}}};
    return t;
  }
  broker_defaults defaults() const override { return {}; }
  void create_topics(std::vector<topic_request>, bool, std::chrono::milliseconds, topics_done) override {}
  void delete_topics(std::vector<std::string>, std::chrono::milliseconds, topics_done) override {}
  partition_manager& partitions() override { std::abort(); }  // not used by the transaction APIs
  void allocate_producer_id(std::chrono::milliseconds, producer_id_done done) override {
    ++allocated;
    done(next_producer_id++);
  }
  txn_coordinator* transactions() override { return with_coordinator ? &core : nullptr; }
  // Broker b leads transaction state partition b - 1.
  std::optional<broker_info> transaction_coordinator_for(std::string_view id) override {
    return brokers()[static_cast<std::size_t>(offsets_partition_for(id, 3))];
  }
  void confirm_transaction_coordinator(std::string_view, std::function<void(bool)> done) override {
    ++confirmations;
    done(confirm);
  }

  fake_context() {
    core.tick(t0, t0);
    core.begin_load(0, 3, 7);
    core.finish_load(0);
  }

  bool with_coordinator = true;
  bool confirm = true;
  int confirmations = 0;
  int allocated = 0;
  std::int64_t next_producer_id = 5000;
  txn_coordinator core{txn_config{}, [](std::string_view group) { return group == "g" ? 4 : 9; }};
};

// The `nth` transactional id (from 0) whose state partition `broker` of {1, 2, 3} leads.
std::string txn_on(std::int32_t broker, int nth = 0) {
  for (int i = 0;; ++i) {
    std::string id = "txn-" + std::to_string(i);
    if (offsets_partition_for(id, 3) == broker - 1 && nth-- == 0) return id;
  }
}

class kafka_txn_handlers_test : public ::testing::Test {
 protected:
  // Sends one request; the reply slot fills when the handler answers (maybe later).
  std::shared_ptr<std::optional<handler_reply>> send(api_key key, std::int16_t version,
                                                     const std::function<void(writer&)>& body, bool commit = true) {
    writer w;
    encode_request_header({key, version, 7, std::string("cli")}, w);
    body(w);
    auto slot = std::make_shared<std::optional<handler_reply>>();
    dispatcher_.handle(client_info{"127.0.0.9:40000", 1}, w.take(), [slot](handler_reply r) { *slot = std::move(r); });
    if (commit) commit_writes();
    return slot;
  }
  // Commits every write the core made: there is no Raft log here.
  void commit_writes() {
    for (int round = 0; round < 100; ++round) {
      auto ws = ctx_.core.take_writes();
      if (ws.empty()) return;
      for (auto& w : ws) ctx_.core.write_done(w.id, write_outcome::committed);
    }
  }
  // Every partition acknowledges the markers handed out so far.
  void deliver_markers() {
    for (const auto& m : ctx_.core.take_markers()) ctx_.core.markers_done(m);
    commit_writes();
  }
  template <typename Decode>
  auto decode(const std::optional<handler_reply>& r, api_key key, std::int16_t version, Decode fn) {
    EXPECT_TRUE(r.has_value());
    EXPECT_EQ(r->what, handler_reply::kind::respond) << r->why;
    const std::string whole = r->prefix + r->frame.flatten();
    reader rd(whole);
    auto corr = decode_response_header(rd, key, version);
    EXPECT_TRUE(corr && *corr == 7);
    auto m = fn(rd, version);
    EXPECT_TRUE(m.has_value());
    EXPECT_EQ(rd.remaining(), 0u);
    return *m;
  }
  init_producer_id_response init(const std::string& id, std::int16_t v, std::int64_t pid = -1, std::int16_t epoch = -1) {
    auto r = send(api_key::init_producer_id, v, [&](writer& w) {
      encode_init_producer_id_request({id, 60'000, pid, epoch}, v, w);
    });
    return decode(*r, api_key::init_producer_id, v, decode_init_producer_id_response);
  }
  std::shared_ptr<std::optional<handler_reply>> add_partitions_async(const std::string& id, std::int16_t v, std::int64_t pid,
                                                                     std::int16_t epoch, std::vector<add_partitions_to_txn_topic> topics,
                                                                     bool commit) {
    return send(api_key::add_partitions_to_txn, v, [&](writer& w) {
      encode_add_partitions_to_txn_request({id, pid, epoch, std::move(topics)}, v, w);
    }, commit);
  }
  add_partitions_to_txn_response add_partitions(const std::string& id, std::int16_t v, std::int64_t pid, std::int16_t epoch,
                                                std::vector<add_partitions_to_txn_topic> topics) {
    auto r = add_partitions_async(id, v, pid, epoch, std::move(topics), true);
    return decode(*r, api_key::add_partitions_to_txn, v, decode_add_partitions_to_txn_response);
  }
  error_code add_offsets(const std::string& id, std::int16_t v, std::int64_t pid, std::int16_t epoch) {
    auto r = send(api_key::add_offsets_to_txn, v, [&](writer& w) {
      encode_add_offsets_to_txn_request({id, pid, epoch, "g"}, v, w);
    });
    return decode(*r, api_key::add_offsets_to_txn, v, decode_add_offsets_to_txn_response).error;
  }
  error_code end(const std::string& id, std::int16_t v, std::int64_t pid, std::int16_t epoch, bool commit) {
    auto r = send(api_key::end_txn, v, [&](writer& w) { encode_end_txn_request({id, pid, epoch, commit}, v, w); });
    return decode(*r, api_key::end_txn, v, decode_end_txn_response).error;
  }
  describe_transactions_response describe(std::vector<std::string> ids) {
    auto r = send(api_key::describe_transactions, 0, [&](writer& w) {
      encode_describe_transactions_request({std::move(ids)}, 0, w);
    });
    return decode(*r, api_key::describe_transactions, 0, decode_describe_transactions_response);
  }
  list_transactions_response list(std::int16_t v, std::vector<std::string> states, std::vector<std::int64_t> pids = {},
                                  std::int64_t duration = -1) {
    auto r = send(api_key::list_transactions, v, [&](writer& w) {
      encode_list_transactions_request({std::move(states), std::move(pids), duration}, v, w);
    });
    return decode(*r, api_key::list_transactions, v, decode_list_transactions_response);
  }

  fake_context ctx_;
  dispatcher dispatcher_{ctx_, std::make_shared<spdlog::logger>("k", std::make_shared<spdlog::sinks::null_sink_mt>())};
};

TEST_F(kafka_txn_handlers_test, find_coordinator_places_transactional_ids_in_every_version) {
  const std::string on2 = txn_on(2);
  for (std::int16_t v = 1; v <= 3; ++v) {  // key_type arrived in v1
    auto r = send(api_key::find_coordinator, v, [&](writer& w) {
      encode_find_coordinator_request({on2, coordinator_key_transaction, {}}, v, w);
    });
    auto resp = decode(*r, api_key::find_coordinator, v, decode_find_coordinator_response);
    EXPECT_EQ(resp.error, error_code::none);
    EXPECT_EQ(resp.node_id, 2);
    EXPECT_EQ(resp.host, "127.0.0.2");
    EXPECT_EQ(resp.port, 9093);
  }
  auto r = send(api_key::find_coordinator, 4, [&](writer& w) {
    encode_find_coordinator_request({"", coordinator_key_transaction, {on2, txn_on(3), ""}}, 4, w);
  });
  auto resp = decode(*r, api_key::find_coordinator, 4, decode_find_coordinator_response);
  ASSERT_EQ(resp.coordinators.size(), 3u);
  EXPECT_EQ(resp.coordinators[0].node_id, 2);
  EXPECT_EQ(resp.coordinators[1].node_id, 3);
  EXPECT_EQ(resp.coordinators[1].key, txn_on(3));
  EXPECT_EQ(resp.coordinators[2].error, error_code::invalid_request);
  EXPECT_EQ(resp.coordinators[2].node_id, -1);
}

TEST_F(kafka_txn_handlers_test, a_transaction_from_init_to_commit_in_classic_and_flexible_versions) {
  for (const bool flexible : {false, true}) {
    const std::string id = txn_on(1, flexible ? 1 : 0);
    const std::int16_t init_v = flexible ? 4 : 1, add_v = flexible ? 3 : 1, offsets_v = flexible ? 3 : 1;
    const std::int16_t end_v = flexible ? 4 : 1, list_v = flexible ? 1 : 0;
    const int allocated = ctx_.allocated;
    auto first = init(id, init_v);
    ASSERT_EQ(first.error, error_code::none);
    EXPECT_EQ(ctx_.allocated, allocated + 1) << "a new transactional id takes one producer id";
    EXPECT_EQ(first.producer_epoch, 0);
    const std::int64_t pid = first.producer_id;

    auto added = add_partitions(id, add_v, pid, 0, {{"t", {0, 1}}});
    ASSERT_EQ(added.results.size(), 1u);
    ASSERT_EQ(added.results[0].results.size(), 2u);
    EXPECT_EQ(added.results[0].results[0].error, error_code::none);
    EXPECT_EQ(added.results[0].results[1].partition_index, 1);
    EXPECT_EQ(added.results[0].results[1].error, error_code::none);
    EXPECT_EQ(add_offsets(id, offsets_v, pid, 0), error_code::none);

    auto d = describe({id});
    ASSERT_EQ(d.transaction_states.size(), 1u);
    EXPECT_EQ(d.transaction_states[0].error, error_code::none);
    EXPECT_EQ(d.transaction_states[0].transaction_state, "Ongoing");
    EXPECT_EQ(d.transaction_states[0].producer_id, pid);
    EXPECT_EQ(d.transaction_states[0].transaction_timeout_ms, 60'000);
    EXPECT_EQ(d.transaction_states[0].transaction_start_time_ms, t0);
    const std::vector<described_transaction_topic> topics{{"__consumer_offsets", {4}}, {"t", {0, 1}}};
    EXPECT_EQ(d.transaction_states[0].topics, topics);

    EXPECT_EQ(end(id, end_v, pid, 0, true), error_code::none);
    EXPECT_EQ(describe({id}).transaction_states[0].transaction_state, "PrepareCommit");
    auto listed = list(list_v, {"PrepareCommit"});
    ASSERT_EQ(listed.transaction_states.size(), 1u);
    EXPECT_EQ(listed.transaction_states[0].transactional_id, id);
    EXPECT_EQ(listed.transaction_states[0].producer_id, pid);
    deliver_markers();
    EXPECT_EQ(describe({id}).transaction_states[0].transaction_state, "CompleteCommit");

    // A retried EndTxn of the completed transaction succeeds, from memory, confirmed first.
    const int confirmations = ctx_.confirmations;
    EXPECT_EQ(end(id, end_v, pid, 0, true), error_code::none);
    EXPECT_EQ(ctx_.confirmations, confirmations + 1);
    // The next instance bumps the epoch and takes no new producer id.
    auto second = init(id, init_v);
    EXPECT_EQ(second.producer_id, pid);
    EXPECT_EQ(second.producer_epoch, 1);
    EXPECT_EQ(ctx_.allocated, allocated + 1);
  }
}

TEST_F(kafka_txn_handlers_test, answers_wait_for_their_write) {
  const std::string id = txn_on(1);
  auto first = init(id, 4);
  auto r = add_partitions_async(id, 3, first.producer_id, first.producer_epoch, {{"t", {0}}}, false);
  EXPECT_FALSE(r->has_value()) << "answered before the Ongoing state was stored";
  commit_writes();
  ASSERT_TRUE(r->has_value());
  auto resp = decode(*r, api_key::add_partitions_to_txn, 3, decode_add_partitions_to_txn_response);
  EXPECT_EQ(resp.results[0].results[0].error, error_code::none);

  // A write that fails answers what the core made of it; nothing changed.
  auto again = add_partitions_async(id, 3, first.producer_id, first.producer_epoch, {{"t", {1}}}, false);
  for (auto& w : ctx_.core.take_writes()) ctx_.core.write_done(w.id, write_outcome::failed);
  ASSERT_TRUE(again->has_value());
  auto failed = decode(*again, api_key::add_partitions_to_txn, 3, decode_add_partitions_to_txn_response);
  EXPECT_EQ(failed.results[0].results[0].error, error_code::coordinator_not_available);
  EXPECT_EQ(describe({id}).transaction_states[0].topics.size(), 1u);
}

TEST_F(kafka_txn_handlers_test, an_older_epoch_is_fenced_by_version) {
  const std::string id = txn_on(1);
  auto a = init(id, 4);
  auto b = init(id, 4);
  ASSERT_EQ(b.producer_epoch, a.producer_epoch + 1);
  for (std::int16_t v = 0; v <= 4; ++v) {
    const error_code want = v >= 2 ? error_code::producer_fenced : error_code::invalid_producer_epoch;
    EXPECT_EQ(end(id, v, a.producer_id, a.producer_epoch, true), want) << "EndTxn v" << v;
    if (v <= 3) {
      EXPECT_EQ(add_offsets(id, v, a.producer_id, a.producer_epoch), want) << "AddOffsetsToTxn v" << v;
      auto added = add_partitions(id, v, a.producer_id, a.producer_epoch, {{"t", {0}}});
      EXPECT_EQ(added.results[0].results[0].error, want) << "AddPartitionsToTxn v" << v;
    }
  }
  // KIP-360: a producer naming a producer id the transactional id never had is a zombie.
  EXPECT_EQ(init(id, 3, a.producer_id + 100, 0).error, error_code::invalid_producer_epoch);
  EXPECT_EQ(init(id, 4, a.producer_id + 100, 0).error, error_code::producer_fenced);
  auto bumped = init(id, 4, b.producer_id, b.producer_epoch);
  EXPECT_EQ(bumped.error, error_code::none);
  EXPECT_EQ(bumped.producer_epoch, b.producer_epoch + 1);
  EXPECT_EQ(end(id, 3, b.producer_id + 1, bumped.producer_epoch, false), error_code::invalid_producer_id_mapping);
  EXPECT_EQ(init(id, 4, -1, -1).producer_epoch, bumped.producer_epoch + 1);
  auto timeout = send(api_key::init_producer_id, 4, [&](writer& w) {
    encode_init_producer_id_request({id, 900'001, -1, -1}, 4, w);
  });
  EXPECT_EQ(decode(*timeout, api_key::init_producer_id, 4, decode_init_producer_id_response).error,
            error_code::invalid_transaction_timeout);
}

TEST_F(kafka_txn_handlers_test, the_wrong_broker_or_an_unconfirmed_leader_answers_not_coordinator) {
  const std::string elsewhere = txn_on(2);
  EXPECT_EQ(init(elsewhere, 4).error, error_code::not_coordinator);
  EXPECT_EQ(end(elsewhere, 3, 1, 0, true), error_code::not_coordinator);
  auto d = describe({elsewhere});
  EXPECT_EQ(d.transaction_states[0].error, error_code::not_coordinator);
  EXPECT_EQ(d.transaction_states[0].transactional_id, elsewhere);

  const std::string id = txn_on(1);
  auto a = init(id, 4);
  EXPECT_EQ(add_partitions(id, 3, a.producer_id, 0, {{"t", {0}}}).results[0].results[0].error, error_code::none);
  ctx_.confirm = false;
  // Already in the transaction: answered from memory, which must be confirmed.
  EXPECT_EQ(add_partitions(id, 3, a.producer_id, 0, {{"t", {0}}}).results[0].results[0].error,
            error_code::not_coordinator);
  EXPECT_EQ(describe({id}).transaction_states[0].error, error_code::not_coordinator);
  // Errors need no confirmation: a stale coordinator's state is older, never newer.
  EXPECT_EQ(end(id, 3, a.producer_id, 5, true), error_code::producer_fenced);
  // An answer after a write needs none either.
  EXPECT_EQ(add_partitions(id, 3, a.producer_id, 0, {{"t", {1}}}).results[0].results[0].error, error_code::none);
}

TEST_F(kafka_txn_handlers_test, an_unknown_or_internal_partition_fails_the_request_without_the_coordinator) {
  const std::string id = txn_on(1);
  auto a = init(id, 4);
  auto r = add_partitions(id, 3, a.producer_id, 0, {{"t", {0, 5}}, {"nope", {0}}});
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].results[0].error, error_code::operation_not_attempted);
  EXPECT_EQ(r.results[0].results[1].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(r.results[1].results[0].error, error_code::unknown_topic_or_partition);
  EXPECT_EQ(describe({id}).transaction_states[0].transaction_state, "Empty");

  // Internal topics never join a transaction this way (their markers would not be taken).
  auto internal = add_partitions(id, 3, a.producer_id, 0, {{"t", {0}}, {"__transaction_state", {0}}});
  EXPECT_EQ(internal.results[0].results[0].error, error_code::operation_not_attempted);
  EXPECT_EQ(internal.results[1].results[0].error, error_code::invalid_topic_exception);
  auto offsets = add_partitions(id, 3, a.producer_id, 0, {{"__consumer_offsets", {4}}});
  EXPECT_EQ(offsets.results[0].results[0].error, error_code::invalid_topic_exception);
  EXPECT_EQ(describe({id}).transaction_states[0].transaction_state, "Empty");
}

TEST_F(kafka_txn_handlers_test, without_a_coordinator_every_api_answers_coordinator_not_available) {
  ctx_.with_coordinator = false;
  EXPECT_EQ(init("x", 4).error, error_code::coordinator_not_available);
  EXPECT_EQ(add_partitions("x", 3, 1, 0, {{"t", {0}}}).results[0].results[0].error,
            error_code::coordinator_not_available);
  EXPECT_EQ(add_offsets("x", 3, 1, 0), error_code::coordinator_not_available);
  EXPECT_EQ(end("x", 4, 1, 0, false), error_code::coordinator_not_available);
  EXPECT_EQ(describe({"x"}).transaction_states[0].error, error_code::coordinator_not_available);
  auto l = list(1, {});
  EXPECT_EQ(l.error, error_code::none);
  EXPECT_TRUE(l.transaction_states.empty());
  // The idempotent path does not need one.
  auto idem = send(api_key::init_producer_id, 4, [&](writer& w) {
    encode_init_producer_id_request({std::nullopt, -1, -1, -1}, 4, w);
  });
  EXPECT_EQ(decode(*idem, api_key::init_producer_id, 4, decode_init_producer_id_response).error, error_code::none);
}

TEST_F(kafka_txn_handlers_test, list_transactions_filters_by_state_producer_and_duration) {
  const std::string a = txn_on(1), b = txn_on(1, 1);
  auto pa = init(a, 4);
  auto pb = init(b, 4);
  ASSERT_EQ(add_partitions(a, 3, pa.producer_id, 0, {{"t", {0}}}).results[0].results[0].error, error_code::none);

  auto all = list(0, {});
  ASSERT_EQ(all.transaction_states.size(), 2u);
  EXPECT_EQ(all.transaction_states[0].transactional_id, a);
  EXPECT_EQ(all.transaction_states[0].transaction_state, "Ongoing");
  EXPECT_EQ(all.transaction_states[1].transaction_state, "Empty");
  EXPECT_EQ(list(0, {"Empty"}).transaction_states.size(), 1u);
  EXPECT_EQ(list(0, {}, {pb.producer_id}).transaction_states.at(0).transactional_id, b);

  auto unknown = list(0, {"Sleeping"});
  EXPECT_EQ(unknown.unknown_state_filters, std::vector<std::string>{"Sleeping"});
  EXPECT_TRUE(unknown.transaction_states.empty()) << "a filter of unknown states matches nothing";
  auto mixed = list(0, {"Sleeping", "Ongoing"});
  EXPECT_EQ(mixed.transaction_states.size(), 1u);

  // KIP-994: only open transactions older than the duration, by the coordinator's clock.
  EXPECT_TRUE(list(1, {}, {}, 10'000).transaction_states.empty());
  ctx_.core.tick(t0 + 10'001, t0 + 10'001);
  auto old = list(1, {}, {}, 10'000);
  ASSERT_EQ(old.transaction_states.size(), 1u);
  EXPECT_EQ(old.transaction_states[0].transactional_id, a);

  ctx_.core.begin_load(1, 3, 2);  // a partition still loading
  EXPECT_EQ(list(1, {}).error, error_code::coordinator_load_in_progress);
}

TEST_F(kafka_txn_handlers_test, api_versions_advertises_the_transaction_apis) {
  auto r = send(api_key::api_versions, 3, [&](writer& w) { encode_api_versions_request({"t", "1"}, 3, w); });
  auto resp = decode(*r, api_key::api_versions, 3, decode_api_versions_response);
  const auto range = [&](api_key k) -> std::pair<int, int> {
    for (const auto& a : resp.api_keys) {
      if (a.key == k) return {a.min_version, a.max_version};
    }
    return {-1, -1};
  };
  EXPECT_EQ(range(api_key::init_producer_id), std::make_pair(0, 4));
  EXPECT_EQ(range(api_key::add_partitions_to_txn), std::make_pair(0, 3));
  EXPECT_EQ(range(api_key::add_offsets_to_txn), std::make_pair(0, 3));
  EXPECT_EQ(range(api_key::end_txn), std::make_pair(0, 4));
  EXPECT_EQ(range(api_key::describe_transactions), std::make_pair(0, 0));
  EXPECT_EQ(range(api_key::list_transactions), std::make_pair(0, 1));
}

}  // namespace
}  // namespace chronik::kafka
