// The `__meta` ACL records (docs/security.md "Authorization: ACLs"): CreateAcls and DeleteAcls as
// commands, and a binding's field rules, shared by the commands and snapshot restore. `__meta`
// checks ranges and sizes only; what the codes mean is kafka/acl's, which the broker checks before
// it proposes. Private to metadata/: it speaks Protobuf.
#pragma once

#include <expected>

#include "meta.pb.h"
#include "metadata/meta_state.h"

namespace chronik::metadata::acls {

// A binding whose codes are in Kafka's ranges for stored bindings (resource type TOPIC, GROUP,
// CLUSTER or TRANSACTIONAL_ID; pattern LITERAL or PREFIXED; a concrete operation; ALLOW or DENY)
// and whose strings are non-empty and bounded; else invalid_acl.
std::expected<acl_record, meta_errc> decode(const proto::MetaAclBinding& m);
void encode(const acl_record& a, proto::MetaAclBinding* out);

// Adds the bindings not present yet; all or none. unchanged when every one was present.
std::expected<apply_result, meta_errc> create(meta_data& d, const proto::MetaCreateAcls& c);
// Removes the bindings present; unchanged when none was.
std::expected<apply_result, meta_errc> remove(meta_data& d, const proto::MetaDeleteAcls& c);

}  // namespace chronik::metadata::acls
