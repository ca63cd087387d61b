// Base64 (RFC 4648 section 4, with padding) as SCRAM carries salts, nonces and proofs in its
// messages (RFC 5802 section 7). Decoding is strict: a character outside the alphabet, a wrong
// length or padding in the middle is an error, never a guess.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chronik::kafka::sasl {

std::string base64_encode(std::string_view bytes);
// nullopt for anything that is not canonical padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace chronik::kafka::sasl
