// CreateTopics (key 19): proposes each topic to `__meta` through the broker context and answers
// once every one is applied, refused, or timed out (Kafka's timeout_ms).
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "kafka/handlers/handler.h"
#include "kafka/handlers/topic_config_schema.h"
#include "kafka/handlers/topic_errors.h"
#include "kafka/protocol/messages/create_topics.h"

namespace chronik::kafka {
namespace {

// Kafka's own bounds on a request's timeout: negative means "do not wait", which we cap low.
constexpr std::int32_t max_timeout_ms = 300'000;

topic_request to_request(const creatable_topic& t) {
  topic_request r;
  r.name = t.name;
  r.partitions = t.num_partitions;
  r.replication_factor = t.replication_factor;
  if (!t.assignments.empty()) {
    auto sorted = t.assignments;
    std::ranges::sort(sorted, {}, &creatable_replica_assignment::partition_index);
    for (const auto& a : sorted) {
      // The Kafka edge: a negative broker id is no node, which `__meta` refuses as a replica.
      auto& row = r.assignments.emplace_back();
      for (std::int32_t id : a.broker_ids) row.push_back(node_id_from_kafka(id));
    }
  }
  for (const auto& c : t.configs)
    if (c.value) r.configs[c.name] = *c.value;
  return r;
}

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_create_topics_request(body, version);
  if (!req) {
    out.close("CreateTopics: " + describe(req.error()));
    return;
  }
  // A name given twice is refused for both (Kafka: INVALID_REQUEST), and never proposed.
  std::multiset<std::string> names;
  for (const auto& t : req->topics) names.insert(t.name);
  std::vector<topic_request> wanted;
  // Configs are checked against the schema before anything is proposed (docs/kafka.md "Configs"):
  // an unknown key, a bad value or an unsupported one refuses the topic with INVALID_CONFIG.
  auto config_errors = std::make_shared<std::map<std::string, std::string>>();
  for (const auto& t : req->topics) {
    if (names.count(t.name) != 1) continue;
    auto r = to_request(t);
    if (auto ok = validate_topic_configs(r.configs); !ok) {
      (*config_errors)[t.name] = ok.error();
      continue;
    }
    wanted.push_back(std::move(r));
  }

  const auto timeout = std::chrono::milliseconds(std::clamp(req->timeout_ms, 0, max_timeout_ms));
  auto order = std::make_shared<std::vector<std::string>>();
  for (const auto& t : req->topics) order->push_back(t.name);
  ctx.create_topics(std::move(wanted), req->validate_only, timeout,
                    [out, version, order, config_errors, names = std::move(names)](std::vector<topic_result> results) {
                      create_topics_response resp;
                      for (const auto& name : *order) {
                        created_topic_result r;
                        r.name = name;
                        if (names.count(name) > 1) {
                          r.error = error_code::invalid_request;
                          r.error_message = "topic named more than once in the request";
                        } else if (auto bad = config_errors->find(name); bad != config_errors->end()) {
                          r.error = error_code::invalid_config;
                          r.error_message = bad->second;
                        } else {
                          auto it = std::ranges::find(results, name, &topic_result::name);
                          if (it != results.end()) {
                            r.error = to_error_code(it->outcome);
                            if (!it->message.empty()) r.error_message = it->message;
                          } else {
                            r.error = error_code::unknown_server_error;
                          }
                        }
                        resp.topics.push_back(std::move(r));
                      }
                      writer w;
                      encode_create_topics_response(resp, version, w);
                      out.respond(std::move(w));
                    });
}

}  // namespace

const api_handler create_topics_handler{api_key::create_topics, {0, 5}, handle};

}  // namespace chronik::kafka
