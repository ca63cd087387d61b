#include "daemon/formation_store.h"

#include "daemon/durable_file.h"
#include "metadata/core/formation_codec.h"

namespace chronik::daemon {

namespace {
constexpr std::string_view file_name = "formation";
}

std::expected<metadata::formation, std::string> load_formation(const std::filesystem::path& data_dir) {
  auto text = read_small_file(data_dir / file_name, 64 * 1024);
  if (!text) return std::unexpected("formation: " + text.error());
  if (!*text) return metadata::formation{};
  std::string body = **text;
  if (body.ends_with('\n')) body.pop_back();
  auto f = metadata::decode_formation(body);
  if (!f) {
    return std::unexpected("formation: " + (data_dir / file_name).string() +
                           " is corrupt; it is left untouched: restore it, or wipe the data directory to join as a new node");
  }
  return *f;
}

std::expected<void, std::string> save_formation(const std::filesystem::path& data_dir, const metadata::formation& f) {
  auto r = write_file_durably(data_dir, file_name, metadata::encode_formation(f) + "\n");
  if (!r) return std::unexpected("formation: " + r.error());
  return {};
}

}  // namespace chronik::daemon
