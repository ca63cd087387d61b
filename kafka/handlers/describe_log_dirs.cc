// DescribeLogDirs (key 35; KIP-113, KIP-784, KIP-827): this broker's one log directory, its data
// directory, with the size of every partition replica it holds (docs/kafka.md "Log directories").
// Admin clients ask each broker in turn. A replica's size is what its log holds in record batches
// (the partition index's byte count, which retention lowers as it compacts); its offset lag is 0
// and it is never a future replica, as chronik moves no replica between directories.
#include <algorithm>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/protocol/messages/describe_log_dirs.h"

namespace chronik::kafka {
namespace {

bool wanted(const describe_log_dirs_request& req, const std::string& topic, std::int32_t partition) {
  if (!req.topics) return true;  // null: every partition
  return std::ranges::any_of(*req.topics, [&](const describe_log_dirs_request_topic& t) {
    return t.topic == topic && std::ranges::find(t.partitions, partition) != t.partitions.end();
  });
}

describe_log_dirs_result describe(const log_dir_info& dir, const describe_log_dirs_request& req) {
  describe_log_dirs_result r;
  r.log_dir = dir.path;
  r.total_bytes = dir.total_bytes;
  r.usable_bytes = dir.usable_bytes;
  if (dir.failed) {
    // Kafka reports an offline directory with KAFKA_STORAGE_ERROR and no partitions.
    r.error = error_code::kafka_storage_error;
    return r;
  }
  for (const auto& rep : dir.replicas) {
    if (!wanted(req, rep.topic, rep.partition)) continue;
    auto t = std::ranges::find(r.topics, rep.topic, &describe_log_dirs_topic::name);
    if (t == r.topics.end()) {
      r.topics.push_back({rep.topic, {}});
      t = std::prev(r.topics.end());
    }
    t->partitions.push_back({rep.partition, rep.size_bytes, 0, false});
  }
  return r;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_describe_log_dirs_request(body, version);
  if (!req) {
    out.close("DescribeLogDirs: " + describe(req.error()));
    return;
  }
  describe_log_dirs_response resp;
  // DESCRIBE on the cluster (Kafka's rule): refused, v3+ says so, older versions get no directory.
  if (!authorized_on_cluster(ctx, out, acl::operation::describe)) {
    resp.error = error_code::cluster_authorization_failed;
  } else if (auto dir = ctx.log_dir()) {
    resp.results.push_back(describe(*dir, *req));
  }
  writer w;
  encode_describe_log_dirs_response(resp, version, w);
  out.respond(std::move(w));
}

}  // namespace

const api_handler describe_log_dirs_handler{api_key::describe_log_dirs, describe_log_dirs_versions, handle};

}  // namespace chronik::kafka
