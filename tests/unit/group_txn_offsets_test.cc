// Transactional offsets in the group coordinator core (kafka/groups/group_txn_offsets.cc;
// docs/kafka.md "Transactional offsets"), with a test log standing in for the `__consumer_offsets`
// partition that also holds the transaction coordinator's markers: TxnOffsetCommit's offsets are
// pending until their producer's COMMIT marker, dropped by an ABORT, a marker settles only the
// records before it, a load replays all of it in log order, and a checkpoint leaves pending
// records in the log.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kafka/groups/group_coordinator.h"
#include "tests/unit/group_test_util.h"

namespace chronik::kafka {
namespace {

using testing::serve_all;

constexpr std::int64_t pid = 7;
constexpr std::int16_t epoch = 2;

// One place of the partition's log: a record (of producer `producer` when transactional) or a
// marker of `producer`.
struct log_item {
  std::int64_t offset = 0;
  std::optional<group_log_record> record;
  std::int64_t producer = -1;
  std::optional<bool> marker;  // commit?
};

struct test_log {
  std::vector<log_item> items;
  std::int64_t next = 0;
  std::int64_t checkpoint_base = -1;
  std::int64_t keep_from = -1;
  std::vector<group_write> seen;  // every write appended, in order

  // Appends every write the coordinator made as the daemon's group_store does (a transactional
  // write as its producer's records), reports it committed with its base offset, and trims at a
  // committed checkpoint no further than its keep_from.
  void commit_all(group_coordinator& c) {
    for (int round = 0; round < 100; ++round) {
      auto writes = c.take_writes();
      if (writes.empty()) return;
      for (auto& w : writes) {
        const std::int64_t base = next;
        for (const auto& r : w.records) items.push_back(log_item{next++, r, w.producer_id, std::nullopt});
        if (w.checkpoint_first) {
          checkpoint_base = base;
          keep_from = w.keep_from;
        }
        if (w.checkpoint_last) {
          const std::int64_t trim = keep_from >= 0 ? std::min(checkpoint_base, keep_from) : checkpoint_base;
          std::erase_if(items, [&](const log_item& i) { return i.offset < trim; });
        }
        c.write_done(w.id, write_outcome::committed, base);
        seen.push_back(std::move(w));
      }
    }
  }

  // The transaction coordinator's marker lands in the partition, and the owner tells the core.
  void marker(group_coordinator& c, std::int64_t producer, bool commit) {
    items.push_back(log_item{next, std::nullopt, producer, commit});
    c.txn_marker_applied(0, producer, next, commit);
    ++next;
  }

  // A new coordinator loading this log as partition 0 of 1.
  void load_into(group_coordinator& c) const {
    c.begin_load(0, 1);
    for (const auto& i : items) {
      if (i.marker) {
        c.txn_marker_applied(0, i.producer, i.offset, *i.marker);
      } else if (i.producer >= 0) {
        c.load_txn(0, i.producer, i.offset, *i.record);
      } else {
        c.load(0, *i.record);
      }
    }
    c.finish_load(0);
  }
};

using commit_answer = std::optional<std::expected<std::vector<group_errc>, group_errc>>;

txn_commit_params txn_commit(std::string group, std::vector<std::pair<offset_key, committed_offset>> offsets,
                             std::int64_t producer = pid, std::int16_t producer_epoch = epoch) {
  txn_commit_params p;
  p.group_id = std::move(group);
  p.producer_id = producer;
  p.producer_epoch = producer_epoch;
  p.offsets = std::move(offsets);
  return p;
}

std::shared_ptr<commit_answer> start(group_coordinator& c, const txn_commit_params& p) {
  auto slot = std::make_shared<commit_answer>();
  c.commit_txn_offsets(p, [slot](std::expected<std::vector<group_errc>, group_errc> r) { *slot = std::move(r); });
  return slot;
}

bool answered_ok(const std::shared_ptr<commit_answer>& a, std::size_t n) {
  return *a && **a && **a == std::vector<group_errc>(n, group_errc::none);
}

std::optional<std::int64_t> offset_of(const group_coordinator& c, const std::string& group, const offset_key& k) {
  auto got = c.committed(group, k);
  if (!got) return std::nullopt;
  return got->offset;
}

TEST(group_txn_offsets, pending_until_the_commit_marker_then_committed) {
  group_coordinator c(group_config::local());
  serve_all(c);
  test_log log;
  auto answer = start(c, txn_commit("g", {{{"t", 0}, {42, 3, "m", 0}}, {{"t", 1}, {7, -1, std::nullopt, 0}}}));
  EXPECT_FALSE(*answer) << "answered only once durable";
  auto writes = c.take_writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].producer_id, pid);
  EXPECT_EQ(writes[0].producer_epoch, epoch);
  EXPECT_EQ(writes[0].records.size(), 2u);
  c.write_done(writes[0].id, write_outcome::committed, 10);
  EXPECT_TRUE(answered_ok(answer, 2));
  EXPECT_FALSE(c.committed("g", {"t", 0})) << "pending offsets are not visible";
  EXPECT_TRUE(c.has_pending_txn_offsets("g", {"t", 0}));
  EXPECT_TRUE(c.has_pending_txn_offsets("g", {"t", 1}));
  EXPECT_FALSE(c.has_pending_txn_offsets("g", {"t", 2}));
  c.txn_marker_applied(0, pid + 1, 12, true);  // another producer's marker changes nothing
  EXPECT_TRUE(c.has_pending_txn_offsets("g", {"t", 0}));
  c.txn_marker_applied(0, pid, 12, true);
  EXPECT_FALSE(c.has_pending_txn_offsets("g", {"t", 0}));
  ASSERT_TRUE(c.committed("g", {"t", 0}));
  EXPECT_EQ(c.committed("g", {"t", 0})->offset, 42);
  EXPECT_EQ(c.committed("g", {"t", 0})->leader_epoch, 3);
  EXPECT_EQ(c.committed("g", {"t", 0})->metadata, "m");
  EXPECT_EQ(offset_of(c, "g", {"t", 1}), 7);
}

TEST(group_txn_offsets, an_abort_marker_drops_them_and_the_committed_offset_stays) {
  group_coordinator c(group_config::local());
  serve_all(c);
  test_log log;
  ASSERT_TRUE(testing::commit_now(c, {"g", -1, "", {{{"t", 0}, {5, -1, std::nullopt, 0}}}}));
  auto answer = start(c, txn_commit("g", {{{"t", 0}, {9, -1, std::nullopt, 0}}}));
  log.commit_all(c);
  EXPECT_TRUE(answered_ok(answer, 1));
  EXPECT_EQ(offset_of(c, "g", {"t", 0}), 5);
  log.marker(c, pid, false);
  EXPECT_FALSE(c.has_pending_txn_offsets("g", {"t", 0}));
  EXPECT_EQ(offset_of(c, "g", {"t", 0}), 5);
  // A later commit marker of the same producer finds nothing left to commit.
  log.marker(c, pid, true);
  EXPECT_EQ(offset_of(c, "g", {"t", 0}), 5);
}

TEST(group_txn_offsets, a_marker_settles_only_the_records_before_it) {
  // The producer's next transaction wrote here before the owner read the previous one's marker.
  group_coordinator c(group_config::local());
  serve_all(c);
  start(c, txn_commit("g", {{{"t", 0}, {1, -1, std::nullopt, 0}}}));
  auto w1 = c.take_writes();
  c.write_done(w1[0].id, write_outcome::committed, 3);
  start(c, txn_commit("g", {{{"t", 0}, {2, -1, std::nullopt, 0}}}));
  auto w2 = c.take_writes();
  c.write_done(w2[0].id, write_outcome::committed, 6);
  c.txn_marker_applied(0, pid, 5, true);  // the first transaction's marker sits between them
  EXPECT_EQ(offset_of(c, "g", {"t", 0}), 1);
  EXPECT_TRUE(c.has_pending_txn_offsets("g", {"t", 0})) << "the second transaction is still open";
  c.txn_marker_applied(0, pid, 8, false);
  EXPECT_EQ(offset_of(c, "g", {"t", 0}), 1);
  EXPECT_FALSE(c.has_pending_txn_offsets("g", {"t", 0}));
}

TEST(group_txn_offsets, the_same_record_fed_again_is_one_entry) {
  // The owner feeds the transactional records it reads from the log, some of which the core
  // already knows from write_done.
  group_coordinator c(group_config::local());
  serve_all(c);
  test_log log;
  start(c, txn_commit("g", {{{"t", 0}, {4, -1, std::nullopt, 0}}}));
  log.commit_all(c);
  c.load_txn(0, pid, log.items.back().offset, *log.items.back().record);
  log.marker(c, pid, false);
  EXPECT_FALSE(c.has_pending_txn_offsets("g", {"t", 0}));
  EXPECT_FALSE(c.committed("g", {"t", 0}));
}

TEST(group_txn_offsets, a_fenced_or_failed_write_is_an_error_and_leaves_nothing_pending) {
  group_coordinator c(group_config::local());
  serve_all(c);
  auto fenced = start(c, txn_commit("g", {{{"t", 0}, {4, -1, std::nullopt, 0}}}));
  auto w = c.take_writes();
  c.write_done(w[0].id, write_outcome::fenced);
  ASSERT_TRUE(*fenced);
  EXPECT_EQ(**fenced, std::unexpected(group_errc::invalid_producer_epoch));
  auto failed = start(c, txn_commit("g", {{{"t", 0}, {4, -1, std::nullopt, 0}}}));
  w = c.take_writes();
  c.write_done(w[0].id, write_outcome::failed);
  EXPECT_EQ(**failed, std::unexpected(group_errc::coordinator_not_available));
  EXPECT_FALSE(c.has_pending_txn_offsets("g", {"t", 0}));
  EXPECT_EQ(write_error(write_outcome::fenced), group_errc::invalid_producer_epoch);
}

TEST(group_txn_offsets, the_members_fields_are_checked_as_kafka_does) {
  group_coordinator c(group_config::local());
  serve_all(c);
  test_log log;
  std::optional<join_result> j;
  c.join({.group_id = "g", .client_id = "cl", .session_timeout_ms = 10'000, .rebalance_timeout_ms = 10'000,
          .protocol_type = "consumer", .protocols = {{"range", ""}}, .group_instance_id = "i1"},
         [&](join_result r) { j = std::move(r); });
  ASSERT_TRUE(j && j->error == group_errc::none);
  std::optional<sync_result> s;
  c.sync({"g", j->generation_id, j->member_id, std::nullopt, std::nullopt, {{j->member_id, "a"}}, "i1"},
         [&](sync_result r) { s = std::move(r); });
  log.commit_all(c);
  ASSERT_TRUE(s && s->error == group_errc::none);
  const offset_key k{"t", 0};
  auto with = [&](std::int32_t generation, std::string member, std::optional<std::string> instance) {
    auto p = txn_commit("g", {{k, {1, -1, std::nullopt, 0}}});
    p.generation_id = generation;
    p.member_id = std::move(member);
    p.group_instance_id = std::move(instance);
    auto a = start(c, p);
    log.commit_all(c);
    return *a;
  };
  // -1 / "" / null: a producer outside the group (TxnOffsetCommit v0-2), not checked.
  EXPECT_TRUE(with(-1, "", std::nullopt).value());
  EXPECT_TRUE(with(j->generation_id, j->member_id, "i1").value());
  EXPECT_TRUE(with(j->generation_id, "", std::nullopt).value()) << "an empty member id checks only the generation";
  EXPECT_EQ(with(j->generation_id, "nobody", std::nullopt)->error(), group_errc::unknown_member);
  EXPECT_EQ(with(j->generation_id + 1, j->member_id, std::nullopt)->error(), group_errc::illegal_generation);
  EXPECT_EQ(with(-1, j->member_id, std::nullopt)->error(), group_errc::illegal_generation);
  EXPECT_EQ(with(j->generation_id, "old-id", "i1")->error(), group_errc::fenced_instance_id);
  // A group this coordinator does not know is created: a generation other than its 0 is refused.
  auto unknown = txn_commit("fresh", {{k, {1, -1, std::nullopt, 0}}});
  unknown.generation_id = 3;
  auto a = start(c, unknown);
  EXPECT_EQ((*a)->error(), group_errc::illegal_generation);
}

TEST(group_txn_offsets, a_load_replays_pending_offsets_and_markers_in_log_order) {
  group_coordinator c(group_config::local());
  serve_all(c);
  test_log log;
  c.commit_offsets({"g", -1, "", {{{"t", 0}, {1, -1, std::nullopt, 0}}}}, [](auto) {});
  start(c, txn_commit("g", {{{"t", 0}, {10, -1, std::nullopt, 0}}}));
  start(c, txn_commit("g", {{{"t", 1}, {20, -1, std::nullopt, 0}}}, pid + 1));
  start(c, txn_commit("h", {{{"t", 0}, {30, -1, std::nullopt, 0}}}, pid + 2));
  log.commit_all(c);
  log.marker(c, pid, true);
  log.marker(c, pid + 1, false);
  // pid + 2 stays open.
  group_coordinator d(group_config::local());
  log.load_into(d);
  for (const auto* x : {&c, &d}) {
    EXPECT_EQ(offset_of(*x, "g", {"t", 0}), 10);
    EXPECT_FALSE(x->committed("g", {"t", 1}));
    EXPECT_FALSE(x->has_pending_txn_offsets("g", {"t", 1}));
    EXPECT_FALSE(x->committed("h", {"t", 0}));
    EXPECT_TRUE(x->has_pending_txn_offsets("h", {"t", 0}));
  }
  // A group holding only pending offsets is kept (it is not idle) and its marker finds it.
  d.tick(1'000'000);
  log.marker(d, pid + 2, true);
  EXPECT_EQ(offset_of(d, "h", {"t", 0}), 30);
}

TEST(group_txn_offsets, a_checkpoint_keeps_the_pending_records_in_the_log) {
  group_config cfg = group_config::local();
  cfg.checkpoint_min_records = 20;
  cfg.max_records_per_write = 3;
  group_coordinator c(cfg);
  serve_all(c);
  test_log log;
  for (int i = 0; i < 5; ++i) c.commit_offsets({"g", -1, "", {{{"t", 0}, {i, -1, std::nullopt, 0}}}}, [](auto) {});
  log.commit_all(c);
  start(c, txn_commit("g", {{{"t", 0}, {100, -1, std::nullopt, 0}}}));
  log.commit_all(c);
  const std::int64_t pending_at = log.items.back().offset;
  ASSERT_EQ(pending_at, 5);
  // Plain commits until a checkpoint is due and written.
  for (int i = 0; i < 40; ++i) {
    c.commit_offsets({"g", -1, "", {{{"t", 1 + i % 3}, {i, -1, std::nullopt, 0}}}}, [](auto) {});
    log.commit_all(c);
  }
  auto first = std::ranges::find_if(log.seen, [](const group_write& w) { return w.checkpoint_first; });
  ASSERT_NE(first, log.seen.end()) << "a checkpoint was written";
  EXPECT_EQ(first->keep_from, pending_at);
  EXPECT_EQ(first->open_producers, std::vector<std::int64_t>{pid});
  for (const auto& w : log.seen) {
    if (!w.checkpoint) continue;
    EXPECT_EQ(w.producer_id, -1);
    for (const auto& r : w.records) {
      // t-0 is restated with its committed offset (4), never with the pending one.
      if (r.key == group_record_key_variant{offset_record_key{"g", "t", 0}}) {
        EXPECT_EQ(std::get<offset_record_value>(*r.value).offset, 4);
      }
    }
  }
  ASSERT_FALSE(log.items.empty());
  EXPECT_EQ(log.items.front().offset, pending_at) << "trimmed no further than the pending record";
  // The marker after the checkpoint settles it, here and after a load of the trimmed log.
  log.marker(c, pid, true);
  group_coordinator d(cfg);
  log.load_into(d);
  for (const auto* x : {&c, &d}) {
    EXPECT_EQ(offset_of(*x, "g", {"t", 0}), 100);
    EXPECT_EQ(offset_of(*x, "g", {"t", 1}), 39);
    EXPECT_FALSE(x->has_pending_txn_offsets("g", {"t", 0}));
  }
}

TEST(group_txn_offsets, unloading_forgets_pending_offsets_and_answers_waiting_commits) {
  group_coordinator c(group_config::local());
  serve_all(c);
  auto answer = start(c, txn_commit("g", {{{"t", 0}, {4, -1, std::nullopt, 0}}}));
  c.unload_partition(0);
  ASSERT_TRUE(*answer);
  EXPECT_EQ(**answer, std::unexpected(group_errc::not_coordinator));
  c.txn_marker_applied(0, pid, 3, true);  // not served: ignored
  EXPECT_EQ(c.serves("g"), group_errc::not_coordinator);
}

TEST(group_txn_offsets, requests_are_refused_where_the_group_is_not_served) {
  group_coordinator c(group_config::local());
  auto a = start(c, txn_commit("g", {{{"t", 0}, {4, -1, std::nullopt, 0}}}));
  EXPECT_EQ((*a)->error(), group_errc::not_coordinator);
  c.begin_load(0, 1);
  a = start(c, txn_commit("g", {{{"t", 0}, {4, -1, std::nullopt, 0}}}));
  EXPECT_EQ((*a)->error(), group_errc::load_in_progress);
  c.finish_load(0);
  a = start(c, txn_commit("", {{{"t", 0}, {4, -1, std::nullopt, 0}}}));
  EXPECT_EQ((*a)->error(), group_errc::invalid_group_id);
  group_config small = group_config::local();
  small.max_offsets_per_group = 1;
  small.max_offset_metadata_bytes = 2;
  group_coordinator d(small);
  serve_all(d);
  a = start(d, txn_commit("g", {{{"t", 0}, {4, -1, "toolong", 0}}, {{"t", 1}, {4, -1, std::nullopt, 0}},
                                {{"t", 2}, {4, -1, std::nullopt, 0}}}));
  test_log log;
  log.commit_all(d);
  ASSERT_TRUE(*a && **a);
  EXPECT_EQ(**a, (std::vector<group_errc>{group_errc::metadata_too_large, group_errc::none, group_errc::too_many_offsets}));
}

}  // namespace
}  // namespace chronik::kafka
