#include "kafka/handlers/dispatcher.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include "kafka/handlers/handler.h"
#include "kafka/handlers/sasl_gate.h"
#include "kafka/protocol/messages/api_versions.h"

namespace chronik::kafka {
namespace {

constexpr std::array handlers = {  // element count deduced: add a handler by adding its line
    &delete_topics_handler,
    &delete_records_handler,
    &describe_configs_handler,
    &alter_configs_handler,
    &incremental_alter_configs_handler,
    &metadata_handler,
    &api_versions_handler,
    &create_topics_handler,
    &produce_handler,
    &fetch_handler,
    &list_offsets_handler,
    &offset_for_leader_epoch_handler,
    &offset_commit_handler,
    &offset_fetch_handler,
    &find_coordinator_handler,
    &join_group_handler,
    &heartbeat_handler,
    &leave_group_handler,
    &sync_group_handler,
    &describe_groups_handler,
    &list_groups_handler,
    &delete_groups_handler,
    &offset_delete_handler,
    &describe_cluster_handler,
    &create_partitions_handler,
    &elect_leaders_handler,
    &describe_quorum_handler,
    &describe_log_dirs_handler,
    &alter_partition_reassignments_handler,
    &list_partition_reassignments_handler,
    &init_producer_id_handler,
    &describe_producers_handler,
    &write_txn_markers_handler,
    &add_partitions_to_txn_handler,
    &add_offsets_to_txn_handler,
    &end_txn_handler,
    &describe_transactions_handler,
    &list_transactions_handler,
    &txn_offset_commit_handler,
    &describe_acls_handler,
    &create_acls_handler,
    &delete_acls_handler,
    &sasl_handshake_handler,
    &sasl_authenticate_handler,
    &describe_user_scram_credentials_handler,
    &alter_user_scram_credentials_handler,
};

const api_handler* find_handler(api_key key) {
  for (const auto* h : handlers)
    if (h->key == key) return h;
  return nullptr;
}

// Kafka reports a client's host as Java prints an InetAddress: "/" and the address, no port.
std::string kafka_client_host(std::string_view peer) {
  const std::size_t colon = peer.rfind(':');
  std::string_view host = colon == std::string_view::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return "/" + std::string(host);
}

}  // namespace

std::span<const api_handler> all_handlers() {
  static const auto sorted = [] {
    std::array<api_handler, handlers.size()> out{};
    for (std::size_t i = 0; i < handlers.size(); ++i) out[i] = *handlers[i];
    std::ranges::sort(out, {}, [](const api_handler& h) { return static_cast<std::int16_t>(h.key); });
    return out;
  }();
  return sorted;
}

responder::responder(const request_header& h, reply_fn reply, std::string client_host, client_info client,
                     std::shared_ptr<request_metrics> metrics)
    : request_(std::make_shared<const request_context>(request_context{
          h, std::move(client_host), std::move(client), metrics,
          metrics != nullptr ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{}})),
      reply_(std::move(reply)) {}

void responder::note_error(error_code e) const {
  const auto code = static_cast<std::int32_t>(e);
  auto& noted = request_->noted;
  if (noted == request_metrics::unrecorded || (noted == 0 && code != 0)) noted = code;
}

void responder::count(std::int32_t outcome) const {
  if (request_->metrics == nullptr || std::exchange(request_->counted, true)) return;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - request_->start);
  request_->metrics->record(request_->header.key, outcome, static_cast<std::uint64_t>(us.count()));
}

void responder::respond(writer body) const {
  count(request_->noted);
  writer head;
  encode_response_header(request_->header.correlation_id, request_->header.key, request_->header.api_version, head);
  auto out = handler_reply::respond(head.take(), body.take_chain());
  if (request_->metrics != nullptr) {
    request_->metrics->sent(out.prefix.size() + out.frame.size());
    request_->metrics->sent_by(request_->header.key, out.prefix.size() + out.frame.size());
  }
  reply_(std::move(out));
}

void responder::no_response() const {
  count(request_->noted);
  reply_(handler_reply::no_response());
}

void responder::close(std::string why) const {
  count(request_metrics::connection_closed);
  reply_(handler_reply::close_connection(std::move(why)));
}

std::unique_ptr<authenticator> dispatcher::new_authenticator(const client_info&) {
  return std::make_unique<sasl_gate>(ctx_, log_);
}

void dispatcher::handle(const client_info& client, std::string frame, reply_fn reply) {
  metrics_->received(frame.size());
  reader r(frame);
  auto header = decode_request_header(r);
  if (!header) {
    reply(handler_reply::close_connection("malformed request header: " + describe(header.error())));
    return;
  }
  metrics_->received_by(header->key, frame.size());
  const api_handler* h = find_handler(header->key);
  if (h == nullptr) {
    reply(handler_reply::close_connection("unsupported api key " + std::to_string(static_cast<int>(header->key))));
    return;
  }
  if (!h->versions.contains(header->api_version)) {
    if (header->key == api_key::api_versions) {
      // Answered in v0, which every client can read (KIP-511).
      api_versions_response resp;
      resp.error = error_code::unsupported_version;
      for (const auto& a : all_handlers()) resp.api_keys.push_back({a.key, a.versions.min, a.versions.max});
      request_header v0 = *header;
      v0.api_version = 0;
      writer body;
      encode_api_versions_response(resp, 0, body);
      responder(v0, std::move(reply)).respond(std::move(body));
      return;
    }
    reply(handler_reply::close_connection(std::string(to_string(header->key)) + " v" +
                                          std::to_string(header->api_version) + " is not supported"));
    return;
  }
  log_->trace("kafka: {} v{} from {} (client {})", to_string(header->key), header->api_version, client.peer,
              header->client_id.value_or(""));
  h->handle(ctx_, r, responder(*header, std::move(reply), kafka_client_host(client.peer), client, metrics_));
}

}  // namespace chronik::kafka
