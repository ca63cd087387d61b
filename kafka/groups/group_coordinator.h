// The consumer group coordinator (docs/kafka.md "Consumer groups"): Kafka's classic group
// membership protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup; KIP-394's two-step join) and
// the group's committed offsets, for the groups this node coordinates.
//
// A pure core: no I/O, no clock, no Kafka error codes. The owner calls tick(now_ms, wall_ms)
// periodically (every ~100 ms; it bounds how late a session or rebalance timeout is noticed) and
// every other call uses the time of the last tick. Answers that must wait (a JoinGroup until the
// rebalance completes, a follower's SyncGroup until the leader's assignment is stored, an
// OffsetCommit until it is committed) are callbacks, called exactly once, from inside some later
// call, after the coordinator's state is consistent again; a callback must not call back into the
// coordinator.
//
// Durability (docs/kafka.md "Durable groups"). Group state lives in the partitions of the internal
// topic `__consumer_offsets`, in Kafka's own record formats (group_records.h); group G belongs to
// partition offsets_partition_for(G, N) and is coordinated by that partition's Raft leader. The
// owner tells the core which partitions it leads: begin_load, then every record of the partition's
// log in order (load), then finish_load; unload_partition when leadership goes. Until a partition
// is loaded its groups answer load_in_progress, and groups of partitions not led here answer
// not_coordinator. Every change worth keeping becomes a group_write the owner appends to the
// partition (take_writes) and reports back (write_done): an OffsetCommit is answered, and its
// offsets become visible, only once its records are committed in Raft (acks=all); a new
// generation's assignment is answered to the members only once stored. A new coordinator therefore
// rebuilds exactly what was acknowledged. Records accumulate; when a partition's log holds many
// more records than its live state, the core writes the whole live state again as a checkpoint,
// after which the owner drops the log before it (DeleteRecords' log start), so a load never
// replays all of history.
//
// Transactional offsets (TxnOffsetCommit, KIP-98; group_txn_offsets.cc): written as the producer's
// transactional batch and pending until the transaction coordinator's marker appears in the same
// partition, which the owner reports (txn_marker_applied) in log order with the core's own writes;
// a COMMIT makes them committed offsets, an ABORT drops them. Loads replay the same.
//
// State machine per group (Kafka's GroupMetadata):
//   empty --join--> preparing_rebalance --all rejoined / rebalance timeout--> completing_rebalance
//   completing_rebalance --leader's SyncGroup, stored--> stable
//   stable / completing_rebalance --join with new member or metadata, leave, session timeout-->
//     preparing_rebalance
//   preparing_rebalance --nobody left--> empty (generation + 1)
// `dead` is the state of a group being dropped (unload()); its pending answers get
// not_coordinator.
//
// Static membership (KIP-345; group_static.cc). A member that joins with a group.instance.id is
// bound to it: when the same instance joins again without a member id (the process restarted) it
// takes over the bound member, under a new member id, with no rebalance if the group is stable and
// the selected protocol stays; every request still carrying the old id with that instance id gets
// fenced_instance_id. A static member that misses a rebalance stays in the group (only its
// session timeout or a LeaveGroup removes it), and the binding is stored with the group's metadata
// so it survives a coordinator move.
#pragma once

#include <compare>
#include <deque>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kafka/groups/group_records.h"

namespace chronik::kafka {

// One field per Kafka broker setting it mirrors; all times in milliseconds.
struct group_config {
  // group.min.session.timeout.ms / group.max.session.timeout.ms: a JoinGroup asking for a session
  // timeout outside [min, max] is refused (invalid_session_timeout). Kafka: 6000 / 1800000.
  std::int32_t min_session_timeout_ms = 6'000;
  std::int32_t max_session_timeout_ms = 1'800'000;
  // group.initial.rebalance.delay.ms: the first rebalance of an empty group waits this long (at
  // most the rebalance timeout) so that consumers started together land in one generation instead
  // of one rebalance each. Kafka: 3000. 0 completes the join as soon as everyone joined.
  std::int32_t initial_rebalance_delay_ms = 3'000;
  // group.max.size: members (and KIP-394 pending members) per group; more get group_full.
  // Kafka: unbounded; bounded here because every member holds callbacks and metadata.
  std::size_t max_members_per_group = 1'000;
  // Groups this node keeps (with members or offsets); a new group beyond it gets
  // coordinator_not_available.
  std::size_t max_groups = 10'000;
  // Committed (topic, partition) offsets per group; a commit of a new one beyond it gets
  // too_many_offsets.
  std::size_t max_offsets_per_group = 100'000;
  // offset.metadata.max.bytes: longer commit metadata gets metadata_too_large. Kafka: 4096.
  std::size_t max_offset_metadata_bytes = 4'096;
  // Member ids are "<client id>-<16 hex digits>" from a counter mixed with this seed: the daemon
  // seeds it randomly, tests use a fixed seed to get the same ids every run.
  std::uint64_t member_id_seed = 0;
  // offsets.retention.minutes (KIP-211), in ms: committed offsets of a group without members expire
  // this long after the group became empty, or for a group that only commits (no protocol type)
  // this long after each commit. Kafka: 7 days. <= 0 keeps them forever.
  std::int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;
  // offsets.retention.check.interval.ms: how often expiry runs. Kafka: 600000.
  std::int64_t offsets_retention_check_interval_ms = 600'000;
  // A partition's log is rewritten as a checkpoint once it holds this many records and more than
  // twice the records its live state needs (docs/kafka.md "Durable groups").
  std::int64_t checkpoint_min_records = 10'000;
  // Records per group_write (a write becomes one record batch, hence one Raft entry); a checkpoint
  // is split into writes of at most this many records.
  std::size_t max_records_per_write = 2'000;

  static group_config lan();    // Kafka's defaults
  static group_config wan();    // the same: the timeouts are the clients' to choose
  static group_config local();  // tests and single-host clusters: no initial rebalance delay
  // The name of the first bad field and why, or nothing.
  std::expected<void, std::string> validate() const;
};

enum class group_errc : std::uint8_t {
  none,
  invalid_group_id,          // empty group id
  invalid_session_timeout,   // outside [min, max]_session_timeout_ms
  inconsistent_protocol,     // protocol type or names do not match the group's
  unknown_member,            // the member id is not (or no longer) in the group
  illegal_generation,        // the member is in the group, but the generation is not current
  rebalance_in_progress,     // rejoin: the group is rebalancing
  member_id_required,        // KIP-394: rejoin with the member id in the answer
  group_full,                // max_members_per_group
  coordinator_not_available, // max_groups, or the group is being dropped (dead)
  not_coordinator,           // the group was unloaded while the request waited
  metadata_too_large,        // commit metadata over max_offset_metadata_bytes
  too_many_offsets,          // max_offsets_per_group
  load_in_progress,          // this node leads the group's partition and is still loading it
  non_empty_group,           // DeleteGroups of a group with members
  group_id_not_found,        // DeleteGroups / OffsetDelete of a group this coordinator does not have
  group_subscribed_to_topic, // OffsetDelete of a topic the group's members consume
  fenced_instance_id,        // KIP-345: the instance id is bound to another member id now
  invalid_producer_epoch,    // TxnOffsetCommit: the partition saw a newer epoch of the producer
};

std::string_view to_string(group_errc e);

enum class group_state : std::uint8_t {
  empty,
  preparing_rebalance,
  completing_rebalance,
  stable,
  dead,
};

std::string_view to_string(group_state s);

struct member_protocol {
  std::string name;
  std::string metadata;  // opaque: the consumer's subscription
  bool operator==(const member_protocol&) const = default;
};

struct join_params {
  std::string group_id;
  std::string member_id;  // empty: a new member
  std::string client_id;
  std::string client_host;  // the connection's peer address, as DescribeGroups reports it
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = -1;  // -1: the session timeout (JoinGroup v0)
  std::string protocol_type;               // "consumer" for consumers
  std::vector<member_protocol> protocols;  // in the member's order of preference
  // JoinGroup v4+ (KIP-394): a new member first gets member_id_required with its id and must
  // rejoin with it, so that a client that times out does not leave an orphan member behind.
  bool require_known_member_id = false;
  // JoinGroup v5+ (KIP-345): a static member; such members skip KIP-394's extra round trip.
  std::optional<std::string> group_instance_id;
};

struct join_member {
  std::string member_id;
  std::string metadata;  // for the selected protocol
  std::optional<std::string> group_instance_id;
  bool operator==(const join_member&) const = default;
};

struct join_result {
  group_errc error = group_errc::none;
  std::int32_t generation_id = -1;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader_id;
  std::string member_id;
  std::vector<join_member> members;  // only for the leader, which computes the assignment
};

struct sync_params {
  std::string group_id;
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> protocol_type;  // SyncGroup v5+: checked when present
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, std::string>> assignments;  // leader: member id -> bytes
  std::optional<std::string> group_instance_id;  // SyncGroup v3+ (KIP-345)
};

struct sync_result {
  group_errc error = group_errc::none;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string assignment;
};

using join_callback = std::function<void(join_result)>;
using sync_callback = std::function<void(sync_result)>;

struct offset_key {
  std::string topic;
  std::int32_t partition = 0;
  auto operator<=>(const offset_key&) const = default;
};

struct committed_offset {
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  std::int64_t commit_time_ms = 0;  // the coordinator's time of the commit
  bool operator==(const committed_offset&) const = default;
};

using commit_callback = std::function<void(std::expected<std::vector<group_errc>, group_errc>)>;
using errc_callback = std::function<void(group_errc)>;

struct commit_params {
  std::string group_id;
  std::int32_t generation_id = -1;  // -1 with an empty member id: not using group management
  std::string member_id;
  std::vector<std::pair<offset_key, committed_offset>> offsets;
  std::optional<std::string> group_instance_id;  // OffsetCommit v7+ (KIP-345)
};

// One member as DescribeGroups shows it.
struct member_view {
  std::string member_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;    // for the group's selected protocol; empty before one is selected
  std::string assignment;  // from the leader's last SyncGroup
  std::optional<std::string> group_instance_id;  // KIP-345 static members
  bool operator==(const member_view&) const = default;
};

// A snapshot of one group for tests, logs, ListGroups and DescribeGroups.
struct group_view {
  group_state state = group_state::empty;
  std::int32_t generation_id = 0;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader_id;
  std::vector<std::string> member_ids;   // sorted
  std::vector<member_view> members;      // sorted by member id, as member_ids
  std::size_t pending_members = 0;       // KIP-394 ids handed out, not yet used
};

// The internal topic that holds every group's state, as Kafka names it.
inline constexpr std::string_view offsets_topic_name = "__consumer_offsets";

// The partition of `__consumer_offsets` that holds `group` among `partitions` (> 0): Kafka's
// abs(String.hashCode(group)) mod partitions, over the id's UTF-16 code units as Java sees them, so
// a group lands on the partition Kafka would choose.
std::int32_t offsets_partition_for(std::string_view group, std::int32_t partitions);

// Records the owner must append, in order, to partition `partition` of `__consumer_offsets`.
struct group_write {
  std::uint64_t id = 0;
  std::int32_t partition = 0;
  std::vector<group_log_record> records;
  // Part of a checkpoint: once the last part is committed, the log before the first part's base
  // offset holds nothing the checkpoint does not, and the owner trims it there.
  bool checkpoint = false;
  bool checkpoint_first = false;
  bool checkpoint_last = false;
  // TxnOffsetCommit (KIP-98): the records are part of this producer's transaction. The owner
  // appends them as one transactional batch with the producer's id and epoch
  // (partition_replica::produce_as_coordinator), so the partition's producer state holds the
  // transaction open until the coordinator's marker closes it. -1: a plain write.
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  // A checkpoint's first part: the offset of the oldest record of a transaction still open here
  // (its offsets are pending, so the checkpoint does not hold them); the owner trims the log no
  // further than this. -1: no transaction is open.
  std::int64_t keep_from = -1;
  // A checkpoint's first part: the producers whose transactions the checkpoint was built as open.
  // The owner appends it only while none of them has a marker in the log that the core has not
  // been told of (txn_marker_applied); otherwise it reports the parts failed and the core builds
  // the checkpoint again. A checkpoint restating offsets after a marker it did not know of would
  // undo that transaction's offsets at the next load.
  std::vector<std::int64_t> open_producers;
};

enum class write_outcome : std::uint8_t {
  committed,   // committed in Raft: every later leader has it
  not_leader,  // refused or overwritten: this node no longer leads the partition
  failed,      // timed out or the storage failed: it may or may not commit
  fenced,      // a transactional write refused: the partition saw a newer epoch of its producer
};

// What a request whose write did not commit is told: not_coordinator when the partition's
// leadership moved (the client finds the new coordinator), coordinator_not_available when the
// outcome is unknown (the client retries).
constexpr group_errc write_error(write_outcome outcome) {
  if (outcome == write_outcome::fenced) return group_errc::invalid_producer_epoch;
  return outcome == write_outcome::not_leader ? group_errc::not_coordinator : group_errc::coordinator_not_available;
}

// TxnOffsetCommit (KIP-98, KIP-447): offsets a transactional producer commits for a group.
struct txn_commit_params {
  std::string group_id;
  std::int64_t producer_id = -1;   // >= 0
  std::int16_t producer_epoch = -1;  // >= 0
  // v3+ (KIP-447): the consumer's membership, checked as Kafka checks it; -1 / "" / null skip it.
  std::int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<std::pair<offset_key, committed_offset>> offsets;
};

class group_coordinator {
 public:
  explicit group_coordinator(group_config config);
  group_coordinator(const group_coordinator&) = delete;
  group_coordinator& operator=(const group_coordinator&) = delete;
  ~group_coordinator();

  // Advances the coordinator's time: expires sessions, pending members and rebalance deadlines,
  // committed offsets past retention, and drops empty groups without offsets. `now_ms` (steady)
  // must not go backwards (it is clamped); `wall_ms` (milliseconds since the epoch) stamps commits
  // and measures retention, which must survive a move to another node. wall_ms < 0: now_ms.
  void tick(std::int64_t now_ms, std::int64_t wall_ms = -1);
  std::int64_t now_ms() const { return now_ms_; }

  // JoinGroup. `done` is called now (errors, member_id_required, a rejoin without change) or
  // when the rebalance completes.
  void join(join_params params, join_callback done);
  // SyncGroup. `done` is called now or when the leader's assignment arrives (or the group
  // rebalances again: rebalance_in_progress).
  void sync(sync_params params, sync_callback done);
  // Heartbeat v3+, SyncGroup v3+, OffsetCommit v7+ and LeaveGroup v3+ carry the member's instance
  // id: with one, the member id must be the one bound to it (else fenced_instance_id, or
  // unknown_member when it is bound to none).
  std::expected<void, group_errc> heartbeat(std::string_view group_id, std::int32_t generation_id,
                                            std::string_view member_id,
                                            std::optional<std::string_view> instance_id = std::nullopt);
  // LeaveGroup for one member; a pending (KIP-394) id is forgotten too. An empty member id with an
  // instance id removes whichever member the instance is bound to (KIP-345's administrative
  // removal). LeaveGroup v3+'s batch is one call per member, each with its own answer.
  std::expected<void, group_errc> leave(std::string_view group_id, std::string_view member_id,
                                        std::optional<std::string_view> instance_id = std::nullopt);

  // OffsetCommit: either every offset is refused (the outer error) or each gets none,
  // metadata_too_large or too_many_offsets. `done` is called once the accepted offsets are
  // committed in the partition's log (then they are visible), or with the outer error
  // not_coordinator / coordinator_not_available when the write failed.
  void commit_offsets(const commit_params& params, commit_callback done);
  // TxnOffsetCommit (group_txn_offsets.cc): like commit_offsets, but the accepted offsets are
  // written as part of the producer's transaction and stay pending, invisible to committed(), until
  // its COMMIT marker reaches the group's partition (txn_marker_applied); an ABORT drops them.
  // `done` is called once the records are committed in the log, or with the outer error
  // invalid_producer_epoch when the partition refused the producer's epoch.
  void commit_txn_offsets(const txn_commit_params& params, commit_callback done);
  // Whether a transaction holds offsets of `key` for the group that are not decided yet: OffsetFetch
  // v7+ with require_stable answers UNSTABLE_OFFSET_COMMIT for it (KIP-447).
  bool has_pending_txn_offsets(std::string_view group_id, const offset_key& key) const;
  // OffsetFetch of one partition: nullopt when nothing is committed.
  std::optional<committed_offset> committed(std::string_view group_id, const offset_key& key) const;
  // Every committed offset of the group (OffsetFetch with a null topic list), sorted by key.
  std::vector<std::pair<offset_key, committed_offset>> all_committed(std::string_view group_id) const;

  // DeleteGroups of one group: refused with members (non_empty_group); else tombstones for its
  // offsets and metadata are written and `done` gets none once they are committed.
  void delete_group(std::string_view group_id, errc_callback done);
  // OffsetDelete (KIP-496): forgets the group's committed offsets of `keys`. The outer error
  // refuses them all (as for DeleteGroups; non_empty_group for a group with members whose protocol
  // type is not "consumer"); else each key gets none, or group_subscribed_to_topic when a member
  // subscribes to its topic (consumer_protocol.h). `done` is called once the tombstones commit.
  void delete_offsets(std::string_view group_id, std::vector<offset_key> keys, commit_callback done);

  // --- durability (the owner's side) -----------------------------------------------------------
  // none when this node serves `group_id` now; load_in_progress or not_coordinator otherwise.
  group_errc serves(std::string_view group_id) const;
  // This node now leads partition `partition` of the `partitions` of `__consumer_offsets`: its
  // groups answer load_in_progress until finish_load. Forgets what it held of it before.
  void begin_load(std::int32_t partition, std::int32_t partitions);
  // One record of the partition's log, in log order, between begin_load and finish_load.
  void load(std::int32_t partition, const group_log_record& record);
  // A record of a transactional batch of `producer_id` at `offset` of the log: a pending
  // transactional offset until that producer's marker. While loading, in log order with load();
  // once loaded, the owner feeds the transactional records it finds as it follows the log (a
  // TxnOffsetCommit whose outcome was unknown may have committed); one already known is ignored.
  void load_txn(std::int32_t partition, std::int64_t producer_id, std::int64_t offset, const group_log_record& record);
  // A transaction marker of `producer_id` at `offset` of the partition's log: the producer's
  // pending offsets written before it become committed (COMMIT) or are dropped (ABORT). Loading
  // and loaded alike: the owner reads the markers of a loaded partition as its log grows.
  void txn_marker_applied(std::int32_t partition, std::int64_t producer_id, std::int64_t offset, bool commit);
  void finish_load(std::int32_t partition);
  // This node no longer leads the partition: its groups are dropped, waiting answers and
  // unfinished writes get not_coordinator.
  void unload_partition(std::int32_t partition);
  std::vector<std::int32_t> partitions_served() const;  // loaded or loading, sorted
  bool loaded(std::int32_t partition) const;
  bool serving(std::int32_t partition) const { return served_.contains(partition); }  // loaded or loading
  // Writes to append, oldest first; each is reported back once with write_done.
  std::vector<group_write> take_writes();
  // `base_offset`: where a committed write's first record went (TxnOffsetCommit's pending offsets
  // are placed by it, so that a marker settles exactly the records before it).
  void write_done(std::uint64_t id, write_outcome outcome, std::int64_t base_offset = -1);
  std::size_t writes_in_flight() const;

  // Drops the group (this node no longer coordinates it): waiting answers get not_coordinator.
  void unload(std::string_view group_id);

  std::optional<group_view> describe(std::string_view group_id) const;
  std::vector<std::string> group_ids() const;  // sorted
  const group_config& config() const { return config_; }

 private:
  struct member {
    std::string id;
    std::string client_id;
    std::string client_host;
    std::int32_t session_timeout_ms = 0;
    std::int32_t rebalance_timeout_ms = 0;
    std::vector<member_protocol> protocols;
    std::string assignment;                  // from the leader's last SyncGroup
    join_callback awaiting_join;             // set while its JoinGroup waits for the rebalance
    sync_callback awaiting_sync;             // set while its SyncGroup waits for the leader
    bool synced = false;                     // sent SyncGroup in this generation
    std::int64_t session_deadline_ms = 0;    // no heartbeat by then: removed
    std::optional<std::string> instance_id;  // KIP-345: a static member
  };

  // A write handed out and not reported back yet, and what its outcome unblocks.
  struct pending_write {
    std::int32_t partition = 0;
    std::function<void(write_outcome)> then;  // may be empty
    bool checkpoint_last = false;
    // A transactional write's continuation: also told where its records went once committed.
    std::function<void(write_outcome, std::int64_t base_offset)> then_placed;
  };

  // A partition of `__consumer_offsets` this node leads.
  struct partition_state {
    bool loaded = false;
    std::int64_t log_records = 0;       // records in its log from the log start (loaded + written)
    std::size_t in_flight = 0;          // writes handed out, not reported back
    // A checkpoint is wanted: new writes wait in `held` until in_flight drains, so the checkpoint
    // is built from a state that includes every earlier write.
    bool checkpoint_wanted = false;
    bool checkpoint_in_flight = false;
    std::deque<group_write> held;
    // Producers with pending transactional offsets here -> the groups holding them.
    std::map<std::int64_t, std::set<std::string, std::less<>>> txn_groups;
  };

  // A transactional offset waiting for its producer's marker.
  struct txn_offset {
    offset_key key;
    committed_offset value;
  };

  struct group {
    std::string id;
    group_state state = group_state::empty;
    std::int32_t generation_id = 0;
    std::string protocol_type;
    std::optional<std::string> protocol_name;
    std::string leader_id;
    std::map<std::string, member, std::less<>> members;
    std::map<std::string, std::int64_t, std::less<>> pending;  // KIP-394 id -> deadline
    // KIP-345: instance id -> the member id bound to it; exactly the members with an instance id.
    std::map<std::string, std::string, std::less<>> static_members;
    // preparing_rebalance: the join completes by then at the latest; completing_rebalance: members
    // that have not sent SyncGroup by then are removed.
    std::int64_t rebalance_deadline_ms = 0;
    bool initial_delay = false;  // group.initial.rebalance.delay.ms: wait for the deadline
    std::map<offset_key, committed_offset> offsets;
    // Pending transactional offsets: producer id -> log offset of the record -> the offset.
    std::map<std::int64_t, std::map<std::int64_t, txn_offset>> txn_offsets;
    std::int32_t partition = 0;           // of `__consumer_offsets`
    // The metadata last written to its log, which a checkpoint repeats (memory may be mid-rebalance,
    // which Kafka never stores); nullopt when none is live there.
    std::optional<group_record_value> stored;
    std::uint64_t assignment_write = 0;   // completing_rebalance: the leader's assignment being stored
    std::int64_t empty_since_wall_ms = 0; // when it last became empty (retention)
  };

  group* find(std::string_view group_id);
  const group* find(std::string_view group_id) const;
  std::string next_member_id(std::string_view client_id);
  bool supports_protocols(const group& g, std::string_view type,
                          const std::vector<member_protocol>& protocols) const;
  void join_known(group& g, join_params& params, join_callback& done);
  void add_member_and_rebalance(group& g, std::string id, join_params& params,
                                join_callback done);
  void update_member_and_rebalance(group& g, member& m, join_params& params, join_callback done);
  void maybe_prepare_rebalance(group& g);
  void prepare_rebalance(group& g);
  void try_complete_join(group& g);
  void complete_join(group& g);
  void complete_sync(group& g);
  void remove_member(group& g, const std::string& id, group_errc why);
  void erase_member(group& g, const std::string& id);  // and its instance binding
  // --- static membership (group_static.cc) ---
  // Kafka's validateCurrentMember: none, unknown_member or fenced_instance_id.
  group_errc check_member(const group& g, std::string_view member_id,
                          std::optional<std::string_view> instance_id) const;
  void join_static(group& g, join_params& params, join_callback& done);
  void replace_static_member(group& g, const std::string& old_id, join_params& params,
                             join_callback done);
  // Moves member `from` to id `to` (and the binding, and the leadership): the restarted instance
  // takes over its old self; whatever the old id waited for is answered fenced_instance_id.
  member& rebind(group& g, const std::string& from, const std::string& to);
  // A static member's replacement in a stable group, waiting for its binding to be stored: what
  // answers the join once committed, and what undoes it otherwise.
  struct static_replacement {
    std::string group_id;
    std::string old_id;
    std::string new_id;
    std::string leader_before;  // the leader id the join's answer names
    std::int32_t generation = 0;
    std::vector<member_protocol> old_protocols;
    std::int32_t old_session_ms = 0;
    std::int32_t old_rebalance_ms = 0;
    std::optional<group_record_value> stored_before;
  };
  void finish_replacement(static_replacement undo, write_outcome outcome);
  bool elect_joined_leader(group& g);
  void expire(group& g);
  join_result current_generation(const group& g, const member& m) const;
  std::optional<std::string> select_protocol(const group& g) const;
  void answer_join(member& m, join_result result);
  void answer_sync(member& m, sync_result result);
  void flush();  // calls the answers queued by the call that just finished
  group* create(std::string_view group_id);
  // Queues a write of `records` to `partition`; `then` runs with its outcome.
  void write(std::int32_t partition, std::vector<group_log_record> records,
             std::function<void(write_outcome)> then);
  // The same for the records of a producer's transaction (group_write::producer_id).
  void write_txn(std::int32_t partition, std::int64_t producer_id, std::int16_t producer_epoch,
                 std::vector<group_log_record> records,
                 std::function<void(write_outcome, std::int64_t base_offset)> then);
  void enqueue(group_write w, pending_write pw);
  // --- transactional offsets (group_txn_offsets.cc) ---
  group_errc check_txn_member(const group& g, const txn_commit_params& params) const;
  void add_txn_offset(group& g, std::int64_t producer_id, std::int64_t offset, txn_offset value);
  // The log offset of the partition's oldest pending transactional record, -1 with none (a
  // checkpoint's keep_from); the pending offsets a group holds.
  std::int64_t first_txn_offset(std::int32_t partition) const;
  std::size_t txn_offset_count(const group& g) const;
  group_log_record metadata_record(const group& g) const;
  static group_log_record offset_record(const std::string& group_id, const offset_key& key,
                                        const committed_offset& value);
  void load_metadata(group& g, const group_record_value& value);
  void store_metadata(group& g);            // fire and forget: the group's metadata as it is now
  void store_assignment(group& g);          // completing_rebalance -> stable once stored
  void maybe_checkpoint(std::int32_t partition);
  // Records the partition's live state needs: one per committed offset and per stored group.
  std::int64_t live_records(std::int32_t partition) const;
  void emit_checkpoint(std::int32_t partition, partition_state& ps);
  void expire_offsets();
  void drop_if_idle(std::map<std::string, group, std::less<>>::iterator it);

  group_config config_;
  std::int64_t now_ms_ = 0;
  std::int64_t wall_ms_ = 0;
  std::int64_t next_retention_ms_ = 0;  // wall clock
  std::int32_t partitions_ = 0;          // of `__consumer_offsets`, once known
  std::map<std::int32_t, partition_state> served_;
  std::vector<group_write> writes_;      // ready for take_writes
  std::map<std::uint64_t, pending_write> pending_writes_;
  std::uint64_t next_write_id_ = 0;
  std::uint64_t member_counter_ = 0;
  std::map<std::string, group, std::less<>> groups_;
  std::vector<std::function<void()>> ready_;  // answers, called after the state is consistent
};

}  // namespace chronik::kafka
