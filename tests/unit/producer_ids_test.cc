// The node's producer id shell (daemon/producer_ids.h) over a real `__meta` state machine: the
// proposals it makes, the ids it hands out from each applied block, prefetch at 90%, the bounded
// queue of waiters, timeouts and failed proposals.
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/producer_ids.h"
#include "kafka/handlers/producer_id_errors.h"
#include "metadata/meta_commands.h"
#include "metadata/meta_state.h"

namespace chronik::daemon {
namespace {

using namespace std::chrono_literals;
using kafka::producer_id_outcome;
using result = std::expected<std::int64_t, producer_id_outcome>;

// `__meta` as the shell sees it: proposals queue until the test applies or fails them.
struct fake_meta {
  metadata::meta_state state;
  std::uint64_t index = 1;
  struct proposal {
    std::string command;
    std::chrono::milliseconds timeout;
    producer_ids::block_done done;
  };
  std::deque<proposal> proposals;

  explicit fake_meta(std::uint32_t brokers) {
    for (std::uint32_t id = 1; id <= brokers; ++id) {
      const std::string n = std::to_string(id);
      EXPECT_TRUE(state.apply(metadata::log_index{index++},
                              metadata::commands::register_broker({node_id{id}, "uuid-" + n, "127.0.0." + n + ":9092",
                                                                   "127.0.0." + n + ":7000", ""})));
    }
  }
  producer_ids::propose_fn proposer() {
    return [this](std::string command, std::chrono::milliseconds timeout, producer_ids::block_done done) {
      proposals.push_back({std::move(command), timeout, std::move(done)});
    };
  }
  // Commits and applies the oldest proposal, answering its proposer as kafka_service does.
  void apply_next() {
    ASSERT_FALSE(proposals.empty());
    auto p = std::move(proposals.front());
    proposals.pop_front();
    auto r = state.apply(metadata::log_index{index++}, p.command);
    if (r) {
      p.done(std::move(*r));
    } else {
      p.done(std::unexpected(producer_ids::outcome_of(r.error())));
    }
  }
  void fail_next(producer_id_outcome why) {
    ASSERT_FALSE(proposals.empty());
    auto p = std::move(proposals.front());
    proposals.pop_front();
    p.done(std::unexpected(why));
  }
};

struct recorder {
  std::vector<result> got;
  kafka::broker_context::producer_id_done fn() {
    return [this](result r) { got.push_back(r); };
  }
};

const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

TEST(ProducerIdsTest, TheFirstCallerWaitsForTheBlockAndTheRestAreAnsweredAtOnce) {
  fake_meta meta(1);
  producer_ids ids(node_id{1}, meta.proposer());
  recorder r;
  ids.allocate(5s, r.fn(), t0);
  EXPECT_TRUE(r.got.empty());
  ASSERT_EQ(meta.proposals.size(), 1u);
  EXPECT_EQ(meta.proposals.front().timeout, producer_ids::block_timeout);
  meta.apply_next();
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0], result{0});
  for (int i = 1; i < 899; ++i) ids.allocate(5s, r.fn(), t0);
  EXPECT_TRUE(meta.proposals.empty()) << "899 of 1000 used: no prefetch yet";
  ids.allocate(5s, r.fn(), t0);
  ASSERT_EQ(meta.proposals.size(), 1u) << "900 used: the next block is asked for ahead of time";
  meta.apply_next();
  for (int i = 900; i < 1500; ++i) ids.allocate(5s, r.fn(), t0);
  ASSERT_EQ(r.got.size(), 1500u) << "nobody waited across the block boundary";
  for (int i = 0; i < 1500; ++i) EXPECT_EQ(r.got[static_cast<std::size_t>(i)], result{i});
  EXPECT_EQ(ids.waiting(), 0u);
}

TEST(ProducerIdsTest, DifferentNodesNeverShareAnId) {
  fake_meta meta(2);
  producer_ids a(node_id{1}, meta.proposer());
  producer_ids b(node_id{2}, meta.proposer());
  recorder r;
  // Interleaved, each node runs through several of its blocks.
  for (int i = 0; i < 3000; ++i) {
    a.allocate(5s, r.fn(), t0);
    b.allocate(5s, r.fn(), t0);
    while (!meta.proposals.empty()) meta.apply_next();
  }
  std::set<std::int64_t> seen;
  for (const auto& got : r.got) {
    ASSERT_TRUE(got);
    EXPECT_TRUE(seen.insert(*got).second) << *got;
  }
  EXPECT_EQ(seen.size(), 6000u);
}

TEST(ProducerIdsTest, WaitersAreBoundedAndAnsweredInOrder) {
  fake_meta meta(1);
  producer_ids ids(node_id{1}, meta.proposer(), 3);
  recorder r;
  for (int i = 0; i < 4; ++i) ids.allocate(5s, r.fn(), t0);
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0], result{std::unexpected(producer_id_outcome::busy)});
  EXPECT_EQ(meta.proposals.size(), 1u) << "one block request for all waiters";
  meta.apply_next();
  ASSERT_EQ(r.got.size(), 4u);
  EXPECT_EQ(r.got[1], result{0});
  EXPECT_EQ(r.got[2], result{1});
  EXPECT_EQ(r.got[3], result{2});
}

TEST(ProducerIdsTest, AWaiterTimesOutAndItsLateBlockServesTheNextCaller) {
  fake_meta meta(1);
  producer_ids ids(node_id{1}, meta.proposer());
  recorder r;
  ids.allocate(2s, r.fn(), t0);
  ids.allocate(5s, r.fn(), t0);
  ids.expire(t0 + 1999ms);
  EXPECT_TRUE(r.got.empty());
  ids.expire(t0 + 2s);
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0], result{std::unexpected(producer_id_outcome::timed_out)});
  meta.apply_next();
  ASSERT_EQ(r.got.size(), 2u);
  EXPECT_EQ(r.got[1], result{0});
}

TEST(ProducerIdsTest, AFailedProposalAnswersTheWaitersAndTheNextCallAsksAgain) {
  fake_meta meta(1);
  producer_ids ids(node_id{1}, meta.proposer());
  recorder r;
  ids.allocate(5s, r.fn(), t0);
  ids.allocate(5s, r.fn(), t0);
  meta.fail_next(producer_id_outcome::not_available);
  ASSERT_EQ(r.got.size(), 2u);
  for (const auto& g : r.got) EXPECT_EQ(g, result{std::unexpected(producer_id_outcome::not_available)});
  EXPECT_TRUE(meta.proposals.empty()) << "no retry loop on its own";
  ids.allocate(5s, r.fn(), t0);
  ASSERT_EQ(meta.proposals.size(), 1u);
  meta.apply_next();
  EXPECT_EQ(r.got.back(), result{0});
}

// Found by the partition suite's kill-one: the `__meta` leader died with the block request, a new
// one was elected in 0.2 s, and producers waited out the whole request timeout. A lost request is
// asked again for the callers still waiting, who keep their own deadlines.
TEST(ProducerIdsTest, ALostBlockRequestIsAskedAgainForTheWaiters) {
  fake_meta meta(1);
  producer_ids ids(node_id{1}, meta.proposer());
  recorder r;
  ids.allocate(5s, r.fn(), t0);
  meta.fail_next(producer_id_outcome::timed_out);
  EXPECT_TRUE(r.got.empty()) << "the caller still waits";
  ASSERT_EQ(meta.proposals.size(), 1u) << "asked again";
  meta.apply_next();
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0], result{0});
  // Without waiters a lost request is not repeated.
  producer_ids idle(node_id{1}, meta.proposer());
  recorder q;
  idle.allocate(1s, q.fn(), t0);
  idle.expire(t0 + 1s);
  ASSERT_EQ(q.got.size(), 1u);
  meta.fail_next(producer_id_outcome::timed_out);
  EXPECT_TRUE(meta.proposals.empty());
}

TEST(ProducerIdsTest, AnUnregisteredNodeIsRefusedByTheAppliers) {
  fake_meta meta(1);
  producer_ids ids(node_id{7}, meta.proposer());
  recorder r;
  ids.allocate(5s, r.fn(), t0);
  meta.apply_next();
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0], result{std::unexpected(producer_id_outcome::not_available)});
}

TEST(ProducerIdsTest, ACallbackThatAsksAgainQueuesBehindTheCallersBeforeIt) {
  fake_meta meta(1);
  producer_ids ids(node_id{1}, meta.proposer());
  std::optional<result> first, second, again;
  ids.allocate(5s, [&](result r) {
    first = r;
    ids.allocate(5s, [&](result a) { again = a; }, t0);
  }, t0);
  ids.allocate(5s, [&](result r) { second = r; }, t0);
  meta.apply_next();
  ASSERT_TRUE(first && second && again);
  EXPECT_EQ(*first, result{0});
  EXPECT_EQ(*second, result{1}) << "queued before the nested call";
  EXPECT_EQ(*again, result{2});
}

TEST(ProducerIdsTest, OutcomesMapToKafkaCodesClientsRetry) {
  using kafka::error_code;
  EXPECT_EQ(kafka::to_error_code(producer_id_outcome::not_available), error_code::coordinator_not_available);
  EXPECT_EQ(kafka::to_error_code(producer_id_outcome::busy), error_code::coordinator_load_in_progress);
  EXPECT_EQ(kafka::to_error_code(producer_id_outcome::timed_out), error_code::request_timed_out);
  EXPECT_EQ(kafka::to_error_code(producer_id_outcome::exhausted), error_code::unknown_server_error);
  EXPECT_EQ(producer_ids::outcome_of(metadata::meta_errc::producer_ids_exhausted), producer_id_outcome::exhausted);
  EXPECT_EQ(producer_ids::outcome_of(metadata::meta_errc::unknown_broker), producer_id_outcome::not_available);
}

}  // namespace
}  // namespace chronik::daemon
