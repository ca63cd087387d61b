// Kafka's classic group membership protocol; see group_coordinator.h. The Kafka broker's
// GroupCoordinator (handleJoinGroup, handleSyncGroup, handleHeartbeat, onCompleteJoin, ...) is the
// reference for which error each situation gets.
#include "kafka/groups/group_coordinator.h"

#include <algorithm>
#include <array>

namespace chronik::kafka {

namespace {

// splitmix64: a bijection, so distinct counters give distinct member ids for one seed.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

// --- config -------------------------------------------------------------------------------------

group_config group_config::lan() { return group_config{}; }

group_config group_config::wan() { return group_config{}; }

group_config group_config::local() {
  group_config c;
  c.initial_rebalance_delay_ms = 0;
  return c;
}

std::expected<void, std::string> group_config::validate() const {
  if (min_session_timeout_ms <= 0) return std::unexpected("min_session_timeout_ms must be > 0");
  if (max_session_timeout_ms < min_session_timeout_ms) {
    return std::unexpected("max_session_timeout_ms must be >= min_session_timeout_ms");
  }
  if (initial_rebalance_delay_ms < 0) return std::unexpected("initial_rebalance_delay_ms must be >= 0");
  if (max_members_per_group == 0) return std::unexpected("max_members_per_group must be > 0");
  if (max_groups == 0) return std::unexpected("max_groups must be > 0");
  if (max_offsets_per_group == 0) return std::unexpected("max_offsets_per_group must be > 0");
  if (offsets_retention_check_interval_ms <= 0) {
    return std::unexpected("offsets_retention_check_interval_ms must be > 0");
  }
  if (checkpoint_min_records <= 0) return std::unexpected("checkpoint_min_records must be > 0");
  if (max_records_per_write == 0) return std::unexpected("max_records_per_write must be > 0");
  return {};
}

std::string_view to_string(group_errc e) {
  switch (e) {
    case group_errc::none: return "none";
    case group_errc::invalid_group_id: return "invalid_group_id";
    case group_errc::invalid_session_timeout: return "invalid_session_timeout";
    case group_errc::inconsistent_protocol: return "inconsistent_protocol";
    case group_errc::unknown_member: return "unknown_member";
    case group_errc::illegal_generation: return "illegal_generation";
    case group_errc::rebalance_in_progress: return "rebalance_in_progress";
    case group_errc::member_id_required: return "member_id_required";
    case group_errc::group_full: return "group_full";
    case group_errc::coordinator_not_available: return "coordinator_not_available";
    case group_errc::not_coordinator: return "not_coordinator";
    case group_errc::metadata_too_large: return "metadata_too_large";
    case group_errc::too_many_offsets: return "too_many_offsets";
    case group_errc::load_in_progress: return "load_in_progress";
    case group_errc::non_empty_group: return "non_empty_group";
    case group_errc::group_id_not_found: return "group_id_not_found";
    case group_errc::group_subscribed_to_topic: return "group_subscribed_to_topic";
    case group_errc::fenced_instance_id: return "fenced_instance_id";
    case group_errc::invalid_producer_epoch: return "invalid_producer_epoch";
  }
  return "unknown";
}

std::string_view to_string(group_state s) {
  switch (s) {
    case group_state::empty: return "Empty";
    case group_state::preparing_rebalance: return "PreparingRebalance";
    case group_state::completing_rebalance: return "CompletingRebalance";
    case group_state::stable: return "Stable";
    case group_state::dead: return "Dead";
  }
  return "Unknown";
}

// --- lookups ------------------------------------------------------------------------------------

group_coordinator::group_coordinator(group_config config) : config_(std::move(config)) {}

group_coordinator::~group_coordinator() = default;

group_coordinator::group* group_coordinator::find(std::string_view group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : &it->second;
}

const group_coordinator::group* group_coordinator::find(std::string_view group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : &it->second;
}

std::string group_coordinator::next_member_id(std::string_view client_id) {
  static constexpr char digits[] = "0123456789abcdef";
  const std::uint64_t v = splitmix64(config_.member_id_seed + ++member_counter_);
  std::string id(client_id);
  id += '-';
  for (int shift = 60; shift >= 0; shift -= 4) id += digits[(v >> shift) & 0xF];
  return id;
}

std::optional<group_view> group_coordinator::describe(std::string_view group_id) const {
  const group* g = find(group_id);
  if (g == nullptr) return std::nullopt;
  group_view v;
  v.state = g->state;
  v.generation_id = g->generation_id;
  v.protocol_type = g->protocol_type;
  v.protocol_name = g->protocol_name;
  v.leader_id = g->leader_id;
  for (const auto& [id, m] : g->members) {
    v.member_ids.push_back(id);
    member_view mv{id, m.client_id, m.client_host, {}, m.assignment, m.instance_id};
    if (g->protocol_name) {
      for (const member_protocol& p : m.protocols) {
        if (p.name == *g->protocol_name) mv.metadata = p.metadata;
      }
    }
    v.members.push_back(std::move(mv));
  }
  v.pending_members = g->pending.size();
  return v;
}

std::vector<std::string> group_coordinator::group_ids() const {
  std::vector<std::string> out;
  out.reserve(groups_.size());
  for (const auto& [id, g] : groups_) out.push_back(id);
  return out;
}

// --- answers ------------------------------------------------------------------------------------

void group_coordinator::answer_join(member& m, join_result result) {
  if (!m.awaiting_join) return;
  ready_.push_back([done = std::move(m.awaiting_join), r = std::move(result)]() mutable {
    done(std::move(r));
  });
  m.awaiting_join = nullptr;
}

void group_coordinator::answer_sync(member& m, sync_result result) {
  if (!m.awaiting_sync) return;
  ready_.push_back([done = std::move(m.awaiting_sync), r = std::move(result)]() mutable {
    done(std::move(r));
  });
  m.awaiting_sync = nullptr;
}

void group_coordinator::flush() {
  // Answers are taken out first: nothing they do may touch ready_ (they must not re-enter), but a
  // moved-from vector keeps the loop bounded by what was queued.
  auto answers = std::move(ready_);
  ready_.clear();
  for (auto& answer : answers) answer();
}

join_result group_coordinator::current_generation(const group& g, const member& m) const {
  join_result r;
  r.generation_id = g.generation_id;
  r.protocol_type = g.protocol_type;
  r.protocol_name = g.protocol_name;
  r.leader_id = g.leader_id;
  r.member_id = m.id;
  if (m.id != g.leader_id || !g.protocol_name) return r;
  // Only the leader gets the members' subscriptions: it computes the assignment (client-side
  // assignment, KIP-62's "leader" of the group).
  for (const auto& [id, other] : g.members) {
    auto p = std::ranges::find(other.protocols, *g.protocol_name, &member_protocol::name);
    r.members.push_back({id, p == other.protocols.end() ? std::string() : p->metadata, other.instance_id});
  }
  return r;
}

// --- protocols ----------------------------------------------------------------------------------

bool group_coordinator::supports_protocols(const group& g, std::string_view type,
                                           const std::vector<member_protocol>& protocols) const {
  if (type.empty() || protocols.empty()) return false;
  if (g.members.empty()) return true;
  if (type != g.protocol_type) return false;
  // At least one of the newcomer's protocols must be one every current member also supports.
  return std::ranges::any_of(protocols, [&](const member_protocol& p) {
    return std::ranges::all_of(g.members, [&](const auto& entry) {
      return std::ranges::find(entry.second.protocols, p.name, &member_protocol::name) !=
             entry.second.protocols.end();
    });
  });
}

std::optional<std::string> group_coordinator::select_protocol(const group& g) const {
  if (g.members.empty()) return std::nullopt;
  // Candidates: the protocols every member supports, in the first member's order. Each member
  // votes for its most preferred candidate; most votes wins, ties go to the earlier candidate.
  std::vector<std::string> candidates;
  for (const auto& p : g.members.begin()->second.protocols) {
    const bool everyone = std::ranges::all_of(g.members, [&](const auto& entry) {
      return std::ranges::find(entry.second.protocols, p.name, &member_protocol::name) !=
             entry.second.protocols.end();
    });
    if (everyone) candidates.push_back(p.name);
  }
  if (candidates.empty()) return std::nullopt;
  std::vector<std::size_t> votes(candidates.size(), 0);
  for (const auto& [id, m] : g.members) {
    for (const auto& p : m.protocols) {
      auto c = std::ranges::find(candidates, p.name);
      if (c != candidates.end()) {
        ++votes[static_cast<std::size_t>(c - candidates.begin())];
        break;
      }
    }
  }
  const auto best = std::ranges::max_element(votes);  // the first of equal maxima
  return candidates[static_cast<std::size_t>(best - votes.begin())];
}

// --- JoinGroup ----------------------------------------------------------------------------------

void group_coordinator::join(join_params params, join_callback done) {
  auto refuse = [&](group_errc e) {
    join_result r;
    r.error = e;
    r.member_id = params.member_id;
    ready_.push_back([d = std::move(done), r = std::move(r)]() mutable { d(std::move(r)); });
  };
  group* g = find(params.group_id);
  if (params.group_id.empty()) {
    refuse(group_errc::invalid_group_id);
  } else if (const group_errc here = serves(params.group_id); here != group_errc::none) {
    refuse(here);
  } else if (params.session_timeout_ms < config_.min_session_timeout_ms ||
             params.session_timeout_ms > config_.max_session_timeout_ms) {
    refuse(group_errc::invalid_session_timeout);
  } else if (g == nullptr && !params.member_id.empty()) {
    refuse(group_errc::unknown_member);  // a member of a group this node does not know
  } else if (g == nullptr && groups_.size() >= config_.max_groups) {
    refuse(group_errc::coordinator_not_available);
  } else {
    if (g == nullptr) g = create(params.group_id);
    if (params.rebalance_timeout_ms < 0) params.rebalance_timeout_ms = params.session_timeout_ms;
    if (g->state == group_state::dead) {
      refuse(group_errc::coordinator_not_available);
    } else if (!supports_protocols(*g, params.protocol_type, params.protocols)) {
      refuse(group_errc::inconsistent_protocol);
    } else if (!params.member_id.empty()) {
      join_known(*g, params, done);
    } else if (params.group_instance_id) {
      join_static(*g, params, done);
    } else if (g->members.size() + g->pending.size() >= config_.max_members_per_group) {
      refuse(group_errc::group_full);
    } else {
      std::string id = next_member_id(params.client_id);
      if (params.require_known_member_id) {
        // KIP-394: remember the id for one session timeout; the member rejoins with it.
        g->pending[id] = now_ms_ + params.session_timeout_ms;
        params.member_id = std::move(id);
        refuse(group_errc::member_id_required);
      } else {
        add_member_and_rebalance(*g, std::move(id), params, std::move(done));
      }
    }
  }
  flush();
}

void group_coordinator::join_known(group& g, join_params& params, join_callback& done) {
  auto refuse = [&](group_errc e) {
    join_result r;
    r.error = e;
    r.member_id = params.member_id;
    ready_.push_back([d = std::move(done), r = std::move(r)]() mutable { d(std::move(r)); });
  };
  if (auto p = g.pending.find(params.member_id); p != g.pending.end()) {
    g.pending.erase(p);
    if (!params.group_instance_id) {
      add_member_and_rebalance(g, params.member_id, params, std::move(done));
      return;
    }
    // KIP-394's ids are handed to dynamic members only (a static member joins without one);
    // Kafka takes this for a broken client. The id is forgotten so it holds up no rebalance.
    try_complete_join(g);
    return refuse(group_errc::unknown_member);
  }
  // KIP-345: an instance id bound to another member id fences this one.
  if (const group_errc e = check_member(g, params.member_id, params.group_instance_id); e != group_errc::none) {
    return refuse(e);
  }
  if (g.state == group_state::empty) return refuse(group_errc::unknown_member);
  member& m = g.members.find(params.member_id)->second;
  const bool changed = m.protocols != params.protocols;
  const bool rebalance = g.state == group_state::preparing_rebalance ||
                         (g.state == group_state::completing_rebalance && changed) ||
                         (g.state == group_state::stable && (changed || m.id == g.leader_id));
  if (rebalance) {
    // A leader rejoining a stable group wants to reassign (its view of the topics changed).
    update_member_and_rebalance(g, m, params, std::move(done));
    return;
  }
  // A follower rejoining without change (it lost the JoinGroup answer): the current generation.
  m.session_deadline_ms = now_ms_ + m.session_timeout_ms;
  m.awaiting_join = std::move(done);
  answer_join(m, current_generation(g, m));
}

void group_coordinator::add_member_and_rebalance(group& g, std::string id, join_params& params,
                                                 join_callback done) {
  if (g.members.empty()) g.protocol_type = params.protocol_type;
  if (g.leader_id.empty()) g.leader_id = id;
  member m;
  m.id = id;
  m.instance_id = params.group_instance_id;
  if (m.instance_id) g.static_members.insert_or_assign(*m.instance_id, id);
  m.client_id = params.client_id;
  m.client_host = params.client_host;
  m.session_timeout_ms = params.session_timeout_ms;
  m.rebalance_timeout_ms = params.rebalance_timeout_ms;
  m.protocols = std::move(params.protocols);
  m.awaiting_join = std::move(done);
  m.session_deadline_ms = now_ms_ + m.session_timeout_ms;
  g.members.insert_or_assign(std::move(id), std::move(m));
  maybe_prepare_rebalance(g);
  try_complete_join(g);
}

void group_coordinator::update_member_and_rebalance(group& g, member& m, join_params& params,
                                                    join_callback done) {
  m.protocols = std::move(params.protocols);
  m.session_timeout_ms = params.session_timeout_ms;
  m.rebalance_timeout_ms = params.rebalance_timeout_ms;
  m.session_deadline_ms = now_ms_ + m.session_timeout_ms;
  // A second JoinGroup while the first still waits supersedes it: the first is answered now.
  answer_join(m, join_result{.error = group_errc::rebalance_in_progress, .member_id = m.id});
  m.awaiting_join = std::move(done);
  maybe_prepare_rebalance(g);
  try_complete_join(g);
}

// --- rebalance ----------------------------------------------------------------------------------

void group_coordinator::maybe_prepare_rebalance(group& g) {
  if (g.state == group_state::stable || g.state == group_state::completing_rebalance ||
      g.state == group_state::empty) {
    prepare_rebalance(g);
  }
}

void group_coordinator::prepare_rebalance(group& g) {
  g.assignment_write = 0;
  if (g.state == group_state::completing_rebalance) {
    // The assignment being distributed is void: followers waiting for it must rejoin.
    for (auto& [id, m] : g.members) {
      m.assignment.clear();
      answer_sync(m, sync_result{.error = group_errc::rebalance_in_progress});
    }
  }
  std::int32_t timeout_ms = 0;
  for (const auto& [id, m] : g.members) timeout_ms = std::max(timeout_ms, m.rebalance_timeout_ms);
  g.initial_delay = g.state == group_state::empty && config_.initial_rebalance_delay_ms > 0;
  if (g.initial_delay) timeout_ms = std::min(timeout_ms, config_.initial_rebalance_delay_ms);
  g.rebalance_deadline_ms = now_ms_ + timeout_ms;
  g.state = group_state::preparing_rebalance;
}

void group_coordinator::try_complete_join(group& g) {
  if (g.state != group_state::preparing_rebalance || g.initial_delay || !g.pending.empty()) return;
  const bool all_joined = std::ranges::all_of(
      g.members, [](const auto& entry) { return static_cast<bool>(entry.second.awaiting_join); });
  if (all_joined) complete_join(g);
}

void group_coordinator::complete_join(group& g) {
  // Members that did not rejoin within the rebalance timeout are out of the new generation, except
  // static ones (KIP-345): only their session timeout or a LeaveGroup removes them.
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join && !m.instance_id) gone.push_back(id);
  }
  for (const auto& id : gone) erase_member(g, id);
  g.initial_delay = false;
  if (!elect_joined_leader(g)) {
    // Only static members that have not rejoined are left: Kafka's onCompleteJoin waits another
    // rebalance timeout, until they rejoin or their sessions expire.
    std::int32_t timeout_ms = 0;
    for (const auto& [id, m] : g.members) timeout_ms = std::max(timeout_ms, m.rebalance_timeout_ms);
    g.rebalance_deadline_ms = now_ms_ + timeout_ms;
    return;
  }
  ++g.generation_id;
  if (g.members.empty()) {
    g.state = group_state::empty;
    g.protocol_name.reset();
    g.empty_since_wall_ms = wall_ms_;
    // Kafka stores the empty generation too, so a new coordinator continues its numbering.
    store_metadata(g);
    return;
  }
  g.protocol_name = select_protocol(g);
  g.state = group_state::completing_rebalance;
  std::int32_t timeout_ms = 0;
  for (const auto& [id, m] : g.members) timeout_ms = std::max(timeout_ms, m.rebalance_timeout_ms);
  g.rebalance_deadline_ms = now_ms_ + timeout_ms;
  for (auto& [id, m] : g.members) {
    m.synced = false;
    m.session_deadline_ms = now_ms_ + m.session_timeout_ms;
    answer_join(m, current_generation(g, m));
  }
}

// --- SyncGroup ----------------------------------------------------------------------------------

void group_coordinator::sync(sync_params params, sync_callback done) {
  auto answer_now = [&](sync_result r) {
    ready_.push_back([d = std::move(done), r = std::move(r)]() mutable { d(std::move(r)); });
  };
  group* g = find(params.group_id);
  member* m = nullptr;
  if (g != nullptr) {
    auto it = g->members.find(params.member_id);
    if (it != g->members.end()) m = &it->second;
  }
  const group_errc who =
      g == nullptr ? group_errc::unknown_member : check_member(*g, params.member_id, params.group_instance_id);
  if (const group_errc here = serves(params.group_id); here != group_errc::none) {
    answer_now({.error = here});
  } else if (g != nullptr && g->state == group_state::dead) {
    answer_now({.error = group_errc::coordinator_not_available});
  } else if (who != group_errc::none) {
    answer_now({.error = who});
  } else if (params.generation_id != g->generation_id) {
    answer_now({.error = group_errc::illegal_generation});
  } else if ((params.protocol_type && *params.protocol_type != g->protocol_type) ||
             (params.protocol_name && params.protocol_name != g->protocol_name)) {
    answer_now({.error = group_errc::inconsistent_protocol});
  } else if (g->state == group_state::preparing_rebalance) {
    answer_now({.error = group_errc::rebalance_in_progress});
  } else if (g->state == group_state::stable) {
    m->session_deadline_ms = now_ms_ + m->session_timeout_ms;
    answer_now({.protocol_type = g->protocol_type, .protocol_name = g->protocol_name,
                .assignment = m->assignment});
  } else if (g->state == group_state::completing_rebalance) {
    m->synced = true;
    m->session_deadline_ms = now_ms_ + m->session_timeout_ms;
    answer_sync(*m, sync_result{.error = group_errc::rebalance_in_progress});
    m->awaiting_sync = std::move(done);
    if (m->id == g->leader_id && g->assignment_write == 0) {
      // Members the leader left out get an empty assignment, as in Kafka.
      for (auto& [id, other] : g->members) other.assignment.clear();
      for (auto& [id, bytes] : params.assignments) {
        auto target = g->members.find(id);
        if (target != g->members.end()) target->second.assignment = std::move(bytes);
      }
      // Answered once stored: a new coordinator then knows this generation's assignment and its
      // members go on without a rebalance (Kafka's storeGroup before completing the sync).
      store_assignment(*g);
    }
  } else {
    answer_now({.error = group_errc::unknown_member});
  }
  flush();
}

void group_coordinator::complete_sync(group& g) {
  g.state = group_state::stable;
  g.assignment_write = 0;
  for (auto& [id, m] : g.members) {
    answer_sync(m, {.protocol_type = g.protocol_type, .protocol_name = g.protocol_name,
                    .assignment = m.assignment});
  }
}

// --- Heartbeat, LeaveGroup, expiry --------------------------------------------------------------

std::expected<void, group_errc> group_coordinator::heartbeat(std::string_view group_id,
                                                             std::int32_t generation_id,
                                                             std::string_view member_id,
                                                             std::optional<std::string_view> instance_id) {
  if (const group_errc here = serves(group_id); here != group_errc::none) return std::unexpected(here);
  group* g = find(group_id);
  if (g == nullptr) return std::unexpected(group_errc::unknown_member);
  if (g->state == group_state::dead) return std::unexpected(group_errc::coordinator_not_available);
  if (const group_errc e = check_member(*g, member_id, instance_id); e != group_errc::none) return std::unexpected(e);
  auto it = g->members.find(member_id);
  if (generation_id != g->generation_id) return std::unexpected(group_errc::illegal_generation);
  member& m = it->second;
  switch (g->state) {
    case group_state::completing_rebalance:
    case group_state::stable:
      m.session_deadline_ms = now_ms_ + m.session_timeout_ms;
      return {};
    case group_state::preparing_rebalance:
      // Still alive, but it must rejoin: this is how members learn of a rebalance.
      m.session_deadline_ms = now_ms_ + m.session_timeout_ms;
      return std::unexpected(group_errc::rebalance_in_progress);
    case group_state::empty:
    case group_state::dead:
      break;
  }
  return std::unexpected(group_errc::unknown_member);
}

std::expected<void, group_errc> group_coordinator::leave(std::string_view group_id,
                                                         std::string_view member_id,
                                                         std::optional<std::string_view> instance_id) {
  if (const group_errc here = serves(group_id); here != group_errc::none) return std::unexpected(here);
  group* g = find(group_id);
  if (g == nullptr) return std::unexpected(group_errc::unknown_member);
  if (g->state == group_state::dead) return std::unexpected(group_errc::coordinator_not_available);
  if (member_id.empty()) {
    // KIP-345's administrative removal: by instance id alone, whichever member it is bound to.
    auto bound = instance_id ? g->static_members.find(*instance_id) : g->static_members.end();
    if (bound == g->static_members.end()) return std::unexpected(group_errc::unknown_member);
    remove_member(*g, std::string(bound->second), group_errc::unknown_member);
    flush();
    return {};
  }
  if (auto p = g->pending.find(member_id); p != g->pending.end()) {
    g->pending.erase(p);
    try_complete_join(*g);
    flush();
    return {};
  }
  if (const group_errc e = check_member(*g, member_id, instance_id); e != group_errc::none) return std::unexpected(e);
  remove_member(*g, std::string(member_id), group_errc::unknown_member);
  flush();
  return {};
}

void group_coordinator::remove_member(group& g, const std::string& id, group_errc why) {
  auto it = g.members.find(id);
  if (it == g.members.end()) return;
  answer_join(it->second, join_result{.error = why, .member_id = id});
  answer_sync(it->second, sync_result{.error = why});
  erase_member(g, id);
  if (g.leader_id == id) {
    // Prefer a member that is already rejoining, so the next generation's leader is present.
    auto next = std::ranges::find_if(
        g.members, [](const auto& entry) { return static_cast<bool>(entry.second.awaiting_join); });
    if (next == g.members.end()) next = g.members.begin();
    g.leader_id = next == g.members.end() ? std::string() : next->first;
  }
  switch (g.state) {
    case group_state::stable:
    case group_state::completing_rebalance:
      prepare_rebalance(g);
      try_complete_join(g);
      break;
    case group_state::preparing_rebalance:
      try_complete_join(g);
      break;
    case group_state::empty:
    case group_state::dead:
      break;
  }
}

void group_coordinator::erase_member(group& g, const std::string& id) {
  auto it = g.members.find(id);
  if (it == g.members.end()) return;
  if (it->second.instance_id) {
    auto bound = g.static_members.find(*it->second.instance_id);
    if (bound != g.static_members.end() && bound->second == id) g.static_members.erase(bound);
  }
  g.members.erase(it);
}

void group_coordinator::expire(group& g) {
  const auto pending_before = g.pending.size();
  std::erase_if(g.pending, [this](const auto& entry) { return entry.second <= now_ms_; });
  // A member with an outstanding JoinGroup or SyncGroup is waiting on us, not silent.
  std::vector<std::string> silent;
  for (const auto& [id, m] : g.members) {
    if (!m.awaiting_join && !m.awaiting_sync && m.session_deadline_ms <= now_ms_) silent.push_back(id);
  }
  for (const auto& id : silent) remove_member(g, id, group_errc::unknown_member);
  if (g.state == group_state::completing_rebalance && now_ms_ >= g.rebalance_deadline_ms) {
    // The leader never sent its assignment, or some followers never asked for theirs.
    std::vector<std::string> unsynced;
    for (const auto& [id, m] : g.members) {
      if (!m.synced) unsynced.push_back(id);
    }
    for (const auto& id : unsynced) remove_member(g, id, group_errc::rebalance_in_progress);
  }
  if (g.state == group_state::preparing_rebalance && now_ms_ >= g.rebalance_deadline_ms) {
    complete_join(g);
  } else if (g.pending.size() != pending_before) {
    try_complete_join(g);
  }
}

void group_coordinator::tick(std::int64_t now_ms, std::int64_t wall_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  wall_ms_ = wall_ms < 0 ? now_ms_ : wall_ms;
  for (auto it = groups_.begin(); it != groups_.end();) {
    auto next = std::next(it);
    if (loaded(it->second.partition)) {
      expire(it->second);
      drop_if_idle(it);
    }
    it = next;
  }
  if (wall_ms_ >= next_retention_ms_) {
    next_retention_ms_ = wall_ms_ + config_.offsets_retention_check_interval_ms;
    expire_offsets();
  }
  flush();
}

void group_coordinator::drop_if_idle(std::map<std::string, group, std::less<>>::iterator it) {
  group& g = it->second;
  const bool idle = g.state == group_state::empty && g.members.empty() && g.pending.empty() &&
                    g.offsets.empty() && g.txn_offsets.empty();
  if (!idle) return;
  if (g.stored) {
    // Kafka's group tombstone: a new coordinator must not bring the group back.
    write(g.partition, {group_log_record{group_record_key{g.id}, std::nullopt}}, {});
  }
  groups_.erase(it);
}

void group_coordinator::unload(std::string_view group_id) {
  group* g = find(group_id);
  if (g == nullptr) return;
  g->state = group_state::dead;
  for (auto& [id, m] : g->members) {
    answer_join(m, join_result{.error = group_errc::not_coordinator, .member_id = id});
    answer_sync(m, sync_result{.error = group_errc::not_coordinator});
  }
  groups_.erase(groups_.find(group_id));
  flush();
}

}  // namespace chronik::kafka
