#include "station_table.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <unordered_set>
#include <vector>

namespace camwatch::cam::detail {
namespace {

TEST(StationTable, FindsEveryKeyAfterRandomInsertsAndBackwardShiftDeletions) {
  StationTable table(2000);
  std::unordered_set<std::uint64_t> model;
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200000; ++round) {
    std::uint64_t key = 1 + rng() % 3000;  // dense keys collide often in a small table
    if (rng() % 3 == 0) {
      if (Slot* s = table.find(key)) table.erase_at(table.index_of(s));
      model.erase(key);
    } else {
      bool inserted = false;
      Slot* s = table.find_or_insert(key, inserted);
      if (model.count(key) != 0) {
        ASSERT_NE(s, nullptr);
        EXPECT_FALSE(inserted);
      } else if (model.size() < 2000) {
        ASSERT_NE(s, nullptr);
        EXPECT_TRUE(inserted);
        model.insert(key);
      } else {
        EXPECT_EQ(s, nullptr) << "full table must refuse";
      }
    }
    ASSERT_EQ(table.size(), model.size());
  }
  for (std::uint64_t key = 1; key <= 3000; ++key) {
    EXPECT_EQ(table.find(key) != nullptr, model.count(key) != 0) << key;
  }
}

// A hash flood: MACs chosen so that they all share one home under the fixed multiplier (what
// an attacker who read the source would send) land all over a table with a random seed, and the
// seeded table still finds what it holds.
TEST(StationTable, ASeedScattersKeysThatShareAHomeUnderTheFixedMultiplier) {
  StationTable fixed(100'000);
  std::vector<std::uint64_t> colliding;
  for (std::uint64_t key = 1; colliding.size() < 256 && key < 200'000'000; ++key)
    if (fixed.home(key) == fixed.home(1)) colliding.push_back(key);
  ASSERT_EQ(colliding.size(), 256U);
  for (std::uint64_t seed : {1ULL, 2ULL, 0x5eedULL, 0xffffffffffffffffULL}) {
    StationTable seeded(100'000, nullptr, seed);
    ASSERT_EQ(seeded.capacity(), fixed.capacity());
    std::unordered_set<std::uint64_t> homes;
    for (std::uint64_t key : colliding) homes.insert(seeded.home(key));
    EXPECT_GE(homes.size(), 240U) << "seed " << seed;  // 256 keys in ~190k slots: few share
    for (std::uint64_t key : colliding) {
      bool inserted = false;
      ASSERT_NE(seeded.find_or_insert(key, inserted), nullptr);
      EXPECT_TRUE(inserted);
    }
    for (std::uint64_t key : colliding) EXPECT_NE(seeded.find(key), nullptr) << key;
  }
  StationTable zero(100'000, nullptr, 0);
  for (std::uint64_t key : colliding) EXPECT_EQ(zero.home(key), fixed.home(key)) << "seed 0 is the fixed layout";
}

TEST(StationTable, ReservesItsWholeCapacityUpFrontAtAtMostEightFifteenthsLoad) {
  StationTable table(1'000'000);
  EXPECT_GE(table.capacity() * 8, 1'000'000ULL * 15);
  EXPECT_LE(table.capacity() * sizeof(Slot), 1'000'000ULL * 61) << "60 bytes per station at the cap (target: 64)";
}

class CountingMemory final : public TableMemory {
 public:
  void* allocate(std::size_t bytes) noexcept override {
    ++allocations;
    allocated = bytes;
    return std::calloc(bytes, 1);
  }
  void release(void* memory, std::size_t bytes) noexcept override {
    ++releases;
    released = bytes;
    std::free(memory);
  }
  int allocations = 0, releases = 0;
  std::size_t allocated = 0, released = 0;
};

TEST(StationTable, TakesItsSlotsFromTheGivenMemoryAndGivesThemBack) {
  CountingMemory memory;
  {
    StationTable table(1000, &memory);
    bool inserted = false;
    ASSERT_NE(table.find_or_insert(42, inserted), nullptr);
    EXPECT_TRUE(inserted);
    EXPECT_EQ(memory.allocations, 1);
    EXPECT_EQ(memory.allocated, table.capacity() * sizeof(Slot));
  }
  EXPECT_EQ(memory.releases, 1);
  EXPECT_EQ(memory.released, memory.allocated);
}

}  // namespace
}  // namespace camwatch::cam::detail
