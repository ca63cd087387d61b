// A seeded cluster of group coordinators for the group simulation (tests/sim/group_sim_test.cc):
// the Raft groups of a host_cluster (host_cluster.h) stand for the partitions of
// `__consumer_offsets`, every host runs the production group coordinator
// (kafka/groups/group_coordinator.h), and this file is its shell, playing daemon/group_store's
// part exactly as host_cluster plays raft_host's: it follows each partition's leadership (leader,
// with an entry of its own term applied: partition_replica::leader_ready), loads the partition's
// applied log from its start, appends the core's writes as Raft entries and reports each outcome,
// and trims the log at a committed checkpoint with a replicated log-start entry (DeleteRecords).
//
// Clients commit ever larger offsets to whichever host serves their group, retrying after
// errors, while the test crashes, isolates and heals hosts, so commits are in flight when their
// coordinator fails over. In the first groups the clients are members (JoinGroup, SyncGroup,
// heartbeats) and commit in their generation; in the others they commit without membership.
// Readers fetch offsets meanwhile, as OffsetFetch does in production (group_reads.cc): the shell
// first confirms with Raft's ReadIndex that its host still leads the group's partition
// (partition_replica::confirm_leadership), then reads the coordinator.
//
// The checker (docs/kafka.md "Durable groups", Simulation):
//   - no acknowledged commit is lost: after healing, the coordinator serves, for every key, at
//     least the highest offset ever acknowledged for it (and so does a fresh load of every host's
//     copy of the log);
//   - no OffsetFetch is served an offset below one acknowledged before the read began (the
//     ReadIndex fence keeps a deposed coordinator that has not noticed yet from answering);
//   - every host that loads a partition's log gets the same groups, and the serving coordinator
//     holds exactly what its log loads to;
//   - and everything host_cluster checks of Raft itself.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kafka/groups/group_coordinator.h"
#include "tests/sim/host_cluster.h"

namespace chronik::sim {

struct group_sim_options {
  host_sim_options raft;  // raft.groups is the number of `__consumer_offsets` partitions
  int groups = 4;         // consumer groups, each with `keys` committing clients
  int keys = 2;
  int managed_groups = 2;  // the first ones: their clients are members (JoinGroup, SyncGroup)
  std::uint64_t write_timeout_ticks = 80;  // offsets.commit.timeout.ms: then the write failed
  std::int64_t checkpoint_min_records = 8;
  std::size_t max_records_per_write = 3;  // checkpoints come in several parts
  int load_batches_per_tick = 0;  // a load's slice per tick, in batches; 0: 1 to 4 at random
  // The unsafe twins: the shell reports a write committed as soon as it is proposed; the shell
  // trims at a committed checkpoint while a new load of the partition is in progress (what
  // daemon/group_store did before it waited for the load).
  bool early_ack = false;
  bool trim_while_loading = false;
  // The unsafe twin of the read fence: OffsetFetch answered from the coordinator at once, without
  // ReadIndex (what Kafka's OffsetFetch does, and chronik's did before the fence).
  bool unfenced_reads = false;
  int readers = 2;  // OffsetFetch clients, each with one request in flight
};

struct group_sim_counts {
  std::uint64_t commits_acked = 0;
  std::uint64_t commits_refused = 0;  // answered with an error; the client retries
  std::uint64_t commits_lost = 0;     // no answer: the host crashed or the client gave up
  std::uint64_t in_flight_at_fault = 0;  // commits waiting on a host when it crashed or was cut off
  std::uint64_t loads = 0;
  std::uint64_t writes_committed = 0;
  std::uint64_t writes_not_leader = 0;
  std::uint64_t writes_failed = 0;
  std::uint64_t trims = 0;  // log starts moved after a committed checkpoint
  std::uint64_t reads = 0;           // OffsetFetch answers with offsets, each checked
  std::uint64_t reads_loading = 0;   // OffsetFetch answered load_in_progress
  std::uint64_t reads_unconfirmed = 0;  // ReadIndex failed: answered not coordinator, retried
  std::uint64_t generations = 0;    // SyncGroup answers with an assignment
  std::uint64_t rejoins = 0;        // members sent back to JoinGroup by an error
  std::uint64_t live_checked = 0;   // partitions whose serving coordinator was compared with its log
  std::uint64_t stalls = 0;
};

class group_cluster {
 public:
  group_cluster(std::uint64_t seed, group_sim_options opt);
  ~group_cluster();

  host_cluster& raft() { return raft_; }
  int partitions() const { return opt_.raft.groups; }
  rng& random() { return raft_.random(); }
  // One tick: Raft, then every host's shell, then the clients and the reader.
  void run(int ticks);
  void crash(int host);
  void isolate(int host, bool cut);
  // The host's io thread is busy for `ticks`: its shell neither follows Raft nor answers clients,
  // while its Raft host goes on, so outcomes and leadership changes arrive together, late.
  void stall(int host, std::uint64_t ticks);
  // The host that leads `partition` in the highest term, if any.
  std::optional<int> leader(int partition) const;
  // Stops the clients, heals, lets every partition settle on one loaded coordinator that every
  // host has caught up with, and runs the final checks.
  void converge(int ticks);

  std::vector<std::string> violations() const;
  const group_sim_counts& counts() const { return counts_; }

 private:
  struct proposal {
    std::uint64_t write = 0;
    int partition = 0;
    std::uint64_t index = 0;
    std::uint64_t term = 0;
    std::uint64_t deadline = 0;
    bool checkpoint_first = false;
    bool checkpoint_last = false;
  };
  // A host's copy of one partition: the record batches applied, by Raft index (the offset), from
  // the log start on.
  struct partition_log {
    std::map<std::uint64_t, std::string> batches;
    std::uint64_t start = 0;
    std::uint64_t last_index = 0;
    std::uint64_t last_term = 0;
  };
  struct cursor {
    std::uint64_t term = 0;
    std::uint64_t next = 0;  // the next index to load
    bool failed_write = false;  // a write of this load timed out: memory may lag the log
  };
  // A ReadIndex awaiting its read point (`index` once Raft answered) and that point's apply, as
  // partition_replica's confirmation.
  struct confirmation {
    std::string context;
    int partition = 0;
    std::uint64_t term = 0;
    std::optional<std::uint64_t> index;
    std::uint64_t deadline = 0;
    std::function<void(bool)> done;
  };
  struct shell {
    std::unique_ptr<kafka::group_coordinator> core;
    std::uint64_t incarnation = 0;
    std::vector<partition_log> logs;
    std::map<int, cursor> cursors;
    std::vector<proposal> proposals;
    std::vector<std::pair<proposal, kafka::write_outcome>> resolved;  // from the apply observer
    std::map<int, std::uint64_t> checkpoint_base;
    std::map<int, std::uint64_t> trims;
    std::deque<confirmation> confirmations;  // in the order asked
    std::uint64_t stalled_until = 0;
  };
  bool responsive(int host) const;  // running, and its shell not stalled
  using commit_slot = std::optional<std::expected<std::vector<kafka::group_errc>, kafka::group_errc>>;
  enum class request : std::uint8_t { none, commit, join, sync };
  // One client per (group, key). In groups with `managed` set each is also a member (JoinGroup,
  // SyncGroup, heartbeats) and commits in its generation; the others commit without membership.
  struct client {
    std::string group;
    kafka::offset_key key;
    std::int64_t next = 1;
    std::uint64_t wait_until = 0;
    bool managed = false;
    std::string client_id;
    std::string member_id;
    std::int32_t generation = -1;
    bool joined = false;  // has this generation's join answer (with the members, if leader)
    bool stable = false;  // has its assignment: may commit
    std::vector<std::string> members;  // the leader's join answer
    std::uint64_t next_heartbeat = 0;
    // The request in flight: the host and its incarnation, when sent, the offset, the answer.
    request req = request::none;
    int host = 0;
    std::uint64_t incarnation = 0;
    std::uint64_t sent = 0;
    std::int64_t offset = 0;
    std::shared_ptr<commit_slot> commit_answer;
    std::shared_ptr<std::optional<kafka::join_result>> join_answer;
    std::shared_ptr<std::optional<kafka::sync_result>> sync_answer;
  };

  // An OffsetFetch client: one request at a time, for a random committing client's key. `before`
  // is the highest offset acknowledged for it when the request was sent.
  struct read_answer {
    bool served = false;  // false: not coordinator (or loading), the reader asks again
    std::int64_t value = -1;
    std::uint64_t term = 0;  // the serving host's term of the group's partition
  };
  struct reader {
    bool in_flight = false;
    std::size_t of = 0;  // clients_[of] names the group and key
    int host = 0;
    std::uint64_t incarnation = 0;
    std::uint64_t sent = 0;
    std::int64_t before = -1;
    std::uint64_t wait_until = 0;
    std::shared_ptr<std::optional<read_answer>> answer;
  };

  void reset(int host);
  void applied(int host, int partition, const consensus::apply_batch& b);
  void tick_shell(int host);
  void report(int host, const proposal& p, kafka::write_outcome outcome);
  void follow(int host);
  void load_some(int host, int partition, cursor& c, int budget);
  void append(int host, kafka::group_write w);
  // group_clients.cc: the clients and the reader.
  void tick_client(client& c);
  void poll(client& c);
  std::optional<int> find_coordinator(const std::string& group);
  void send_commit(client& c, int host);
  void send_join(client& c, int host);
  void send_sync(client& c, int host);
  void member_error(client& c, kafka::group_errc e);
  // group_reads.cc: partition_reads.cc's part in the shell (ReadIndex), and the readers.
  void confirm_leadership(int host, int partition, std::function<void(bool)> done);
  void take_read_states(int host, int partition, const std::vector<consensus::read_state>& reads);
  void resolve_confirmations(int host);
  void expire_confirmations(int host);
  bool leader_ready(int host, int partition) const;
  void tick_reader(reader& r);
  void send_read(reader& r, int host);
  void poll_read(reader& r);
  bool settled(std::string* why) const;
  void final_checks();
  // The groups of `partition` a coordinator holds, as text by group id: metadata and offsets.
  // `settled_only`: without groups in the middle of a rebalance (not what their log says yet).
  std::map<std::string, std::string> state_of(const kafka::group_coordinator& core, int partition,
                                              bool settled_only) const;
  std::unique_ptr<kafka::group_coordinator> load_fresh(int host, int partition) const;
  kafka::group_config config() const;
  void violation(std::string what);

  group_sim_options opt_;
  host_cluster raft_;
  std::uint64_t now_ = 0;
  std::uint64_t incarnations_ = 0;
  std::vector<shell> shells_;
  std::vector<client> clients_;
  std::vector<reader> readers_;
  std::uint64_t next_confirmation_ = 0;
  bool stopping_ = false;
  // (group, key) -> the highest offset acknowledged to a client.
  std::map<std::pair<std::string, kafka::offset_key>, std::int64_t> acked_;
  std::vector<std::string> violations_;
  group_sim_counts counts_;
};

}  // namespace chronik::sim
