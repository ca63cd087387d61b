#include "metadata/meta_node.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "metadata/meta_commands.h"

namespace chronik::metadata {
namespace {

bool contains(const std::vector<node_id>& v, node_id id) { return std::ranges::find(v, id) != v.end(); }

bool in_conf(const consensus::conf_state& c, node_id id) { return contains(c.voters, id) || contains(c.learners, id); }

}  // namespace

std::string_view to_string(read_refusal r) {
  switch (r) {
    case read_refusal::no_group: return "no __meta group here";
    case read_refusal::no_leader: return "no known __meta leader";
    case read_refusal::too_many: return "too many reads waiting";
  }
  return "unknown";
}

meta_node::meta_node(meta_node_config cfg) : cfg_(std::move(cfg)) {
  CHRONIK_EXPECTS(cfg_.self.value() != 0, "a meta node needs its node id");
  CHRONIK_EXPECTS(cfg_.snapshot_entries > 0 && cfg_.max_pending_reads > 0, "bounds must be positive");
}

void meta_node::open_group(std::string cluster_id) {
  cluster_id_ = std::move(cluster_id);
  running_ = true;
}

void meta_node::found(std::vector<node_id> voters) {
  founding_voters_ = std::move(voters);
  campaigned_with_ = campaign_created_ = 0;
}

// The founder's campaign (docs/bootstrap.md R3). It campaigns at its first tick: usually the
// other voters adopted the group in the same gossip round and the campaign wins at once. A vote
// request that reached a voter before its group existed was dropped, though, and a campaign
// without a majority would wait a whole election timeout; so while there is no leader, the
// founder campaigns again each time more voters announce membership of this cluster (at most once
// per voter), and stops once every voter has (Raft §5.2: a new term makes the voters that dropped
// the old request vote now).
void meta_node::maybe_campaign(const std::vector<member_info>& members) {
  if (founding_voters_.empty() || !raft_) return;
  if (raft_->leader != no_node) {  // elected, or an election timer was faster: nothing to found
    founding_voters_.clear();
    return;
  }
  std::size_t created = 0;
  for (node_id v : founding_voters_) {
    if (v == cfg_.self) {
      ++created;
      continue;
    }
    const auto m = std::find_if(members.begin(), members.end(), [v](const member_info& x) { return x.id == v; });
    if (m != members.end() && m->announced.state == formation::kind::member && m->announced.cluster_id == cluster_id_)
      ++created;
  }
  if (campaigned_with_ != 0 && created <= campaigned_with_) return;
  ready_.campaign = true;
  campaign_created_ = created;
}

void meta_node::campaigned() {
  campaigned_with_ = campaign_created_;
  if (campaigned_with_ == founding_voters_.size()) founding_voters_.clear();  // every voter heard it
}

void meta_node::close_group() {
  founding_voters_.clear();
  running_ = false;
  cluster_id_.clear();
  raft_.reset();
}

void meta_node::reset() {
  state_ = meta_state{};
  snapshot_index_ = snapshot_offered_ = log_index{};
  cc_index_ = log_index{};
  cc_term_ = term_id{};
  proposed_.clear();
  move_proposed_until_ms_.clear();
  next_controller_run_ms_ = 0;
  founding_voters_.clear();
  raft_.reset();
  fail_reads();
}

void meta_node::tick(std::uint64_t now_ms, meta_observation seen) {
  now_ms_ = now_ms;
  raft_ = std::move(seen.raft);
  if (running_ && raft_) {
    maybe_campaign(seen.members);
    if (raft_->state == consensus::role::leader) run_controller(*raft_, seen.members);
    check_joined(*raft_);
  }
  expire_reads();
  judge_health(seen);
}

// --- applying -----------------------------------------------------------------------------------

std::expected<bool, meta_errc> meta_node::restore(const consensus::snapshot& snap) {
  if (snap.empty() || snap.meta.index <= state_.applied_index()) return false;
  if (auto r = state_.restore(snap.data); !r) return std::unexpected(r.error());
  snapshot_index_ = snap.meta.index;
  return true;
}

// The state machine's shell contract (meta_state.h): commands are applied, every other committed
// entry is skipped, so applied_index() is Raft's applied index and a snapshot taken there never
// makes a replica apply an entry twice.
std::optional<apply_outcome> meta_node::apply(const consensus::entry& e) {
  if (e.index <= state_.applied_index()) return std::nullopt;  // covered by the snapshot
  if (e.type != consensus::entry_type::normal || e.data.empty()) {
    state_.skip(e.index);
    return std::nullopt;
  }
  return state_.apply(e.index, e.data);
}

// --- the controller -----------------------------------------------------------------------------

// Gossip's view of this cluster's members and of the nodes asking to join it, as the controller
// reads it: a member announces this cluster as its own; a joiner names it.
std::vector<node_view> meta_node::cluster_view(const std::vector<member_info>& members) const {
  std::vector<node_view> nodes;
  for (const auto& m : members) {
    const bool member = m.announced.state == formation::kind::member && m.announced.cluster_id == cluster_id_;
    const bool joining = !member && !m.joining_cluster.empty() && m.joining_cluster == cluster_id_;
    if (!member && !joining) continue;
    node_view n{m.id, m.uuid, m.kafka_addr, m.rpc_addr};
    n.relation = member ? cluster_relation::member : cluster_relation::joining;
    n.listeners = m.listeners;
    if (m.down) {
      n.swim = swim_view::down;
      n.down_for = std::max(std::chrono::milliseconds(0), m.since_change);
    }
    nodes.push_back(std::move(n));
  }
  return nodes;
}

// The same proposal for a broker's record is made again only once reproposal_pause has passed: a
// lost proposal or a leader change is retried, but the log is not flooded while one is on its way.
// A different one is due at once: a broker marked dead that came back is registered again by the
// next controller run, not a pause after the dead mark (clients are refused replicas on it until
// then, as INVALID_REPLICATION_FACTOR).
bool meta_node::due(node_id broker, const std::string& command) {
  auto& last = proposed_[broker];
  if (last.command == command && now_ms_ < last.until_ms) return false;
  last = {command, now_ms_ + cfg_.reproposal_pause_ms};
  return true;
}

// The same pause for a decommission's move of one partition.
bool meta_node::due_move(const topic_id& topic, std::int32_t partition) {
  auto& until = move_proposed_until_ms_[{topic, partition}];
  if (now_ms_ < until) return false;
  until = now_ms_ + cfg_.reproposal_pause_ms;
  return true;
}

void meta_node::run_controller(const consensus::raft_status& st, const std::vector<member_info>& members) {
  if (now_ms_ < next_controller_run_ms_) return;
  next_controller_run_ms_ = now_ms_ + cfg_.controller_interval_ms;

  controller_input in;
  in.self = cfg_.self;
  in.state = &state_.data();
  in.conf = st.conf;
  in.match = st.match;
  in.commit = st.commit;
  // One configuration change at a time (dissertation §4.1): the previous one must have committed
  // in this term. One from an earlier term either committed or was overwritten by this leader's
  // log, and the configuration in st.conf already tells which.
  in.conf_change_in_flight = cc_term_ == st.term && cc_index_ > st.commit;
  in.nodes = cluster_view(members);
  in.meta_voters = cfg_.meta_voters;
  in.voter_replace_after = cfg_.voter_replace_after;
  auto plan = plan_controller(in);

  for (const auto& reg : plan.registrations) {
    auto command = commands::register_broker(reg);
    if (!due(reg.id, command)) continue;
    ready_.proposals.push_back({std::move(command),
                                "register broker " + std::to_string(reg.id.value()) + " uuid " + reg.uuid});
  }
  for (const auto& sc : plan.state_changes) {
    auto command = commands::set_broker_state(sc.id, sc.uuid, sc.state);
    if (!due(sc.id, command)) continue;
    ready_.proposals.push_back({std::move(command),
                                "mark broker " + std::to_string(sc.id.value()) + " " + std::string(to_string(sc.state)) +
                                    " (down in SWIM)"});
  }
  for (const auto& m : plan.moves) {
    if (!due_move(m.topic, m.partition)) continue;
    // The nonce only makes the bytes unique (meta_commands.h); the time is as good as any.
    ready_.proposals.push_back({commands::alter_reassignment(m.topic, m.partition, m.target, now_ms_),
                                "move " + m.topic_name + "-" + std::to_string(m.partition) + " from broker " +
                                    std::to_string(m.leaving.value()) + " to " + std::to_string(m.taking.value()) +
                                    " (decommission)"});
  }
  for (const auto& d : plan.decommissioned) {
    auto command = commands::set_broker_decommission(d.id, d.uuid, decommission_state::done);
    if (!due(d.id, command)) continue;
    ready_.proposals.push_back({std::move(command),
                                "decommission of broker " + std::to_string(d.id.value()) + " done"});
  }
  observed_term_ = st.term;
  if (plan.change) ready_.conf_change = conf_proposal{*plan.change, std::move(plan.reason)};
}

void meta_node::conf_change_proposed(log_index index) {
  cc_index_ = index;
  cc_term_ = observed_term_;
}

// A joiner becomes a member once `__meta` lists it as itself (docs/bootstrap.md property 5): its
// id in the configuration (as a learner first) and registered with its uuid. Its formation then
// records the voters it saw.
//
// The id alone is not enough: a wiped node comes back under its old node id, which the
// configuration may still hold as the old replica's (Raft knows only ids, so the node even
// receives that replica's log). Taking that for a join made it announce itself a member while
// `__meta` still named its old uuid or none. The controller registers every joiner (before or
// with adding it as a learner, so the registration comes first in the log), and removes a wiped
// node's old replica before registering the new uuid; the join completes once that registration
// is applied here.
void meta_node::check_joined(const consensus::raft_status& st) {
  if (!joining_ || !in_conf(st.conf, cfg_.self)) return;
  if (const auto* me = state_.broker(cfg_.self); me == nullptr || me->uuid != cfg_.self_uuid) return;
  joining_ = false;
  join_event ev{cluster_id_, {}};
  for (const auto& v : st.conf.voters) {
    const auto* b = state_.broker(v);
    ev.voters.push_back({v, b != nullptr ? b->uuid : std::string()});
  }
  ready_.joined = std::move(ev);
}

// Ready means a registered broker (this uuid) of a cluster whose `__meta` leader is known: Kafka
// clients can then be served and routed. Otherwise the reason names the first thing missing.
void meta_node::judge_health(const meta_observation& seen) {
  health_verdict h;
  const auto* b = state_.broker(cfg_.self);
  if (seen.storage_failure) {
    h.reason = "storage failed, node fenced: " + *seen.storage_failure;
  } else if (cluster_id_.empty() || !running_) {
    h.reason = "not a member of a cluster yet";
  } else if (b != nullptr && b->uuid == cfg_.self_uuid && b->decommission == decommission_state::done) {
    // Out of the `__meta` configuration from now on, so this replica learns nothing more.
    h.reason = "decommissioned: this node holds no replica and leaves __meta; stop it";
  } else if (!raft_ || raft_->leader.value() == 0) {
    h.reason = "no known __meta leader";
  } else if (b == nullptr || b->uuid != cfg_.self_uuid) {
    h.reason = "not a registered broker yet";
  } else {
    h = {true, "ready"};
  }
  if (last_health_ == h) return;
  last_health_ = h;
  ready_.health = std::move(h);
}

// --- linearizable reads (dissertation §6.4) -----------------------------------------------------

std::expected<read_ticket, read_refusal> meta_node::request_read() {
  if (!running_) return std::unexpected(read_refusal::no_group);
  // Raft drops a ReadIndex request while it knows no leader: refuse at once instead.
  if (!raft_ || raft_->leader.value() == 0) return std::unexpected(read_refusal::no_leader);
  if (reads_.size() >= cfg_.max_pending_reads) return std::unexpected(read_refusal::too_many);
  const std::uint64_t id = ++next_read_;
  std::string context = "read-" + std::to_string(id);
  // The deadline counts from the last tick: at most one tick period early.
  reads_.emplace(id, pending_read{context, now_ms_ + cfg_.read_timeout_ms, log_index{}});
  read_by_context_.emplace(context, id);
  return read_ticket{id, std::move(context)};
}

void meta_node::read_unsent(std::uint64_t id) {
  auto it = reads_.find(id);
  if (it == reads_.end()) return;
  read_by_context_.erase(it->second.context);
  reads_.erase(it);
  ready_.reads.push_back({id, false});
}

// The leader confirmed it still leads at `index` (a heartbeat round); the read may be served once
// this replica has applied that far. Index 0 (an empty log) counts as 1 so that "answered" and
// "waiting" stay distinct.
void meta_node::read_answered(std::string_view context, log_index index) {
  auto c = read_by_context_.find(context);
  if (c == read_by_context_.end()) return;  // expired, or another life of this node's
  reads_.at(c->second).index = log_index{std::max<std::uint64_t>(index.value, 1)};
}

void meta_node::serve_reads() {
  const log_index applied = state_.applied_index();
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->second.index.value == 0 || it->second.index > applied) {
      ++it;
      continue;
    }
    ready_.reads.push_back({it->first, true});
    read_by_context_.erase(it->second.context);
    it = reads_.erase(it);
  }
}

// Raft drops a ReadIndex request when it knows no leader, and a leader change loses the ones in
// flight: the caller gets a local read instead of waiting for ever.
void meta_node::expire_reads() {
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (now_ms_ < it->second.deadline_ms) {
      ++it;
      continue;
    }
    ready_.reads.push_back({it->first, false});
    read_by_context_.erase(it->second.context);
    it = reads_.erase(it);
  }
}

void meta_node::fail_reads() {
  for (const auto& [id, r] : reads_) ready_.reads.push_back({id, false});
  reads_.clear();
  read_by_context_.clear();
}

// --- snapshots (Raft paper §7) ------------------------------------------------------------------

// Every snapshot_entries applied entries the state's snapshot replaces the log before it, so the
// WAL does not grow without bound and a replica far behind gets the snapshot instead. Offered once
// per applied index: a failed store is retried when more is applied, not at every tick.
void meta_node::offer_snapshot() {
  const log_index applied = state_.applied_index();
  if (applied.value < snapshot_index_.value + cfg_.snapshot_entries || applied <= snapshot_offered_) return;
  snapshot_offered_ = applied;
  ready_.snapshot = applied;
}

void meta_node::snapshot_taken(log_index index) { snapshot_index_ = std::max(snapshot_index_, index); }

meta_ready meta_node::take_ready() {
  serve_reads();
  offer_snapshot();
  return std::exchange(ready_, meta_ready{});
}

}  // namespace chronik::metadata
