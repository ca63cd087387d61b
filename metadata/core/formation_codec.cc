#include "metadata/core/formation_codec.h"

#include <sstream>

namespace chronik::metadata {
namespace {

std::string ref(const node_ref& n) { return std::to_string(n.id.value()) + "/" + n.uuid; }

std::optional<node_ref> parse_ref(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0) return std::nullopt;
  try {
    // An id wider than a node id is refused, never truncated into some other node's id.
    const auto id = chronik::node_id_from_u64(std::stoull(text.substr(0, slash)));
    if (!id) return std::nullopt;
    return node_ref{*id, text.substr(slash + 1)};
  } catch (...) {
    return std::nullopt;
  }
}

std::string refs(const std::vector<node_ref>& v) {
  std::string out;
  for (const auto& n : v) out += (out.empty() ? "" : ",") + ref(n);
  return out;
}

std::optional<std::vector<node_ref>> parse_refs(const std::string& text) {
  std::vector<node_ref> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    auto r = parse_ref(item);
    if (!r) return std::nullopt;
    out.push_back(*r);
  }
  return out;
}

}  // namespace

std::string encode_formation(const formation& f) {
  switch (f.state) {
    case formation::kind::fresh: return "fresh";
    case formation::kind::promised:
      return "promised " + ref(f.founder) + " " + f.cluster_id + " " + std::to_string(f.round) + " " + refs(f.voters);
    case formation::kind::member: return "member " + f.cluster_id + " " + refs(f.voters);
  }
  return "fresh";
}

std::optional<formation> decode_formation(const std::string& text) {
  std::istringstream in(text);
  std::string word;
  in >> word;
  formation f;
  if (word == "fresh") return f;
  std::string founder, round, voters;
  if (word == "promised") {
    f.state = formation::kind::promised;
    in >> founder >> f.cluster_id >> round >> voters;
    auto fr = parse_ref(founder);
    if (!fr || round.empty()) return std::nullopt;
    f.founder = *fr;
    try {
      f.round = std::stoull(round);
    } catch (...) {
      return std::nullopt;
    }
  } else if (word == "member") {
    f.state = formation::kind::member;
    in >> f.cluster_id >> voters;
  } else {
    return std::nullopt;
  }
  auto v = parse_refs(voters);
  // A member that joined later carries no initial voter set; a proposal always has one.
  if (!v || f.cluster_id.empty() || (v->empty() && f.state == formation::kind::promised)) return std::nullopt;
  f.voters = *v;
  return f;
}

}  // namespace chronik::metadata
