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
