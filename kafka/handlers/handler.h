// One Kafka API handler per file in kafka/handlers/ (docs/design.md "Handlers"): each declares the
// versions it supports, which ApiVersions advertises, and answers through a responder exactly once,
// now or later. The dispatcher (dispatcher.h) decodes the request header, checks the version, and
// wraps the body a handler writes in the right response header.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "kafka/handlers/broker_context.h"
#include "kafka/handlers/request_metrics.h"
#include "kafka/protocol/api.h"
#include "kafka/protocol/error_code.h"
#include "kafka/protocol/header.h"
#include "kafka/protocol/wire.h"
#include "kafka/server/request_handler.h"

namespace chronik::kafka {

// How a handler answers. Copyable; the first answer wins, later ones are ignored (the server's
// connection also keeps only the first).
class responder {
 public:
  // `client_host` is the client's address as Kafka reports it ("/127.0.0.1"; DescribeGroups);
  // `client` is the connection's identity (its listener, security protocol and principal).
  // `metrics`: where the answer is counted (the dispatcher's; none in tests that build one by hand).
  // Shared, not borrowed: a handler may answer after the dispatcher that called it is gone (node
  // shutdown, a test's dispatcher on the stack), and the count must not touch freed memory.
  responder(const request_header& h, reply_fn reply, std::string client_host = {}, client_info client = {},
            std::shared_ptr<request_metrics> metrics = nullptr);
  // Sends `body` (the encoded response body of the request's version) after the response header.
  void respond(writer body) const;
  // No response on the wire (Produce with acks=0).
  void no_response() const;
  // The request cannot be answered (a malformed body): the connection closes with `why` logged.
  void close(std::string why) const;
  // The request's outcome for /metrics (request_metrics.h): the first error other than NONE that
  // the handler notes wins; NONE once noted counts the request as a success.
  void note_error(error_code e) const;
  const request_header& header() const { return request_->header; }
  const std::string& client_host() const { return request_->client_host; }
  const client_info& client() const { return request_->client; }
  // The listener the request arrived on: Metadata, FindCoordinator and DescribeCluster answer
  // each broker's endpoint of this listener (kafka/handlers/listener_endpoints.h).
  const std::string& listener() const { return request_->client.listener; }

 private:
  struct request_context {
    request_header header;
    std::string client_host;
    client_info client;
    std::shared_ptr<request_metrics> metrics;
    std::chrono::steady_clock::time_point start{};
    // Shared by the copies of one responder, all on the io thread.
    mutable std::int32_t noted = request_metrics::unrecorded;
    mutable bool counted = false;
  };
  void count(std::int32_t outcome) const;
  std::shared_ptr<const request_context> request_;  // one allocation, shared by the copies
  reply_fn reply_;
};

struct api_handler {
  api_key key = api_key::api_versions;
  version_range versions;
  // `body` starts at the request body. A decoding error is answered by out.close(...).
  void (*handle)(broker_context& ctx, reader& body, const responder& out) = nullptr;
};

// Every handler, ascending by api key (ApiVersions lists them).
std::span<const api_handler> all_handlers();

// The handlers, one per file.
extern const api_handler api_versions_handler;
extern const api_handler metadata_handler;
extern const api_handler create_topics_handler;
extern const api_handler produce_handler;
extern const api_handler fetch_handler;
extern const api_handler list_offsets_handler;
extern const api_handler offset_for_leader_epoch_handler;
extern const api_handler delete_topics_handler;
extern const api_handler delete_records_handler;
extern const api_handler describe_configs_handler;
extern const api_handler elect_leaders_handler;
extern const api_handler describe_quorum_handler;
extern const api_handler describe_log_dirs_handler;
extern const api_handler alter_configs_handler;
extern const api_handler incremental_alter_configs_handler;
extern const api_handler offset_commit_handler;
extern const api_handler offset_fetch_handler;
extern const api_handler find_coordinator_handler;
extern const api_handler join_group_handler;
extern const api_handler heartbeat_handler;
extern const api_handler leave_group_handler;
extern const api_handler sync_group_handler;
extern const api_handler describe_groups_handler;
extern const api_handler list_groups_handler;
extern const api_handler delete_groups_handler;
extern const api_handler offset_delete_handler;
extern const api_handler describe_cluster_handler;
extern const api_handler create_partitions_handler;
extern const api_handler alter_partition_reassignments_handler;
extern const api_handler list_partition_reassignments_handler;
extern const api_handler init_producer_id_handler;
extern const api_handler describe_producers_handler;
extern const api_handler write_txn_markers_handler;
extern const api_handler add_partitions_to_txn_handler;
extern const api_handler add_offsets_to_txn_handler;
extern const api_handler end_txn_handler;
extern const api_handler describe_transactions_handler;
extern const api_handler list_transactions_handler;
extern const api_handler txn_offset_commit_handler;
extern const api_handler describe_acls_handler;
extern const api_handler create_acls_handler;
extern const api_handler delete_acls_handler;
extern const api_handler sasl_handshake_handler;
extern const api_handler sasl_authenticate_handler;
extern const api_handler describe_user_scram_credentials_handler;
extern const api_handler alter_user_scram_credentials_handler;

}  // namespace chronik::kafka
