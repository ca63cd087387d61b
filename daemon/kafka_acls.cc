// The broker's ACLs (docs/security.md "Authorization: ACLs"): the authorizer the handlers ask,
// kept equal to the bindings committed in `__meta`, and CreateAcls/DeleteAcls as `__meta` records.
// Every broker applies the same records, so every broker decides from the same set; a change is
// answered once applied on the broker that proposed it (and a DescribeAcls on any broker catches
// up first).
#include "daemon/kafka_service.h"
#include "metadata/meta_commands.h"

namespace chronik::daemon {
namespace {

metadata::acl_record record_of(const kafka::acl::binding& b) {
  return {static_cast<std::int8_t>(b.type), b.name, static_cast<std::int8_t>(b.pattern), b.principal, b.host,
          static_cast<std::int8_t>(b.op), static_cast<std::int8_t>(b.perm)};
}

// `__meta` holds only codes in the stored ranges (metadata/meta_acls.cc), which are all valid enums.
kafka::acl::binding binding_of(const metadata::acl_record& r) {
  return {static_cast<kafka::acl::resource_type>(r.resource_type), r.resource_name,
          static_cast<kafka::acl::pattern_type>(r.pattern_type),   r.principal,
          r.host,                                                   static_cast<kafka::acl::operation>(r.operation),
          static_cast<kafka::acl::permission>(r.permission)};
}

std::vector<metadata::acl_record> records_of(const std::vector<kafka::acl::binding>& bindings) {
  std::vector<metadata::acl_record> out;
  out.reserve(bindings.size());
  for (const auto& b : bindings) out.push_back(record_of(b));
  return out;
}

kafka::acl_outcome acl_outcome_of(kafka::topic_outcome o) {
  switch (o) {
    case kafka::topic_outcome::done: return kafka::acl_outcome::done;
    case kafka::topic_outcome::not_controller: return kafka::acl_outcome::not_controller;
    case kafka::topic_outcome::timed_out: return kafka::acl_outcome::timed_out;
    default: return kafka::acl_outcome::invalid;
  }
}

}  // namespace

const kafka::acl::authorizer& kafka_service::authorizer() const {
  if (!authorizer_) authorizer_.emplace(kafka::acl::authorizer_config{cfg_.super_users, cfg_.no_acl_found});
  const metadata::meta_state& state = meta_.state();
  if (state.applied_index() != acls_checked_at_) {
    acls_checked_at_ = state.applied_index();
    if (state.acls() != acls_held_) {
      acls_held_ = state.acls();
      std::vector<kafka::acl::binding> bindings;
      bindings.reserve(acls_held_.size());
      for (const auto& r : acls_held_) bindings.push_back(binding_of(r));
      authorizer_->set_bindings(bindings);
      log_->info("kafka: {} ACL bindings in effect", bindings.size());
    }
  }
  return *authorizer_;
}

std::string_view kafka_service::inter_broker_listener() const {
  return cfg_.kafka_listeners.resolved[cfg_.kafka_listeners.inter_broker].name;
}

void kafka_service::create_acls(std::vector<kafka::acl::binding> bindings, std::chrono::milliseconds timeout,
                                acls_done done) {
  propose_acls(metadata::commands::create_acls(records_of(bindings)), timeout, std::move(done));
}

void kafka_service::delete_acls(std::vector<kafka::acl::binding> bindings, std::chrono::milliseconds timeout,
                                acls_done done) {
  propose_acls(metadata::commands::delete_acls(records_of(bindings)), timeout, std::move(done));
}

// On the topic requests' path (propose_for): answered when the very bytes apply here, refused or
// timed out.
void kafka_service::propose_acls(std::string command, std::chrono::milliseconds timeout, acls_done done) {
  auto req = std::make_shared<request_state>();
  req->results.push_back({"", kafka::topic_outcome::done, {}});
  req->open = 1;
  req->done = [done = std::move(done)](std::vector<kafka::topic_result> results) {
    done(acl_outcome_of(results.front().outcome), std::move(results.front().message));
  };
  propose_for(req, 0, std::move(command), timeout);
}

}  // namespace chronik::daemon
