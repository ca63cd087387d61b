// Roles, elections and message dispatch (Raft paper §5.1-§5.2, §5.4.1; pre-vote and check-quorum
// from Ongaro's dissertation §9.6 and §6.2).
#include "consensus/core/raft.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include "base/assert.h"

namespace chronik::consensus {

namespace {
const std::string transfer_context = "transfer";
}

std::string_view to_string(role r) {
  switch (r) {
    case role::follower: return "follower";
    case role::pre_candidate: return "pre_candidate";
    case role::candidate: return "candidate";
    case role::leader: return "leader";
  }
  return "unknown";
}

std::string_view to_string(raft_errc e) {
  switch (e) {
    case raft_errc::not_leader: return "not leader";
    case raft_errc::transfer_in_progress: return "leadership transfer in progress";
    case raft_errc::conf_change_pending: return "a configuration change is pending";
    case raft_errc::invalid_conf_change: return "invalid configuration change";
    case raft_errc::dropped: return "too many uncommitted bytes";
  }
  return "unknown";
}

raft::raft(raft_config cfg, node_id self, const log_reader& storage, std::uint64_t rng_seed, log_sink log)
    : cfg_(cfg), self_(self), storage_(storage), rng_(rng_seed), sink_(std::move(log)), log_(storage) {
  const hard_state hs = storage.initial_hard_state();
  term_ = hs.term;
  vote_ = hs.vote;
  rejoining_ = hs.rejoining;
  persisted_hard_state_ = hs;
  conf_ = storage.initial_conf_state();
  conf_applied_ = log_.first_index().prev();
  load_conf_entries();
  apply_conf_changes_up_to(log_.committed());
  become_follower(term_, node_id{});
  if (term_.value > max_term)
    log_line(log_level::error, "stored term is past max_term (written before terms had a ceiling); "
                               "peers drop this node's messages");
}

void raft::log_line(log_level level, const std::string& text) const {
  if (sink_) sink_(level, "[" + std::to_string(self_.value()) + " t" + std::to_string(term_.value) + "] " + text);
}

bool raft::is_voter(node_id id) const {
  return std::find(conf_.voters.begin(), conf_.voters.end(), id) != conf_.voters.end();
}

bool raft::promotable() const { return is_voter(self_) && !rejoining_ && !log_.unstable_snapshot(); }

hard_state raft::current_hard_state() const { return hard_state{term_, vote_, log_.committed(), rejoining_}; }

void raft::reset_randomized_election_timeout() {
  const auto span = cfg_.election_timeout_ticks_max - cfg_.election_timeout_ticks_min;
  randomized_election_timeout_ = cfg_.election_timeout_ticks_min + static_cast<std::uint32_t>(rng_.below(span));
  // A reluctant node's whole range lies past every eager node's: [min + max, 2 max).
  if (campaign_mode_ == campaign_mode::reluctant) randomized_election_timeout_ += cfg_.election_timeout_ticks_max;
}

void raft::set_campaign_mode(campaign_mode mode) {
  if (campaign_mode_ == mode) return;
  campaign_mode_ = mode;
  reset_randomized_election_timeout();
}

void raft::reset(term_id term) {
  if (term_ != term) {
    term_ = term;
    vote_ = node_id{};
  }
  leader_ = node_id{};
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_election_timeout();
  lead_transferee_ = node_id{};
  // A change this node proposed while leading is either still in the log (conf_entries_ holds it
  // until it commits) or was replaced by a newer leader's entries: either way the old index must
  // not refuse the next leader's changes (RaftPaper.AReplacedChangeDoesNotBlockTheNextOne).
  pending_conf_index_ = log_index{};
  votes_.clear();
  pending_reads_.clear();
  reads_before_first_commit_.clear();
  uncommitted_.clear();
  uncommitted_bytes_ = 0;
  pending_broadcast_ = false;
  // Every change of role or term ends quiescence: the new role must run its timers.
  quiesced_ = false;
  idle_ticks_ = 0;
  rebuild_progress(true);
}

void raft::become_follower(term_id term, node_id leader) {
  reset(term);
  role_ = role::follower;
  leader_ = leader;
}

void raft::become_pre_candidate() {
  // Pre-vote changes neither term nor vote (§9.6): a node that cannot win disturbs nobody.
  role_ = role::pre_candidate;
  votes_.clear();
  leader_ = node_id{};
  election_elapsed_ = 0;
  reset_randomized_election_timeout();
}

void raft::become_candidate() {
  CHRONIK_ASSERT(role_ != role::leader, "a leader cannot become candidate");
  CHRONIK_ASSERT(term_.value < std::numeric_limits<std::uint64_t>::max(), "term + 1 would wrap");
  reset(term_id{term_.value + 1});
  vote_ = self_;
  role_ = role::candidate;
}

void raft::become_leader() {
  CHRONIK_ASSERT(role_ == role::candidate, "only a candidate becomes leader");
  // §6.2's check-quorum asks for contact with a majority within each election timeout. The votes
  // that elected us are such contact, received within this election, which lasted less than one
  // election timeout: they count for the first window. Otherwise a leader whose followers answer
  // its first appends only after a window (a round trip close to the election timeout) steps
  // down before hearing them, and so does every leader after it.
  std::vector<node_id> voted_for_us;
  for (const auto& [id, granted] : votes_)
    if (granted && id != self_) voted_for_us.push_back(id);
  reset(term_);
  leader_ = self_;
  role_ = role::leader;
  for (auto& [id, pr] : progress_) pr.become_probe();
  for (const node_id id : voted_for_us)
    if (auto it = progress_.find(id); it != progress_.end()) it->second.recent_active = true;
  progress_.at(self_).match = log_.last_stable_index();
  // §5.4.2 and §8: an entry of the new term must commit before earlier ones count as committed,
  // before ReadIndex can answer and before a configuration change may start.
  append_entries({entry{term_, log_.last_index().next(), entry_type::normal, {}}});
  log_line(log_level::info, "became leader");
}

void raft::campaign() {
  wake();
  if (promotable() && role_ != role::leader) start_election(false, false);
}

void raft::start_election(bool pre, bool transfer) {
  // A rejoining voter still runs pre-votes (they change no one's term or vote): they wake a
  // quiesced leader and teach it the current term. Winning one leads nowhere: the real election
  // below needs promotable().
  const bool rejoin_probe = pre && rejoining_ && is_voter(self_) && !log_.unstable_snapshot();
  if (!promotable() && !rejoin_probe) return;
  if (term_.value == std::numeric_limits<std::uint64_t>::max()) {
    // step() never adopts a term past max_term, and our own elections add one at a time, so only
    // a term persisted by a release without that check gets here. Staying a follower keeps the
    // rest of the node running; the group needs an operator (docs/raft.md "Values that cannot
    // wrap").
    log_line(log_level::error, "cannot campaign: term + 1 would wrap");
    return;
  }
  if (pre) become_pre_candidate();
  else become_candidate();
  const term_id vote_term = pre ? term_id{term_.value + 1} : term_;
  votes_[self_] = true;
  if (votes_.size() >= quorum()) {  // a single voter elects itself
    if (pre) {
      start_election(false, transfer);
      return;
    }
    become_leader();
    return;
  }
  for (node_id peer : conf_.voters) {
    if (peer == self_) continue;
    message m{pre ? message_type::pre_vote : message_type::vote, self_, peer, vote_term};
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    if (transfer) m.context = transfer_context;
    send(std::move(m));
  }
}

void raft::send(message m) {
  m.from = self_;
  if (m.term.value == 0 && m.type != message_type::pre_vote) m.term = term_;
  // Heartbeats and their answers carry no entry and depend on nothing but the term and vote
  // (§5.2). Once those are durable they may leave while a write is still on its way to disk, so
  // a slow fsync delays neither a leader's authority nor a follower's answer (docs/raft.md
  // "Messages that do not wait for the disk").
  const bool liveness = m.type == message_type::heartbeat || m.type == message_type::heartbeat_response;
  if (liveness && term_ == persisted_hard_state_.term && vote_ == persisted_hard_state_.vote) {
    urgent_.push_back(std::move(m));
    return;
  }
  msgs_.push_back(std::move(m));
}

std::vector<message> raft::take_urgent() {
  std::vector<message> out;
  out.swap(urgent_);
  return out;
}

void raft::tick() {
  if (quiesced_) return;  // an idle group costs nothing per tick (docs/raft.md "Quiescence")
  if (role_ == role::leader) tick_heartbeat();
  else tick_election();
}

void raft::tick_election() {
  ++election_elapsed_;
  if (election_elapsed_ < randomized_election_timeout_) return;
  if (promotable()) {
    election_elapsed_ = 0;
    start_election(cfg_.pre_vote, false);
  } else if (rejoining_ && cfg_.pre_vote) {
    election_elapsed_ = 0;
    start_election(true, false);
  }
}

void raft::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= cfg_.election_timeout_ticks_min) {
    election_elapsed_ = 0;
    if (cfg_.check_quorum) {
      // §6.2: a leader cut off from a quorum steps down rather than serve stale reads forever.
      std::size_t active = 0;
      for (auto& [id, pr] : progress_) {
        if (is_voter(id) && (id == self_ || pr.recent_active)) ++active;
        if (id != self_) pr.recent_active = false;
      }
      if (active < quorum()) {
        log_line(log_level::info, "lost contact with a quorum; stepping down");
        become_follower(term_, node_id{});
        return;
      }
    }
    if (lead_transferee_ != no_node) lead_transferee_ = no_node;  // the transfer timed out
  }
  for (auto& [id, pr] : progress_) {
    if (id == self_ || pr.state != progress_state::snapshot) continue;
    // A lost chunk or ack is resent after an election timeout of silence.
    if (++pr.snapshot_idle_ticks >= cfg_.election_timeout_ticks_min) {
      pr.snapshot_idle_ticks = 0;
      send_snapshot_chunk(id, pr);
    }
  }
  maybe_quiesce_leader();
  if (quiesced_) return;  // the quiesce heartbeats just sent replace this tick's heartbeat
  if (heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat({});
  }
}

void raft::wake() {
  if (!quiesced_) return;
  quiesced_ = false;
  idle_ticks_ = 0;
  if (role_ != role::leader) return;  // a follower's election timer resumes where it stopped
  // Check-quorum (§6.2) counts followers heard within one election timeout. Nobody spoke while
  // we were quiet, so the window starts now, empty, and the next tick heartbeats to fill it:
  // a leader that was cut off while quiesced steps down one election timeout after waking.
  election_elapsed_ = 0;
  heartbeat_elapsed_ = cfg_.heartbeat_ticks - 1;
  for (auto& [id, pr] : progress_)
    if (id != self_) pr.recent_active = false;
}

// Which messages leave a quiesced core asleep: the answers to its own quiesce heartbeats (leader)
// and repeats of the leader's quiesce heartbeat (follower), both of the current term. Messages of
// an older term change nothing (they are dropped or answered with our term), so they do not wake
// us either. Everything else does: a proposal's append, a vote request, a new term.
bool raft::stays_quiesced(const message& m) const {
  if (m.term < term_) return true;
  if (m.term > term_) return false;
  if (role_ == role::leader) return m.type == message_type::heartbeat_response && !m.reject;
  return is_quiesce_heartbeat(m) && m.from == leader_;
}

// Term rules common to every role (Figure 2 "Rules for Servers"). Returns false when the message
// is to be dropped.
bool raft::step_stale_or_newer_term(const message& m) {
  const bool vote_request = m.type == message_type::vote || m.type == message_type::pre_vote;
  if (m.term > term_) {
    if (vote_request && cfg_.check_quorum && leader_ != no_node && election_elapsed_ < cfg_.election_timeout_ticks_min &&
        m.context != transfer_context) {
      // Leader stickiness (§6.2 / §9.6): we heard from a live leader recently, so a candidate
      // with a higher term is a disruptive server; ignore it without adopting its term.
      return false;
    }
    if (m.type == message_type::pre_vote) return true;  // pre-votes never change our term
    if (m.type == message_type::pre_vote_response && !m.reject) return true;
    const bool from_leader = m.type == message_type::append || m.type == message_type::heartbeat ||
                             m.type == message_type::snapshot_chunk;
    become_follower(m.term, from_leader ? m.from : node_id{});
    return true;
  }
  if (m.term < term_) {
    if ((cfg_.check_quorum || cfg_.pre_vote) &&
        (m.type == message_type::append || m.type == message_type::heartbeat)) {
      // A stale leader that never hears a higher term would never step down: tell it ours.
      send(message{message_type::append_response, self_, m.from, term_});
    } else if (m.type == message_type::pre_vote) {
      message r{message_type::pre_vote_response, self_, m.from, term_};
      r.reject = true;
      send(std::move(r));
    }
    return false;
  }
  return true;
}

// A message carrying a term or index past the ceilings (types.h) is dropped whole, before it can
// wake us, change our term or reach the log, so nothing of it is ever persisted.
bool raft::drop_out_of_range(const message& m) {
  const std::string_view field = out_of_range_field(m);
  if (field.empty()) return false;
  if (dropped_out_of_range_++ % 1000 == 0)
    log_line(log_level::warn, "dropping " + std::string(to_string(m.type)) + " from " + std::to_string(m.from.value()) +
                                  ": " + std::string(field) + " out of range (" +
                                  std::to_string(dropped_out_of_range_) + " so far)");
  return true;
}

void raft::step(const message& m) {
  if (m.to != self_) return;
  if (drop_out_of_range(m)) return;
  if (quiesced_ && !stays_quiesced(m)) wake();
  if (!step_stale_or_newer_term(m)) return;
  if (m.from != self_ && progress_.contains(m.from)) progress_.at(m.from).recent_active = true;

  switch (m.type) {
    case message_type::vote:
    case message_type::pre_vote: step_vote_request(m); return;
    case message_type::vote_response:
    case message_type::pre_vote_response: step_vote_response(m); return;
    default: break;
  }
  if (role_ == role::leader) {
    step_leader(m);
    return;
  }
  if ((role_ == role::candidate || role_ == role::pre_candidate) &&
      (m.type == message_type::append || m.type == message_type::heartbeat ||
       m.type == message_type::snapshot_chunk)) {
    // §5.2: a candidate that hears from a leader of its own term returns to follower.
    become_follower(m.term, m.from);
  }
  step_follower(m);
}

void raft::step_vote_request(const message& m) {
  const bool pre = m.type == message_type::pre_vote;
  // A rejoining replica (docs/raft.md "Rejoining replicas") may have forgotten entries it
  // acknowledged and votes it cast: its vote could elect a candidate missing committed entries.
  const bool can_vote =
      !rejoining_ && (vote_ == m.from || (vote_ == no_node && leader_ == no_node) || (pre && m.term > term_));
  message r{pre ? message_type::pre_vote_response : message_type::vote_response, self_, m.from};
  // A granted pre-vote answers with the candidate's future term, so it counts for that election.
  r.term = pre ? m.term : term_;
  if (can_vote && log_.is_up_to_date(m.index, m.log_term)) {
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    r.reject = true;
    r.term = term_;
  }
  send(std::move(r));
}

void raft::step_vote_response(const message& m) {
  const bool pre = m.type == message_type::pre_vote_response;
  if ((pre && role_ != role::pre_candidate) || (!pre && role_ != role::candidate)) return;
  if (!is_voter(m.from)) return;
  votes_.emplace(m.from, !m.reject);
  std::size_t granted = 0, rejected = 0;
  for (auto& [id, yes] : votes_) (yes ? granted : rejected)++;
  if (granted >= quorum()) {
    if (pre) start_election(false, false);
    else become_leader();
  } else if (rejected >= quorum()) {
    become_follower(term_, node_id{});
  }
}

void raft::step_follower(const message& m) {
  switch (m.type) {
    case message_type::append:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_append(m);
      break;
    case message_type::heartbeat:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_heartbeat(m);
      break;
    case message_type::snapshot_chunk:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_snapshot_chunk(m);
      break;
    case message_type::timeout_now:
      // Leadership transfer (§3.10 of the dissertation): start a real election at once, skipping
      // pre-vote and the voters' leader stickiness.
      log_line(log_level::info, "leadership handed over by " + std::to_string(m.from.value()));
      start_election(false, true);
      break;
    case message_type::read_index_response:
      read_states_.push_back(read_state{m.index, m.context});
      break;
    default: break;
  }
  if (rejoining_) maybe_end_rejoin(m);
}

// docs/raft.md "Rejoining replicas". A replica that lost its log (a wiped disk) may have
// acknowledged entries and cast votes it no longer remembers, so its vote could elect a candidate
// missing a committed entry (Raft paper §5.4.1 assumes voters keep what they acknowledged). It
// votes again once it holds (a) everything its leader had committed when it first heard from it,
// which covers every acknowledgement of its previous life, and (b) an entry of the leader's own
// term committed: that leader's first commit covers every entry committed in earlier terms
// (§5.4.2). Its vote in this term goes to that leader, so it cannot vote twice in a term it may
// have voted in before.
void raft::maybe_end_rejoin(const message& m) {
  if (m.type == message_type::append && !rejoin_target_) rejoin_target_ = m.commit;
  if (!rejoin_target_ || leader_ != m.from || role_ != role::follower) return;
  const log_index committed = log_.committed();
  if (committed < *rejoin_target_ || log_.term(committed) != term_) return;
  rejoining_ = false;
  if (vote_ == no_node) vote_ = leader_;
  log_line(log_level::info, "caught up after rejoining (commit " + std::to_string(committed.value) +
                                "); voting again");
}

bool raft::has_ready() const {
  return pending_broadcast_ || !msgs_.empty() || !urgent_.empty() || !log_.unstable_entries().empty() ||
         log_.unstable_snapshot().has_value() || !read_states_.empty() ||
         current_hard_state() != persisted_hard_state_ ||
         log_.committed() > log_.applied();
}

ready raft::get_ready() {
  if (pending_broadcast_) {
    pending_broadcast_ = false;
    broadcast_append(false);
  }
  ready rd;
  const hard_state hs = current_hard_state();
  if (hs != persisted_hard_state_) rd.hard_state_update = hs;
  rd.entries = log_.unstable_entries();
  rd.snapshot_update = log_.unstable_snapshot();
  // Urgent messages the shell did not take early leave with the ready, in the order sent.
  rd.messages = std::move(urgent_);
  urgent_.clear();
  for (auto& m : msgs_) rd.messages.push_back(std::move(m));
  msgs_.clear();
  // Those that need nothing of this ready's write go first, and may leave before it is durable
  // (ready::early_messages). A leader's append asserts only the leader's term, durable since its
  // candidacy; the entries it carries are the leader's proposals, which a follower may hold before
  // the leader does (§10.2.1), since the leader counts itself in a commit quorum only up to
  // last_stable_index. Answers and votes acknowledge state: they wait. Moving appends ahead of
  // other messages to the same follower reorders nothing Raft relies on (any order is legal).
  if (term_ == persisted_hard_state_.term && vote_ == persisted_hard_state_.vote) {
    const auto early = [](const message& m) {
      return m.type == message_type::append || m.type == message_type::heartbeat ||
             m.type == message_type::heartbeat_response;
    };
    // Usually all of them are early (a leader's appends) or none (a follower's answers): then
    // nothing moves, and the partition's buffer is not allocated on every ready.
    auto held = std::ranges::find_if_not(rd.messages, early);
    if (held != rd.messages.end() && std::any_of(std::next(held), rd.messages.end(), early)) {
      held = std::ranges::stable_partition(rd.messages, early).begin();
    }
    rd.early_messages = static_cast<std::size_t>(held - rd.messages.begin());
  }
  rd.committed_entries = log_.next_committed(log_.applied(), cfg_.max_committed_bytes_per_ready);
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  handed_ = {true, rd.committed_entries.empty() ? log_index{} : rd.committed_entries.front().index,
             rd.committed_entries.empty() ? log_index{} : rd.committed_entries.back().index,
             rd.snapshot_update ? rd.snapshot_update->meta.index : log_index{}};
  return rd;
}

// The shell's side of the contract (raft.h, steps a to d), checked before advance() builds on it:
// a broken step would mark unsynced entries durable or skip applying some, and Raft's safety
// (§5.4, State Machine Safety) assumes neither happens.
void raft::expect_ready_done(const ready& rd) const {
  CHRONIK_EXPECTS(handed_.outstanding, "advance() answers the ready get_ready() returned, once");
  const log_index c_first = rd.committed_entries.empty() ? log_index{} : rd.committed_entries.front().index;
  const log_index c_last = rd.committed_entries.empty() ? log_index{} : rd.committed_entries.back().index;
  CHRONIK_EXPECTS(c_first == handed_.committed_first && c_last == handed_.committed_last,
                  "advance() gets the committed entries get_ready() handed out");
  CHRONIK_EXPECTS((rd.snapshot_update ? rd.snapshot_update->meta.index : log_index{}) == handed_.snapshot,
                  "advance() gets the snapshot get_ready() handed out");
  CHRONIK_EXPECTS(rd.committed_entries.empty() || c_first == std::max(log_.applied(), handed_.snapshot).next(),
                  "committed entries are handed out in order, none skipped");
  if (!rd.entries.empty()) {
    const entry& last = rd.entries.back();
    const auto stored = storage_.term(last.index);
    CHRONIK_EXPECTS(stored.has_value() && *stored == last.term, "the ready's entries are durable before advance()");
  }
  if (rd.snapshot_update) {
    const auto stored = storage_.term(rd.snapshot_update->meta.index);
    CHRONIK_EXPECTS(stored.has_value() && *stored == rd.snapshot_update->meta.term,
                    "the ready's snapshot is durable before advance()");
  }
  CHRONIK_EXPECTS(c_last <= storage_.last_index(), "committed entries are applied only once durable locally");
}

void raft::advance(const ready& rd) {
  expect_ready_done(rd);
  handed_.outstanding = false;
  if (rd.hard_state_update) persisted_hard_state_ = *rd.hard_state_update;
  // The snapshot's configuration took effect when it was installed (handle_snapshot_chunk).
  if (rd.snapshot_update) log_.stable_snapshot_to(rd.snapshot_update->meta.index);
  if (!rd.entries.empty()) {
    const entry& last = rd.entries.back();
    log_.stable_to(last.index, last.term);
    // The leader counts its own vote for commit only once its entries are durable.
    if (role_ == role::leader) {
      auto& self = progress_.at(self_);
      if (log_.term(last.index) == last.term) self.maybe_update(last.index);
      if (maybe_commit()) pending_broadcast_ = true;
    }
  }
  if (rd.snapshot_update) log_.applied_to(rd.snapshot_update->meta.index);
  if (!rd.committed_entries.empty()) log_.applied_to(rd.committed_entries.back().index);
}

raft_status raft::status() const {
  raft_status s{self_, role_, term_, vote_, leader_, log_.committed(), log_.applied(), log_.last_index(), conf_, {},
                quiesced_, dropped_out_of_range_, rejoining_};
  if (role_ == role::leader)
    for (const auto& [id, pr] : progress_) s.match[id] = pr.match;
  return s;
}

raft_brief raft::brief() const {
  return {self_, role_, term_, leader_, log_.committed(), log_.applied(), log_.last_index(), quiesced_};
}

}  // namespace chronik::consensus
