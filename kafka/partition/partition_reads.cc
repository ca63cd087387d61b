// ReadIndex on a partition (partition_replica::confirm_leadership; Raft dissertation §6.4): a
// leader confirms with a heartbeat round that it still leads before a read is served from state
// built on the partition's log. A deposed leader that has not noticed yet (a partition cut it off
// and check-quorum has not stepped it down) never gets that confirmation, so it cannot answer from
// a state a newer leader has moved past.
#include "kafka/partition/partition_replica.h"

#include <algorithm>
#include <utility>

namespace chronik::kafka {

void partition_replica::confirm_leadership(clock::time_point deadline, confirm_done done) {
  if (!leader_ready()) return done(false);
  std::string context = "confirm/" + std::to_string(++next_confirmation_);
  if (auto r = host_.read_index(ref_.group, context); !r) return done(false);
  confirmations_.push_back({std::move(context), leader_epoch(), std::nullopt, deadline, std::move(done)});
  took_deadline();
}

void partition_replica::take_read_states(std::vector<consensus::read_state>& reads) {
  if (confirmations_.empty()) return;  // every apply comes here: nothing to look up for most
  for (auto& rs : reads) {
    auto it = std::ranges::find(confirmations_, rs.context, &confirmation::context);
    if (it != confirmations_.end()) it->index = rs.index;
  }
}

void partition_replica::resolve_confirmations() {
  // Answered after the whole apply batch: the read point's entries are in the index by then.
  if (confirmations_.empty()) return;  // on every apply: no status lookup when nothing waits
  std::vector<confirm_done> ready;
  const term_id term = leader_epoch();
  std::erase_if(confirmations_, [&](confirmation& c) {
    if (!c.index || *c.index > index_.applied()) return false;
    // Confirmed in the term it was asked in: the leadership it confirms is the one the caller saw.
    ready.push_back([done = std::move(c.done), ok = c.term == term](bool) { done(ok); });
    return true;
  });
  for (auto& r : ready) r(true);
}

void partition_replica::expire_confirmations(clock::time_point now, bool all) {
  // A leadership that moved on cannot be confirmed any more: answered now rather than at the deadline.
  if (confirmations_.empty()) return;
  const auto st = host_.brief(ref_.group);
  const bool leads = st && st->state == consensus::role::leader && !host_.failed();
  const term_id term = leader_epoch();
  std::vector<confirm_done> expired;
  std::erase_if(confirmations_, [&](confirmation& c) {
    if (!all && leads && c.term == term && c.deadline > now) return false;
    expired.push_back(std::move(c.done));
    return true;
  });
  for (auto& done : expired) done(false);
}

}  // namespace chronik::kafka
