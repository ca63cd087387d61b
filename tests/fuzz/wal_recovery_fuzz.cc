// libFuzzer target for WAL recovery (built only with clang >= 19, see CMakeLists.txt):
//   build-fuzz/tests/fuzz/wal_recovery_fuzz -max_total_time=60 corpus/
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/wal_recovery_fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return chronik::consensus::fuzz::wal_recovery_one(data, size);
}
