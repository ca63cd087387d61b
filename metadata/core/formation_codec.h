// A compact text form of `formation` for places that carry it as opaque bytes (the simulation's
// gossip metadata, logs). The daemon carries it in the NodeMeta Protobuf instead.
#pragma once

#include <optional>
#include <string>

#include "metadata/core/bootstrap.h"

namespace chronik::metadata {

// "fresh" | "promised <founder id>/<uuid> <cluster id> <round> <id>/<uuid>,..." |
// "member <cluster id> <id>/<uuid>,..."
std::string encode_formation(const formation& f);
std::optional<formation> decode_formation(const std::string& text);

}  // namespace chronik::metadata
