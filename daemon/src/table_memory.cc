#include "daemon/table_memory.h"

#include <sys/mman.h>

#include <cstdint>

namespace camwatch::daemon {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::size_t round_up(std::size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

class HugePageTableMemory final : public cam::TableMemory {
 public:
  void* allocate(std::size_t bytes) noexcept override {
    const std::size_t length = round_up(bytes);
    // One huge page more than needed, so that an aligned run of `length` bytes fits; the rest is
    // given back at once. Anonymous memory is zero-filled, as the table needs.
    void* mapped = ::mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                          -1, 0);
    if (mapped == MAP_FAILED) return nullptr;
    const auto start = reinterpret_cast<std::uintptr_t>(mapped);
    const std::uintptr_t aligned = (start + kHugePage - 1) & ~(std::uintptr_t{kHugePage} - 1);
    if (aligned != start) ::munmap(mapped, aligned - start);
    const std::uintptr_t end = start + length + kHugePage;
    if (end != aligned + length) ::munmap(reinterpret_cast<void*>(aligned + length), end - (aligned + length));
    // A hint: a kernel without transparent huge pages (or with them "never") maps 4 KiB pages.
    (void)::madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
    return reinterpret_cast<void*>(aligned);
  }

  void release(void* memory, std::size_t bytes) noexcept override { ::munmap(memory, round_up(bytes)); }
};

}  // namespace

cam::TableMemory& huge_page_table_memory() {
  static HugePageTableMemory memory;
  return memory;
}

}  // namespace camwatch::daemon
