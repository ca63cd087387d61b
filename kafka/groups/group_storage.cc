// The durable side of the group coordinator (group_coordinator.h "Durability"; docs/kafka.md
// "Durable groups"): which `__consumer_offsets` partitions this node serves, loading a partition's
// groups from its log, the writes that keep the log current, checkpoints, offset retention, and
// the deletions of DeleteGroups and OffsetDelete.
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <set>
#include <type_traits>
#include <variant>

#include "base/assert.h"
#include "kafka/groups/consumer_protocol.h"
#include "kafka/groups/group_coordinator.h"

namespace chronik::kafka {

std::int32_t offsets_partition_for(std::string_view group, std::int32_t partitions) {
  CHRONIK_ASSERT(partitions > 0, "the offsets topic has partitions");
  // Java's String.hashCode: h = 31 * h + c over UTF-16 code units, in 32-bit wrapping arithmetic.
  // The id is UTF-8 on the wire; invalid sequences count byte by byte (Java would have replaced
  // them, but a client that sends invalid UTF-8 gets a stable partition all the same).
  std::uint32_t h = 0;
  auto mix = [&h](std::uint32_t unit) { h = 31 * h + unit; };
  for (std::size_t i = 0; i < group.size();) {
    const auto b0 = static_cast<unsigned char>(group[i]);
    std::size_t len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
    bool valid = len != 0 && i + len <= group.size();
    for (std::size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(group[i + k]) & 0xC0) == 0x80;
    }
    if (!valid) {
      mix(b0);
      ++i;
      continue;
    }
    std::uint32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(group[i + k]) & 0x3F);
    if (cp >= 0x10000) {  // a surrogate pair in UTF-16
      cp -= 0x10000;
      mix(0xD800 + (cp >> 10));
      mix(0xDC00 + (cp & 0x3FF));
    } else {
      mix(cp);
    }
    i += len;
  }
  // Kafka's Utils.abs: Integer.MIN_VALUE maps to 0, the rest to their absolute value.
  const auto signed_h = static_cast<std::int32_t>(h);
  const std::int32_t abs_h = signed_h == std::numeric_limits<std::int32_t>::min() ? 0 : std::abs(signed_h);
  return abs_h % partitions;
}

// --- which groups this node serves --------------------------------------------------------------

group_errc group_coordinator::serves(std::string_view group_id) const {
  if (partitions_ <= 0) return group_errc::not_coordinator;
  auto it = served_.find(offsets_partition_for(group_id, partitions_));
  if (it == served_.end()) return group_errc::not_coordinator;
  return it->second.loaded ? group_errc::none : group_errc::load_in_progress;
}

bool group_coordinator::loaded(std::int32_t partition) const {
  auto it = served_.find(partition);
  return it != served_.end() && it->second.loaded;
}

std::vector<std::int32_t> group_coordinator::partitions_served() const {
  std::vector<std::int32_t> out;
  for (const auto& [p, st] : served_) out.push_back(p);
  return out;
}

group_coordinator::group* group_coordinator::create(std::string_view group_id) {
  CHRONIK_ASSERT(partitions_ > 0, "groups are created only in a served partition");
  auto [it, fresh] = groups_.try_emplace(std::string(group_id));
  if (fresh) {
    it->second.id = std::string(group_id);
    it->second.partition = offsets_partition_for(group_id, partitions_);
    it->second.empty_since_wall_ms = wall_ms_;
  }
  return &it->second;
}

// --- loading ------------------------------------------------------------------------------------

void group_coordinator::begin_load(std::int32_t partition, std::int32_t partitions) {
  CHRONIK_ASSERT(partitions > 0 && partition >= 0 && partition < partitions, "a partition of the offsets topic");
  if (partitions_ != partitions) {
    // The topic's partition count is fixed at creation; a different count means a different topic
    // (deleted and created again is refused for internal topics), so nothing served survives.
    for (const auto p : partitions_served()) unload_partition(p);
    partitions_ = partitions;
  }
  unload_partition(partition);
  served_[partition] = partition_state{};
}

void group_coordinator::load(std::int32_t partition, const group_log_record& record) {
  auto ps = served_.find(partition);
  CHRONIK_ASSERT(ps != served_.end() && !ps->second.loaded, "records are loaded between begin_load and finish_load");
  ++ps->second.log_records;
  std::visit(
      [&](const auto& key) {
        using key_type = std::decay_t<decltype(key)>;
        // A group of another partition cannot be in this log unless the partition count changed
        // under the data, which the broker refuses for internal topics.
        if (offsets_partition_for(key.group, partitions_) != partition) return;
        group* g = find(key.group);
        if constexpr (std::is_same_v<key_type, offset_record_key>) {
          const offset_key k{key.topic, key.partition};
          if (!record.value) {
            if (g != nullptr) g->offsets.erase(k);
            return;
          }
          const auto& v = std::get<offset_record_value>(*record.value);
          if (g == nullptr) g = create(key.group);
          g->offsets.insert_or_assign(
              k, committed_offset{v.offset, v.leader_epoch, v.metadata, v.commit_timestamp_ms});
        } else {
          if (!record.value) {
            if (g == nullptr) return;
            g->stored.reset();
            g->members.clear();
            g->static_members.clear();
            g->generation_id = 0;
            g->protocol_type.clear();
            g->protocol_name.reset();
            g->leader_id.clear();
            return;
          }
          if (g == nullptr) g = create(key.group);
          load_metadata(*g, std::get<group_record_value>(*record.value));
        }
      },
      record.key);
}

void group_coordinator::load_metadata(group& g, const group_record_value& value) {
  g.stored = value;
  g.generation_id = value.generation;
  g.protocol_type = value.protocol_type;
  g.protocol_name = value.protocol;
  g.leader_id = value.leader.value_or("");
  g.empty_since_wall_ms = value.current_state_timestamp_ms;
  g.members.clear();
  g.static_members.clear();
  for (const auto& rm : value.members) {
    member m;
    m.id = rm.member_id;
    // KIP-345: the binding moves with the group, so the new coordinator fences the old ids too.
    m.instance_id = rm.group_instance_id;
    if (m.instance_id) g.static_members.insert_or_assign(*m.instance_id, m.id);
    m.client_id = rm.client_id;
    m.client_host = rm.client_host;
    m.session_timeout_ms = rm.session_timeout_ms;
    m.rebalance_timeout_ms = rm.rebalance_timeout_ms;
    // Only the chosen protocol's subscription is stored, as in Kafka: enough to hand the leader
    // every subscription at the next rebalance.
    if (value.protocol) m.protocols.push_back({*value.protocol, rm.subscription});
    m.assignment = rm.assignment;
    m.synced = true;
    g.members.insert_or_assign(m.id, std::move(m));
  }
}

void group_coordinator::finish_load(std::int32_t partition) {
  auto ps = served_.find(partition);
  CHRONIK_ASSERT(ps != served_.end() && !ps->second.loaded, "finish_load follows begin_load");
  ps->second.loaded = true;
  // Groups whose every record was tombstoned are gone, as if never written.
  std::erase_if(groups_, [&](const auto& entry) {
    const group& g = entry.second;
    return g.partition == partition && !g.stored && g.offsets.empty() && g.txn_offsets.empty();
  });
  for (auto& [id, g] : groups_) {
    if (g.partition != partition) continue;
    // A stored generation with members was stable when stored (only completed assignments are
    // stored); its members keep heartbeating and never notice the move. They get one session
    // timeout from now, as Kafka schedules their expiry on load.
    g.state = !g.members.empty() && g.protocol_name ? group_state::stable : group_state::empty;
    if (g.state == group_state::empty) {
      g.members.clear();
      g.static_members.clear();
    }
    if (!g.members.contains(g.leader_id)) g.leader_id = g.members.empty() ? "" : g.members.begin()->first;
    for (auto& [mid, m] : g.members) m.session_deadline_ms = now_ms_ + m.session_timeout_ms;
  }
  maybe_checkpoint(partition);
}

void group_coordinator::unload_partition(std::int32_t partition) {
  auto ps = served_.find(partition);
  if (ps == served_.end()) return;
  // Unfinished writes first: their answers say the node no longer coordinates.
  std::vector<pending_write> unfinished;
  for (auto it = pending_writes_.begin(); it != pending_writes_.end();) {
    if (it->second.partition != partition) {
      ++it;
      continue;
    }
    unfinished.push_back(std::move(it->second));
    it = pending_writes_.erase(it);
  }
  std::erase_if(writes_, [&](const group_write& w) { return w.partition == partition; });
  served_.erase(ps);
  for (auto& pw : unfinished) {
    if (pw.then) pw.then(write_outcome::not_leader);
    if (pw.then_placed) pw.then_placed(write_outcome::not_leader, -1);
  }
  std::vector<std::string> gone;
  for (const auto& [id, g] : groups_) {
    if (g.partition == partition) gone.push_back(id);
  }
  for (const auto& id : gone) {
    group& g = groups_.find(id)->second;
    g.state = group_state::dead;
    for (auto& [mid, m] : g.members) {
      answer_join(m, join_result{.error = group_errc::not_coordinator, .member_id = mid});
      answer_sync(m, sync_result{.error = group_errc::not_coordinator});
    }
    groups_.erase(id);
  }
  flush();
}

// --- writes -------------------------------------------------------------------------------------

std::vector<group_write> group_coordinator::take_writes() { return std::exchange(writes_, {}); }

std::size_t group_coordinator::writes_in_flight() const { return pending_writes_.size(); }

void group_coordinator::write(std::int32_t partition, std::vector<group_log_record> records,
                              std::function<void(write_outcome)> then) {
  CHRONIK_ASSERT(!records.empty(), "a write holds records");
  group_write w{++next_write_id_, partition, std::move(records), false, false, false};
  enqueue(std::move(w), pending_write{partition, std::move(then), false, {}});
}

void group_coordinator::write_txn(std::int32_t partition, std::int64_t producer_id, std::int16_t producer_epoch,
                                  std::vector<group_log_record> records,
                                  std::function<void(write_outcome, std::int64_t)> then) {
  CHRONIK_ASSERT(!records.empty() && producer_id >= 0 && producer_epoch >= 0, "a transactional write names its producer");
  group_write w{++next_write_id_, partition, std::move(records), false, false, false};
  w.producer_id = producer_id;
  w.producer_epoch = producer_epoch;
  enqueue(std::move(w), pending_write{partition, {}, false, std::move(then)});
}

void group_coordinator::enqueue(group_write w, pending_write pw) {
  const std::int32_t partition = w.partition;
  auto ps = served_.find(partition);
  CHRONIK_ASSERT(ps != served_.end() && ps->second.loaded, "only a loaded partition is written");
  pending_writes_[w.id] = std::move(pw);
  if (ps->second.checkpoint_wanted) {
    ps->second.held.push_back(std::move(w));  // after the checkpoint, in order
    return;
  }
  ++ps->second.in_flight;
  ps->second.log_records += static_cast<std::int64_t>(w.records.size());
  writes_.push_back(std::move(w));
  maybe_checkpoint(partition);
}

void group_coordinator::write_done(std::uint64_t id, write_outcome outcome, std::int64_t base_offset) {
  auto it = pending_writes_.find(id);
  if (it == pending_writes_.end()) return;  // its partition was unloaded: already answered
  pending_write pw = std::move(it->second);
  pending_writes_.erase(it);
  auto ps = served_.find(pw.partition);
  CHRONIK_ASSERT(ps != served_.end() && ps->second.in_flight > 0, "a pending write's partition is served");
  --ps->second.in_flight;
  if (pw.checkpoint_last) {
    ps->second.checkpoint_in_flight = false;
    if (outcome == write_outcome::committed) {
      // The owner trims the log at the checkpoint's start: what remains is the live state.
      ps->second.log_records = live_records(pw.partition);
    }
  }
  if (pw.then) pw.then(outcome);
  if (pw.then_placed) pw.then_placed(outcome, base_offset);
  if (outcome == write_outcome::not_leader) {
    // Everything later in this partition's log is overwritten too (Raft's log matching, §5.3):
    // nothing is served from it until the owner loads it again as its leader.
    unload_partition(pw.partition);
  } else {
    maybe_checkpoint(pw.partition);
  }
  flush();
}

group_log_record group_coordinator::offset_record(const std::string& group_id, const offset_key& key,
                                                  const committed_offset& value) {
  offset_record_value v;
  v.offset = value.offset;
  v.leader_epoch = value.leader_epoch;
  v.metadata = value.metadata.value_or("");
  v.commit_timestamp_ms = value.commit_time_ms;
  return group_log_record{offset_record_key{group_id, key.topic, key.partition}, v};
}

group_log_record group_coordinator::metadata_record(const group& g) const {
  group_record_value v;
  v.protocol_type = g.protocol_type;
  v.generation = g.generation_id;
  v.protocol = g.protocol_name;
  if (!g.leader_id.empty()) v.leader = g.leader_id;
  v.current_state_timestamp_ms = g.empty_since_wall_ms;
  for (const auto& [id, m] : g.members) {
    group_member_record rm;
    rm.member_id = id;
    rm.group_instance_id = m.instance_id;
    rm.client_id = m.client_id;
    rm.client_host = m.client_host;
    rm.rebalance_timeout_ms = m.rebalance_timeout_ms;
    rm.session_timeout_ms = m.session_timeout_ms;
    if (g.protocol_name) {
      auto p = std::ranges::find(m.protocols, *g.protocol_name, &member_protocol::name);
      if (p != m.protocols.end()) rm.subscription = p->metadata;
    }
    rm.assignment = m.assignment;
    v.members.push_back(std::move(rm));
  }
  return group_log_record{group_record_key{g.id}, v};
}

void group_coordinator::store_metadata(group& g) {
  group_log_record r = metadata_record(g);
  g.stored = std::get<group_record_value>(*r.value);
  write(g.partition, {std::move(r)}, {});
}

void group_coordinator::store_assignment(group& g) {
  const std::uint64_t id = next_write_id_ + 1;  // the id write() hands out next
  g.assignment_write = id;
  group_log_record r = metadata_record(g);
  g.stored = std::get<group_record_value>(*r.value);
  write(g.partition, {std::move(r)},
        [this, group_id = g.id, id, generation = g.generation_id](write_outcome outcome) {
          group* target = find(group_id);
          // A rebalance since then voided this assignment (prepare_rebalance cleared the id).
          if (target == nullptr || target->assignment_write != id || target->generation_id != generation) return;
          if (outcome == write_outcome::committed) {
            complete_sync(*target);
            return;
          }
          // Kafka: a failed store sends the error to every member waiting and starts over.
          const group_errc e = write_error(outcome);
          for (auto& [mid, m] : target->members) {
            m.assignment.clear();
            answer_sync(m, sync_result{.error = e});
          }
          prepare_rebalance(*target);
        });
  CHRONIK_ASSERT(pending_writes_.contains(id), "the assignment's write has the id it was given");
}

// --- checkpoints --------------------------------------------------------------------------------

std::int64_t group_coordinator::live_records(std::int32_t partition) const {
  std::int64_t live = 0;
  for (const auto& [gid, g] : groups_) {
    if (g.partition == partition) {
      live += static_cast<std::int64_t>(g.offsets.size() + txn_offset_count(g)) + (g.stored ? 1 : 0);
    }
  }
  return live;
}

void group_coordinator::maybe_checkpoint(std::int32_t partition) {
  auto ps = served_.find(partition);
  if (ps == served_.end() || !ps->second.loaded) return;
  partition_state& st = ps->second;
  if (!st.checkpoint_wanted && !st.checkpoint_in_flight) {
    st.checkpoint_wanted =
        st.log_records >= config_.checkpoint_min_records && st.log_records > 2 * live_records(partition);
  }
  if (st.checkpoint_wanted && st.in_flight == 0) emit_checkpoint(partition, st);
}

void group_coordinator::emit_checkpoint(std::int32_t partition, partition_state& st) {
  // No write is in flight, so the state in memory is exactly what the log holds: every record
  // before the checkpoint is subsumed by it, and the log may start at its first part.
  std::vector<group_log_record> all;
  for (const auto& [gid, g] : groups_) {
    if (g.partition != partition) continue;
    if (g.stored) all.push_back(group_log_record{group_record_key{gid}, *g.stored});
    for (const auto& [key, value] : g.offsets) all.push_back(offset_record(gid, key, value));
  }
  st.checkpoint_wanted = false;
  if (all.empty()) {
    // Nothing live: an empty checkpoint still needs a record to mark where the log may start.
    st.log_records = 0;
  }
  std::vector<group_write> parts;
  for (std::size_t i = 0; i < all.size(); i += config_.max_records_per_write) {
    const std::size_t end = std::min(all.size(), i + config_.max_records_per_write);
    group_write w{++next_write_id_, partition, {}, true, i == 0, end == all.size()};
    w.records.assign(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(i)),
                     std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(end)));
    if (w.checkpoint_first) {
      // Pending transactional offsets are not restated (they are not committed): their records
      // stay in the log, which the owner therefore trims no further than the oldest of them. Their
      // markers then come after the checkpoint, and settle them on a load as they do now.
      w.keep_from = first_txn_offset(partition);
      for (const auto& [producer, groups] : st.txn_groups) w.open_producers.push_back(producer);
    }
    pending_writes_[w.id] = pending_write{partition, {}, w.checkpoint_last, {}};
    parts.push_back(std::move(w));
  }
  st.checkpoint_in_flight = !parts.empty();
  for (auto& w : parts) {
    ++st.in_flight;
    st.log_records += static_cast<std::int64_t>(w.records.size());
    writes_.push_back(std::move(w));
  }
  // Writes held for the checkpoint follow it, in the order they were made.
  while (!st.held.empty()) {
    ++st.in_flight;
    st.log_records += static_cast<std::int64_t>(st.held.front().records.size());
    writes_.push_back(std::move(st.held.front()));
    st.held.pop_front();
  }
}

// --- retention and deletion ---------------------------------------------------------------------

void group_coordinator::expire_offsets() {
  if (config_.offsets_retention_ms <= 0) return;
  for (auto& [gid, g] : groups_) {
    if (!loaded(g.partition) || g.state != group_state::empty || g.offsets.empty()) continue;
    // KIP-211: a group with a protocol type expires as a whole, retention after it became empty;
    // a group that only commits expires offset by offset, retention after each commit.
    std::vector<offset_key> expired;
    for (const auto& [key, value] : g.offsets) {
      const std::int64_t since = g.protocol_type.empty() ? value.commit_time_ms : g.empty_since_wall_ms;
      if (since + config_.offsets_retention_ms <= wall_ms_) expired.push_back(key);
    }
    if (expired.empty()) continue;
    std::vector<group_log_record> tombstones;
    for (const auto& key : expired) {
      tombstones.push_back(group_log_record{offset_record_key{gid, key.topic, key.partition}, std::nullopt});
    }
    write(g.partition, std::move(tombstones), [this, group_id = gid, expired](write_outcome outcome) {
      if (outcome != write_outcome::committed) return;
      if (group* target = find(group_id)) {
        for (const auto& key : expired) target->offsets.erase(key);
      }
    });
  }
}

namespace {

// The topics the members of a "consumer" group subscribe to, which OffsetDelete must not forget
// (Kafka's ClassicGroup.computeSubscribedTopics): each member's subscription for the group's
// selected protocol, or, before one is selected, in every protocol it offers (Kafka knows no
// subscription then and lets the offsets go, but a member still joining is about to consume them).
// A subscription that does not parse names no topic, as in Kafka.
template <class Members>
std::set<std::string, std::less<>> subscribed_topics(const Members& members, const std::optional<std::string>& protocol) {
  std::set<std::string, std::less<>> topics;
  for (const auto& [id, m] : members) {
    for (const member_protocol& p : m.protocols) {
      if (protocol && p.name != *protocol) continue;
      if (auto s = parse_consumer_subscription(p.metadata)) topics.insert(s->topics.begin(), s->topics.end());
    }
  }
  return topics;
}

// What a load of the log makes of a committed DeleteGroups (load()): the tombstoned offsets and
// the stored metadata are gone, but an offset committed while the tombstones were on their way
// (its write was queued before them, so it is in the log before them and none covers it) stays,
// in a group without metadata. Forgetting the whole group instead would let the next coordinator
// bring that offset back. A group left with nothing is dropped.
template <class Groups>
void forget_deleted(Groups& groups, typename Groups::iterator it, const std::vector<offset_key>& gone) {
  auto& g = it->second;
  for (const auto& key : gone) g.offsets.erase(key);
  g.stored.reset();
  if (!g.members.empty()) return;  // joined meanwhile: its next metadata write stores it again
  g.generation_id = 0;
  g.protocol_type.clear();
  g.protocol_name.reset();
  g.leader_id.clear();
  g.static_members.clear();
  if (g.offsets.empty() && g.pending.empty() && g.txn_offsets.empty()) groups.erase(it);
}

}  // namespace

void group_coordinator::delete_group(std::string_view group_id, errc_callback done) {
  auto answer = [&](group_errc e) {
    ready_.push_back([d = std::move(done), e]() mutable { d(e); });
    flush();
  };
  if (group_id.empty()) return answer(group_errc::invalid_group_id);
  if (const group_errc here = serves(group_id); here != group_errc::none) return answer(here);
  group* g = find(group_id);
  if (g == nullptr || g->state == group_state::dead) return answer(group_errc::group_id_not_found);
  if (g->state != group_state::empty || !g->members.empty()) return answer(group_errc::non_empty_group);
  std::vector<group_log_record> tombstones;
  std::vector<offset_key> gone;
  for (const auto& [key, value] : g->offsets) {
    tombstones.push_back(group_log_record{offset_record_key{g->id, key.topic, key.partition}, std::nullopt});
    gone.push_back(key);
  }
  tombstones.push_back(group_log_record{group_record_key{g->id}, std::nullopt});
  write(g->partition, std::move(tombstones),
        [this, id = g->id, gone = std::move(gone), d = std::move(done)](write_outcome outcome) mutable {
          group_errc e = group_errc::none;
          if (outcome == write_outcome::committed) {
            if (auto it = groups_.find(id); it != groups_.end()) forget_deleted(groups_, it, gone);
          } else {
            e = write_error(outcome);
          }
          ready_.push_back([d = std::move(d), e]() mutable { d(e); });
        });
  flush();
}

void group_coordinator::delete_offsets(std::string_view group_id, std::vector<offset_key> keys,
                                       commit_callback done) {
  using outcome_t = std::expected<std::vector<group_errc>, group_errc>;
  auto answer = [&](outcome_t r) {
    ready_.push_back([d = std::move(done), r = std::move(r)]() mutable { d(std::move(r)); });
    flush();
  };
  if (group_id.empty()) return answer(std::unexpected(group_errc::invalid_group_id));
  if (const group_errc here = serves(group_id); here != group_errc::none) return answer(std::unexpected(here));
  group* g = find(group_id);
  if (g == nullptr || g->state == group_state::dead) return answer(std::unexpected(group_errc::group_id_not_found));
  // KIP-496, as Kafka's classic groups check it: an empty group's offsets all go; a group with
  // members may lose only offsets of topics none of them consumes, and only when it is a group of
  // consumers, whose subscriptions say which topics those are.
  std::set<std::string, std::less<>> consumed;
  if (g->state != group_state::empty || !g->members.empty()) {
    if (g->protocol_type != consumer_protocol_type) return answer(std::unexpected(group_errc::non_empty_group));
    consumed = subscribed_topics(g->members, g->protocol_name);
  }
  std::vector<group_errc> results;
  std::vector<group_log_record> tombstones;
  std::vector<offset_key> gone;
  for (auto& key : keys) {
    const bool subscribed = consumed.contains(key.topic);
    results.push_back(subscribed ? group_errc::group_subscribed_to_topic : group_errc::none);
    if (subscribed || !g->offsets.contains(key)) continue;  // nothing committed: nothing to forget
    tombstones.push_back(group_log_record{offset_record_key{g->id, key.topic, key.partition}, std::nullopt});
    gone.push_back(std::move(key));
  }
  if (tombstones.empty()) return answer(std::move(results));
  write(g->partition, std::move(tombstones),
        [this, id = g->id, gone = std::move(gone), results = std::move(results),
         d = std::move(done)](write_outcome outcome) mutable {
          outcome_t r = std::move(results);
          if (outcome == write_outcome::committed) {
            if (group* target = find(id)) {
              for (const auto& key : gone) target->offsets.erase(key);
            }
          } else {
            r = std::unexpected(write_error(outcome));
          }
          ready_.push_back([d = std::move(d), r = std::move(r)]() mutable { d(std::move(r)); });
        });
  flush();
}

}  // namespace chronik::kafka
