// The durable form of a node's formation state, the file <data_dir>/formation (docs/bootstrap.md
// "The formation file"): a versioned Protobuf record, FormationRecord in proto/formation.proto.
// Kept outside metadata/core because the core links nothing but the standard library.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "metadata/core/bootstrap.h"

namespace chronik::metadata {

// Version 1 bytes of `f`.
std::string encode_formation_record(const formation& f);

// Reads version 1, and the text form (metadata/core/formation_codec.h, with its trailing newline)
// that files written before version 1 hold. The error says what is wrong; it never guesses.
std::expected<formation, std::string> decode_formation_record(std::string_view bytes);

}  // namespace chronik::metadata
