#include "metadata/meta_acls.h"

#include <vector>

#include "metadata/meta_rules.h"

namespace chronik::metadata::acls {
namespace {

// Bounds as kafka/acl/acl_types.h (the broker checks them first; these hold the replicated state
// to them whatever a proposer sends).
constexpr std::size_t max_resource_name_bytes = 255;
constexpr std::size_t max_principal_bytes = 255;
constexpr std::size_t max_host_bytes = 64;

std::expected<std::vector<acl_record>, meta_errc> decode_all(
    const google::protobuf::RepeatedPtrField<proto::MetaAclBinding>& bindings) {
  if (static_cast<std::size_t>(bindings.size()) > max_acls_per_command) return std::unexpected(meta_errc::invalid_acl);
  std::vector<acl_record> out;
  out.reserve(static_cast<std::size_t>(bindings.size()));
  for (const auto& m : bindings) {
    auto a = decode(m);
    if (!a) return std::unexpected(a.error());
    out.push_back(std::move(*a));
  }
  return out;
}

apply_result result_of(command_kind kind, bool changed) {
  apply_result r;
  r.kind = kind;
  r.changed = changed;
  return r;
}

}  // namespace

std::expected<acl_record, meta_errc> decode(const proto::MetaAclBinding& m) {
  const auto rt = m.resource_type();
  const auto pt = m.pattern_type();
  const auto op = m.operation();
  const auto perm = m.permission();
  if (rt < 2 || rt > 5 || pt < 3 || pt > 4 || op < 2 || op > 12 || perm < 2 || perm > 3 ||
      !rules::bounded(m.resource_name(), max_resource_name_bytes) || !rules::bounded(m.principal(), max_principal_bytes) ||
      !rules::bounded(m.host(), max_host_bytes)) {
    return std::unexpected(meta_errc::invalid_acl);
  }
  return acl_record{static_cast<std::int8_t>(rt), m.resource_name(),        static_cast<std::int8_t>(pt), m.principal(),
                    m.host(),                     static_cast<std::int8_t>(op), static_cast<std::int8_t>(perm)};
}

void encode(const acl_record& a, proto::MetaAclBinding* out) {
  out->set_resource_type(a.resource_type);
  out->set_resource_name(a.resource_name);
  out->set_pattern_type(a.pattern_type);
  out->set_principal(a.principal);
  out->set_host(a.host);
  out->set_operation(a.operation);
  out->set_permission(a.permission);
}

std::expected<apply_result, meta_errc> create(meta_data& d, const proto::MetaCreateAcls& c) {
  auto bindings = decode_all(c.bindings());
  if (!bindings) return std::unexpected(bindings.error());
  std::size_t fresh = 0;
  std::set<acl_record> seen;
  for (const auto& a : *bindings) {
    if (!d.acls.contains(a) && seen.insert(a).second) ++fresh;
  }
  if (d.acls.size() + fresh > max_acl_bindings) return std::unexpected(meta_errc::too_many_acls);
  for (auto& a : *bindings) d.acls.insert(std::move(a));
  return result_of(command_kind::create_acls, fresh > 0);
}

std::expected<apply_result, meta_errc> remove(meta_data& d, const proto::MetaDeleteAcls& c) {
  auto bindings = decode_all(c.bindings());
  if (!bindings) return std::unexpected(bindings.error());
  bool changed = false;
  for (const auto& a : *bindings) changed = d.acls.erase(a) > 0 || changed;
  return result_of(command_kind::delete_acls, changed);
}

}  // namespace chronik::metadata::acls
