// What the SCRAM handlers (Describe/AlterUserScramCredentials, KIP-554) and the SASL gate
// (sasl_gate.h) ask of the node about users, in broker_context's plain types: credentials live in
// `__meta` (metadata/meta_scram.h), and the daemon reads and proposes them
// (daemon/kafka_scram.cc). Outcomes are plain enums; scram_errors.h picks Kafka's error codes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kafka/sasl/scram_credential.h"

namespace chronik::kafka {

// One credential as DescribeUserScramCredentials shows it: the mechanism and its iterations,
// never the salt or the keys.
struct scram_credential_info {
  sasl::scram_mechanism mechanism = sasl::scram_mechanism::sha_512;
  std::int32_t iterations = 0;
};

struct scram_user_info {
  std::string user;
  std::vector<scram_credential_info> credentials;  // by mechanism id
};

// One user's part of an AlterUserScramCredentials request, checked by the handler (bounds,
// duplicates): credentials to set, already derived from the salted password, and mechanisms to
// delete. `__meta` applies it all or none.
struct scram_alteration {
  std::string user;
  std::vector<sasl::scram_credential> upsertions;
  std::vector<sasl::scram_mechanism> deletions;
};

enum class scram_outcome : std::uint8_t {
  done,
  unknown_credential,  // a deletion of a credential the user does not have
  invalid,             // `__meta` refused its shape (or the user limit)
  not_controller,      // this node cannot propose to `__meta` now
  timed_out,           // proposed, but not applied within the request's timeout
};

struct scram_result {
  scram_outcome outcome = scram_outcome::done;
  std::string message;
};

}  // namespace chronik::kafka
