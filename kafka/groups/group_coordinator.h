// The consumer group coordinator (docs/kafka.md "Consumer groups"): Kafka's classic group
// membership protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup; KIP-394's two-step join) and
// the group's committed offsets, for the groups this node coordinates.
//
// A pure core: no I/O, no clock, no Kafka error codes. The owner calls tick(now_ms) periodically
// (every ~100 ms; it bounds how late a session or rebalance timeout is noticed) and every other
// call uses the time of the last tick. Answers that must wait (a JoinGroup until the rebalance
// completes, a follower's SyncGroup until the leader's assignment arrives) are callbacks, called
// exactly once, from inside some later join/sync/leave/tick call, after the coordinator's state is
// consistent again; a callback must not call back into the coordinator.
//
// State machine per group (Kafka's GroupMetadata):
//   empty --join--> preparing_rebalance --all rejoined / rebalance timeout--> completing_rebalance
//   completing_rebalance --leader's SyncGroup--> stable
//   stable / completing_rebalance --join with new member or metadata, leave, session timeout-->
//     preparing_rebalance
//   preparing_rebalance --nobody left--> empty (generation + 1)
// `dead` is the state of a group being dropped (unload()); its pending answers get
// not_coordinator.
//
// Limitation: committed offsets live only in this object. They are lost when the node restarts
// or the group moves to another coordinator (group_placement.h).
#pragma once

#include <compare>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
};

struct join_member {
  std::string member_id;
  std::string metadata;  // for the selected protocol
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

struct commit_params {
  std::string group_id;
  std::int32_t generation_id = -1;  // -1 with an empty member id: not using group management
  std::string member_id;
  std::vector<std::pair<offset_key, committed_offset>> offsets;
};

// One member as DescribeGroups shows it.
struct member_view {
  std::string member_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;    // for the group's selected protocol; empty before one is selected
  std::string assignment;  // from the leader's last SyncGroup
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

class group_coordinator {
 public:
  explicit group_coordinator(group_config config);
  group_coordinator(const group_coordinator&) = delete;
  group_coordinator& operator=(const group_coordinator&) = delete;
  ~group_coordinator();

  // Advances the coordinator's time: expires sessions, pending members and rebalance deadlines,
  // and drops empty groups without offsets. `now_ms` must not go backwards (it is clamped).
  void tick(std::int64_t now_ms);
  std::int64_t now_ms() const { return now_ms_; }

  // JoinGroup. `done` is called now (errors, member_id_required, a rejoin without change) or
  // when the rebalance completes.
  void join(join_params params, join_callback done);
  // SyncGroup. `done` is called now or when the leader's assignment arrives (or the group
  // rebalances again: rebalance_in_progress).
  void sync(sync_params params, sync_callback done);
  std::expected<void, group_errc> heartbeat(std::string_view group_id, std::int32_t generation_id,
                                            std::string_view member_id);
  // LeaveGroup for one member; a pending (KIP-394) id is forgotten too.
  std::expected<void, group_errc> leave(std::string_view group_id, std::string_view member_id);

  // OffsetCommit: either every offset is refused (the outer error) or each gets none,
  // metadata_too_large or too_many_offsets.
  std::expected<std::vector<group_errc>, group_errc> commit_offsets(const commit_params& params);
  // OffsetFetch of one partition: nullopt when nothing is committed.
  std::optional<committed_offset> committed(std::string_view group_id, const offset_key& key) const;
  // Every committed offset of the group (OffsetFetch with a null topic list), sorted by key.
  std::vector<std::pair<offset_key, committed_offset>> all_committed(std::string_view group_id) const;

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
    // preparing_rebalance: the join completes by then at the latest; completing_rebalance: members
    // that have not sent SyncGroup by then are removed.
    std::int64_t rebalance_deadline_ms = 0;
    bool initial_delay = false;  // group.initial.rebalance.delay.ms: wait for the deadline
    std::map<offset_key, committed_offset> offsets;
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
  void expire(group& g);
  join_result current_generation(const group& g, const member& m) const;
  std::optional<std::string> select_protocol(const group& g) const;
  void answer_join(member& m, join_result result);
  void answer_sync(member& m, sync_result result);
  void flush();  // calls the answers queued by the call that just finished

  group_config config_;
  std::int64_t now_ms_ = 0;
  std::uint64_t member_counter_ = 0;
  std::map<std::string, group, std::less<>> groups_;
  std::vector<std::function<void()>> ready_;  // answers, called after the state is consistent
};

}  // namespace chronik::kafka
