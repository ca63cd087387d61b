// Expected failures of consensus/transport (docs/design.md "Errors"): public calls return
// std::expected<T, transport_error>; no KJ exception crosses the API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace chronik::consensus {

enum class transport_errc : std::uint8_t {
  invalid_config,    // a transport_config field is out of range; text names the key
  bind_failed,       // the RPC listener could not be bound; text carries the KJ description
  malformed,         // a received batch broke the schema rules (bad enum, missing identity, ...)
  oversized,         // a message or batch is larger than the configured limit
  identity_mismatch, // cluster_id, node_uuid, receiver or protocol version do not match
  not_running,       // start() was not called or stop() already ran
};

std::string_view to_string(transport_errc code);

struct transport_error {
  transport_errc code = transport_errc::malformed;
  std::string text;  // one line for logs and for the `reason` sent back to a refused sender
};

}  // namespace chronik::consensus
