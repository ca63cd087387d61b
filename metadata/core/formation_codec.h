// A compact text form of `formation` for places that carry it as opaque bytes (the simulation's
// gossip metadata, logs, /v1/cluster). The daemon gossips it in the NodeMeta Protobuf instead, and
// stores it as a FormationRecord (metadata/formation_record.h). Data directories written before
// that record existed hold this text in <data_dir>/formation, so decode_formation must keep reading
// every form encode_formation has ever written.
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
