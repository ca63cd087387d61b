// CRC-32C (base/crc32c.h): the published check value, both implementations agree,
// and extending equals hashing the concatenation.
#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace chronik {
namespace {

TEST(crc32c, check_value) {
  // The standard check value for CRC-32C (RFC 3720 appendix B.4 family; "123456789").
  EXPECT_EQ(crc32c(std::string_view("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c_extend_portable(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string_view()), 0u);
}

TEST(crc32c, rfc3720_vectors) {
  // RFC 3720 B.4: 32 bytes of zeros and 32 bytes of 0xFF.
  const std::string zeros(32, '\0');
  const std::string ones(32, '\xFF');
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
}

TEST(crc32c, hardware_and_table_agree_on_every_length_and_alignment) {
  std::mt19937_64 rng(7);
  std::string buf(300, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  for (std::size_t start = 0; start < 9; ++start) {
    for (std::size_t len = 0; start + len <= buf.size(); len += 7) {
      const char* p = buf.data() + start;
      ASSERT_EQ(crc32c(p, len), crc32c_extend_portable(0, p, len)) << start << " " << len;
    }
  }
}

TEST(crc32c, extend_equals_concatenation) {
  const std::string a = "hello, ";
  const std::string b = "chronik write-ahead log";
  EXPECT_EQ(crc32c_extend(crc32c(a), b.data(), b.size()), crc32c(a + b));
  EXPECT_EQ(crc32c_extend_portable(crc32c(a), b.data(), b.size()), crc32c(a + b));
}

}  // namespace
}  // namespace chronik
