// TableMemory: where the station table and the binding table get their one big allocation each.
//
// The station table reserves room for `[cam] max_entries` stations up front (60 MB for the
// default 1M), the binding table for `[bindings] max_entries` (22 MB), and both are touched at
// random. How that memory is mapped matters more than anything else on the per-frame path: with
// 4 KiB pages every first touch is a page fault and most lookups a TLB miss. cam/ uses the
// standard library only (no operating-system interfaces), so the mapping is injected:
// TrackerConfig::table_memory and BindingConfig::table_memory. nullptr means calloc() (4 KiB
// pages, zeroed lazily by the kernel); the daemon and the benchmarks pass
// daemon::huge_page_table_memory(), an anonymous mapping advised to use 2 MiB pages
// (docs/PERFORMANCE.md has the figures).
//
// Contract: allocate() returns `bytes` of zero-filled memory aligned to at least 64 bytes, or
// nullptr; release() gets back exactly what allocate() returned, with the same size. Both may
// be called from any thread that owns a Tracker; an implementation must be thread-safe if it
// keeps state (the ones in camwatch keep none).
#pragma once

#include <cstddef>

namespace camwatch::cam {

class TableMemory {
 public:
  virtual void* allocate(std::size_t bytes) noexcept = 0;
  virtual void release(void* memory, std::size_t bytes) noexcept = 0;

 protected:
  ~TableMemory() = default;
};

}  // namespace camwatch::cam
