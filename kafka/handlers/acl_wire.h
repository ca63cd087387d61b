// The ACL APIs' wire fields as kafka/acl types, and their outcomes as Kafka error codes, shared by
// CreateAcls, DescribeAcls and DeleteAcls (docs/security.md "Authorization: ACLs").
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "kafka/acl/acl_types.h"
#include "kafka/handlers/broker_context.h"
#include "kafka/protocol/error_code.h"

namespace chronik::kafka {

// A binding to store, from CreateAcls' fields: every code known and the binding valid
// (acl::validate); else the message for INVALID_REQUEST.
inline std::expected<acl::binding, std::string> binding_of(std::int8_t type, std::string name, std::int8_t pattern,
                                                           std::string principal, std::string host, std::int8_t op,
                                                           std::int8_t perm) {
  const auto t = acl::to_resource_type(type);
  const auto p = acl::to_pattern_type(pattern);
  const auto o = acl::to_operation(op);
  const auto m = acl::to_permission(perm);
  if (!t || !p || !o || !m) return std::unexpected(std::string("unknown resource, pattern, operation or permission code"));
  acl::binding b{*t, std::move(name), *p, std::move(principal), std::move(host), *o, *m};
  if (auto ok = acl::validate(b); !ok) return std::unexpected(ok.error());
  return b;
}

// A DescribeAcls/DeleteAcls filter from its fields; else the message for INVALID_REQUEST.
inline std::expected<acl::binding_filter, std::string> filter_of(std::int8_t type, std::optional<std::string> name,
                                                                 std::int8_t pattern,
                                                                 std::optional<std::string> principal,
                                                                 std::optional<std::string> host, std::int8_t op,
                                                                 std::int8_t perm) {
  const auto t = acl::to_resource_type(type);
  const auto p = acl::to_pattern_type(pattern);
  const auto o = acl::to_operation(op);
  const auto m = acl::to_permission(perm);
  if (!t || !p || !o || !m) return std::unexpected(std::string("unknown resource, pattern, operation or permission code"));
  acl::binding_filter f{*t, std::move(name), *p, std::move(principal), std::move(host), *o, *m};
  if (auto ok = acl::validate(f); !ok) return std::unexpected(ok.error());
  return f;
}

constexpr std::int8_t code_of(acl::resource_type t) { return static_cast<std::int8_t>(t); }
constexpr std::int8_t code_of(acl::pattern_type p) { return static_cast<std::int8_t>(p); }
constexpr std::int8_t code_of(acl::operation o) { return static_cast<std::int8_t>(o); }
constexpr std::int8_t code_of(acl::permission p) { return static_cast<std::int8_t>(p); }

constexpr error_code to_error_code(acl_outcome o) {
  switch (o) {
    case acl_outcome::done: return error_code::none;
    case acl_outcome::invalid: return error_code::invalid_request;
    case acl_outcome::not_controller: return error_code::not_controller;
    case acl_outcome::timed_out: return error_code::request_timed_out;
  }
  return error_code::unknown_server_error;
}

// CreateAcls and DeleteAcls carry no timeout: they wait this long for `__meta`, inside the admin
// clients' default request timeout of 30 s.
inline constexpr std::chrono::milliseconds acl_change_timeout{25'000};

}  // namespace chronik::kafka
