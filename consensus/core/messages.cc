#include "consensus/core/messages.h"

namespace chronik::consensus {

std::string_view to_string(message_type type) {
  switch (type) {
    case message_type::pre_vote: return "pre_vote";
    case message_type::pre_vote_response: return "pre_vote_response";
    case message_type::vote: return "vote";
    case message_type::vote_response: return "vote_response";
    case message_type::append: return "append";
    case message_type::append_response: return "append_response";
    case message_type::heartbeat: return "heartbeat";
    case message_type::heartbeat_response: return "heartbeat_response";
    case message_type::snapshot_chunk: return "snapshot_chunk";
    case message_type::snapshot_response: return "snapshot_response";
    case message_type::timeout_now: return "timeout_now";
    case message_type::read_index: return "read_index";
    case message_type::read_index_response: return "read_index_response";
    case message_type::propose: return "propose";
  }
  return "unknown";
}

}  // namespace chronik::consensus
