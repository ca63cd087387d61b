// Linearizable reads without writing to the log (dissertation §6.4 ReadIndex): the leader records
// its commit index, confirms with a round of heartbeats that it is still leader, and then the read
// may be served once the state machine has applied that index.
#include "consensus/core/raft.h"

namespace chronik::consensus {

bool raft::committed_in_current_term() const { return log_.term(log_.committed()) == term_; }

void raft::read_index(std::string context) {
  wake();
  if (role_ == role::leader) {
    leader_read(std::move(context), self_);
  } else if (leader_ != no_node) {
    message m{message_type::read_index, self_, leader_, term_};
    m.context = std::move(context);
    send(std::move(m));
  }
  // Without a known leader the request is dropped; the shell retries after a timeout.
}

void raft::handle_read_index(const message& m) { leader_read(m.context, m.from); }

void raft::leader_read(std::string context, node_id requester) {
  idle_ticks_ = 0;  // a group being read is not idle
  // §6.4 step 1: until an entry of this term commits, the leader may not know the latest commit.
  if (!committed_in_current_term()) {
    reads_before_first_commit_.emplace_back(std::move(context), requester);
    return;
  }
  if (quorum() == 1) {
    answer_read(log_.committed(), std::move(context), requester);
    return;
  }
  pending_read read{log_.committed(), context, requester, {{self_, true}}};
  pending_reads_.push_back(std::move(read));
  broadcast_heartbeat(context);
}

void raft::answer_read(log_index index, std::string context, node_id requester) {
  if (requester == self_) {
    read_states_.push_back(read_state{index, std::move(context)});
    return;
  }
  message r{message_type::read_index_response, self_, requester, term_};
  r.index = index;
  r.context = std::move(context);
  send(std::move(r));
}

void raft::handle_heartbeat_ack(const message& m) {
  if (m.context.empty() || !is_voter(m.from)) return;
  std::size_t pos = 0;
  for (; pos < pending_reads_.size(); ++pos)
    if (pending_reads_[pos].context == m.context) break;
  if (pos == pending_reads_.size()) return;
  auto& acks = pending_reads_[pos].acks;
  acks[m.from] = true;
  if (acks.size() < quorum()) return;
  // A quorum confirmed leadership after every earlier request was made, so they are all safe.
  for (std::size_t i = 0; i <= pos; ++i) {
    pending_read r = std::move(pending_reads_.front());
    pending_reads_.pop_front();
    answer_read(r.index, std::move(r.context), r.requester);
  }
}

void raft::release_pending_reads() {
  if (reads_before_first_commit_.empty() || !committed_in_current_term()) return;
  auto waiting = std::move(reads_before_first_commit_);
  reads_before_first_commit_.clear();
  for (auto& [context, requester] : waiting) leader_read(std::move(context), requester);
}

}  // namespace chronik::consensus
