// The transaction coordinator core (kafka/txn/txn_coordinator.h; docs/transactions.md), driven
// with a test log standing in for a `__transaction_state` partition (records go through the
// codec's bytes both ways): every transition of Kafka's state machine, answers only once durable,
// fencing by epoch and by producer id, the epoch fence of a new producer instance, epoch
// exhaustion, timeouts and expiry, a reload that resumes markers and timers, failed or refused
// writes that change nothing, checkpoints, and the describe/list views.
#include "kafka/txn/txn_coordinator.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chronik::kafka {
namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;  // wall clock at the first tick
constexpr std::int32_t timeout_ms = 60'000;

txn_config test_config() {
  txn_config c;
  c.abort_timed_out_check_interval_ms = 1'000;
  c.remove_expired_check_interval_ms = 1'000;
  return c;
}

std::int32_t group_partition(std::string_view group) { return group == "g" ? 7 : 3; }

// The partition's log, as the bytes Kafka would hold: what committed writes appended.
struct test_log {
  std::vector<std::pair<std::string, std::optional<std::string>>> records;
  std::size_t checkpoint_start = 0;
  std::size_t writes = 0;

  // Commits every write made so far (a checkpoint's last part trims the log at its first part).
  void commit_all(txn_coordinator& c) {
    for (int round = 0; round < 100; ++round) {
      auto ws = c.take_writes();
      if (ws.empty()) return;
      for (auto& w : ws) {
        ++writes;
        if (w.checkpoint_first) checkpoint_start = records.size();
        for (const auto& r : w.records) records.emplace_back(encode_txn_key(r), encode_txn_value(r));
        if (w.checkpoint_last) {
          records.erase(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(checkpoint_start));
        }
        c.write_done(w.id, write_outcome::committed);
      }
    }
  }
  // Reports every write made so far with `outcome`, appending nothing.
  static void fail_all(txn_coordinator& c, write_outcome outcome) {
    for (auto& w : c.take_writes()) c.write_done(w.id, outcome);
  }
  std::vector<txn_log_record> decoded() const {
    std::vector<txn_log_record> out;
    for (const auto& [k, v] : records) {
      auto d = decode_txn_record(k, v ? std::optional<std::string_view>(*v) : std::nullopt);
      EXPECT_TRUE(d.has_value());
      if (d) out.push_back(*d);
    }
    return out;
  }
  // A new coordinator (coordinator epoch `epoch`) loading this log as partition 0 of 1.
  void load_into(txn_coordinator& c, std::int32_t epoch) const {
    c.begin_load(0, 1, epoch);
    EXPECT_EQ(c.serves("t"), txn_errc::load_in_progress);
    for (const auto& r : decoded()) c.load(0, r);
    c.finish_load(0);
  }
};

struct fixture {
  txn_coordinator c;
  test_log log;
  std::int64_t next_pid = 1000;

  fixture(std::int32_t epoch = 5) : fixture(test_config(), epoch) {}
  explicit fixture(txn_config cfg, std::int32_t epoch = 5) : c(cfg, group_partition) {
    c.tick(t0, t0);
    c.begin_load(0, 1, epoch);
    c.finish_load(0);
  }

  // InitProducerId as a shell does it: a fresh id only when asked for one; writes committed.
  init_producer_result init(const std::string& id, std::optional<producer_id_and_epoch> expected = std::nullopt,
                            std::int32_t timeout = timeout_ms) {
    std::optional<init_producer_result> r;
    init_producer_params p{id, timeout, expected, std::nullopt};
    c.init_producer_id(p, [&](init_producer_result x) { r = x; });
    if (r && r->error == txn_errc::need_producer_id) {
      r.reset();
      p.fresh_producer_id = next_pid++;
      c.init_producer_id(p, [&](init_producer_result x) { r = x; });
    }
    log.commit_all(c);
    EXPECT_TRUE(r.has_value());
    return r.value_or(init_producer_result{});
  }
  // A call whose answer is captured; `commit` commits the log first.
  txn_errc add(const std::string& id, producer_id_and_epoch pe, std::vector<txn_partition> ps, bool commit = true) {
    auto slot = std::make_shared<std::optional<txn_errc>>();
    c.add_partitions(id, pe, ps, [slot](txn_errc e) { *slot = e; });
    if (commit) log.commit_all(c);
    return slot->has_value() ? **slot : pending;
  }
  txn_errc end(const std::string& id, producer_id_and_epoch pe, bool commit_txn, bool commit = true) {
    auto slot = std::make_shared<std::optional<txn_errc>>();
    c.end_txn(id, pe, commit_txn, [slot](txn_errc e) { *slot = e; });
    if (commit) log.commit_all(c);
    return slot->has_value() ? **slot : pending;
  }
  txn_status state(const std::string& id) const { return c.describe(id).value().state; }

  // Stands for "not answered yet".
  static constexpr txn_errc pending = txn_errc::need_producer_id;
};

producer_id_and_epoch pe(const init_producer_result& r) { return {r.producer_id, r.producer_epoch}; }

TEST(txn_coordinator, ids_are_served_only_from_a_loaded_partition) {
  txn_coordinator c(test_config(), group_partition);
  EXPECT_EQ(c.serves("t"), txn_errc::not_coordinator);
  c.begin_load(0, 2, 1);
  const std::int32_t p = offsets_partition_for("t", 2);
  const std::string here = p == 0 ? "t" : "u";
  const std::string elsewhere = p == 0 ? "u" : "t";
  ASSERT_NE(offsets_partition_for(here, 2), offsets_partition_for(elsewhere, 2));
  EXPECT_EQ(c.serves(here), txn_errc::load_in_progress);
  EXPECT_EQ(c.list({}, {}).error(), txn_errc::load_in_progress);
  c.finish_load(0);
  EXPECT_EQ(c.serves(here), txn_errc::none);
  EXPECT_EQ(c.serves(elsewhere), txn_errc::not_coordinator);
  std::optional<init_producer_result> r;
  c.init_producer_id({elsewhere, timeout_ms, {}, 1}, [&](init_producer_result x) { r = x; });
  EXPECT_EQ(r->error, txn_errc::not_coordinator);
  c.init_producer_id({"", timeout_ms, {}, 1}, [&](init_producer_result x) { r = x; });
  EXPECT_EQ(r->error, txn_errc::invalid_request);
  EXPECT_EQ(c.describe(here).error(), txn_errc::transactional_id_not_found);
}

TEST(txn_coordinator, a_new_id_asks_for_a_producer_id_and_is_answered_once_stored) {
  fixture f;
  std::optional<init_producer_result> r;
  f.c.init_producer_id({"t", timeout_ms, {}, std::nullopt}, [&](init_producer_result x) { r = x; });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, txn_errc::need_producer_id);
  EXPECT_TRUE(f.c.take_writes().empty());
  r.reset();
  f.c.init_producer_id({"t", timeout_ms, {}, 42}, [&](init_producer_result x) { r = x; });
  EXPECT_FALSE(r) << "answered only once the Empty record is committed";
  EXPECT_EQ(f.c.describe("t").error(), txn_errc::transactional_id_not_found);
  f.log.commit_all(f.c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, txn_errc::none);
  EXPECT_EQ(r->producer_id, 42);
  EXPECT_EQ(r->producer_epoch, 0);
  const auto recs = f.log.decoded();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].transactional_id, "t");
  EXPECT_EQ(recs[0].value->status, txn_status::empty);
  EXPECT_FALSE(recs[0].value->partitions.has_value()) << "Kafka writes Empty with null partitions";
  EXPECT_EQ(recs[0].value->timeout_ms, timeout_ms);
  EXPECT_EQ(recs[0].value->last_update_ms, t0);
  EXPECT_EQ(f.state("t"), txn_status::empty);
}

TEST(txn_coordinator, transaction_timeouts_outside_the_limit_are_refused) {
  fixture f;
  for (const std::int32_t bad : {0, -1, 900'001}) {
    std::optional<init_producer_result> r;
    f.c.init_producer_id({"t", bad, {}, 1}, [&](init_producer_result x) { r = x; });
    EXPECT_EQ(r->error, txn_errc::invalid_transaction_timeout) << bad;
  }
  EXPECT_EQ(f.init("t", std::nullopt, 900'000).error, txn_errc::none);
}

TEST(txn_coordinator, init_bumps_the_epoch_and_fences_older_instances) {
  fixture f;
  const auto a = f.init("t");
  const auto b = f.init("t");  // a new instance: no id and epoch of its own
  EXPECT_EQ(b.producer_id, a.producer_id);
  EXPECT_EQ(b.producer_epoch, 1);
  // The old instance is fenced everywhere.
  EXPECT_EQ(f.add("t", pe(a), {{"x", 0}}), txn_errc::producer_fenced);
  EXPECT_EQ(f.end("t", pe(a), true), txn_errc::producer_fenced);
  // KIP-360: the current producer bumps its own epoch; a retry of that (its answer lost) gets the
  // same epoch again; an older epoch or another producer id is fenced.
  const auto c = f.init("t", pe(b));
  EXPECT_EQ(c.producer_epoch, 2);
  const auto retry = f.init("t", pe(b));
  EXPECT_EQ(retry.error, txn_errc::none);
  EXPECT_EQ(retry.producer_epoch, 2);
  EXPECT_EQ(f.init("t", pe(a)).error, txn_errc::producer_fenced);
  EXPECT_EQ(f.init("t", producer_id_and_epoch{a.producer_id + 77, 2}).error, txn_errc::producer_fenced);
  EXPECT_EQ(f.c.describe("t")->producer_epoch, 2);
}

TEST(txn_coordinator, a_committed_transaction_walks_every_state) {
  fixture f;
  const auto p = f.init("t");
  f.c.tick(t0 + 100, t0 + 100);
  // Empty -> Ongoing, answered once stored, with the start time.
  EXPECT_EQ(f.add("t", pe(p), {{"x", 1}, {"x", 0}}, false), fixture::pending);
  EXPECT_EQ(f.state("t"), txn_status::empty) << "memory changes only once the record commits";
  f.log.commit_all(f.c);
  EXPECT_EQ(f.state("t"), txn_status::ongoing);
  EXPECT_EQ(f.c.describe("t")->start_ms, t0 + 100);
  // Partitions already in the transaction: answered at once, no write.
  const std::size_t writes = f.log.writes;
  EXPECT_EQ(f.add("t", pe(p), {{"x", 0}}), txn_errc::none);
  EXPECT_EQ(f.log.writes, writes);
  EXPECT_EQ(f.add("t", pe(p), {{"y", 3}}), txn_errc::none);
  f.c.add_offsets("t", pe(p), "g", [](txn_errc e) { EXPECT_EQ(e, txn_errc::none); });
  f.log.commit_all(f.c);
  const std::vector<txn_partition> all = {{"__consumer_offsets", 7}, {"x", 0}, {"x", 1}, {"y", 3}};
  EXPECT_EQ(f.c.describe("t")->partitions, all);
  // Ongoing -> PrepareCommit, answered once stored; then the markers.
  EXPECT_EQ(f.end("t", pe(p), true, false), fixture::pending);
  EXPECT_TRUE(f.c.take_markers().empty()) << "no marker before the decision is durable";
  f.log.commit_all(f.c);
  EXPECT_EQ(f.state("t"), txn_status::prepare_commit);
  auto markers = f.c.take_markers();
  ASSERT_EQ(markers.size(), 1u);
  EXPECT_EQ(markers[0], (txn_marker_work{"t", p.producer_id, p.producer_epoch, true, 5, 0, all}));
  // While the markers go out: retries of the same outcome wait, the other outcome is refused,
  // a new transaction waits.
  EXPECT_EQ(f.end("t", pe(p), true), txn_errc::concurrent_transactions);
  EXPECT_EQ(f.end("t", pe(p), false), txn_errc::invalid_txn_state);
  EXPECT_EQ(f.add("t", pe(p), {{"z", 0}}), txn_errc::concurrent_transactions);
  EXPECT_EQ(f.init("t").error, txn_errc::concurrent_transactions);
  // Every partition acknowledged: CompleteCommit is written, with no partitions.
  f.c.markers_done(markers[0]);
  f.c.markers_done(markers[0]);  // a duplicate report while the completion is written: ignored
  EXPECT_EQ(f.state("t"), txn_status::prepare_commit);
  const std::size_t before_complete = f.log.writes;
  f.log.commit_all(f.c);
  EXPECT_EQ(f.log.writes, before_complete + 1);
  EXPECT_EQ(f.state("t"), txn_status::complete_commit);
  const auto last = f.log.decoded().back();
  EXPECT_EQ(last.value->status, txn_status::complete_commit);
  EXPECT_EQ(last.value->partitions, std::vector<txn_topic_partitions>{});
  EXPECT_EQ(f.end("t", pe(p), true), txn_errc::none) << "a retried commit of a completed commit succeeds";
  EXPECT_EQ(f.end("t", pe(p), false), txn_errc::invalid_txn_state);
  // The next transaction starts afresh.
  f.c.tick(t0 + 500, t0 + 500);
  EXPECT_EQ(f.add("t", pe(p), {{"z", 0}}), txn_errc::none);
  EXPECT_EQ(f.c.describe("t")->partitions, (std::vector<txn_partition>{{"z", 0}}));
  EXPECT_EQ(f.c.describe("t")->start_ms, t0 + 500);
}

TEST(txn_coordinator, an_aborted_transaction_and_ending_nothing) {
  fixture f;
  const auto p = f.init("t");
  EXPECT_EQ(f.end("t", pe(p), true), txn_errc::invalid_txn_state) << "Empty has nothing to end";
  EXPECT_EQ(f.end("t", pe(p), false), txn_errc::invalid_txn_state);
  EXPECT_EQ(f.add("t", pe(p), {{"x", 0}}), txn_errc::none);
  EXPECT_EQ(f.end("t", pe(p), false), txn_errc::none);
  EXPECT_EQ(f.state("t"), txn_status::prepare_abort);
  EXPECT_EQ(f.end("t", pe(p), false), txn_errc::concurrent_transactions);
  EXPECT_EQ(f.end("t", pe(p), true), txn_errc::invalid_txn_state);
  auto m = f.c.take_markers();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_FALSE(m[0].commit);
  f.c.markers_done(m[0]);
  f.log.commit_all(f.c);
  EXPECT_EQ(f.state("t"), txn_status::complete_abort);
  EXPECT_EQ(f.end("t", pe(p), false), txn_errc::none);
  EXPECT_EQ(f.end("t", pe(p), true), txn_errc::invalid_txn_state);
}

TEST(txn_coordinator, requests_from_the_wrong_producer_are_refused) {
  fixture f;
  const auto p = f.init("t");
  const producer_id_and_epoch other_id{p.producer_id + 1, p.producer_epoch};
  const producer_id_and_epoch newer{p.producer_id, static_cast<std::int16_t>(p.producer_epoch + 1)};
  EXPECT_EQ(f.add("unknown", pe(p), {{"x", 0}}), txn_errc::invalid_producer_id_mapping);
  EXPECT_EQ(f.end("unknown", pe(p), true), txn_errc::invalid_producer_id_mapping);
  EXPECT_EQ(f.add("t", other_id, {{"x", 0}}), txn_errc::invalid_producer_id_mapping);
  EXPECT_EQ(f.end("t", other_id, true), txn_errc::invalid_producer_id_mapping);
  EXPECT_EQ(f.add("t", newer, {{"x", 0}}), txn_errc::producer_fenced);
  EXPECT_EQ(f.end("t", newer, false), txn_errc::producer_fenced);
  EXPECT_EQ(f.state("t"), txn_status::empty);
}

TEST(txn_coordinator, a_new_instance_aborts_the_open_transaction_with_a_bumped_epoch) {
  fixture f;
  const auto old = f.init("t");
  EXPECT_EQ(f.add("t", pe(old), {{"x", 0}}), txn_errc::none);
  // The new instance is told to retry while the old transaction is aborted with epoch + 1.
  EXPECT_EQ(f.init("t").error, txn_errc::concurrent_transactions);
  EXPECT_EQ(f.state("t"), txn_status::prepare_abort);
  EXPECT_EQ(f.c.describe("t")->producer_epoch, old.producer_epoch + 1);
  EXPECT_EQ(f.init("t").error, txn_errc::concurrent_transactions);
  auto m = f.c.take_markers();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_FALSE(m[0].commit);
  EXPECT_EQ(m[0].producer_epoch, old.producer_epoch + 1) << "the abort marker fences the zombie at the partitions";
  // The zombie cannot commit what it started.
  EXPECT_EQ(f.end("t", pe(old), true), txn_errc::producer_fenced);
  f.c.markers_done(m[0]);
  f.log.commit_all(f.c);
  EXPECT_EQ(f.state("t"), txn_status::complete_abort);
  const auto fresh = f.init("t");
  EXPECT_EQ(fresh.error, txn_errc::none);
  EXPECT_EQ(fresh.producer_id, old.producer_id);
  EXPECT_EQ(fresh.producer_epoch, old.producer_epoch + 2);
}

TEST(txn_coordinator, a_producer_reinitialising_itself_mid_transaction_aborts_it_first) {
  // KIP-360: after an error inside a transaction the producer calls InitProducerId with its own
  // id and epoch; the open transaction is aborted (fenced) first, then the retry bumps again.
  fixture f;
  const auto p = f.init("t");
  EXPECT_EQ(f.add("t", pe(p), {{"x", 0}}), txn_errc::none);
  EXPECT_EQ(f.init("t", pe(p)).error, txn_errc::concurrent_transactions);
  auto m = f.c.take_markers();
  ASSERT_EQ(m.size(), 1u);
  // Reports that do not match the prepared transaction change nothing.
  auto wrong_epoch = m[0];
  wrong_epoch.producer_epoch = p.producer_epoch;
  f.c.markers_done(wrong_epoch);
  auto wrong_outcome = m[0];
  wrong_outcome.commit = true;
  f.c.markers_done(wrong_outcome);
  EXPECT_TRUE(f.c.take_writes().empty());
  f.c.markers_done(m[0]);
  f.log.commit_all(f.c);
  // Its own epoch is stale now; the bumped one is the current producer's.
  EXPECT_EQ(f.init("t", pe(p)).error, txn_errc::producer_fenced);
  const auto again = f.init("t", producer_id_and_epoch{p.producer_id, m[0].producer_epoch});
  EXPECT_EQ(again.error, txn_errc::none);
  EXPECT_EQ(again.producer_epoch, p.producer_epoch + 2);
}

TEST(txn_coordinator, an_exhausted_epoch_gets_a_new_producer_id) {
  fixture f;
  test_log seed;
  txn_record_value v;
  v.producer_id = 77;
  v.producer_epoch = 32'766;  // Short.MAX_VALUE - 1
  v.timeout_ms = timeout_ms;
  v.status = txn_status::complete_commit;
  v.partitions.emplace();
  v.last_update_ms = t0;
  const txn_log_record r{"t", v};
  seed.records.emplace_back(encode_txn_key(r), encode_txn_value(r));
  seed.load_into(f.c, 6);
  f.log = seed;
  std::optional<init_producer_result> got;
  f.c.init_producer_id({"t", timeout_ms, producer_id_and_epoch{77, 32'766}, std::nullopt},
                       [&](init_producer_result x) { got = x; });
  EXPECT_EQ(got->error, txn_errc::need_producer_id);
  const auto rotated = f.init("t", producer_id_and_epoch{77, 32'766});
  EXPECT_EQ(rotated.error, txn_errc::none);
  EXPECT_NE(rotated.producer_id, 77);
  EXPECT_EQ(rotated.producer_epoch, 0);
  // The same request again (its answer lost): the previous id with an exhausted epoch may retry,
  // and gets the rotated pair without another bump.
  const auto again = f.init("t", producer_id_and_epoch{77, 32'766});
  EXPECT_EQ(again.error, txn_errc::none);
  EXPECT_EQ(again.producer_id, rotated.producer_id);
  EXPECT_EQ(again.producer_epoch, 0);
}

TEST(txn_coordinator, fencing_an_exhausted_epoch_reaches_the_maximum_and_then_rotates) {
  fixture f;
  test_log seed;
  txn_record_value v;
  v.producer_id = 77;
  v.producer_epoch = 32'766;
  v.timeout_ms = timeout_ms;
  v.status = txn_status::ongoing;
  v.partitions = std::vector<txn_topic_partitions>{{"x", {0}}};
  v.last_update_ms = t0;
  v.start_ms = t0;
  const txn_log_record r{"t", v};
  seed.records.emplace_back(encode_txn_key(r), encode_txn_value(r));
  seed.load_into(f.c, 6);
  f.log = seed;
  EXPECT_EQ(f.init("t").error, txn_errc::concurrent_transactions);
  EXPECT_EQ(f.c.describe("t")->producer_epoch, 32'767) << "the fence takes the last epoch";
  auto m = f.c.take_markers();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].producer_epoch, 32'767);
  f.c.markers_done(m[0]);
  f.log.commit_all(f.c);
  const auto fresh = f.init("t");
  EXPECT_EQ(fresh.error, txn_errc::none);
  EXPECT_NE(fresh.producer_id, 77);
  EXPECT_EQ(fresh.producer_epoch, 0);
}

TEST(txn_coordinator, an_ongoing_transaction_past_its_timeout_is_aborted_and_fenced) {
  fixture f;
  const auto p = f.init("t");
  f.c.tick(t0 + 1'000, t0 + 1'000);
  EXPECT_EQ(f.add("t", pe(p), {{"x", 0}}), txn_errc::none);
  f.c.tick(t0 + 1'000 + timeout_ms, t0 + 1'000 + timeout_ms);
  f.log.commit_all(f.c);
  EXPECT_EQ(f.state("t"), txn_status::ongoing) << "not past the timeout yet";
  f.c.tick(t0 + 1'000 + timeout_ms + 1'000, t0 + 1'000 + timeout_ms + 1'000);
  EXPECT_EQ(f.state("t"), txn_status::ongoing) << "the abort is stored first";
  f.log.commit_all(f.c);
  EXPECT_EQ(f.state("t"), txn_status::prepare_abort);
  EXPECT_EQ(f.c.describe("t")->producer_epoch, p.producer_epoch + 1);
  EXPECT_EQ(f.end("t", pe(p), true), txn_errc::producer_fenced);
  auto m = f.c.take_markers();
  ASSERT_EQ(m.size(), 1u);
  f.c.markers_done(m[0]);
  f.log.commit_all(f.c);
  EXPECT_EQ(f.state("t"), txn_status::complete_abort);
}

// Found by the partition suite's skew-300s: the coordinator on a node whose wall clock jumped 300 s
// ahead timed out every open transaction at once and fenced its producers. Timeouts and expiry now
// run on the monotonic clock; the wall clock only stamps the records.
TEST(txn_coordinator, a_wall_clock_jump_neither_times_out_transactions_nor_expires_ids) {
  txn_config cfg = test_config();
  cfg.transactional_id_expiration_ms = 100'000;
  fixture f(cfg);
  const auto p = f.init("t");
  f.init("idle");
  EXPECT_EQ(f.add("t", pe(p), {{"x", 0}}), txn_errc::none);
  const std::int64_t jump = 300'000;
  f.c.tick(t0 + 1'000, t0 + 1'000 + jump);
  f.c.tick(t0 + 2'000, t0 + 2'000 + jump);
  EXPECT_TRUE(f.c.take_writes().empty()) << "no abort and no tombstone from the jump";
  EXPECT_EQ(f.state("t"), txn_status::ongoing);
  EXPECT_EQ(f.c.now_ms(), t0 + 2'000 + jump) << "records are still stamped by the wall clock";
  // The monotonic clock still times the transaction out.
  f.c.tick(t0 + timeout_ms + 1, t0 + timeout_ms + 1 + jump);
  f.log.commit_all(f.c);
  EXPECT_EQ(f.state("t"), txn_status::prepare_abort);
}

// A new coordinator resumes the stored clocks, but credits at most the whole timeout: a start stamp
// from a clock far behind times the transaction out at once (as Kafka), never earlier than that.
TEST(txn_coordinator, a_load_credits_the_stored_age_capped_at_the_timeout) {
  fixture f;
  const auto p = f.init("t");
  f.c.tick(t0 + 10'000, t0 + 10'000);
  EXPECT_EQ(f.add("t", pe(p), {{"x", 0}}), txn_errc::none);
  txn_coordinator next(test_config(), group_partition);
  // The next coordinator's monotonic clock is unrelated to the first's; its wall clock says the
  // transaction has been open for half its timeout.
  next.tick(5'000, t0 + 10'000 + timeout_ms / 2);
  f.log.load_into(next, 3);
  next.tick(5'000 + timeout_ms / 2, t0 + 10'000 + timeout_ms);
  EXPECT_TRUE(next.take_writes().empty()) << "exactly at its timeout: not past it";
  next.tick(5'000 + timeout_ms / 2 + 1'000, t0 + 10'000 + timeout_ms + 1'000);
  f.log.commit_all(next);
  EXPECT_EQ(next.describe("t")->state, txn_status::prepare_abort);
}

TEST(txn_coordinator, idle_ids_expire_with_a_tombstone) {
  txn_config cfg = test_config();
  cfg.transactional_id_expiration_ms = 100'000;
  txn_coordinator c(cfg, group_partition);
  test_log log;
  c.tick(t0, t0);
  c.begin_load(0, 1, 1);
  c.finish_load(0);
  std::optional<init_producer_result> r;
  c.init_producer_id({"idle", timeout_ms, {}, 1}, [&](init_producer_result x) { r = x; });
  c.init_producer_id({"busy", timeout_ms, {}, 2}, [&](init_producer_result x) { r = x; });
  log.commit_all(c);
  c.tick(t0 + 50'000, t0 + 50'000);
  c.add_partitions("busy", {2, 0}, std::vector<txn_partition>{{"x", 0}}, [](txn_errc) {});
  log.commit_all(c);
  c.tick(t0 + 100'000, t0 + 100'000);
  auto tombstones = c.take_writes();
  ASSERT_EQ(tombstones.size(), 1u) << "the idle id's tombstone";
  EXPECT_EQ(tombstones[0].records, (std::vector<txn_log_record>{{"idle", std::nullopt}}));
  c.tick(t0 + 99'000, t0 + 99'000);  // time never goes back
  EXPECT_EQ(c.now_ms(), t0 + 100'000);
  // A failed tombstone: the id stays, and the next expiry run tries again.
  c.write_done(tombstones[0].id, write_outcome::failed);
  EXPECT_TRUE(c.describe("idle").has_value());
  c.tick(t0 + 102'000, t0 + 102'000);
  log.commit_all(c);
  EXPECT_EQ(c.describe("idle").error(), txn_errc::transactional_id_not_found);
  EXPECT_EQ(c.describe("busy")->state, txn_status::ongoing) << "an open transaction does not expire";
  const auto recs = log.decoded();
  EXPECT_FALSE(recs.back().value.has_value());
  txn_coordinator reloaded(cfg, group_partition);
  log.load_into(reloaded, 2);
  EXPECT_EQ(reloaded.describe("idle").error(), txn_errc::transactional_id_not_found);
  EXPECT_EQ(reloaded.size(), 1u);
}

TEST(txn_coordinator, a_reload_resumes_markers_and_timeouts) {
  fixture f;
  const auto a = f.init("a");
  const auto b = f.init("b");
  const auto c = f.init("c");
  f.c.tick(t0 + 10'000, t0 + 10'000);
  EXPECT_EQ(f.add("a", pe(a), {{"x", 0}}), txn_errc::none);
  EXPECT_EQ(f.add("b", pe(b), {{"x", 1}}), txn_errc::none);
  EXPECT_EQ(f.add("c", pe(c), {{"x", 2}}), txn_errc::none);
  EXPECT_EQ(f.end("a", pe(a), true), txn_errc::none);
  EXPECT_EQ(f.end("b", pe(b), false), txn_errc::none);
  EXPECT_EQ(f.c.take_markers().size(), 2u);
  // The leader moves before any marker is acknowledged; the new one is a later term.
  txn_coordinator next(test_config(), group_partition);
  next.tick(t0 + 20'000, t0 + 20'000);
  f.log.load_into(next, 9);
  EXPECT_EQ(next.describe("a")->state, txn_status::prepare_commit);
  EXPECT_EQ(next.describe("c")->state, txn_status::ongoing);
  EXPECT_EQ(next.describe("c")->start_ms, t0 + 10'000);
  auto m = next.take_markers();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], (txn_marker_work{"a", a.producer_id, a.producer_epoch, true, 9, 0, {{"x", 0}}}));
  EXPECT_EQ(m[1], (txn_marker_work{"b", b.producer_id, b.producer_epoch, false, 9, 0, {{"x", 1}}}));
  // A report from the old coordinator's epoch does not complete anything.
  auto stale = m[0];
  stale.coordinator_epoch = 5;
  next.markers_done(stale);
  EXPECT_TRUE(next.take_writes().empty());
  for (const auto& w : m) next.markers_done(w);
  f.log.commit_all(next);
  EXPECT_EQ(next.describe("a")->state, txn_status::complete_commit);
  EXPECT_EQ(next.describe("b")->state, txn_status::complete_abort);
  // c's timeout runs from its stored start, not from the load.
  next.tick(t0 + 10'000 + timeout_ms, t0 + 10'000 + timeout_ms);
  EXPECT_TRUE(next.take_writes().empty());
  next.tick(t0 + 10'000 + timeout_ms + 1'000, t0 + 10'000 + timeout_ms + 1'000);
  f.log.commit_all(next);
  EXPECT_EQ(next.describe("c")->state, txn_status::prepare_abort);
  EXPECT_EQ(next.describe("c")->producer_epoch, c.producer_epoch + 1);
}

TEST(txn_coordinator, failed_writes_answer_errors_and_change_nothing) {
  fixture f;
  // A new id whose first record fails does not exist.
  std::optional<init_producer_result> r;
  f.c.init_producer_id({"t", timeout_ms, {}, 5}, [&](init_producer_result x) { r = x; });
  test_log::fail_all(f.c, write_outcome::failed);
  EXPECT_EQ(r->error, txn_errc::coordinator_not_available);
  EXPECT_EQ(f.c.describe("t").error(), txn_errc::transactional_id_not_found);
  const auto p = f.init("t");
  // A failed AddPartitions leaves the id Empty; a failed EndTxn leaves it Ongoing.
  auto slot = std::make_shared<std::optional<txn_errc>>();
  f.c.add_partitions("t", pe(p), std::vector<txn_partition>{{"x", 0}}, [slot](txn_errc e) { *slot = e; });
  f.c.add_partitions("t", pe(p), std::vector<txn_partition>{{"y", 0}},
                     [](txn_errc e) { EXPECT_EQ(e, txn_errc::concurrent_transactions); });
  test_log::fail_all(f.c, write_outcome::failed);
  EXPECT_EQ(**slot, txn_errc::coordinator_not_available);
  EXPECT_EQ(f.state("t"), txn_status::empty);
  EXPECT_EQ(f.add("t", pe(p), {{"x", 0}}), txn_errc::none);
  slot->reset();
  f.c.end_txn("t", pe(p), true, [slot](txn_errc e) { *slot = e; });
  test_log::fail_all(f.c, write_outcome::failed);
  EXPECT_EQ(**slot, txn_errc::coordinator_not_available);
  EXPECT_EQ(f.state("t"), txn_status::ongoing);
  EXPECT_TRUE(f.c.take_markers().empty());
  // A failed completion sends the markers again; their acknowledgement completes it.
  EXPECT_EQ(f.end("t", pe(p), true), txn_errc::none);
  auto m = f.c.take_markers();
  f.c.markers_done(m.at(0));
  test_log::fail_all(f.c, write_outcome::failed);
  EXPECT_EQ(f.state("t"), txn_status::prepare_commit);
  auto again = f.c.take_markers();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0], m[0]);
  f.c.markers_done(again[0]);
  f.log.commit_all(f.c);
  EXPECT_EQ(f.state("t"), txn_status::complete_commit);
  // Overwritten by a new leader: not_coordinator, and the partition is no longer served.
  EXPECT_EQ(f.add("t", pe(p), {{"x", 0}}, false), fixture::pending);
  slot->reset();
  f.c.end_txn("t", pe(p), true, [slot](txn_errc e) { *slot = e; });
  EXPECT_EQ(**slot, txn_errc::concurrent_transactions);
  test_log::fail_all(f.c, write_outcome::not_leader);
  EXPECT_EQ(f.c.serves("t"), txn_errc::not_coordinator);
  EXPECT_EQ(f.c.size(), 0u);
}

TEST(txn_coordinator, unloading_answers_waiting_requests_and_drops_markers) {
  fixture f;
  const auto p = f.init("t");
  const auto q = f.init("u");
  EXPECT_EQ(f.add("t", pe(p), {{"x", 0}}), txn_errc::none);
  EXPECT_EQ(f.end("t", pe(p), true), txn_errc::none);
  auto slot = std::make_shared<std::optional<txn_errc>>();
  f.c.add_partitions("u", pe(q), std::vector<txn_partition>{{"x", 0}}, [slot](txn_errc e) { *slot = e; });
  auto writes = f.c.take_writes();
  ASSERT_EQ(writes.size(), 1u);
  f.c.unload_partition(0);
  EXPECT_EQ(**slot, txn_errc::not_coordinator);
  EXPECT_TRUE(f.c.take_markers().empty());
  f.c.write_done(writes[0].id, write_outcome::committed);  // late report: ignored
  f.c.markers_done(txn_marker_work{"t", p.producer_id, p.producer_epoch, true, 5, 0, {{"x", 0}}});
  EXPECT_TRUE(f.c.take_writes().empty());
  EXPECT_EQ(f.c.serves("t"), txn_errc::not_coordinator);
}

TEST(txn_coordinator, limits_on_ids_and_partitions) {
  txn_config cfg = test_config();
  cfg.max_transactional_ids = 1;
  cfg.max_partitions_per_transaction = 2;
  txn_coordinator c(cfg, group_partition);
  test_log log;
  c.begin_load(0, 1, 1);
  c.finish_load(0);
  std::optional<init_producer_result> r;
  c.init_producer_id({"t", timeout_ms, {}, 1}, [&](init_producer_result x) { r = x; });
  log.commit_all(c);
  c.init_producer_id({"u", timeout_ms, {}, 2}, [&](init_producer_result x) { r = x; });
  EXPECT_EQ(r->error, txn_errc::coordinator_not_available);
  std::optional<txn_errc> e;
  c.add_partitions("t", {1, 0}, std::vector<txn_partition>{{"x", 0}, {"x", 1}, {"x", 2}}, [&](txn_errc x) { e = x; });
  EXPECT_EQ(e, txn_errc::too_many_partitions);
  EXPECT_TRUE(c.take_writes().empty());
}

TEST(txn_coordinator, describe_and_list_show_kafkas_view) {
  fixture f;
  const auto a = f.init("a");
  f.init("b");
  const auto c = f.init("c");
  f.c.tick(t0 + 7, t0 + 7);
  EXPECT_EQ(f.add("a", pe(a), {{"x", 0}}), txn_errc::none);
  EXPECT_EQ(f.add("c", pe(c), {{"x", 0}}), txn_errc::none);
  EXPECT_EQ(f.end("c", pe(c), false), txn_errc::none);
  const auto view = f.c.describe("a").value();
  EXPECT_EQ(view, (txn_view{"a", txn_status::ongoing, a.producer_id, 0, timeout_ms, t0 + 7, {{"x", 0}}}));
  EXPECT_EQ(f.c.describe("b")->start_ms, -1);
  EXPECT_EQ(to_string(view.state), "Ongoing");
  const auto all = f.c.list({}, {}).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1], (txn_listing{"b", a.producer_id + 1, txn_status::empty}));
  const std::vector<txn_status> open = {txn_status::ongoing, txn_status::prepare_abort};
  const auto filtered = f.c.list(open, {}).value();
  ASSERT_EQ(filtered.size(), 2u);
  EXPECT_EQ(filtered[0].transactional_id, "a");
  EXPECT_EQ(filtered[1].transactional_id, "c");
  const std::vector<std::int64_t> pids = {c.producer_id};
  const auto by_pid = f.c.list({}, pids).value();
  ASSERT_EQ(by_pid.size(), 1u);
  EXPECT_EQ(by_pid[0].state, txn_status::prepare_abort);
}

TEST(txn_coordinator, a_checkpoint_lets_the_log_start_after_it_and_loses_nothing) {
  txn_config cfg = test_config();
  cfg.checkpoint_min_records = 20;
  cfg.max_records_per_write = 2;
  txn_coordinator c(cfg, group_partition);
  test_log log;
  c.tick(t0, t0);
  c.begin_load(0, 1, 1);
  c.finish_load(0);
  std::vector<std::string> ids = {"a", "b", "c"};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    c.init_producer_id({ids[i], timeout_ms, {}, static_cast<std::int64_t>(i + 1)}, [](init_producer_result) {});
  }
  log.commit_all(c);
  // Many transactions of one id: the log grows, the state does not.
  for (int round = 0; round < 6; ++round) {
    c.add_partitions("a", {1, 0}, std::vector<txn_partition>{{"x", round}},
                     [](txn_errc e) { EXPECT_EQ(e, txn_errc::none); });
    log.commit_all(c);
    c.end_txn("a", {1, 0}, round % 2 == 0, [](txn_errc e) { EXPECT_EQ(e, txn_errc::none); });
    log.commit_all(c);
    for (const auto& m : c.take_markers()) c.markers_done(m);
    log.commit_all(c);
  }
  c.add_partitions("b", {2, 0}, std::vector<txn_partition>{{"y", 1}}, [](txn_errc) {});
  log.commit_all(c);
  EXPECT_LE(log.records.size(), 10u) << "the log was trimmed at a checkpoint";
  txn_coordinator reloaded(cfg, group_partition);
  log.load_into(reloaded, 2);
  for (const auto& id : ids) EXPECT_EQ(reloaded.describe(id), c.describe(id)) << id;
  EXPECT_EQ(reloaded.describe("a")->state, txn_status::complete_abort);
  EXPECT_EQ(reloaded.describe("b")->state, txn_status::ongoing);
}

}  // namespace
}  // namespace chronik::kafka
