// RecentlySeenFilter: keeps the repeats of one uplink's busy stations away from the tracker.
//
// Most frames on a mirror port come from a few busy stations that the tracker already knows
// on that uplink: each of them only refreshes the station's last-seen time. The capture thread
// passes every decoded observation through its uplink's filter before the ring, and the filter
// forwards an unchanged (VLAN, source MAC) at most once per `refresh` of packet time:
//  - a station it has no record of (first sighting, or its record was displaced) passes;
//  - a frame carrying more than its station (notification, address claim, NLB heartbeat:
//    Observation::carries_more_than_station()) always passes;
//  - a frame `refresh` or more after the station's last forwarded frame passes, and so does a
//    frame older than it (out of order: the tracker decides what to do with it);
//  - at least one frame per `kUplinkTick` (100 ms) of the uplink's packet time passes, whatever
//    it is, so the tracker always knows within 100 ms that frames still arrive on the uplink
//    (the failover stories' "no frame at all on the old uplink", cam/failover.h).
// Everything else is dropped here and counted (filtered()).
//
// What that does to decisions. The filter is a pure function of the uplink's frames in order
// (no clock, no thread timing), and `camwatch replay` runs the same filter with the same
// refresh over each file, so live and replay still give the same events. Against no filter
// (refresh 0), with refresh R:
//  - moves: a station's first frame on a new uplink is a first sighting there and passes, so a
//    move is seen at the same frame; a notification always passes. Only a station coming back
//    to an uplink within R of its last frame forwarded there is seen back up to R late; if it
//    announces itself, the notification passes, and with R <= notify_window_before (1 s by
//    default) the delayed move is still announced by it;
//  - flapping: a station bouncing faster than R is seen moving about twice per R, so flaps
//    are still found, counting fewer moves;
//  - last_seen (and an event's last_seen_on_from, a failover story's blackout) is the last
//    *forwarded* frame: up to R early; aging decides up to R early;
//  - per-uplink traffic is exact to within kUplinkTick.
// R = 0 turns the filter off (every frame passes).
//
// Memory: `entries` records (16 bytes each; 4-way sets of one cache line), 2 MiB for the
// default 131072: room for the stations of a busy uplink (a full set gives up the record
// forwarded longest ago, whose next frame then passes as a first sighting).
//
// Thread-safety: none; one capture thread (or the replay) owns a filter. The counters are read
// by the owner, which publishes them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

#include "cam/observation.h"
#include "cam/types.h"

namespace camwatch::capture {

class RecentlySeenFilter {
 public:
  static constexpr std::size_t kDefaultEntries = std::size_t{1} << 17;
  // [capture] refresh's default (the reasons are in config/camwatch.toml).
  static constexpr cam::Duration kDefaultRefresh = std::chrono::seconds(1);
  static constexpr cam::Duration kUplinkTick = std::chrono::milliseconds(100);

  // `refresh` 0 passes everything; `entries` is rounded up to a power of two (at least 4).
  explicit RecentlySeenFilter(cam::Duration refresh, std::size_t entries = kDefaultEntries);

  // Whether `obs` goes on to the tracker; records it when it does.
  bool pass(const cam::Observation& obs) noexcept {
    const std::uint64_t key = cam::StationKey{obs.vlan, obs.source}.packed();
    const bool forward = decide(obs, key, set_of(key));
    ++(forward ? forwarded_ : filtered_);
    return forward;
  }

  // pass() for out[0..n) in order, keeping the observations that pass at the front (in order);
  // returns how many. Each observation's key and record set are computed once, 8 observations
  // ahead, when the set is prefetched: on a random-MAC flood the records miss the cache on
  // nearly every frame, and on the bench mix this batch form costs ~25 instructions per frame
  // against ~59 for pass() in a loop (callgrind).
  std::size_t pass_batch(cam::Observation* out, std::size_t n) noexcept {
    constexpr std::size_t kAhead = 8;
    std::uint64_t keys[kAhead];
    Set* sets[kAhead];
    const auto ahead = [&](std::size_t j) {
      const std::size_t r = j % kAhead;
      keys[r] = cam::StationKey{out[j].vlan, out[j].source}.packed();
      sets[r] = &set_of(keys[r]);
      __builtin_prefetch(sets[r], 1);
    };
    for (std::size_t j = 0; j < n && j < kAhead; ++j) ahead(j);
    std::size_t kept = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t key = keys[i % kAhead];
      Set& set = *sets[i % kAhead];
      if (i + kAhead < n) ahead(i + kAhead);
      if (!decide(out[i], key, set)) continue;
      if (kept != i) out[kept] = out[i];
      ++kept;
    }
    forwarded_ += kept;
    filtered_ += n - kept;
    return kept;
  }

  cam::Duration refresh() const noexcept { return cam::Duration(refresh_ns_); }
  std::size_t entries() const noexcept { return (mask_ + 1) * kWays; }
  std::uint64_t forwarded() const noexcept { return forwarded_; }
  std::uint64_t filtered() const noexcept { return filtered_; }

 private:
  static constexpr std::size_t kWays = 4;
  struct Entry {
    std::uint64_t key = 0;  // StationKey::packed(); 0 = empty (never a learnable station)
    std::int64_t forwarded_ns = std::numeric_limits<std::int64_t>::min();
  };
  struct alignas(64) Set {
    Entry ways[kWays];
  };

  // pass() without the counting; `key` is the station's key, `set` its record set.
  bool decide(const cam::Observation& obs, std::uint64_t key, Set& set) noexcept {
    const std::int64_t t = obs.time.time_since_epoch().count();
    if (refresh_ns_ <= 0 || obs.carries_more_than_station() || !obs.source.is_learnable()) [[unlikely]] {
      return forward_other(obs, key, set, t);
    }
    for (Entry& e : set.ways) {
      if (e.key != key) continue;
      const std::int64_t since = t - e.forwarded_ns;
      if (since >= 0 && since < refresh_ns_ && t - last_forwarded_ns_ < tick_ns_) return false;
      if (since > 0) e.forwarded_ns = t;
      return forwarded(t);
    }
    insert(set, key, t);
    return forwarded(t);
  }

  // Multiplicative hash; bits 32 and up pick the set.
  Set& set_of(std::uint64_t key) noexcept { return sets_[((key * 0x9E3779B97F4A7C15ULL) >> 32) & mask_]; }
  bool forwarded(std::int64_t t) noexcept {
    if (t > last_forwarded_ns_) last_forwarded_ns_ = t;
    return true;
  }
  bool forward_other(const cam::Observation& obs, std::uint64_t key, Set& set, std::int64_t t) noexcept;
  static void insert(Set& set, std::uint64_t key, std::int64_t t) noexcept;

  std::unique_ptr<Set[]> sets_;
  std::size_t mask_ = 0;  // sets - 1
  std::int64_t refresh_ns_;
  std::int64_t tick_ns_ = kUplinkTick.count();
  std::int64_t last_forwarded_ns_ = std::numeric_limits<std::int64_t>::min() / 2;
  std::uint64_t forwarded_ = 0;
  std::uint64_t filtered_ = 0;
};

}  // namespace camwatch::capture
