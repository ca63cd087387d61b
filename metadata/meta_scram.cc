#include "metadata/meta_scram.h"

#include <set>

#include "meta.pb.h"

namespace chronik::metadata::scram {
namespace {

namespace pb = chronik::proto;

std::size_t key_bytes(std::int8_t mechanism) { return mechanism == scram_sha_256 ? 32 : 64; }

bool valid_mechanism(std::int64_t m) { return m == scram_sha_256 || m == scram_sha_512; }

bool valid_user(std::string_view user) { return !user.empty() && user.size() <= max_scram_user_bytes; }

std::optional<scram_record> decode_key(const pb::MetaScramKey& k) {
  if (!valid_mechanism(k.mechanism())) return std::nullopt;
  const auto m = static_cast<std::int8_t>(k.mechanism());
  if (k.iterations() < scram_min_iterations || k.iterations() > scram_max_iterations) return std::nullopt;
  if (k.salt().empty() || k.salt().size() > max_scram_salt_bytes) return std::nullopt;
  if (k.stored_key().size() != key_bytes(m) || k.server_key().size() != key_bytes(m)) return std::nullopt;
  return scram_record{m, k.salt(), k.iterations(), k.stored_key(), k.server_key()};
}

void encode_key(const scram_record& r, pb::MetaScramKey* out) {
  out->set_mechanism(r.mechanism);
  out->set_salt(r.salt);
  out->set_iterations(r.iterations);
  out->set_stored_key(r.stored_key);
  out->set_server_key(r.server_key);
}

}  // namespace

std::expected<apply_result, meta_errc> alter(meta_data& d, const pb::MetaAlterScramCredentials& c) {
  if (!valid_user(c.user())) return std::unexpected(meta_errc::invalid_scram_credential);
  if (c.upsertions_size() + c.deletions_size() == 0) return std::unexpected(meta_errc::malformed_command);
  // Validate everything before the first write (meta_state.cc's rule).
  std::set<std::int64_t> named;
  std::vector<scram_record> upserts;
  for (const auto& k : c.upsertions()) {
    auto r = decode_key(k);
    if (!r || !named.insert(k.mechanism()).second) return std::unexpected(meta_errc::invalid_scram_credential);
    upserts.push_back(std::move(*r));
  }
  auto user = d.scram_users.find(c.user());
  for (std::int32_t m : c.deletions()) {
    if (!valid_mechanism(m) || !named.insert(m).second) return std::unexpected(meta_errc::invalid_scram_credential);
    if (user == d.scram_users.end() || !user->second.contains(static_cast<std::int8_t>(m))) {
      return std::unexpected(meta_errc::unknown_scram_credential);
    }
  }
  if (user == d.scram_users.end() && !upserts.empty()) {
    if (d.scram_users.size() >= max_scram_users) return std::unexpected(meta_errc::too_many_scram_users);
    user = d.scram_users.emplace(c.user(), std::map<std::int8_t, scram_record>{}).first;
  }
  for (auto& r : upserts) user->second.insert_or_assign(r.mechanism, std::move(r));
  for (std::int32_t m : c.deletions()) user->second.erase(static_cast<std::int8_t>(m));
  // A user without credentials is no user: nothing is kept for it.
  if (user != d.scram_users.end() && user->second.empty()) d.scram_users.erase(user);
  return apply_result{command_kind::alter_scram_credentials, true, {}, {}};
}

void encode(const std::string& user, const std::map<std::int8_t, scram_record>& creds, pb::MetaScramUser* out) {
  out->set_user(user);
  for (const auto& [m, r] : creds) encode_key(r, out->add_credentials());
}

std::optional<std::pair<std::string, std::map<std::int8_t, scram_record>>> decode(const pb::MetaScramUser& m) {
  if (!valid_user(m.user()) || m.credentials_size() == 0) return std::nullopt;
  std::map<std::int8_t, scram_record> creds;
  for (const auto& k : m.credentials()) {
    auto r = decode_key(k);
    if (!r) return std::nullopt;
    const std::int8_t mech = r->mechanism;
    if (!creds.emplace(mech, std::move(*r)).second) return std::nullopt;
  }
  return std::pair{m.user(), std::move(creds)};
}

}  // namespace chronik::metadata::scram
