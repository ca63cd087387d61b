#include "daemon/gossip_keyring_store.h"

#include <openssl/rand.h>

#include <iostream>

#include "daemon/durable_file.h"
#include "daemon/keyring_admin.h"
#include "daemon/node_identity.h"

namespace chronik::daemon {
namespace {
// max_keyring_keys lines of 44 characters and a newline, with room to spare.
constexpr std::size_t max_file_bytes = 4096;
}  // namespace

std::expected<std::optional<gossip::keyring>, std::string> load_gossip_keyring(
    const std::filesystem::path& data_dir, const std::optional<gossip::gossip_key>& configured) {
  const auto path = data_dir / gossip_keyring_file;
  auto text = read_small_file(path, max_file_bytes);
  if (!text) return std::unexpected("gossip keyring: " + text.error());
  std::optional<gossip::keyring> ring;
  if (*text) {
    auto parsed = gossip::keyring::from_text(**text);
    if (!parsed) {
      return std::unexpected("gossip keyring: " + path.string() + " is not a keyring (" +
                             std::string(gossip::to_string(parsed.error())) + ")");
    }
    ring = std::move(*parsed);
  }
  if (!configured) return ring;
  const auto before = ring;
  if (!ring) ring.emplace(*configured);
  if (auto r = ring->install(*configured); !r) {
    return std::unexpected("gossip keyring: cannot install gossip_key: " + std::string(gossip::to_string(r.error())));
  }
  if (auto r = ring->use(*configured); !r) {
    return std::unexpected("gossip keyring: cannot use gossip_key: " + std::string(gossip::to_string(r.error())));
  }
  if (ring != before) {
    if (auto saved = save_gossip_keyring(data_dir, *ring); !saved) return std::unexpected(saved.error());
  }
  return ring;
}

std::expected<void, std::string> save_gossip_keyring(const std::filesystem::path& data_dir,
                                                     const gossip::keyring& ring) {
  auto r = write_file_durably(data_dir, gossip_keyring_file, ring.to_text(), 0600);
  if (!r) return std::unexpected("gossip keyring: " + r.error());
  return {};
}

std::expected<gossip::keyring, std::string> edit_stored_keyring(const keyring_command_options& opts) {
  std::error_code ec;
  if (!std::filesystem::is_directory(opts.data_dir, ec)) {
    return std::unexpected("keyring: " + opts.data_dir.string() + " is not a data directory");
  }
  // Held until the edit is saved: a running node would overwrite the file at its next start
  // anyway, and would not notice the change before then.
  auto lock = data_dir_lock::acquire(opts.data_dir);
  if (!lock) return std::unexpected("keyring: " + lock.error() + " (stop the node first)");
  auto stored = load_gossip_keyring(opts.data_dir, std::nullopt);
  if (!stored) return std::unexpected(stored.error());
  if (!*stored) {
    return std::unexpected("keyring: no " + std::string(gossip_keyring_file) + " in " + opts.data_dir.string() +
                           " (start the node once with gossip_key)");
  }
  gossip::keyring ring = std::move(**stored);
  if (opts.action == keyring_action::list) return ring;
  auto key = gossip::key_from_base64(opts.key);
  if (!key) return std::unexpected("keyring: the key must be the base64 of 32 bytes (chronik-server keygen)");
  auto next = apply_keyring_action(ring, opts.action, *key);
  if (!next) return std::unexpected("keyring: " + next.error());
  ring = std::move(*next);
  if (auto saved = save_gossip_keyring(opts.data_dir, ring); !saved) return std::unexpected(saved.error());
  return ring;
}

int run_keyring_command(const keyring_command_options& opts) {
  auto ring = edit_stored_keyring(opts);
  if (!ring) {
    std::cerr << "chronik-server: " << ring.error() << "\n";
    return 1;
  }
  for (const auto& key : ring->keys()) {
    // Fingerprints only: a listing ends up in terminals and logs (docs/security.md "Admin HTTP").
    std::cout << gossip::key_fingerprint(key) << (key == ring->primary() ? "  primary" : "") << "\n";
  }
  return 0;
}

std::expected<std::string, std::string> generate_gossip_key() {
  gossip::gossip_key key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return std::unexpected("keygen: the system random generator failed");
  }
  return gossip::key_to_base64(key);
}

int run_keygen_command() {
  auto key = generate_gossip_key();
  if (!key) {
    std::cerr << "chronik-server: " << key.error() << "\n";
    return 1;
  }
  std::cout << *key << "\n";
  return 0;
}

}  // namespace chronik::daemon
