// kafka_service's producer ids (InitProducerId; docs/kafka.md "Producer ids"): the broker_context
// call, delegated to producer_ids, and the proposals of MetaAllocateProducerIds, which wait on the
// same path as topic commands (propose_for, pending_, on_applied) and hand back the apply result
// that names the block. Kept apart from kafka_service.cc.
#include <memory>
#include <optional>
#include <utility>

#include "daemon/kafka_service.h"

namespace chronik::daemon {

void kafka_service::allocate_producer_id(std::chrono::milliseconds timeout, producer_id_done done) {
  producer_ids_.allocate(timeout, std::move(done), std::chrono::steady_clock::now());
}

void kafka_service::propose_producer_ids(std::string command, std::chrono::milliseconds timeout,
                                         producer_ids::block_done done) {
  using applied_result = std::expected<metadata::apply_result, metadata::meta_errc>;
  auto applied = std::make_shared<std::optional<applied_result>>();
  auto req = std::make_shared<request_state>();
  req->results.resize(1);
  req->open = 1;
  // The slot settles once: after the hook saw the record applied, or as not_controller / timed_out.
  req->done = [applied, done = std::move(done)](std::vector<kafka::topic_result> results) {
    if (applied->has_value()) {
      auto& r = **applied;
      if (r) {
        done(std::move(*r));
      } else {
        done(std::unexpected(producer_ids::outcome_of(r.error())));
      }
      return;
    }
    done(std::unexpected(results.front().outcome == kafka::topic_outcome::timed_out
                             ? kafka::producer_id_outcome::timed_out
                             : kafka::producer_id_outcome::not_available));
  };
  propose_for(req, 0, std::move(command), timeout, [applied](const applied_result& r) { *applied = r; });
}

}  // namespace chronik::daemon
