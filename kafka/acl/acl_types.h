// Kafka's ACL model (KIP-11 access control lists, KIP-290 prefixed resource patterns): what a
// binding is, what a Describe/Delete filter is, and which binding a filter matches. Pure: the
// standard library only (docs/security.md "Authorization: ACLs").
//
// Every enum carries the INT8 code Kafka puts on the wire (org.apache.kafka.common.resource.
// ResourceType, PatternType, org.apache.kafka.common.acl.AclOperation, AclPermissionType), so a
// handler converts with a checked cast and `__meta` stores the codes as they are.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace chronik::kafka::acl {

enum class resource_type : std::int8_t {
  unknown = 0,
  any = 1,  // filters only
  topic = 2,
  group = 3,
  cluster = 4,
  transactional_id = 5,
  delegation_token = 6,  // not served: refused in bindings
  user = 7,              // not served: refused in bindings
};

enum class pattern_type : std::int8_t {
  unknown = 0,
  any = 1,    // filters only: any pattern type, the name compared as written
  match = 2,  // filters only: every binding that would apply to the named resource
  literal = 3,
  prefixed = 4,
};

enum class operation : std::int8_t {
  unknown = 0,
  any = 1,  // filters only
  all = 2,
  read = 3,
  write = 4,
  create = 5,
  remove = 6,  // Kafka's DELETE ("delete" is a C++ keyword)
  alter = 7,
  describe = 8,
  cluster_action = 9,
  describe_configs = 10,
  alter_configs = 11,
  idempotent_write = 12,
};

enum class permission : std::int8_t {
  unknown = 0,
  any = 1,  // filters only
  deny = 2,
  allow = 3,
};

// Kafka's wildcard resource name (ResourcePattern.WILDCARD_RESOURCE) and the name of the one
// CLUSTER resource (Resource.CLUSTER_NAME).
inline constexpr std::string_view wildcard_resource = "*";
inline constexpr std::string_view cluster_resource_name = "kafka-cluster";
// The principal of a request whose listener did not authenticate it (KafkaPrincipal.ANONYMOUS),
// and the wildcard principal an ACL may name (any user).
inline constexpr std::string_view anonymous_principal = "User:ANONYMOUS";
inline constexpr std::string_view wildcard_principal = "User:*";
inline constexpr std::string_view wildcard_host = "*";

// Bounds on what a binding may hold, part of the replicated rules (`__meta` checks them too).
inline constexpr std::size_t max_resource_name_bytes = 255;
inline constexpr std::size_t max_principal_bytes = 255;
inline constexpr std::size_t max_host_bytes = 64;

struct binding {
  resource_type type = resource_type::topic;
  std::string name;
  pattern_type pattern = pattern_type::literal;
  std::string principal;  // "User:alice" or "User:*"
  std::string host = std::string(wildcard_host);
  operation op = operation::all;
  permission perm = permission::allow;
  auto operator<=>(const binding&) const = default;
};

// A DescribeAcls/DeleteAcls filter: nullopt and the `any` codes match everything.
struct binding_filter {
  resource_type type = resource_type::any;
  std::optional<std::string> name;
  pattern_type pattern = pattern_type::any;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  operation op = operation::any;
  permission perm = permission::any;
};

// Checked conversions from the wire's INT8 codes; nullopt for a code Kafka does not define.
std::optional<resource_type> to_resource_type(std::int8_t code);
std::optional<pattern_type> to_pattern_type(std::int8_t code);
std::optional<operation> to_operation(std::int8_t code);
std::optional<permission> to_permission(std::int8_t code);
std::string_view to_string(resource_type t);
std::string_view to_string(pattern_type p);
std::string_view to_string(operation o);
std::string_view to_string(permission p);

// Whether `b` may be stored (CreateAcls, `__meta`): a concrete resource type we serve, LITERAL or
// PREFIXED, a concrete operation and permission, a principal "Type:name" with both parts non-empty,
// a host that is "*" or an IP address, a non-empty name, and "kafka-cluster" for CLUSTER. The
// error is the message for Kafka's INVALID_REQUEST.
std::expected<void, std::string> validate(const binding& b);

// Whether a filter is well formed (Kafka refuses UNKNOWN codes in filters).
std::expected<void, std::string> validate(const binding_filter& f);

// Whether `f` selects `b` (AclBindingFilter.matches). A MATCH pattern with a name selects every
// binding that applies to that resource: the literal name, the literal wildcard "*", and every
// prefix of the name; with a null name it selects everything, as ANY does.
bool matches(const binding_filter& f, const binding& b);

// Whether a binding's resource pattern applies to the resource `name` of its type: literal equal,
// literal "*", or a prefix of it.
bool pattern_applies(const binding& b, std::string_view name);

}  // namespace chronik::kafka::acl
