// The ACL model and the authorizer's decision table (kafka/acl; docs/security.md "Authorization:
// ACLs"): every rule of acl_authorizer.h, each with the case that tells it from its neighbours.
#include <gtest/gtest.h>

#include "kafka/acl/acl_authorizer.h"

namespace chronik::kafka::acl {
namespace {

binding allow(resource_type t, std::string name, std::string principal, operation op,
              pattern_type p = pattern_type::literal, std::string host = "*") {
  return {t, std::move(name), p, std::move(principal), std::move(host), op, permission::allow};
}

binding deny(resource_type t, std::string name, std::string principal, operation op,
             pattern_type p = pattern_type::literal, std::string host = "*") {
  return {t, std::move(name), p, std::move(principal), std::move(host), op, permission::deny};
}

requester user(std::string name, std::string host = "10.0.0.1") {
  return {"User:" + std::move(name), std::move(host), authentication::authenticated};
}

requester anonymous(std::string host = "10.0.0.1") { return {"User:ANONYMOUS", std::move(host), authentication::none}; }

constexpr auto ok = decision::allowed;
constexpr auto no = decision::denied;
constexpr auto topic = resource_type::topic;

TEST(AclAuthorizer, NoBindingsAllowsUnauthenticatedAndDeniesAuthenticatedByDefault) {
  authorizer a;
  EXPECT_EQ(a.authorize(anonymous(), operation::write, topic, "t"), ok);
  EXPECT_EQ(a.authorize(user("alice"), operation::write, topic, "t"), no);
  EXPECT_EQ(a.authorize_any(anonymous(), operation::write, topic), ok);
  EXPECT_EQ(a.authorize_any(user("alice"), operation::write, topic), no);
}

TEST(AclAuthorizer, NoAclRuleAllowAndDeny) {
  authorizer open({{}, no_acl_rule::allow});
  EXPECT_EQ(open.authorize(user("alice"), operation::read, topic, "t"), ok);
  EXPECT_EQ(open.authorize(anonymous(), operation::read, topic, "t"), ok);
  authorizer closed({{}, no_acl_rule::deny});
  EXPECT_EQ(closed.authorize(user("alice"), operation::read, topic, "t"), no);
  EXPECT_EQ(closed.authorize(anonymous(), operation::read, topic, "t"), no);
}

TEST(AclAuthorizer, SuperUserIsAllowedEverythingEvenWhenDenied) {
  authorizer a({{"User:admin"}, no_acl_rule::deny});
  a.set_bindings({deny(topic, "*", "User:*", operation::all)});
  EXPECT_EQ(a.authorize(user("admin"), operation::remove, topic, "t"), ok);
  EXPECT_EQ(a.authorize(user("admin"), operation::alter, resource_type::cluster, "kafka-cluster"), ok);
  EXPECT_EQ(a.authorize_any(user("admin"), operation::write, topic), ok);
  EXPECT_EQ(a.authorize(user("alice"), operation::read, topic, "t"), no);
}

TEST(AclAuthorizer, ResourceWithAclsDeniesOthersEvenUnauthenticated) {
  authorizer a;  // allow_unauthenticated
  a.set_bindings({allow(topic, "t", "User:alice", operation::read)});
  EXPECT_EQ(a.authorize(user("alice"), operation::read, topic, "t"), ok);
  EXPECT_EQ(a.authorize(user("bob"), operation::read, topic, "t"), no);
  EXPECT_EQ(a.authorize(anonymous(), operation::read, topic, "t"), no);
  // Another topic has no ACLs: the no-ACL rule decides there.
  EXPECT_EQ(a.authorize(anonymous(), operation::read, topic, "u"), ok);
  EXPECT_EQ(a.authorize(user("bob"), operation::read, topic, "u"), no);
  // Same name, other resource type: no ACLs there.
  EXPECT_EQ(a.authorize(anonymous(), operation::read, resource_type::group, "t"), ok);
}

TEST(AclAuthorizer, AllowGrantsOnlyItsOperationAndTheImpliedOnes) {
  authorizer a;
  a.set_bindings({allow(topic, "t", "User:alice", operation::read)});
  EXPECT_EQ(a.authorize(user("alice"), operation::describe, topic, "t"), ok);
  EXPECT_EQ(a.authorize(user("alice"), operation::write, topic, "t"), no);
  EXPECT_EQ(a.authorize(user("alice"), operation::describe_configs, topic, "t"), no);
}

TEST(AclAuthorizer, ImpliedOperationsTable) {
  const operation every[] = {operation::all,   operation::read,          operation::write,
                             operation::create, operation::remove,       operation::alter,
                             operation::describe, operation::cluster_action, operation::describe_configs,
                             operation::alter_configs, operation::idempotent_write};
  for (operation granted : every) {
    for (operation wanted : every) {
      if (wanted == operation::all) continue;
      bool expected = granted == wanted || granted == operation::all;
      if (wanted == operation::describe) {
        expected = expected || granted == operation::read || granted == operation::write ||
                   granted == operation::remove || granted == operation::alter;
      }
      if (wanted == operation::describe_configs) expected = expected || granted == operation::alter_configs;
      EXPECT_EQ(implies(granted, wanted), expected) << to_string(granted) << " -> " << to_string(wanted);
      authorizer a;
      a.set_bindings({allow(topic, "t", "User:alice", granted)});
      EXPECT_EQ(a.authorize(user("alice"), wanted, topic, "t"), expected ? ok : no)
          << to_string(granted) << " -> " << to_string(wanted);
    }
  }
}

TEST(AclAuthorizer, DenyWinsOverAllow) {
  authorizer a;
  a.set_bindings({allow(topic, "t", "User:alice", operation::all), deny(topic, "t", "User:alice", operation::write)});
  EXPECT_EQ(a.authorize(user("alice"), operation::write, topic, "t"), no);
  EXPECT_EQ(a.authorize(user("alice"), operation::read, topic, "t"), ok);
  // A DENY of WRITE does not deny DESCRIBE (implication only widens ALLOW).
  EXPECT_EQ(a.authorize(user("alice"), operation::describe, topic, "t"), ok);
}

TEST(AclAuthorizer, DenyAllDeniesEveryOperation) {
  authorizer a;
  a.set_bindings({allow(topic, "t", "User:alice", operation::all), deny(topic, "t", "User:alice", operation::all)});
  EXPECT_EQ(a.authorize(user("alice"), operation::describe, topic, "t"), no);
  EXPECT_EQ(a.authorize(user("alice"), operation::read, topic, "t"), no);
}

TEST(AclAuthorizer, WildcardResourceAndPrincipal) {
  authorizer a;
  a.set_bindings({allow(topic, "*", "User:*", operation::read)});
  EXPECT_EQ(a.authorize(user("anyone"), operation::read, topic, "whatever"), ok);
  EXPECT_EQ(a.authorize(anonymous(), operation::read, topic, "x"), ok);  // ANONYMOUS is a User
  EXPECT_EQ(a.authorize(user("anyone"), operation::write, topic, "whatever"), no);
  // A DENY on the wildcard principal denies a named user too.
  a.set_bindings({allow(topic, "t", "User:alice", operation::read), deny(topic, "*", "User:*", operation::read)});
  EXPECT_EQ(a.authorize(user("alice"), operation::read, topic, "t"), no);
}

TEST(AclAuthorizer, LiteralStarIsTheWildcardButPrefixedStarIsAPrefix) {
  authorizer a;
  a.set_bindings({allow(topic, "*", "User:alice", operation::read, pattern_type::prefixed)});
  // PREFIXED "*" matches names starting with '*', not every name.
  EXPECT_EQ(a.authorize(user("alice"), operation::read, topic, "orders"), no);
  EXPECT_EQ(a.authorize(user("alice"), operation::read, topic, "*x"), ok);
}

TEST(AclAuthorizer, PrefixedPatterns) {
  authorizer a;
  a.set_bindings({allow(topic, "orders-", "User:alice", operation::write, pattern_type::prefixed),
                  deny(topic, "orders-secret", "User:alice", operation::write, pattern_type::prefixed)});
  EXPECT_EQ(a.authorize(user("alice"), operation::write, topic, "orders-eu"), ok);
  EXPECT_EQ(a.authorize(user("alice"), operation::write, topic, "orders-"), ok);
  EXPECT_EQ(a.authorize(user("alice"), operation::write, topic, "orders-secret-1"), no);
  EXPECT_EQ(a.authorize(user("alice"), operation::write, topic, "order"), no);  // the no-ACL rule: authenticated
  EXPECT_EQ(a.authorize(anonymous(), operation::write, topic, "order"), ok);    // no ACL on "order"
  EXPECT_EQ(a.authorize(anonymous(), operation::write, topic, "orders-eu"), no);  // has ACLs
}

TEST(AclAuthorizer, HostMatching) {
  authorizer a;
  a.set_bindings({allow(topic, "t", "User:alice", operation::read, pattern_type::literal, "10.0.0.1"),
                  deny(topic, "t", "User:alice", operation::read, pattern_type::literal, "10.0.0.9")});
  EXPECT_EQ(a.authorize(user("alice", "10.0.0.1"), operation::read, topic, "t"), ok);
  EXPECT_EQ(a.authorize(user("alice", "10.0.0.2"), operation::read, topic, "t"), no);
  EXPECT_EQ(a.authorize(user("alice", "10.0.0.9"), operation::read, topic, "t"), no);
}

TEST(AclAuthorizer, PrincipalTypeMustMatchForTheWildcard) {
  authorizer a;
  a.set_bindings({allow(topic, "t", "User:*", operation::read)});
  EXPECT_EQ(a.authorize({"Group:ops", "10.0.0.1", authentication::authenticated}, operation::read, topic, "t"), no);
}

TEST(AclAuthorizer, ClusterResource) {
  authorizer a;
  a.set_bindings({allow(resource_type::cluster, "kafka-cluster", "User:ops", operation::alter)});
  EXPECT_EQ(a.authorize(user("ops"), operation::alter, resource_type::cluster, "kafka-cluster"), ok);
  EXPECT_EQ(a.authorize(user("ops"), operation::describe, resource_type::cluster, "kafka-cluster"), ok);
  EXPECT_EQ(a.authorize(user("ops"), operation::create, resource_type::cluster, "kafka-cluster"), no);
  EXPECT_EQ(a.authorize(anonymous(), operation::alter, resource_type::cluster, "kafka-cluster"), no);
}

requester on_inter_broker_listener(requester who) {
  who.listener = listener_role::inter_broker;
  return who;
}

// WriteTxnMarkers' CLUSTER_ACTION: the brokers' own requests on the inter-broker listener pass
// whatever the ACLs and the no-ACL rule say; on any other listener it is an ordinary operation.
TEST(AclAuthorizer, ClusterActionIsGrantedOnTheInterBrokerListenerOnly) {
  constexpr auto cluster = resource_type::cluster;
  constexpr std::string_view name = cluster_resource_name;
  authorizer a({{"User:admin"}, no_acl_rule::deny});
  a.set_bindings({allow(cluster, std::string(name), "User:ops", operation::alter),
                  deny(cluster, std::string(name), "User:*", operation::cluster_action)});
  EXPECT_EQ(a.authorize(on_inter_broker_listener(anonymous()), operation::cluster_action, cluster, name), ok);
  EXPECT_EQ(a.authorize(anonymous(), operation::cluster_action, cluster, name), no);
  EXPECT_EQ(a.authorize(user("ops"), operation::cluster_action, cluster, name), no);  // ALTER does not imply it
  EXPECT_EQ(a.authorize(user("admin"), operation::cluster_action, cluster, name), ok);
  // Only CLUSTER_ACTION on the cluster: the inter-broker listener is no super user.
  EXPECT_EQ(a.authorize(on_inter_broker_listener(anonymous()), operation::alter, cluster, name), no);
  EXPECT_EQ(a.authorize(on_inter_broker_listener(anonymous()), operation::write, topic, "t"), no);
  EXPECT_EQ(a.authorize(on_inter_broker_listener(anonymous()), operation::cluster_action, topic, "t"), no);

  authorizer by_acl({{}, no_acl_rule::deny});
  by_acl.set_bindings({allow(cluster, std::string(name), "User:tool", operation::cluster_action)});
  EXPECT_EQ(by_acl.authorize(user("tool"), operation::cluster_action, cluster, name), ok);
  EXPECT_EQ(by_acl.authorize(user("alice"), operation::cluster_action, cluster, name), no);
  // Without bindings the default rule lets unauthenticated clients through, as for every operation.
  authorizer by_default;
  EXPECT_EQ(by_default.authorize(anonymous(), operation::cluster_action, cluster, name), ok);
  EXPECT_EQ(by_default.authorize(user("alice"), operation::cluster_action, cluster, name), no);
}

TEST(AclAuthorizer, AuthorizeAnyByResourceType) {
  authorizer a;
  a.set_bindings({allow(topic, "t", "User:alice", operation::write)});
  EXPECT_EQ(a.authorize_any(user("alice"), operation::write, topic), ok);
  EXPECT_EQ(a.authorize_any(user("alice"), operation::read, topic), no);
  EXPECT_EQ(a.authorize_any(user("bob"), operation::write, topic), no);
  // Bindings of the type exist, none for ANONYMOUS: denied (not the no-ACL rule).
  EXPECT_EQ(a.authorize_any(anonymous(), operation::write, topic), no);
  // A DENY on the same literal name cancels it; one on another name does not.
  a.set_bindings({allow(topic, "t", "User:alice", operation::write), deny(topic, "u", "User:alice", operation::write)});
  EXPECT_EQ(a.authorize_any(user("alice"), operation::write, topic), ok);
  a.set_bindings({allow(topic, "t", "User:alice", operation::write), deny(topic, "t", "User:alice", operation::write)});
  EXPECT_EQ(a.authorize_any(user("alice"), operation::write, topic), no);
  // A DENY prefix covering the allowed name cancels it; a DENY of the literal "*" denies all.
  a.set_bindings({allow(topic, "t1", "User:alice", operation::write),
                  deny(topic, "t", "User:alice", operation::write, pattern_type::prefixed)});
  EXPECT_EQ(a.authorize_any(user("alice"), operation::write, topic), no);
  a.set_bindings({allow(topic, "t1", "User:alice", operation::write), deny(topic, "*", "User:*", operation::write)});
  EXPECT_EQ(a.authorize_any(user("alice"), operation::write, topic), no);
}

TEST(AclTypes, ValidateBindings) {
  EXPECT_TRUE(validate(allow(topic, "t", "User:alice", operation::read)));
  EXPECT_TRUE(validate(allow(topic, "t", "User:alice", operation::read, pattern_type::prefixed, "192.168.1.20")));
  EXPECT_TRUE(validate(allow(topic, "t", "User:alice", operation::read, pattern_type::literal, "::1")));
  EXPECT_FALSE(validate(allow(resource_type::any, "t", "User:alice", operation::read)));
  EXPECT_FALSE(validate(allow(resource_type::delegation_token, "t", "User:alice", operation::read)));
  EXPECT_FALSE(validate(allow(topic, "t", "User:alice", operation::read, pattern_type::match)));
  EXPECT_FALSE(validate(allow(topic, "t", "User:alice", operation::any)));
  EXPECT_FALSE(validate(allow(topic, "", "User:alice", operation::read)));
  EXPECT_FALSE(validate(allow(topic, "t", "alice", operation::read)));
  EXPECT_FALSE(validate(allow(topic, "t", "User:", operation::read)));
  EXPECT_FALSE(validate(allow(topic, "t", "User:alice", operation::read, pattern_type::literal, "host.example")));
  EXPECT_FALSE(validate(allow(topic, "t", "User:alice", operation::read, pattern_type::literal, "1.2.3.256")));
  EXPECT_FALSE(validate(allow(topic, "t", "User:alice", operation::read, pattern_type::literal, "1.2.3")));
  EXPECT_FALSE(validate(allow(resource_type::cluster, "other", "User:alice", operation::alter)));
  EXPECT_TRUE(validate(allow(resource_type::cluster, "kafka-cluster", "User:alice", operation::alter)));
  binding b = allow(topic, "t", "User:alice", operation::read);
  b.perm = permission::any;
  EXPECT_FALSE(validate(b));
  EXPECT_FALSE(validate(allow(topic, std::string(256, 'x'), "User:alice", operation::read)));
}

TEST(AclTypes, CodesRoundTripAndRefuseUnknown) {
  EXPECT_EQ(to_resource_type(2), resource_type::topic);
  EXPECT_EQ(to_resource_type(8), std::nullopt);
  EXPECT_EQ(to_resource_type(-1), std::nullopt);
  EXPECT_EQ(to_pattern_type(4), pattern_type::prefixed);
  EXPECT_EQ(to_pattern_type(5), std::nullopt);
  EXPECT_EQ(to_operation(12), operation::idempotent_write);
  EXPECT_EQ(to_operation(13), std::nullopt);
  EXPECT_EQ(to_permission(3), permission::allow);
  EXPECT_EQ(to_permission(4), std::nullopt);
}

TEST(AclTypes, FilterMatching) {
  const binding lit = allow(topic, "orders", "User:alice", operation::read);
  const binding pre = allow(topic, "ord", "User:bob", operation::write, pattern_type::prefixed);
  const binding star = deny(topic, "*", "User:*", operation::all);
  const binding grp = allow(resource_type::group, "orders", "User:alice", operation::read);

  binding_filter any;
  for (const auto& b : {lit, pre, star, grp}) EXPECT_TRUE(matches(any, b));

  binding_filter by_type{.type = topic};
  EXPECT_TRUE(matches(by_type, lit));
  EXPECT_FALSE(matches(by_type, grp));

  // LITERAL: exact name and pattern type.
  binding_filter literal{.type = topic, .name = "orders", .pattern = pattern_type::literal};
  EXPECT_TRUE(matches(literal, lit));
  EXPECT_FALSE(matches(literal, pre));
  EXPECT_FALSE(matches(literal, star));

  // ANY with a name: the name as written, any pattern type.
  binding_filter any_pattern{.type = topic, .name = "ord", .pattern = pattern_type::any};
  EXPECT_TRUE(matches(any_pattern, pre));
  EXPECT_FALSE(matches(any_pattern, lit));

  // MATCH: everything that applies to "orders".
  binding_filter match{.type = topic, .name = "orders", .pattern = pattern_type::match};
  EXPECT_TRUE(matches(match, lit));
  EXPECT_TRUE(matches(match, pre));
  EXPECT_TRUE(matches(match, star));
  EXPECT_FALSE(matches(match, grp));

  // PREFIXED without a name: every prefixed binding.
  binding_filter prefixed{.pattern = pattern_type::prefixed};
  EXPECT_TRUE(matches(prefixed, pre));
  EXPECT_FALSE(matches(prefixed, lit));

  binding_filter principal{.principal = "User:alice"};
  EXPECT_TRUE(matches(principal, lit));
  EXPECT_FALSE(matches(principal, pre));
  binding_filter host{.host = "10.0.0.1"};
  EXPECT_FALSE(matches(host, lit));
  binding_filter op{.op = operation::write};
  EXPECT_TRUE(matches(op, pre));
  EXPECT_FALSE(matches(op, star));  // filters compare the operation as stored (ALL is not WRITE)
  binding_filter perm{.perm = permission::deny};
  EXPECT_TRUE(matches(perm, star));
  EXPECT_FALSE(matches(perm, lit));

  EXPECT_FALSE(validate(binding_filter{.op = operation::unknown}));
  EXPECT_TRUE(validate(binding_filter{}));
}

TEST(AclAuthorizer, NoAclRuleParsing) {
  EXPECT_EQ(parse_no_acl_rule("allow_unauthenticated"), no_acl_rule::allow_unauthenticated);
  EXPECT_EQ(parse_no_acl_rule("allow"), no_acl_rule::allow);
  EXPECT_EQ(parse_no_acl_rule("deny"), no_acl_rule::deny);
  EXPECT_EQ(parse_no_acl_rule("yes"), std::nullopt);
  for (auto r : {no_acl_rule::allow_unauthenticated, no_acl_rule::allow, no_acl_rule::deny})
    EXPECT_EQ(parse_no_acl_rule(to_string(r)), r);
}

}  // namespace
}  // namespace chronik::kafka::acl
