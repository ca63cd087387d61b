// The WAL recovery fuzz target's body, shared by the libFuzzer binary (wal_recovery_fuzz.cc,
// clang) and the gtest smoke run (wal_fuzz_smoke_test.cc, any compiler, run by CI).
#pragma once

#include <cstddef>
#include <cstdint>

namespace chronik::consensus::fuzz {

// Input: [mode][segment bytes]. The bytes become the only segment of a WAL, which is opened.
// Mode bit 0 first rewrites the CRC of every frame whose length fits, so that inputs get past
// the checksum into the record layer.
//
// Must never crash: open() either fails with a storage_error or succeeds. On success every group
// is read back, one more batch is appended, and a reopen must succeed and show the same state;
// anything else aborts (a recovered WAL that cannot recover its own next write is a bug).
int wal_recovery_one(const std::uint8_t* data, std::size_t size);

enum class outcome : std::uint8_t { empty, refused, opened, appended };
// The same, telling how far the input got (the smoke test checks both paths are reached).
outcome wal_recovery_run(const std::uint8_t* data, std::size_t size);

}  // namespace chronik::consensus::fuzz
