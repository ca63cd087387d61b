// DeleteTopics (key 20): proposes each deletion to `__meta` and answers once each is applied,
// refused, or timed out. Topics named only by id (v6) are looked up by id first.
#include <algorithm>
#include <chrono>

#include "kafka/handlers/authorization.h"
#include "kafka/handlers/handler.h"
#include "kafka/handlers/topic_errors.h"
#include "kafka/protocol/messages/delete_topics.h"

namespace chronik::kafka {
namespace {

constexpr std::int32_t max_timeout_ms = 300'000;

void handle(broker_context& ctx, reader& body, const responder& out) {
  const std::int16_t version = out.header().api_version;
  auto req = decode_delete_topics_request(body, version);
  if (!req) {
    out.close("DeleteTopics: " + describe(req.error()));
    return;
  }
  // v0-5 name the topics in a plain array, v6 as {name, id} (KIP-516): one list from here on.
  std::vector<delete_topic_state> topics = std::move(req->topics);
  for (auto& name : req->topic_names) topics.push_back({std::move(name), uuid{}});
  // Resolve every entry to a name; an id we do not know stays unresolved (UNKNOWN_TOPIC_ID).
  std::vector<std::optional<std::string>> names;
  for (const auto& t : topics) {
    if (t.name && !t.name->empty()) {
      names.push_back(*t.name);
      continue;
    }
    std::optional<std::string> found;
    for (const auto& info : ctx.topics())
      if (info.id == t.topic_id) found = info.name;
    names.push_back(found);
  }
  // DELETE on each topic (Kafka's rule); a refused one is answered TOPIC_AUTHORIZATION_FAILED.
  std::vector<bool> allowed;
  std::vector<std::string> wanted;
  for (const auto& n : names) {
    allowed.push_back(n && authorized_on_topic(ctx, out, acl::operation::remove, *n));
    if (allowed.back()) wanted.push_back(*n);
  }
  const auto timeout = std::chrono::milliseconds(std::clamp(req->timeout_ms, 0, max_timeout_ms));
  ctx.delete_topics(std::move(wanted), timeout,
                    [out, version, topics = std::move(topics), names, allowed](std::vector<topic_result> results) {
                      delete_topics_response resp;
                      for (std::size_t i = 0; i < topics.size(); ++i) {
                        deletable_topic_result r;
                        r.name = names[i];
                        r.topic_id = topics[i].topic_id;
                        if (!names[i]) {
                          r.error = error_code::unknown_topic_id;
                        } else if (!allowed[i]) {
                          r.error = error_code::topic_authorization_failed;
                        } else {
                          auto it = std::ranges::find(results, *names[i], &topic_result::name);
                          r.error = it == results.end() ? error_code::unknown_server_error : to_error_code(it->outcome);
                          if (it != results.end() && !it->message.empty()) r.error_message = it->message;
                        }
                        resp.responses.push_back(std::move(r));
                      }
                      writer w;
                      encode_delete_topics_response(resp, version, w);
                      out.respond(std::move(w));
                    });
}

}  // namespace

const api_handler delete_topics_handler{api_key::delete_topics, {0, 6}, handle};

}  // namespace chronik::kafka
