// The authorization decision over a set of ACL bindings (docs/security.md "Authorization: ACLs"),
// as Kafka's StandardAuthorizer decides it (KIP-11, KIP-290, KIP-801). Pure: no I/O, no clock;
// the daemon keeps one in step with the bindings committed in `__meta`, so every broker decides
// from the same set.
//
// The decision for (principal, host, operation, resource), in order:
//  1. A super user (`super_users`) is allowed everything.
//  2. A DENY binding that applies denies: its resource pattern applies to the resource (literal
//     name, literal "*", or a prefix), its principal is the request's or "User:*", its host is the
//     client's or "*", and its operation is the one asked or ALL. DENY wins over any ALLOW.
//  3. An ALLOW binding that applies the same way allows; its operation may also be one that
//     implies the one asked: READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies
//     DESCRIBE_CONFIGS; ALL implies everything (Kafka's AclEntry implied operations).
//  4. No binding applies to the principal. If the resource has bindings (of any principal, host or
//     operation), deny: once a resource has ACLs, only they grant access. If it has none, the
//     `no_acl` rule decides (Kafka's allow.everyone.if.no.acl.found, refined per listener):
//       - allow_unauthenticated (the default): allow a request from a listener that does not
//         authenticate (principal User:ANONYMOUS on PLAINTEXT, or SSL without client
//         certificates), deny an authenticated one. A cluster without ACLs and without
//         authenticating listeners behaves as before authorization existed; a SASL (or mTLS)
//         listener denies by default.
//       - allow: allow everyone (allow.everyone.if.no.acl.found=true).
//       - deny: deny everyone (Kafka's default once an authorizer is configured).
// Between 1 and 2: CLUSTER_ACTION on the cluster is allowed to every request of the inter-broker
// listener. It is the one operation only brokers need (Kafka: WriteTxnMarkers), and chronik's
// brokers send it over that listener, which must be PLAINTEXT (no principal but User:ANONYMOUS):
// the listener is their identity until brokers authenticate to each other. Kafka with a PLAINTEXT
// inter-broker listener needs User:ANONYMOUS as a super user instead, which would open every
// PLAINTEXT listener; this opens one operation on one listener.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kafka/acl/acl_types.h"

namespace chronik::kafka::acl {

enum class no_acl_rule : std::uint8_t { allow_unauthenticated, allow, deny };
std::string_view to_string(no_acl_rule r);
std::optional<no_acl_rule> parse_no_acl_rule(std::string_view text);

// Whether the request's listener authenticated the principal. kafka/handlers derives it from the
// connection (client_info): a SASL listener always does, an SSL listener does when the client
// presented a certificate (a principal other than User:ANONYMOUS).
enum class authentication : std::uint8_t { none, authenticated };

// Whether the request arrived on the broker's inter-broker listener (`inter_broker_listener_name`),
// where the other brokers send what only brokers send.
enum class listener_role : std::uint8_t { clients, inter_broker };

// Who asks: the principal ("User:alice"), the client's IP address without Kafka's leading "/"
// ("127.0.0.1"), whether the listener authenticated it, and which listener it came in on.
struct requester {
  std::string principal = std::string(anonymous_principal);
  std::string host;
  authentication auth = authentication::none;
  listener_role listener = listener_role::clients;
};

struct authorizer_config {
  std::vector<std::string> super_users;  // principals allowed everything ("User:admin")
  no_acl_rule no_acl = no_acl_rule::allow_unauthenticated;
};

enum class decision : std::uint8_t { allowed, denied };

class authorizer {
 public:
  authorizer() = default;
  explicit authorizer(authorizer_config cfg);

  // Replaces the bindings (the daemon, after `__meta` applied a change; tests).
  void set_bindings(const std::vector<binding>& bindings);
  const std::set<binding>& bindings() const { return bindings_; }

  decision authorize(const requester& who, operation op, resource_type type, std::string_view name) const;
  // Kafka's authorizeByResourceType (KIP-679): whether `who` may do `op` on at least one resource
  // of `type`: some ALLOW binding of that type applies to the principal and is not cancelled by a
  // DENY on the same literal name, on a prefix covering it, or on the literal "*"; or no binding of
  // that type exists and the no-ACL rule allows. InitProducerId without a transactional id asks it.
  decision authorize_any(const requester& who, operation op, resource_type type) const;

  bool super_user(std::string_view principal) const;
  const authorizer_config& config() const { return cfg_; }

 private:
  decision no_acl_decision(const requester& who) const;

  authorizer_config cfg_;
  std::set<binding> bindings_;
  // Per resource type, every binding, for the lookups: by (type) the bindings of that type. Sets
  // stay small in practice (hundreds); a lookup walks the type's bindings once.
  std::map<resource_type, std::vector<binding>> by_type_;
};

// Whether an ALLOW of `granted` grants `wanted` (Kafka's implied operations).
bool implies(operation granted, operation wanted);

}  // namespace chronik::kafka::acl
