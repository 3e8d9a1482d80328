#include "capture/recent_filter.h"

#include <algorithm>
#include <bit>

namespace camwatch::capture {

RecentlySeenFilter::RecentlySeenFilter(cam::Duration refresh, std::size_t entries) : refresh_ns_(refresh.count()) {
  const std::size_t sets = std::bit_ceil(std::max<std::size_t>(entries, kWays) / kWays);
  sets_ = std::make_unique<Set[]>(sets);
  mask_ = sets - 1;
}

bool RecentlySeenFilter::forward_other(const cam::Observation& obs, std::uint64_t key, Set& set,
                                       std::int64_t t) noexcept {
  // A notification, claim or heartbeat also tells the tracker its sender is here: recorded, so
  // that the sender's ordinary frames right after it need not pass too.
  if (refresh_ns_ > 0 && obs.source.is_learnable()) {
    bool found = false;
    for (Entry& e : set.ways) {
      if (e.key == key) {
        if (t > e.forwarded_ns) e.forwarded_ns = t;
        found = true;
        break;
      }
    }
    if (!found) insert(set, key, t);
  }
  return forwarded(t);
}

// The way forwarded longest ago gives up its record (an empty way first: its time is the minimum).
void RecentlySeenFilter::insert(Set& set, std::uint64_t key, std::int64_t t) noexcept {
  Entry* victim = &set.ways[0];
  for (Entry& e : set.ways) {
    if (e.forwarded_ns < victim->forwarded_ns) victim = &e;
  }
  victim->key = key;
  victim->forwarded_ns = t;
}

}  // namespace camwatch::capture
