#include "kafka/acl/acl_types.h"

#include <algorithm>
#include <cctype>

namespace chronik::kafka::acl {
namespace {

bool ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = i;
    int value = 0;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9' && j - i < 3) value = value * 10 + (s[j++] - '0');
    if (j == i || value > 255) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

// An IPv6 address as text: hex groups and colons (an embedded IPv4 tail allowed), at least two
// colons. Loose on purpose: it keeps out names and garbage, which is what a host filter needs.
bool ipv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  const auto colons = std::ranges::count(s, ':');
  if (colons < 2) return false;
  return std::ranges::all_of(s, [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; });
}

bool valid_principal(std::string_view p) {
  const std::size_t colon = p.find(':');
  return colon != std::string_view::npos && colon > 0 && colon + 1 < p.size() && p.size() <= max_principal_bytes;
}

}  // namespace

std::optional<resource_type> to_resource_type(std::int8_t code) {
  if (code < 0 || code > 7) return std::nullopt;
  return static_cast<resource_type>(code);
}

std::optional<pattern_type> to_pattern_type(std::int8_t code) {
  if (code < 0 || code > 4) return std::nullopt;
  return static_cast<pattern_type>(code);
}

std::optional<operation> to_operation(std::int8_t code) {
  if (code < 0 || code > 12) return std::nullopt;
  return static_cast<operation>(code);
}

std::optional<permission> to_permission(std::int8_t code) {
  if (code < 0 || code > 3) return std::nullopt;
  return static_cast<permission>(code);
}

std::string_view to_string(resource_type t) {
  switch (t) {
    case resource_type::unknown: return "UNKNOWN";
    case resource_type::any: return "ANY";
    case resource_type::topic: return "TOPIC";
    case resource_type::group: return "GROUP";
    case resource_type::cluster: return "CLUSTER";
    case resource_type::transactional_id: return "TRANSACTIONAL_ID";
    case resource_type::delegation_token: return "DELEGATION_TOKEN";
    case resource_type::user: return "USER";
  }
  return "UNKNOWN";
}

std::string_view to_string(pattern_type p) {
  switch (p) {
    case pattern_type::unknown: return "UNKNOWN";
    case pattern_type::any: return "ANY";
    case pattern_type::match: return "MATCH";
    case pattern_type::literal: return "LITERAL";
    case pattern_type::prefixed: return "PREFIXED";
  }
  return "UNKNOWN";
}

std::string_view to_string(operation o) {
  switch (o) {
    case operation::unknown: return "UNKNOWN";
    case operation::any: return "ANY";
    case operation::all: return "ALL";
    case operation::read: return "READ";
    case operation::write: return "WRITE";
    case operation::create: return "CREATE";
    case operation::remove: return "DELETE";
    case operation::alter: return "ALTER";
    case operation::describe: return "DESCRIBE";
    case operation::cluster_action: return "CLUSTER_ACTION";
    case operation::describe_configs: return "DESCRIBE_CONFIGS";
    case operation::alter_configs: return "ALTER_CONFIGS";
    case operation::idempotent_write: return "IDEMPOTENT_WRITE";
  }
  return "UNKNOWN";
}

std::string_view to_string(permission p) {
  switch (p) {
    case permission::unknown: return "UNKNOWN";
    case permission::any: return "ANY";
    case permission::deny: return "DENY";
    case permission::allow: return "ALLOW";
  }
  return "UNKNOWN";
}

std::expected<void, std::string> validate(const binding& b) {
  if (b.type != resource_type::topic && b.type != resource_type::group && b.type != resource_type::cluster &&
      b.type != resource_type::transactional_id) {
    return std::unexpected("resource type " + std::string(to_string(b.type)) + " cannot be used in an ACL here");
  }
  if (b.pattern != pattern_type::literal && b.pattern != pattern_type::prefixed) {
    return std::unexpected("pattern type " + std::string(to_string(b.pattern)) + " is not LITERAL or PREFIXED");
  }
  if (b.name.empty() || b.name.size() > max_resource_name_bytes) {
    return std::unexpected("resource name must be 1 to 255 bytes");
  }
  if (b.type == resource_type::cluster && (b.pattern != pattern_type::literal || b.name != cluster_resource_name)) {
    return std::unexpected("the CLUSTER resource is the literal name 'kafka-cluster'");
  }
  if (b.op == operation::unknown || b.op == operation::any) {
    return std::unexpected("operation " + std::string(to_string(b.op)) + " is not a concrete operation");
  }
  if (b.perm != permission::allow && b.perm != permission::deny) {
    return std::unexpected("permission type must be ALLOW or DENY");
  }
  if (!valid_principal(b.principal)) {
    return std::unexpected("principal '" + b.principal + "' is not of the form Type:name");
  }
  if (b.host != wildcard_host && !ipv4(b.host) && !ipv6(b.host)) {
    return std::unexpected("host '" + b.host + "' is not '*' or an IP address");
  }
  return {};
}

std::expected<void, std::string> validate(const binding_filter& f) {
  if (f.type == resource_type::unknown || f.pattern == pattern_type::unknown || f.op == operation::unknown ||
      f.perm == permission::unknown) {
    return std::unexpected("the filter has an UNKNOWN element");
  }
  return {};
}

bool pattern_applies(const binding& b, std::string_view name) {
  if (b.pattern == pattern_type::literal) return b.name == name || b.name == wildcard_resource;
  if (b.pattern == pattern_type::prefixed) return name.starts_with(b.name);
  return false;
}

bool matches(const binding_filter& f, const binding& b) {
  if (f.type != resource_type::any && f.type != b.type) return false;
  if (f.name) {
    switch (f.pattern) {
      case pattern_type::any:
        if (*f.name != b.name) return false;
        break;
      case pattern_type::match:
        if (!pattern_applies(b, *f.name)) return false;
        break;
      default:
        if (f.pattern != b.pattern || *f.name != b.name) return false;
    }
  } else if (f.pattern != pattern_type::any && f.pattern != pattern_type::match && f.pattern != b.pattern) {
    return false;
  }
  if (f.principal && *f.principal != b.principal) return false;
  if (f.host && *f.host != b.host) return false;
  if (f.op != operation::any && f.op != b.op) return false;
  if (f.perm != permission::any && f.perm != b.perm) return false;
  return true;
}

}  // namespace chronik::kafka::acl
