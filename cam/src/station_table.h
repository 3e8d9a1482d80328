// StationTable: the learned CAM table, (VLAN, MAC) -> where and when the station was heard.
//
// An open-addressing hash table with linear probing over a slot array allocated once for
// `max_entries` at a load factor of at most 8/15, so the table never rehashes at run time (no
// pause under a MAC flood) and memory is bounded by construction: 32-byte slots, 60 bytes per
// station at the cap (the bound is 64). Why 8/15 and not the 3/4 it was: a miss in a
// full table (every frame of a MAC flood) probes 2.8 slots instead of ~8.5, a hit 1.6 instead
// of 2.5 (random MACs, 1M stations); exactly 1/2 would be 64.0005 bytes per station, over the
// bound by the table's 16 spare slots. The memory comes from a TableMemory
// (cam/table_memory.h): the daemon's maps 2 MiB pages; without one it is calloc()'s, zero-filled
// lazily by the kernel, so an empty table costs address space, not resident memory.
//
// A slot whose key is 0 is empty: key 0 would be VLAN 0 with the all-zero MAC, which is never
// learned. Removal uses backward-shift deletion (no tombstones), so probe lengths stay short
// after aging sweeps.
//
// Not for: anything but the tracker. No iteration order guarantees. Thread-safety: none.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "cam/table_memory.h"
#include "cam/types.h"
#include "table_slots.h"

namespace camwatch::cam::detail {

__extension__ typedef unsigned __int128 Uint128;  // GCC/Clang builtin; __extension__ keeps -Wpedantic quiet

// What the table knows of one station, packed so that a lookup touches one 32-byte slot (two
// per cache line) and 1M stations fit in 60 MB. Times other than last_seen are Unix seconds in a
// u32: enough for display (`camwatch table`) and for the state file, and they leave room for
// the display fields without growing the slot. Seconds saturate at 2^32-1 (year 2106; the
// tracker accepts packet times up to 2116), and for the fields where 0 means "none" a time in
// the first second of 1970 is stored as 1.
struct Slot {
  std::uint64_t key;           // StationKey::packed(); 0 = empty
  std::int64_t last_seen_ns;   // packet time of the last frame: aging needs nanoseconds
  std::uint32_t first_seen_s;  // Unix seconds of the first frame (since it was last learned)
  std::uint32_t last_move_s;   // Unix seconds of the last move, damped and flapping ones too; 0 = never
  std::uint32_t notify_s;      // Unix seconds of the last notification announcing it (any uplink); 0 = none
  std::uint16_t uplink;
  std::uint8_t flags;          // kSlotHasMobility, kind of the last notification, kSlotNlbHost
  std::uint8_t moves;          // saturating
};
static_assert(sizeof(Slot) == 32, "two slots per cache line; the memory target is <= 64 B per station");

inline constexpr std::uint8_t kSlotHasMobility = 1U << 0;  // a MobilityRecord exists for it
// Bits 1-2: the cam::Notification of the last notification frame announcing the station
// (Notification::none when notify_s is 0).
inline constexpr unsigned kSlotNotifyShift = 1;
inline constexpr std::uint8_t kSlotNotifyMask = 0x3U << kSlotNotifyShift;
static_assert(kNotificationKinds <= 4 && static_cast<unsigned>(Notification::unsolicited_na) <= 3,
              "every cam::Notification must fit in the slot's two notification bits");
inline constexpr std::uint8_t kSlotNlbHost = 1U << 3;  // it sent a Windows NLB heartbeat
// A frame of it came after the one that learned it (a full table's choice of what to give up).
inline constexpr std::uint8_t kSlotHeardAgain = 1U << 4;
// Found heard over the tracker's probation (kept: that does not change until it is forgotten).
inline constexpr std::uint8_t kSlotEstablished = 1U << 5;

constexpr Notification slot_notification(std::uint8_t flags) {
  return static_cast<Notification>((flags & kSlotNotifyMask) >> kSlotNotifyShift);
}
constexpr std::uint8_t with_slot_notification(std::uint8_t flags, Notification kind) {
  return static_cast<std::uint8_t>((flags & ~kSlotNotifyMask) |
                                   ((static_cast<unsigned>(kind) << kSlotNotifyShift) & kSlotNotifyMask));
}

class StationTable {
 public:
  // Memory from `memory` (nullptr: calloc). Throws std::bad_alloc when there is none.
  // `hash_seed` picks the hash's multiplier (see home()); 0: the fixed golden-ratio one.
  explicit StationTable(std::uint64_t max_entries, TableMemory* memory = nullptr, std::uint64_t hash_seed = 0)
      : max_entries_(max_entries),
        capacity_(capacity_for(max_entries)),
        multiplier_(multiplier_for(hash_seed)),
        slots_(allocate_slots<Slot>(capacity_, memory)) {}

  std::uint64_t size() const { return size_; }
  std::uint64_t capacity() const { return capacity_; }
  std::uint64_t max_entries() const { return max_entries_; }
  bool full() const { return size_ >= max_entries_; }

  // Slots allocated for a table of `max_entries`: load factor <= 8/15 at the cap, with room for
  // the one slot that must always stay empty.
  static std::uint64_t capacity_for(std::uint64_t max_entries) { return max_entries + max_entries / 8 * 7 + 16; }

  // Asks the CPU to start loading a home slot (a batch of lookups issues these a few keys ahead,
  // so that the cache misses of a random table overlap instead of queueing).
  // The line after the home slot's too: a probe that does not stop at home (half of the misses
  // at the cap's load) and a full table's look at the 4 slots from home read on into it.
  // Always inlined: g++ 12 otherwise finds such a function free of side effects and drops calls.
  [[gnu::always_inline]] void prefetch_at(std::uint64_t home_index) const {
    __builtin_prefetch(&slots_[home_index], 1);
    __builtin_prefetch(reinterpret_cast<const char*>(&slots_[home_index]) + 64, 1);
  }

  // The slot holding `key`, or nullptr.
  Slot* find(std::uint64_t key) {
    std::uint64_t i = home(key);
    for (;;) {
      Slot& s = slots_[i];
      if (s.key == key) return &s;
      if (s.key == 0) return nullptr;
      i = next(i);
    }
  }

  // Finds `key`, or claims an empty slot for it (key set, everything else zero) when the table
  // is not full. `inserted` tells which. nullptr when absent and full.
  Slot* find_or_insert(std::uint64_t key, bool& inserted) { return find_or_insert(key, home(key), inserted); }
  // The same with `key`'s home slot already known (home(key)).
  Slot* find_or_insert(std::uint64_t key, std::uint64_t home_index, bool& inserted) {
    std::uint64_t i = home_index;
    for (;;) {
      Slot& s = slots_[i];
      if (s.key == key) {
        inserted = false;
        return &s;
      }
      if (s.key == 0) {
        if (full()) return nullptr;
        s = Slot{};
        s.key = key;
        ++size_;
        inserted = true;
        return &s;
      }
      i = next(i);
    }
  }

  // Removes the slot at `index` and shifts later members of its probe run back so that every
  // key stays reachable from its home slot without tombstones.
  void erase_at(std::uint64_t index) {
    std::uint64_t hole = index;
    std::uint64_t i = next(hole);
    while (slots_[i].key != 0) {
      std::uint64_t h = home(slots_[i].key);
      // The entry at i may fill the hole if its home is not in (hole, i] (cyclically).
      bool home_between = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
      if (!home_between) {
        slots_[hole] = slots_[i];
        hole = i;
      }
      i = next(i);
    }
    slots_[hole] = Slot{};
    --size_;
  }

  std::uint64_t index_of(const Slot* s) const { return static_cast<std::uint64_t>(s - slots_.get()); }
  Slot& at(std::uint64_t index) { return slots_[index]; }
  const Slot& at(std::uint64_t index) const { return slots_[index]; }

  // The slot after `i`, wrapping (for scans of a key's neighbourhood: a full table's search for
  // a slot to give up).
  std::uint64_t next(std::uint64_t i) const { return i + 1 == capacity_ ? 0 : i + 1; }

  // Where the probe for `key` starts.
  // Multiplicative hash then Lemire's multiply-shift range reduction: the capacity need not be a
  // power of two, and the product's high bits depend on every bit of the key (libstdc++'s
  // std::hash<uint64_t> is the identity, which would cluster MACs of one vendor).
  // (Fibonacci hashing: the product's top bits, which the range reduction keeps, depend on every
  // bit of the key. An xor-shift of the key before it cost 3 instructions per frame and bought
  // nothing: average probes of a hit in a full 1M table, with / without it, 1.569 / 1.571 for
  // random MACs, 1.000 / 1.000 for one OUI counting up, 1.499 / 1.279 for 4000 VLANs x 250.)
  // The multiplier is a seeded random odd number with its top bit set (multiply-shift: any two
  // keys share a home with probability about 2/capacity over the choice of seed, so nobody who
  // does not know the seed can send MACs that all land in one probe run, a hash flood), or with
  // seed 0 the golden-ratio constant (reproducible layouts; the figures above are for it).
  static constexpr std::uint64_t kGoldenMultiplier = 0x9E3779B97F4A7C15ULL;
  static constexpr std::uint64_t multiplier_for(std::uint64_t seed) {
    if (seed == 0) return kGoldenMultiplier;
    // splitmix64's finaliser, so that nearby seeds give unrelated multipliers.
    std::uint64_t z = seed + kGoldenMultiplier;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z | 1U | (std::uint64_t{1} << 63);
  }
  std::uint64_t home(std::uint64_t key) const {
    const std::uint64_t h = key * multiplier_;
    return static_cast<std::uint64_t>((static_cast<Uint128>(h) * capacity_) >> 64);
  }

 private:

  std::uint64_t max_entries_;
  std::uint64_t capacity_;
  std::uint64_t multiplier_;
  std::uint64_t size_ = 0;
  SlotBlock<Slot> slots_;
};

}  // namespace camwatch::cam::detail
