// Produce (key 0), versions 3-9 (magic-v2 batches only): hands each partition's records to its
// local replica (kafka/partition/partition_replica.h), which proposes them to the partition's
// Raft group, and answers once every partition is acknowledged as acks asks (docs/design.md
// "acks"): acks=all at commit, acks=1 at the leader's fsync, acks=0 never.
//
// Authorization (Kafka's rules): a transactional produce needs WRITE on its transactional id, else
// the whole request is answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED; each topic needs WRITE, else
// its partitions are answered TOPIC_AUTHORIZATION_FAILED. Idempotent produce needs no more (since
// KIP-679 WRITE on the topic implies IDEMPOTENT_WRITE; InitProducerId checks it).
#include <algorithm>
#include <chrono>
#include <memory>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/partition_errors.h"
#include "kafka/protocol/messages/produce.h"
#include "kafka/protocol/record_batch.h"

namespace chronik::kafka {
namespace {

// Kafka's bound on request.timeout: a negative value means "do not wait".
constexpr std::int32_t max_timeout_ms = 300'000;

// One request: the response skeleton in request order, filled as partitions answer.
struct produce_state {
  produce_response resp;
  std::size_t open = 0;
  std::int16_t version = 0;
  bool no_acks = false;
  bool failed = false;  // some partition refused (acks=0 closes the connection then)
  responder out;
  explicit produce_state(responder r) : out(std::move(r)) {}

  void settle(produce_partition_response& slot, const std::expected<produce_ack, produce_error>& r) {
    if (r) {
      slot.base_offset = r->base_offset;
      slot.log_start_offset = r->log_start_offset;
      slot.log_append_time_ms = r->log_append_time_ms;
    } else {
      refuse(slot, r.error());
      failed = true;
    }
    if (--open == 0) finish();
  }

  // KIP-467: v8 names the refused record and says why; older clients do not know INVALID_RECORD
  // and get CORRUPT_MESSAGE, as Kafka's broker answers them.
  void refuse(produce_partition_response& slot, const produce_error& e) const {
    slot.error = to_error_code(e.code);
    if (version < 8) {
      if (slot.error == error_code::invalid_record) slot.error = error_code::corrupt_message;
      return;
    }
    if (!e.message.empty()) slot.error_message = e.message;
    if (e.log_start_offset >= 0) slot.log_start_offset = e.log_start_offset;
    if (e.record >= 0) slot.record_errors.push_back({e.record, e.message});
  }

  void finish() {
    if (no_acks) {
      // Kafka closes the connection when an acks=0 produce fails: the producer has no other way
      // to notice, and reconnecting refreshes its Metadata.
      if (failed) return out.close("Produce with acks=0 failed on a partition");
      return out.no_response();
    }
    for (const auto& t : resp.topics)
      for (const auto& p : t.partitions) out.note_error(p.error);
    writer w;
    encode_produce_response(resp, version, w);
    out.respond(std::move(w));
  }
};

// zstd came with Produce v7 (KIP-110): an older request carrying it is refused before the
// replica sees it. Only the headers are read; the replica checks the batches themselves.
bool carries_zstd(const std::optional<std::string>& records) {
  if (!records) return false;
  auto batches = split_record_batches(*records, crc_check::skip);
  if (!batches) return false;
  return std::ranges::any_of(*batches, [](const record_batch_view& b) {
    return b.header.compression() == compression_type::zstd;
  });
}

acks_mode to_acks(std::int16_t acks) {
  if (acks == 0) return acks_mode::none;
  if (acks == 1) return acks_mode::leader;
  return acks_mode::all;
}

void refuse_all(produce_response& resp, const produce_request& req, error_code e) {
  for (const auto& t : req.topics) {
    produce_topic_response tr{t.name, {}};
    for (const auto& p : t.partitions) {
      produce_partition_response pr;
      pr.index = p.index;
      pr.error = e;
      tr.partitions.push_back(pr);
    }
    resp.topics.push_back(std::move(tr));
  }
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_produce_request(body, version);
  if (!req) return out.close("Produce: " + describe(req.error()));

  auto st = std::make_shared<produce_state>(out);
  st->version = version;
  if (req->acks != 0 && req->acks != 1 && req->acks != -1) {
    refuse_all(st->resp, *req, error_code::invalid_required_acks);
    return st->finish();
  }
  st->no_acks = req->acks == 0;
  if (req->transactional_id &&
      !authorized_on_transactional_id(ctx, out, acl::operation::write, *req->transactional_id)) {
    refuse_all(st->resp, *req, error_code::transactional_id_authorization_failed);
    st->failed = true;
    return st->finish();
  }
  // The skeleton first, so callbacks that answer at once find their slots; the extra count keeps
  // the request open until every partition has been handed out.
  std::size_t partitions = 0;
  for (auto& t : req->topics) {
    produce_topic_response tr{t.name, {}};
    for (const auto& p : t.partitions) tr.partitions.push_back(produce_partition_response{.index = p.index});
    partitions += t.partitions.size();
    st->resp.topics.push_back(std::move(tr));
  }
  st->open = partitions + 1;

  partition_manager& mgr = ctx.partitions();
  const auto deadline = mgr.now() + std::chrono::milliseconds(std::clamp(req->timeout_ms, 0, max_timeout_ms));
  const acks_mode acks = to_acks(req->acks);
  for (std::size_t ti = 0; ti < req->topics.size(); ++ti) {
    auto& t = req->topics[ti];
    const bool allowed = authorized_on_topic(ctx, out, acl::operation::write, t.name);
    for (std::size_t pi = 0; pi < t.partitions.size(); ++pi) {
      auto& p = t.partitions[pi];
      auto& slot = st->resp.topics[ti].partitions[pi];
      if (!allowed) {
        slot.error = error_code::topic_authorization_failed;
        st->failed = true;
        --st->open;
        continue;
      }
      if (is_internal_topic(t.name)) {
        // Kafka's "Cannot append to internal topic": only the group coordinator writes there.
        slot.error = error_code::invalid_topic_exception;
        st->failed = true;
        --st->open;
        continue;
      }
      partition_replica* r = mgr.find(t.name, p.index);
      if (r == nullptr) {
        slot.error = missing_partition_error(ctx, t.name, p.index);
        st->failed = true;
        --st->open;
        continue;
      }
      if (version < 7 && carries_zstd(p.records)) {
        slot.error = error_code::unsupported_compression_type;
        st->failed = true;
        --st->open;
        continue;
      }
      // A null records field is not a batch: validation refuses it as corrupt.
      std::string records = p.records ? std::move(*p.records) : std::string();
      const auto settle = [st, &slot](const std::expected<produce_ack, produce_error>& res) { st->settle(slot, res); };
      // Cheap refusals first, so that nothing is looked into for a replica that cannot take it.
      if (auto ok = r->can_produce(records.size()); !ok) {
        settle(std::unexpected(produce_error(ok.error())));
        continue;
      }
      const batch_rules rules = r->produce_rules();
      // Validation may run on another thread (broker_context::validate); the replica is found
      // again afterwards, since it may have gone meanwhile.
      ctx.validate(std::move(records), rules,
                   [&ctx, settle, topic = t.name, index = p.index, acks, deadline](
                       std::string checked, std::expected<accepted_records, batch_rejection> res) {
                     if (!res) return settle(std::unexpected(partition_replica::refusal(res.error())));
                     partition_replica* now = ctx.partitions().find(topic, index);
                     if (now == nullptr) return settle(std::unexpected(produce_error(partition_errc::not_leader)));
                     now->propose_validated(std::move(checked), *res, acks, deadline, settle);
                   });
    }
  }
  if (--st->open == 0) st->finish();
}

}  // namespace

const api_handler produce_handler{api_key::produce, produce_versions, handle};

}  // namespace chronik::kafka
