// The transaction coordinator's shell (daemon/txn_store.h) and marker delivery
// (daemon/txn_marker_router.h; docs/transactions.md "The shell", "Delivering markers") over real
// partition replicas on a three-node in-process cluster: `__transaction_state` (one partition) and
// two data partitions, "near" led by the coordinator's node and "far" led by another, whose markers
// go through a fake WriteTxnMarkers sender that writes them at the far leader as the receiving
// handler would. A commit is answered once stored, its markers end the transaction at both
// partitions and the id completes; a failed request is tried again only after its backoff; a new
// coordinator (the next leader of the state partition, a higher coordinator epoch) loads the
// PrepareCommit its predecessor left and finishes it, while the old one's work is dropped; a
// partition that no longer exists counts as written; a partition fenced by a newer coordinator makes
// the router abandon the work; a request never answered is given up after its deadline; a
// leadership won between ticks serves the next request.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include <asio/post.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/txn_marker_router.h"
#include "daemon/txn_store.h"
#include "kafka/txn/txn_coordinator.h"
#include "tests/unit/partition_test_util.h"

namespace chronik::kafka {
namespace {

using testing::make_transactional_batch;
using testing::partition_cluster;
using testing::produce_probe;

const std::vector<node_id> three{node_id{1}, node_id{2}, node_id{3}};
constexpr group_id state_group{4096}, near_group{4097}, far_group{4098};
constexpr std::int64_t pid = 700;

daemon::kafka_address address_of(node_id n) { return {"127.0.0." + std::to_string(n.value()), 9092}; }

// The WriteTxnMarkers peers: writes each marker at the partition's leader, as the handler does.
struct fake_peers {
  partition_cluster& c;
  int sent = 0;
  int fail_next = 0;   // requests answered "connection refused"
  bool hold = false;   // requests never answered (a peer that hangs)
  std::vector<daemon::remote_marker_done> held;

  void send(daemon::kafka_address broker, std::vector<daemon::remote_marker> markers, daemon::remote_marker_done done) {
    ++sent;
    if (hold) return held.push_back(std::move(done));
    if (fail_next > 0) {
      --fail_next;
      asio::post(c.io(), [done] { done(std::unexpected(std::string("connection refused"))); });
      return;
    }
    const std::size_t node = static_cast<std::size_t>(broker.host.back() - '1');
    auto results = std::make_shared<daemon::remote_marker_results>();
    auto open = std::make_shared<std::size_t>(1);
    auto finish = [results, open, done] {
      if (--*open == 0) done(*results);
    };
    for (std::size_t m = 0; m < markers.size(); ++m) {
      results->emplace_back(markers[m].partitions.size(), error_code::not_leader_or_follower);
      for (std::size_t p = 0; p < markers[m].partitions.size(); ++p) {
        auto* rep = c.manager(node).find(markers[m].partitions[p].topic, markers[m].partitions[p].partition);
        if (rep == nullptr) continue;
        ++*open;
        rep->write_marker(markers[m].producer_id, markers[m].producer_epoch,
                          txn_marker{markers[m].commit, markers[m].coordinator_epoch}, c.clock().steady + std::chrono::seconds(30),
                          [results, m, p, finish](std::expected<produce_ack, produce_error> r) {
                            (*results)[m][p] = r                                                 ? error_code::none
                                               : r.error().code == partition_errc::coordinator_fenced ? error_code::transaction_coordinator_fenced
                                                                                                  : error_code::not_leader_or_follower;
                            finish();
                          });
      }
    }
    asio::post(c.io(), finish);
  }
};

// One node's coordinator: core, shell and router.
struct node_txn {
  txn_coordinator core{txn_config{}, [](std::string_view) { return 0; }};
  daemon::txn_store store;
  daemon::txn_marker_router router;
  node_txn(partition_cluster& c, fake_peers& peers, std::size_t i)
      : store(core, node_id{static_cast<std::uint32_t>(i + 1)}, c.log()),
        router(core, node_id{static_cast<std::uint32_t>(i + 1)}, make_io(c, peers, i), c.log()) {}

  daemon::txn_marker_router_io make_io(partition_cluster& c, fake_peers& peers, std::size_t i) {
    daemon::txn_marker_router_io io;
    io.route = [&c, i](const txn_partition& p) {
      const auto* rep = c.manager(i).find(p.topic, p.partition);
      if (rep == nullptr) return daemon::marker_route{daemon::marker_route::kind::gone, {}};
      if (rep->leader() == no_node) return daemon::marker_route{};
      return daemon::marker_route{daemon::marker_route::kind::remote, address_of(rep->leader())};
    };
    io.send = [&peers](daemon::kafka_address b, std::vector<daemon::remote_marker> m, daemon::remote_marker_done d) {
      peers.send(std::move(b), std::move(m), std::move(d));
    };
    io.current = [this](const txn_marker_work& w) {
      const auto term = store.loaded_term(w.state_partition);
      return term && term->value == static_cast<std::uint64_t>(w.coordinator_epoch);
    };
    return io;
  }
};

struct fixture {
  partition_cluster c;
  fake_peers peers{c};
  std::vector<std::unique_ptr<node_txn>> nodes;
  std::deque<produce_probe> probes;

  fixture() {
    c.create(std::string(transaction_state_topic_name), state_group.value, three);
    c.create("near", near_group.value, three);
    c.create("far", far_group.value, three);
    for (std::size_t i = 0; i < 3; ++i) nodes.push_back(std::make_unique<node_txn>(c, peers, i));
    EXPECT_TRUE(c.elect(state_group, 0));
    EXPECT_TRUE(c.elect(near_group, 0));
    EXPECT_TRUE(c.elect(far_group, 1));
  }
  // One round of every node's coordinator as the daemon runs it (core, shell, router, shell),
  // then the cluster settles.
  void tick() {
    for (std::size_t i = 0; i < 3; ++i) {
      nodes[i]->core.tick(c.clock().wall_ms, c.clock().wall_ms);
      nodes[i]->store.tick(&c.manager(i), 1, c.clock().wall_ms);
    }
    for (std::size_t i = 0; i < 3; ++i) {
      nodes[i]->router.tick(&c.manager(i), c.clock().steady);
      nodes[i]->store.flush(&c.manager(i), c.clock().wall_ms);
    }
    ASSERT_TRUE(c.settle());
  }
  txn_coordinator& core(std::size_t i) { return nodes[i]->core; }
  // The answer of `call` on node i's core once its writes are appended and the cluster settled.
  txn_errc call(std::size_t i, const std::function<void(txn_callback)>& fn) {
    std::optional<txn_errc> got;
    fn([&](txn_errc e) { got = e; });
    nodes[i]->store.flush(&c.manager(i), c.clock().wall_ms);
    EXPECT_TRUE(c.settle());
    return got.value_or(txn_errc::need_producer_id);  // "never answered": no test expects it
  }
  producer_id_and_epoch init(std::size_t i, const std::string& id) {
    std::optional<init_producer_result> r;
    core(i).init_producer_id({id, 60'000, std::nullopt, pid}, [&](init_producer_result x) { r = x; });
    nodes[i]->store.flush(&c.manager(i), c.clock().wall_ms);
    EXPECT_TRUE(c.settle());
    EXPECT_TRUE(r && r->error == txn_errc::none);
    return {r ? r->producer_id : -1, r ? r->producer_epoch : std::int16_t{-1}};
  }
  // A transaction writing one batch to each data partition, ended by a commit (answered).
  void open_and_commit(std::size_t i, const std::string& id, producer_id_and_epoch pe) {
    const std::vector<txn_partition> both{{"far", 0}, {"near", 0}};
    ASSERT_EQ(call(i, [&](txn_callback cb) { core(i).add_partitions(id, pe, both, std::move(cb)); }), txn_errc::none);
    for (auto [g, leader] : {std::pair{near_group, 0}, std::pair{far_group, 1}}) {
      probes.emplace_back();
      c.manager(static_cast<std::size_t>(leader)).find(g)->produce(
          make_transactional_batch(2, c.clock().wall_ms, "v", pe.producer_id, pe.epoch, 0), acks_mode::all,
          c.clock().steady + std::chrono::seconds(30), probes.back().callback());
    }
    ASSERT_TRUE(c.settle());
    ASSERT_TRUE(probes.back().answered && probes.back().result);
    ASSERT_EQ(call(i, [&](txn_callback cb) { core(i).end_txn(id, pe, true, std::move(cb)); }), txn_errc::none);
    EXPECT_EQ(core(i).describe(id)->state, txn_status::prepare_commit);
  }
  // Both data partitions' leaders have no open transaction: the last stable offset is the end.
  bool closed_everywhere() {
    const auto* near = c.manager(0).find(near_group);
    const auto* far = c.manager(1).find(far_group);
    return near->last_stable_offset() == near->high_watermark() && far->last_stable_offset() == far->high_watermark();
  }
};

TEST(txn_store, a_commit_reaches_a_local_and_a_remote_partition_and_completes) {
  fixture f;
  f.tick();
  ASSERT_EQ(f.core(0).serves("tx"), txn_errc::none);
  EXPECT_EQ(f.core(1).serves("tx"), txn_errc::not_coordinator);
  const auto pe = f.init(0, "tx");
  f.open_and_commit(0, "tx", pe);
  EXPECT_FALSE(f.closed_everywhere()) << "nothing ends a transaction but its markers";

  for (int round = 0; round < 5 && f.core(0).describe("tx")->state != txn_status::complete_commit; ++round) f.tick();
  EXPECT_EQ(f.core(0).describe("tx")->state, txn_status::complete_commit);
  EXPECT_TRUE(f.closed_everywhere());
  EXPECT_EQ(f.peers.sent, 1) << "one request to the far leader; the near marker is written locally";
  EXPECT_EQ(f.nodes[0]->router.pending(), 0u);
}

TEST(txn_store, a_failed_request_is_tried_again_after_its_backoff) {
  fixture f;
  f.tick();
  const auto pe = f.init(0, "tx");
  f.open_and_commit(0, "tx", pe);
  f.peers.fail_next = 1;
  f.tick();
  EXPECT_EQ(f.peers.sent, 1);
  f.tick();  // the fake clock has not moved: the backoff (100 ms) has not passed
  EXPECT_EQ(f.peers.sent, 1);
  EXPECT_EQ(f.core(0).describe("tx")->state, txn_status::prepare_commit);
  f.c.clock().advance(std::chrono::milliseconds(100));
  for (int round = 0; round < 5 && f.core(0).describe("tx")->state != txn_status::complete_commit; ++round) f.tick();
  EXPECT_EQ(f.peers.sent, 2);
  EXPECT_EQ(f.core(0).describe("tx")->state, txn_status::complete_commit);
  EXPECT_TRUE(f.closed_everywhere());
}

// Kafka's rule: a partition whose topic is gone needs no marker (the fake route answers "gone" for
// a partition no node has), so it does not hold the transaction in PrepareCommit.
TEST(txn_store, a_partition_that_no_longer_exists_counts_as_written) {
  fixture f;
  f.tick();
  const auto pe = f.init(0, "tx");
  const std::vector<txn_partition> deleted{{"deleted", 0}};
  ASSERT_EQ(f.call(0, [&](txn_callback cb) { f.core(0).add_partitions("tx", pe, deleted, std::move(cb)); }), txn_errc::none);
  f.open_and_commit(0, "tx", pe);
  for (int round = 0; round < 5 && f.core(0).describe("tx")->state != txn_status::complete_commit; ++round) f.tick();
  EXPECT_EQ(f.core(0).describe("tx")->state, txn_status::complete_commit);
  EXPECT_EQ(f.peers.sent, 1) << "nothing is sent for the deleted partition";
}

// FindCoordinator names a partition's leader as soon as `__meta` records it, which can be before
// that node's next tick: the request itself makes the shell follow (follow_now), so the leader does
// not answer NOT_COORDINATOR. Found by kafka_load's transactional rows, whose first InitProducerId
// came within that window.
TEST(txn_store, a_leadership_won_since_the_last_tick_serves_the_next_request) {
  fixture f;
  f.tick();
  ASSERT_TRUE(f.c.elect(state_group, 1));
  ASSERT_EQ(f.core(1).serves("tx"), txn_errc::not_coordinator) << "node 2's shell has not ticked";
  f.nodes[1]->store.follow_now(&f.c.manager(1), 1);
  EXPECT_EQ(f.core(1).serves("tx"), txn_errc::none);
  EXPECT_EQ(f.init(1, "tx").epoch, 0);
}

// A request whose answer never comes (a lost callback, a peer that hangs past the sender's own
// deadlines) is given up after send_timeout and its partitions tried again; its late answer is
// ignored.
TEST(txn_store, an_unanswered_request_is_given_up_after_its_deadline) {
  fixture f;
  f.tick();
  const auto pe = f.init(0, "tx");
  f.open_and_commit(0, "tx", pe);
  f.peers.hold = true;
  f.tick();
  ASSERT_EQ(f.peers.sent, 1);
  f.c.clock().advance(std::chrono::seconds(29));
  f.tick();
  EXPECT_EQ(f.peers.sent, 1) << "still waiting for the answer";
  f.c.clock().advance(std::chrono::seconds(1));
  f.tick();  // given up; the retry waits for its backoff
  f.peers.hold = false;
  f.c.clock().advance(std::chrono::milliseconds(100));
  for (int round = 0; round < 5 && f.core(0).describe("tx")->state != txn_status::complete_commit; ++round) f.tick();
  EXPECT_EQ(f.peers.sent, 2);
  EXPECT_EQ(f.core(0).describe("tx")->state, txn_status::complete_commit);
  f.peers.held.front()(std::unexpected(std::string("late")));
  ASSERT_TRUE(f.c.settle());
  EXPECT_EQ(f.nodes[0]->router.pending(), 0u);
}

// A partition that took a marker from a newer coordinator of the producer refuses this one
// (TRANSACTION_COORDINATOR_FENCED): the work is abandoned as Kafka abandons it, rather than retried
// without end, and the transaction stays with the coordinator that owns it now.
TEST(txn_store, a_partition_fenced_by_a_newer_coordinator_abandons_the_work) {
  fixture f;
  f.tick();
  const auto pe = f.init(0, "tx");
  f.open_and_commit(0, "tx", pe);
  produce_probe newer;
  f.c.manager(1).find(far_group)->write_marker(pe.producer_id, pe.epoch, txn_marker{true, 1'000},
                                               f.c.clock().steady + std::chrono::seconds(30), newer.callback());
  ASSERT_TRUE(f.c.settle());
  ASSERT_TRUE(newer.answered && newer.result);
  f.tick();
  EXPECT_EQ(f.peers.sent, 1);
  EXPECT_EQ(f.nodes[0]->router.pending(), 0u) << "abandoned";
  f.c.clock().advance(std::chrono::seconds(10));
  f.tick();
  EXPECT_EQ(f.peers.sent, 1) << "and never sent again";
  EXPECT_EQ(f.core(0).describe("tx")->state, txn_status::prepare_commit);
}

// The coordinator's node loses the state partition while the far marker hangs: its work is dropped,
// and the next leader loads PrepareCommit from the log with a higher coordinator epoch and finishes
// the transaction. The hung request's late answer changes nothing.
TEST(txn_store, a_new_coordinator_finishes_the_markers_its_predecessor_left) {
  fixture f;
  f.tick();
  const auto pe = f.init(0, "tx");
  f.open_and_commit(0, "tx", pe);
  f.peers.hold = true;
  f.tick();
  ASSERT_EQ(f.peers.held.size(), 1u);
  EXPECT_EQ(f.nodes[0]->router.pending(), 1u);

  ASSERT_TRUE(f.c.elect(state_group, 2));
  f.peers.hold = false;
  for (int round = 0; round < 5 && !(f.core(2).describe("tx") && f.core(2).describe("tx")->state == txn_status::complete_commit);
       ++round) {
    f.tick();
  }
  EXPECT_EQ(f.core(0).serves("tx"), txn_errc::not_coordinator);
  EXPECT_EQ(f.nodes[0]->router.pending(), 0u) << "the old coordinator's work is dropped";
  ASSERT_TRUE(f.core(2).describe("tx"));
  EXPECT_EQ(f.core(2).describe("tx")->state, txn_status::complete_commit);
  EXPECT_EQ(f.core(2).describe("tx")->producer_id, pe.producer_id);
  EXPECT_TRUE(f.closed_everywhere());

  f.peers.held.front()(daemon::remote_marker_results{{error_code::none}});  // the hung answer, late
  ASSERT_TRUE(f.c.settle());
  EXPECT_EQ(f.core(0).serves("tx"), txn_errc::not_coordinator);
  EXPECT_EQ(f.core(2).describe("tx")->state, txn_status::complete_commit);
}

}  // namespace
}  // namespace chronik::kafka
