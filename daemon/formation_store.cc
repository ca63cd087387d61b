#include "daemon/formation_store.h"

#include "daemon/durable_file.h"
#include "metadata/formation_record.h"

namespace chronik::daemon {

namespace {
constexpr std::string_view file_name = "formation";
}

std::expected<metadata::formation, std::string> load_formation(const std::filesystem::path& data_dir) {
  auto text = read_small_file(data_dir / file_name, 64 * 1024);
  if (!text) return std::unexpected("formation: " + text.error());
  if (!*text) return metadata::formation{};
  // Version 1 or the text form written before it (docs/bootstrap.md "The formation file").
  auto f = metadata::decode_formation_record(**text);
  if (!f) {
    return std::unexpected("formation: " + (data_dir / file_name).string() + " is corrupt (" + f.error() +
                           "); it is left untouched: restore it, or wipe the data directory to join as a new node");
  }
  return *f;
}

std::expected<void, std::string> save_formation(const std::filesystem::path& data_dir, const metadata::formation& f) {
  auto r = write_file_durably(data_dir, file_name, metadata::encode_formation_record(f));
  if (!r) return std::unexpected("formation: " + r.error());
  return {};
}

}  // namespace chronik::daemon
