// allocate_slots(): a hash table's one block of zeroed slots, reserved at construction, from an
// injected cam::TableMemory (the daemon's: 2 MiB pages) or, without one, from calloc (4 KiB
// pages the kernel zeroes on first touch), and table_seed(): their hash seeds. Shared by the
// station and the binding tables. A zeroed slot is an empty one in both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>

#include "cam/table_memory.h"

namespace camwatch::cam::detail {

// Gives the block back where it came from.
template <typename Slot>
struct SlotsRelease {
  TableMemory* memory = nullptr;
  std::size_t bytes = 0;
  void operator()(Slot* p) const {
    if (memory != nullptr) {
      memory->release(p, bytes);
    } else {
      std::free(p);
    }
  }
};

template <typename Slot>
using SlotBlock = std::unique_ptr<Slot[], SlotsRelease<Slot>>;

// `count` zeroed slots. Throws std::bad_alloc when there is no memory for them.
template <typename Slot>
SlotBlock<Slot> allocate_slots(std::uint64_t count, TableMemory* memory) {
  if (count > SIZE_MAX / sizeof(Slot)) throw std::bad_alloc();
  const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(Slot);
  void* p = memory != nullptr ? memory->allocate(bytes) : std::calloc(static_cast<std::size_t>(count), sizeof(Slot));
  if (p == nullptr) throw std::bad_alloc();
  return SlotBlock<Slot>(static_cast<Slot*>(p), SlotsRelease<Slot>{memory, bytes});
}

// A table's hash seed: `configured`, or 64 random bits when it is 0, so that nobody can compute
// keys that collide in a running daemon's table (a hash flood).
inline std::uint64_t table_seed(std::uint64_t configured) {
  if (configured != 0) return configured;
  std::random_device random;
  return std::uint64_t{random()} << 32 ^ random();
}

}  // namespace camwatch::cam::detail
