// The one authorization check of the handlers (docs/security.md "Authorization: ACLs"): who asks
// (the connection's principal, the client's address, whether its listener authenticated it) and
// the broker's authorizer (broker_context::authorizer, the bindings committed in `__meta`). Each
// handler asks here, once per resource, and picks the Kafka error code its response carries.
#pragma once

#include <string_view>

#include "kafka/acl/acl_authorizer.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/field_values.h"
#include "kafka/server/security_protocol.h"

namespace chronik::kafka {

// The requester of a request. A SASL listener lets requests through only once authenticated; a
// TLS listener sets a principal other than User:ANONYMOUS only for a verified client certificate.
inline acl::requester requester_of(const broker_context& ctx, const responder& out) {
  const client_info& c = out.client();
  acl::requester who;
  who.listener = !c.listener.empty() && c.listener == ctx.inter_broker_listener() ? acl::listener_role::inter_broker
                                                                                  : acl::listener_role::clients;
  who.principal = c.principal.empty() ? std::string(acl::anonymous_principal) : c.principal;
  const std::string& host = out.client_host();
  who.host = host.starts_with('/') ? host.substr(1) : host;
  const bool authenticated = uses_sasl(c.protocol) || who.principal != acl::anonymous_principal;
  who.auth = authenticated ? acl::authentication::authenticated : acl::authentication::none;
  return who;
}

inline bool authorized(const broker_context& ctx, const responder& out, acl::operation op, acl::resource_type type,
                       std::string_view name) {
  return ctx.authorizer().authorize(requester_of(ctx, out), op, type, name) == acl::decision::allowed;
}

inline bool authorized_on_topic(const broker_context& ctx, const responder& out, acl::operation op,
                                std::string_view topic) {
  return authorized(ctx, out, op, acl::resource_type::topic, topic);
}

inline bool authorized_on_group(const broker_context& ctx, const responder& out, acl::operation op,
                                std::string_view group) {
  return authorized(ctx, out, op, acl::resource_type::group, group);
}

inline bool authorized_on_transactional_id(const broker_context& ctx, const responder& out, acl::operation op,
                                           std::string_view id) {
  return authorized(ctx, out, op, acl::resource_type::transactional_id, id);
}

inline bool authorized_on_cluster(const broker_context& ctx, const responder& out, acl::operation op) {
  return authorized(ctx, out, op, acl::resource_type::cluster, acl::cluster_resource_name);
}

// What only brokers may send (Kafka: WriteTxnMarkers): CLUSTER_ACTION on the cluster. Allowed to
// every request of the inter-broker listener, where chronik's brokers send their markers, and
// elsewhere to whom the ACLs allow it (kafka/acl/acl_authorizer.h).
inline bool authorized_as_broker(const broker_context& ctx, const responder& out) {
  return authorized_on_cluster(ctx, out, acl::operation::cluster_action);
}

// Whether `op` is allowed on at least one resource of `type` (Kafka's authorizeByResourceType).
inline bool authorized_on_any(const broker_context& ctx, const responder& out, acl::operation op,
                              acl::resource_type type) {
  return ctx.authorizer().authorize_any(requester_of(ctx, out), op, type) == acl::decision::allowed;
}

// The config APIs' check of one resource (Kafka's rules): `op` (DESCRIBE_CONFIGS or ALTER_CONFIGS)
// on the topic, or on the cluster for a broker; the error its result carries, or none. Other
// resource types are left to the handler, which refuses them anyway.
inline error_code config_authorization(const broker_context& ctx, const responder& out, acl::operation op,
                                       std::int8_t resource_type, std::string_view name) {
  if (resource_type == config_resource_type::topic && !authorized_on_topic(ctx, out, op, name)) {
    return error_code::topic_authorization_failed;
  }
  if (resource_type == config_resource_type::broker && !authorized_on_cluster(ctx, out, op)) {
    return error_code::cluster_authorization_failed;
  }
  return error_code::none;
}

}  // namespace chronik::kafka
