// SCRAM credentials in `__meta` (docs/security.md "Client authentication: SASL"): the
// MetaAlterScramCredentials command and its snapshot form. Only salted, hashed keys are stored
// (RFC 5802 section 3: salt, iteration count, StoredKey, ServerKey), never a password.
//
// The bounds are metadata's own replicated rules; they equal kafka/sasl/scram_credential.h's
// (tests/unit/meta_scram_test.cc checks that), so a credential the broker accepts is one `__meta`
// accepts.
#pragma once

#include <expected>

#include "metadata/meta_state.h"

namespace chronik::proto {
class MetaAlterScramCredentials;
class MetaScramUser;
}  // namespace chronik::proto

namespace chronik::metadata::scram {

// AlterUserScramCredentials for one user: its upsertions and deletions, all or none. A deletion
// of a mechanism the user has no credential for refuses the record (unknown_scram_credential); a
// mechanism named twice, or a credential out of shape, is invalid_scram_credential.
std::expected<apply_result, meta_errc> alter(meta_data& d, const proto::MetaAlterScramCredentials& c);

void encode(const std::string& user, const std::map<std::int8_t, scram_record>& creds, proto::MetaScramUser* out);
// nullopt: out of shape (the whole snapshot is then refused).
std::optional<std::pair<std::string, std::map<std::int8_t, scram_record>>> decode(const proto::MetaScramUser& m);

}  // namespace chronik::metadata::scram
