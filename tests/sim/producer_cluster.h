// A seeded cluster of partitions with idempotent producers for the producer simulation
// (tests/sim/producer_sim_test.cc; docs/kafka.md "Idempotent producers"). The Raft groups of a
// host_cluster (host_cluster.h) stand for partitions, and every host runs a thin shell that plays
// partition_replica's produce and apply parts over the production cores of
// kafka/partition/producer_state.h:
//   - the ready leader (leading, with an entry of its own term applied: leader_ready) decides each
//     batch with producer_guard::check over producer_history::current(), resetting the guard when
//     its term changes; an append is proposed and recorded with producer_guard::proposed, a
//     duplicate is answered with the original's offset (or waits on the original's proposal while
//     it is in flight), a gap or an old epoch is refused;
//   - every host applies the committed entries in log order, with dense offsets, into
//     producer_history::apply; with compaction the snapshot holds producer_history::at(cut)
//     (encoded by producer_table::encode) and the next offset, an install restores it, and the
//     compacting host drops its history through the cut.
// The entries carry what a record batch's header would: producer id, epoch, first sequence,
// record count, a timestamp, and a payload id unique per batch made.
//
// Producers (producer_clients.cc) write with up to five batches in flight per partition and, on a
// timeout, NOT_LEADER or a broken connection, send the same batch (same sequence) again to
// whichever host leads now, as librdkafka and the Java client do; an OUT_OF_ORDER_SEQUENCE for
// the oldest unacknowledged batch makes them give up the unacknowledged batches and bump the
// epoch (KIP-360: epoch + 1, sequences from 0).
//
// The checker:
//   - each (producer, epoch, first sequence) is at most once in the committed log and in every
//     host's applied log, and a producer's batches of one epoch follow each other without gaps;
//   - every acknowledged batch is in the committed log at exactly the acknowledged offset;
//   - every host that applied an index holds, there, the same producer table (encode());
//   - a snapshot installed anywhere holds the table (and next offset) that replaying the committed
//     log from empty through its cut gives;
//   - after healing, every producer drains (all its batches acknowledged), every host catches up,
//     and every host's table equals the replay of the whole log;
//   - and everything host_cluster checks of Raft itself.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "kafka/partition/producer_state.h"
#include "tests/sim/host_cluster.h"

namespace chronik::sim {

struct producer_sim_options {
  host_sim_options raft;  // raft.groups is the number of partitions; raft.compact: snapshots
  int producers_per_partition = 3;
  std::uint64_t produce_timeout_ticks = 40;  // the broker's deadline for a proposal's answer
  std::uint64_t client_timeout_ticks = 60;   // the client's for any answer (then it retries)
  // delivery.timeout.ms: a batch unacknowledged this long is given up, and with it the sequence:
  // the producer bumps its epoch (KIP-360). 0: never.
  std::uint64_t delivery_timeout_ticks = 0;
  // Retries go out as each batch's backoff ends, not oldest first: a later batch may reach a
  // leader before an earlier one it lost, as a batch pipelined on one connection behind a batch
  // refused for a moment (a leader not ready yet, too many proposals) is taken (loss-30 of the
  // partition suite, docs/partition-testing.md).
  bool loose_retry_order = false;
  // The unsafe twins: (a) the leader checks against the applied table only, not its proposals in
  // flight; (b) snapshots hold the current table instead of the table at the cut; (c) the guard
  // is kept when the term changes; (d) an unknown producer may start at any sequence (Kafka since
  // 2.5): the shell takes producer_state's unknown_producer verdict as an append.
  bool applied_only = false;
  bool snapshot_current = false;
  bool keep_guard_across_terms = false;
  bool unknown_starts_anywhere = false;
};

struct producer_sim_counts {
  std::uint64_t batches_made = 0;
  std::uint64_t sends = 0;
  std::uint64_t retries = 0;          // sends of a batch sent before
  std::uint64_t acked = 0;
  std::uint64_t answered_duplicate = 0;  // a retry answered with its applied original's offset
  std::uint64_t attached = 0;            // a retry waiting on its original's proposal
  std::uint64_t not_leader = 0;
  std::uint64_t timed_out = 0;       // the broker's deadline, a broken connection or the client's
  std::uint64_t out_of_order = 0;
  std::uint64_t unknown_producer = 0;  // a batch past sequence 0 at a partition that never knew its producer
  std::uint64_t epoch_bumps = 0;      // for an unrepairable sequence or a delivery timeout
  std::uint64_t delivery_timeouts = 0;
  std::uint64_t abandoned = 0;       // unacknowledged batches given up at an epoch bump
  std::uint64_t proposed = 0;
  std::uint64_t in_flight_at_fault = 0;  // batches waiting on a host when it crashed or was cut off
  std::uint64_t snapshots_taken = 0;
  std::uint64_t snapshots_installed = 0;
  std::uint64_t snapshots_checked = 0;   // installs compared with a replay of the committed log
  std::uint64_t new_terms = 0;           // guard resets for a new term on a ready leader
};

class producer_cluster {
 public:
  producer_cluster(std::uint64_t seed, producer_sim_options opt);
  ~producer_cluster();

  host_cluster& raft() { return raft_; }
  rng& random() { return raft_.random(); }
  int partitions() const { return opt_.raft.groups; }
  // One tick: Raft, then every host's shell, then the producers.
  void run(int ticks);
  void crash(int host);
  void isolate(int host, bool cut);
  // The host that leads `partition` in the highest term, if any.
  std::optional<int> leader(int partition) const;
  // Stops making batches, heals, waits until every producer drained and every host caught up,
  // and runs the final checks.
  void converge(int ticks);

  std::vector<std::string> violations() const;
  const producer_sim_counts& counts() const { return counts_; }

 private:
  // What an entry carries: a record batch's header, in short.
  struct batch_desc {
    std::int64_t producer_id = 0;
    std::int16_t epoch = 0;
    std::int32_t first_seq = 0;
    std::int32_t count = 1;
    std::uint64_t payload = 0;
    std::int64_t timestamp = 0;
    bool operator==(const batch_desc&) const = default;
    kafka::producer_batch_id id() const;
  };
  enum class outcome : std::uint8_t { ok, not_leader, timed_out, out_of_order, old_epoch, busy, unknown_producer };
  struct answer {
    outcome what = outcome::ok;
    std::int64_t offset = -1;
  };
  using slot = std::shared_ptr<std::optional<answer>>;
  struct waiter {
    std::uint64_t deadline = 0;
    slot to;
  };
  // A proposal in flight (partition_replica's `proposal`): its first asker, and retries of the
  // same batch that arrived while it was in flight.
  struct proposal {
    std::uint64_t index = 0;
    std::uint64_t term = 0;
    std::int64_t base_offset = 0;
    std::int32_t records = 0;
    std::optional<waiter> done;
    std::vector<waiter> retries;
  };
  // One host's replica of one partition.
  struct replica {
    kafka::producer_history history;
    kafka::producer_guard guard;
    std::uint64_t guard_term = 0;
    std::uint64_t applied = 0;
    std::uint64_t last_applied_term = 0;
    std::int64_t next_offset = 0;                         // the high watermark
    std::map<std::uint64_t, std::int64_t> offset_after;   // index -> next offset, since the log start
    std::deque<proposal> in_flight;
    std::map<std::int64_t, batch_desc> log;                // offset -> batch applied here since a restore
  };
  struct shell {
    std::uint64_t incarnation = 0;
    std::vector<replica> parts;
  };
  // The committed log of a partition, as first applied anywhere: index -> batch (if any) and its
  // first offset, and a hash of the producer table after the entry.
  struct committed_entry {
    std::optional<batch_desc> batch;
    std::int64_t first_offset = 0;
    std::size_t table_hash = 0;
  };
  // A batch a producer made and has not yet seen acknowledged (or acknowledged, still in front
  // of an unacknowledged one).
  struct client_batch {
    batch_desc desc;
    std::uint64_t made = 0;
    bool acked = false;
    bool sent_before = false;
    bool in_flight = false;
    int host = 0;
    std::uint64_t incarnation = 0;
    std::uint64_t sent = 0;
    std::uint64_t wait_until = 0;
    slot reply;
  };
  struct producer {
    std::int64_t id = 0;
    int partition = 0;
    std::int16_t epoch = 0;
    std::int32_t next_seq = 0;
    std::deque<client_batch> window;  // oldest unacknowledged first; at most five batches
    std::optional<int> target;        // the leader it sends to, until an error
  };

  // The shell (producer_cluster.cc).
  void reset(int host);
  void applied(int host, int partition, const consensus::apply_batch& b);
  void restore(int host, int partition, replica& r, const consensus::snapshot& snap);
  void apply_entry(int host, int partition, replica& r, const consensus::entry& e);
  void resolve_through(replica& r, const consensus::entry& e, std::optional<std::int64_t> base);
  std::string snapshot(int host, int partition, std::uint64_t index);
  void compacted(int host, int partition, std::uint64_t index);
  bool leader_ready(int host, int partition) const;
  void tick_shell(int host);
  void produce(int host, int partition, const batch_desc& b, slot to);
  void check_producer(int host, int partition, replica& r, std::uint64_t term, const batch_desc& b, slot to);
  void answer_now(const slot& to, answer a);
  kafka::producer_table replay(int partition, std::uint64_t through, std::int64_t* next_offset) const;
  bool settled(std::string* why) const;
  void final_checks();
  void violation(std::string what);

  // The producers (producer_clients.cc).
  void tick_producer(producer& p);
  void poll(producer& p, client_batch& b);
  void send(producer& p, client_batch& b);
  void acknowledged(producer& p, const client_batch& b, std::int64_t offset);
  void bump_epoch(producer& p);
  std::optional<int> find_leader(int partition);

  producer_sim_options opt_;
  host_cluster raft_;
  std::uint64_t now_ = 0;
  std::uint64_t incarnations_ = 0;
  std::uint64_t payloads_ = 0;
  bool stopping_ = false;
  std::vector<shell> shells_;
  std::vector<producer> producers_;
  std::vector<std::map<std::uint64_t, committed_entry>> committed_;  // per partition
  // Per partition: (producer, epoch, first sequence) -> the offset a client was told.
  std::vector<std::map<std::tuple<std::int64_t, std::int16_t, std::int32_t>, std::int64_t>> acks_;
  std::vector<std::string> violations_;
  producer_sim_counts counts_;
};

}  // namespace chronik::sim
