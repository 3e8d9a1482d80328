#include "capture/spsc_ring.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace camwatch::capture {
namespace {

TEST(SpscRing, RoundsItsCapacityUpToAPowerOfTwo) {
  SpscRing<int> ring(1000);
  EXPECT_EQ(ring.capacity(), 1024U);
}

TEST(SpscRing, WritesOnlyWhatFitsAndNeverBlocksWhenFull) {
  SpscRing<int> ring(4);
  std::vector<int> in = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(ring.write(in.data(), in.size()), 4U);
  EXPECT_FALSE(ring.try_write(7));
  int out[8];
  EXPECT_EQ(ring.read(out, 2), 2U);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 2);
  EXPECT_EQ(ring.write(in.data() + 4, 2), 2U);
  EXPECT_EQ(ring.read(out, 8), 4U);
  EXPECT_EQ((std::vector<int>(out, out + 4)), (std::vector<int>{3, 4, 5, 6}));
  EXPECT_EQ(ring.read(out, 8), 0U);
}

TEST(SpscRing, DeliversEveryItemInOrderAcrossTwoThreads) {
  // Run under TSan in CI: the acquire/release pairs must make every batch visible.
  SpscRing<std::uint64_t> ring(256);
  constexpr std::uint64_t kItems = 2'000'000;
  std::thread producer([&] {
    std::uint64_t next = 0;
    std::uint64_t batch[64];
    while (next < kItems) {
      std::size_t n = 0;
      while (n < 64 && next + n < kItems) {
        batch[n] = next + n;
        ++n;
      }
      next += ring.write(batch, n);  // a partial write is retried from where it stopped
    }
  });
  std::uint64_t expected = 0;
  std::uint64_t out[128];
  bool in_order = true;
  while (expected < kItems) {
    std::size_t n = ring.read(out, 128);
    for (std::size_t i = 0; i < n; ++i) in_order &= out[i] == expected++;
  }
  producer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(ring.size(), 0U);
}

}  // namespace
}  // namespace camwatch::capture
