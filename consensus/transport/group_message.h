// The unit the transport carries: one Raft message and the group it belongs to. Kept apart from
// codec.h so users of raft_transport.h (the Asio side) never include Cap'n Proto headers.
#pragma once

#include "consensus/core/messages.h"
#include "consensus/core/types.h"

namespace chronik::consensus {

struct group_message {
  group_id group;
  message msg;
};

}  // namespace chronik::consensus
