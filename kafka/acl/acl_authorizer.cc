#include "kafka/acl/acl_authorizer.h"

#include <algorithm>

namespace chronik::kafka::acl {
namespace {

bool principal_applies(const binding& b, std::string_view principal) {
  return b.principal == principal || (b.principal == wildcard_principal && principal.starts_with("User:"));
}

bool host_applies(const binding& b, std::string_view host) { return b.host == wildcard_host || b.host == host; }

}  // namespace

std::string_view to_string(no_acl_rule r) {
  switch (r) {
    case no_acl_rule::allow_unauthenticated: return "allow_unauthenticated";
    case no_acl_rule::allow: return "allow";
    case no_acl_rule::deny: return "deny";
  }
  return "deny";
}

std::optional<no_acl_rule> parse_no_acl_rule(std::string_view text) {
  if (text == "allow_unauthenticated") return no_acl_rule::allow_unauthenticated;
  if (text == "allow") return no_acl_rule::allow;
  if (text == "deny") return no_acl_rule::deny;
  return std::nullopt;
}

bool implies(operation granted, operation wanted) {
  if (granted == wanted || granted == operation::all) return true;
  if (wanted == operation::describe) {
    return granted == operation::read || granted == operation::write || granted == operation::remove ||
           granted == operation::alter;
  }
  if (wanted == operation::describe_configs) return granted == operation::alter_configs;
  return false;
}

authorizer::authorizer(authorizer_config cfg) : cfg_(std::move(cfg)) {}

void authorizer::set_bindings(const std::vector<binding>& bindings) {
  bindings_ = std::set<binding>(bindings.begin(), bindings.end());
  by_type_.clear();
  for (const auto& b : bindings_) by_type_[b.type].push_back(b);
}

bool authorizer::super_user(std::string_view principal) const {
  return std::ranges::find(cfg_.super_users, principal) != cfg_.super_users.end();
}

decision authorizer::no_acl_decision(const requester& who) const {
  switch (cfg_.no_acl) {
    case no_acl_rule::allow: return decision::allowed;
    case no_acl_rule::deny: return decision::denied;
    case no_acl_rule::allow_unauthenticated:
      return who.auth == authentication::none ? decision::allowed : decision::denied;
  }
  return decision::denied;
}

decision authorizer::authorize(const requester& who, operation op, resource_type type, std::string_view name) const {
  if (super_user(who.principal)) return decision::allowed;
  if (who.listener == listener_role::inter_broker && op == operation::cluster_action && type == resource_type::cluster) {
    return decision::allowed;  // the brokers' own markers (header comment)
  }
  const auto it = by_type_.find(type);
  if (it == by_type_.end()) return no_acl_decision(who);
  bool resource_has_acls = false;
  bool allowed = false;
  for (const auto& b : it->second) {
    if (!pattern_applies(b, name)) continue;
    resource_has_acls = true;
    if (!principal_applies(b, who.principal) || !host_applies(b, who.host)) continue;
    if (b.perm == permission::deny) {
      // A DENY names exactly the operation it denies (or ALL): a DENY of READ leaves DESCRIBE
      // to the ALLOW bindings, as in Kafka.
      if (b.op == op || b.op == operation::all) return decision::denied;
    } else if (implies(b.op, op)) {
      allowed = true;
    }
  }
  if (allowed) return decision::allowed;
  return resource_has_acls ? decision::denied : no_acl_decision(who);
}

decision authorizer::authorize_any(const requester& who, operation op, resource_type type) const {
  if (super_user(who.principal)) return decision::allowed;
  const auto it = by_type_.find(type);
  if (it == by_type_.end()) return no_acl_decision(who);
  std::vector<const binding*> denies;
  std::vector<const binding*> allows;
  for (const auto& b : it->second) {
    if (!principal_applies(b, who.principal) || !host_applies(b, who.host)) continue;
    if (b.perm == permission::deny && (b.op == op || b.op == operation::all)) denies.push_back(&b);
    if (b.perm == permission::allow && implies(b.op, op)) allows.push_back(&b);
  }
  // A DENY of the literal "*" denies every resource of the type.
  for (const binding* d : denies) {
    if (d->pattern == pattern_type::literal && d->name == wildcard_resource) return decision::denied;
  }
  for (const binding* a : allows) {
    const bool cancelled = std::ranges::any_of(denies, [&](const binding* d) {
      if (d->pattern == pattern_type::literal) return a->pattern == pattern_type::literal && d->name == a->name;
      return a->name.starts_with(d->name);  // a DENY prefix covering the allowed name or prefix
    });
    if (!cancelled) return decision::allowed;
  }
  return decision::denied;
}

}  // namespace chronik::kafka::acl
