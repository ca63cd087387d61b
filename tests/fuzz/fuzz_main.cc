// The libFuzzer entry point of every target in fuzz_entries.h (built only with clang >= 19, see
// CMakeLists.txt): CHRONIK_FUZZ_ENTRY names the target's run function.
//   build-fuzz/tests/fuzz/kafka_request_fuzz -runs=1000000 corpus-copy/
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static_cast<void>(chronik::fuzz::CHRONIK_FUZZ_ENTRY(data, size));
  return 0;
}
