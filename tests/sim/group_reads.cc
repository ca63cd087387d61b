// OffsetFetch in the group simulation (group_cluster.h): the shell's part of
// kafka/partition/partition_reads.cc, Raft's ReadIndex (dissertation §6.4) through the serving
// host's production host_core, and the readers that fetch committed offsets behind that fence and
// check them (docs/kafka.md "Durable groups", Simulation).
//
// As in production (kafka/handlers/offset_fetch.cc, daemon/kafka_groups.cc): a host whose
// coordinator does not serve the group answers its error at once; otherwise the shell confirms
// that the host still leads the group's partition (a majority acknowledged a heartbeat of its term
// after the request arrived), waits until it applied the log through the commit index of that
// moment, and reads the coordinator only if the term is still the one it asked in. A deposed
// coordinator that has not noticed yet never gets that confirmation, so it cannot answer offsets a
// newer coordinator moved past; it answers not coordinator, and the reader asks again.
#include <algorithm>

#include "tests/sim/group_cluster.h"

namespace chronik::sim {

namespace {

constexpr std::uint64_t read_timeout_ticks = 400;  // as the committers': then the reader asks again

}  // namespace

// partition_replica::leader_ready: leading, with an entry of its own term applied, so every entry
// of earlier terms is applied here too (Raft §5.4).
bool group_cluster::leader_ready(int host, int partition) const {
  const auto st = raft_.status(host, partition);
  const partition_log& log = shells_[static_cast<std::size_t>(host)].logs[static_cast<std::size_t>(partition)];
  return st && st->state == consensus::role::leader && log.last_term == st->term.value;
}

// partition_replica::confirm_leadership. The confirmation is queued before the host is asked: the
// simulated host flushes within the call (a quorum of one would answer at once).
void group_cluster::confirm_leadership(int host, int partition, std::function<void(bool)> done) {
  if (!leader_ready(host, partition)) return done(false);
  shell& s = shells_[static_cast<std::size_t>(host)];
  std::string context = "confirm/" + std::to_string(++next_confirmation_);
  const std::uint64_t term = raft_.status(host, partition)->term.value;
  s.confirmations.push_back(
      confirmation{context, partition, term, std::nullopt, now_ + opt_.write_timeout_ticks, std::move(done)});
  if (raft_.read_on(host, partition, context)) return;
  auto it = std::ranges::find(s.confirmations, context, &confirmation::context);
  if (it == s.confirmations.end()) return;  // answered within the call
  auto refused = std::move(it->done);
  s.confirmations.erase(it);
  refused(false);
}

// From the apply observer, inside Raft's call: only records each read point.
void group_cluster::take_read_states(int host, int partition, const std::vector<consensus::read_state>& reads) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  for (const consensus::read_state& rs : reads) {
    for (confirmation& c : s.confirmations) {
      if (c.partition == partition && c.context == rs.context) c.index = rs.index.value;
    }
  }
}

// partition_replica::resolve_confirmations, on the shell's tick after the applies: a read point
// applied here is a confirmation if the term is still the one it was asked in.
void group_cluster::resolve_confirmations(int host) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  std::vector<std::pair<std::function<void(bool)>, bool>> ready;
  std::erase_if(s.confirmations, [&](confirmation& c) {
    const partition_log& log = s.logs[static_cast<std::size_t>(c.partition)];
    if (!c.index || *c.index > log.last_index) return false;
    const auto st = raft_.status(host, c.partition);
    ready.emplace_back(std::move(c.done), st && st->term.value == c.term);
    return true;
  });
  for (auto& [done, ok] : ready) done(ok);
}

// partition_replica::expire_confirmations: a leadership that moved on cannot be confirmed any
// more, and none waits past its deadline.
void group_cluster::expire_confirmations(int host) {
  shell& s = shells_[static_cast<std::size_t>(host)];
  std::vector<std::function<void(bool)>> expired;
  std::erase_if(s.confirmations, [&](confirmation& c) {
    const auto st = raft_.status(host, c.partition);
    const bool leads = st && st->state == consensus::role::leader;
    if (leads && st->term.value == c.term && c.deadline > now_) return false;
    expired.push_back(std::move(c.done));
    return true;
  });
  for (auto& done : expired) done(false);
}

void group_cluster::tick_reader(reader& r) {
  if (r.in_flight) return poll_read(r);
  if (stopping_ || now_ < r.wait_until || clients_.empty()) return;
  r.of = static_cast<std::size_t>(random().below(clients_.size()));
  // FindCoordinator; when no host serves the group, a host a stale answer names (it may be loading).
  auto h = find_coordinator(clients_[r.of].group);
  if (!h) h = static_cast<int>(random().below(static_cast<std::uint64_t>(raft_.hosts())));
  if (!responsive(*h)) return;
  send_read(r, *h);
}

// offset_fetch.cc's handler on `host`: its error at once if its coordinator does not serve the
// group, else the offsets once the leadership is confirmed (or at once in the unsafe twin).
void group_cluster::send_read(reader& r, int host) {
  const client& c = clients_[r.of];
  const shell& s = shells_[static_cast<std::size_t>(host)];
  r.in_flight = true;
  r.host = host;
  r.incarnation = s.incarnation;
  r.sent = now_;
  const auto acked = acked_.find({c.group, c.key});
  r.before = acked == acked_.end() ? -1 : acked->second;
  r.answer = std::make_shared<std::optional<read_answer>>();
  const int p = kafka::offsets_partition_for(c.group, opt_.raft.groups);
  auto answer = [this, host, p, group = c.group, key = c.key, slot = r.answer](bool confirmed) {
    const shell& at = shells_[static_cast<std::size_t>(host)];
    const kafka::group_errc serves = at.core->serves(group);
    if (serves == kafka::group_errc::load_in_progress) ++counts_.reads_loading;
    if (!confirmed || serves != kafka::group_errc::none) {
      *slot = read_answer{};
      return;
    }
    const auto got = at.core->committed(group, key);
    const auto st = raft_.status(host, p);
    *slot = read_answer{true, got ? got->offset : -1, st ? st->term.value : 0};
  };
  if (s.core->serves(c.group) != kafka::group_errc::none || opt_.unfenced_reads) return answer(true);
  confirm_leadership(host, p, [this, answer](bool confirmed) {
    if (!confirmed) ++counts_.reads_unconfirmed;
    answer(confirmed);
  });
}

// The reader's side: an answer below what was acknowledged before the request is a violation; a
// refusal, a broken connection or no answer in time sends it to ask again.
void group_cluster::poll_read(reader& r) {
  rng& rand = random();
  const shell& s = shells_[static_cast<std::size_t>(r.host)];
  if (!r.answer->has_value()) {
    if (!raft_.running(r.host) || s.incarnation != r.incarnation || now_ - r.sent > read_timeout_ticks) {
      r.in_flight = false;
      r.wait_until = now_ + 1 + rand.below(6);
    }
    return;
  }
  r.in_flight = false;
  const read_answer a = **r.answer;
  if (!a.served) {
    r.wait_until = now_ + 1 + rand.below(6);
    return;
  }
  ++counts_.reads;
  r.wait_until = now_ + rand.below(3);
  if (a.value >= r.before) return;
  const client& c = clients_[r.of];
  violation("OffsetFetch from host " + std::to_string(r.host) + " (term " + std::to_string(a.term) + ") got " +
            c.group + "/" + std::to_string(c.key.partition) + " = " + std::to_string(a.value) + ", below " +
            std::to_string(r.before) + ", acknowledged before the read began");
}

}  // namespace chronik::sim
