// The station table's memory in the daemon and in replay: 2 MiB pages where the kernel has them.
//
// huge_page_table_memory() maps the table (cam/table_memory.h) anonymously, aligned and sized to
// 2 MiB, and advises the kernel to back it with transparent huge pages (madvise MADV_HUGEPAGE,
// which works with the Debian default THP setting "madvise"). Why: the table is touched at
// random, so with 4 KiB pages nearly every first touch of a slot is a page fault and most
// lookups a TLB miss. On the bench VM the first 100k stations into a fresh 1M table cost 137 ms
// of faults with 4 KiB pages against 13 ms with 2 MiB pages (Table_FirstTouch_100kInto1M,
// docs/PERFORMANCE.md). Without THP the advice is ignored and the table works as with 4 KiB
// pages. Pages are still faulted in lazily; the rounding to 2 MiB costs under 2 MiB.
//
// Thread-safety: stateless; any thread.
#pragma once

#include "cam/table_memory.h"

namespace camwatch::daemon {

cam::TableMemory& huge_page_table_memory();

}  // namespace camwatch::daemon
