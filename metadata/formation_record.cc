#include "metadata/formation_record.h"

#include <cstdint>

#include "formation.pb.h"
#include "metadata/core/formation_codec.h"

namespace chronik::metadata {
namespace {

constexpr std::uint32_t version_1 = 1;
// The first byte of every record: field 1 (version) as a varint. The legacy text starts with a
// letter ("fresh", "promised", "member").
constexpr char version_tag = 0x08;

void put_node(proto::FormationNode& out, const node_ref& n) {
  out.set_id(n.id.value());
  out.set_uuid(n.uuid);
}

node_ref get_node(const proto::FormationNode& n) { return node_ref{chronik::node_id{n.id()}, n.uuid()}; }

std::expected<formation, std::string> from_record(const proto::FormationRecord& r) {
  formation f;
  switch (r.state()) {
    case proto::FORMATION_RECORD_FRESH: return f;
    case proto::FORMATION_RECORD_PROMISED: f.state = formation::kind::promised; break;
    case proto::FORMATION_RECORD_MEMBER: f.state = formation::kind::member; break;
    default: return std::unexpected("unknown state " + std::to_string(r.state()));
  }
  f.cluster_id = r.cluster_id();
  for (const auto& v : r.voters()) f.voters.push_back(get_node(v));
  if (f.cluster_id.empty()) return std::unexpected(std::string("no cluster id"));
  if (f.state == formation::kind::promised) {
    // The same rules as the text form: a promise names its founder and its initial voter set; a
    // member that joined later may carry no voter set.
    if (!r.has_founder()) return std::unexpected(std::string("a promise without a founder"));
    if (f.voters.empty()) return std::unexpected(std::string("a promise without voters"));
    f.founder = get_node(r.founder());
    f.round = r.round();
  }
  return f;
}

}  // namespace

std::string encode_formation_record(const formation& f) {
  proto::FormationRecord r;
  r.set_version(version_1);
  switch (f.state) {
    case formation::kind::fresh: r.set_state(proto::FORMATION_RECORD_FRESH); break;
    case formation::kind::promised: r.set_state(proto::FORMATION_RECORD_PROMISED); break;
    case formation::kind::member: r.set_state(proto::FORMATION_RECORD_MEMBER); break;
  }
  if (f.state != formation::kind::fresh) {
    r.set_cluster_id(f.cluster_id);
    for (const auto& v : f.voters) put_node(*r.add_voters(), v);
  }
  if (f.state == formation::kind::promised) {
    put_node(*r.mutable_founder(), f.founder);
    r.set_round(f.round);
  }
  std::string out;
  r.SerializeToString(&out);
  return out;
}

std::expected<formation, std::string> decode_formation_record(std::string_view bytes) {
  if (bytes.empty()) return std::unexpected(std::string("empty"));
  if (bytes.front() != version_tag) {
    std::string text(bytes);
    if (text.ends_with('\n')) text.pop_back();
    auto f = decode_formation(text);
    if (!f) return std::unexpected(std::string("neither a formation record nor the legacy text form"));
    return *f;
  }
  proto::FormationRecord r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return std::unexpected(std::string("not a formation record"));
  if (r.version() != version_1) {
    return std::unexpected("formation record version " + std::to_string(r.version()) +
                           " is not known to this build (it reads version 1)");
  }
  return from_record(r);
}

}  // namespace chronik::metadata
