#include "daemon/table_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace camwatch::daemon {
namespace {

TEST(HugePageTableMemory, GivesZeroedWritableMemoryAlignedTo2MiB) {
  cam::TableMemory& memory = huge_page_table_memory();
  const std::size_t bytes = (std::size_t{3} << 20) + 4096 + 32;  // not a multiple of anything
  auto* p = static_cast<unsigned char*>(memory.allocate(bytes));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % (std::uintptr_t{2} << 20), 0U);
  for (std::size_t i = 0; i < bytes; i += 4096) EXPECT_EQ(p[i], 0) << i;
  EXPECT_EQ(p[bytes - 1], 0);
  std::memset(p, 0xAB, bytes);
  EXPECT_EQ(p[bytes - 1], 0xAB);
  memory.release(p, bytes);
}

TEST(HugePageTableMemory, BacksAStationTableOfTheDefaultSize) {
  cam::TableMemory& memory = huge_page_table_memory();
  void* a = memory.allocate(60'000'512);
  void* b = memory.allocate(60'000'512);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  memory.release(a, 60'000'512);
  memory.release(b, 60'000'512);
}

}  // namespace
}  // namespace camwatch::daemon
