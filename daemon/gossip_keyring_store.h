// The gossip keyring in the data dir (docs/security.md "Gossip encryption"): the file
// `gossip_keyring`, one base64 key per line, primary first, mode 0600, replaced atomically
// (daemon/durable_file.h). Keys installed once survive restarts; the configured `gossip_key` is
// installed and made primary at every start, as Consul does with its keyring file.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>

#include "gossip/keyring/keyring.h"

namespace chronik::daemon {

inline constexpr const char* gossip_keyring_file = "gossip_keyring";

// The keyring to start gossip with: the stored one, with `configured` installed and made primary
// (and the file rewritten if that changed it); nullopt when neither exists, i.e. gossip stays
// plaintext. Errors name the file: unreadable, or not a keyring.
std::expected<std::optional<gossip::keyring>, std::string> load_gossip_keyring(
    const std::filesystem::path& data_dir, const std::optional<gossip::gossip_key>& configured);

// Replaces the stored keyring durably, readable only by the owner.
std::expected<void, std::string> save_gossip_keyring(const std::filesystem::path& data_dir,
                                                     const gossip::keyring& ring);

// `chronik-server keyring list|install|use|remove --data-dir DIR [KEY]`: edits the keyring file of
// a stopped node (the data dir's lock refuses a running one) with memberlist's semantics. The
// next start applies it; a configured gossip_key is still made primary then, so change it too.
enum class keyring_action : std::uint8_t { list, install, use, remove };
struct keyring_command_options {
  keyring_action action = keyring_action::list;
  std::string key;  // base64; not for list
  std::filesystem::path data_dir;
};
// The keyring after the action, saved unless it is list; errors are one line for the operator.
std::expected<gossip::keyring, std::string> edit_stored_keyring(const keyring_command_options& opts);
// Prints the keys (primary first, marked) after the action; returns the exit code (0, 1 failure).
int run_keyring_command(const keyring_command_options& opts);

// A new random key (OpenSSL's CSPRNG) as base64, for `chronik-server keygen`.
std::expected<std::string, std::string> generate_gossip_key();

// `chronik-server keygen`: prints generate_gossip_key() and a newline; returns the exit code.
int run_keygen_command();

}  // namespace chronik::daemon
