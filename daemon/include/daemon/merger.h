// ObservationMerger: puts the observations of several capture sources back into one packet-time
// order.
//
// A source is one capture thread's SPSC ring. An uplink captured on its own interface is one
// source, or several when PACKET_FANOUT spreads the interface over several threads; a collector
// (ERSPAN / GRE mirrors) is a source carrying observations of many uplinks, each marked with its
// uplink in Observation::uplink. So sources and uplinks are independent: the merger never looks at
// the uplink, only at the time and the source an observation came from.
//
// Each source fills its ring in its own time order (the kernel stamps frames as one interface
// receives them). The tracker thread pull()s every ring into a bounded per-source staging area and
// release()s, merged by packet time, everything older than a cutoff; equal times go in source
// index order (in replay, command-line order of the inputs; within one source, the source's own
// order). The daemon sets the cutoff a small hold-back behind the clock the kernel stamps frames
// with, so a frame still in another source's ring cannot come out of order: the live tracker then
// sees frames in the same order as a replay of the same captures.
//
// Bounded: staging holds at most `staging_per_source` observations per source; when it is full
// pull() leaves the rest in the ring (which then fills and makes the capture thread count drops),
// and limit_cutoff() keeps release() from overtaking what still waits in that ring.
//
// Thread-safety: the tracker thread only (it is the rings' single consumer).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cam/observation.h"
#include "capture/spsc_ring.h"

namespace camwatch::daemon {

class ObservationMerger {
 public:
  // A source's index: small and dense (staging is a vector indexed by it), also the tie order.
  using SourceId = std::uint32_t;

  explicit ObservationMerger(std::size_t staging_per_source = 65536) : capacity_(staging_per_source) {}

  // Moves what `ring` holds (up to free staging space) into the source's staging. Returns how many.
  std::size_t pull(SourceId source, capture::SpscRing<cam::Observation>& ring) {
    Staging& s = staging(source);
    s.compact_if_needed();
    const std::size_t room = std::min(capacity_ - (s.items.size() - s.head), ring.size());
    if (room == 0) return 0;
    const std::size_t old_size = s.items.size();
    s.items.resize(old_size + room);  // only what the ring holds: an idle tick touches nothing
    const std::size_t got = ring.read(s.items.data() + old_size, room);
    s.items.resize(old_size + got);
    return got;
  }

  // Adds one observation of `source` directly (tests, and frames replayed from elsewhere).
  bool push(SourceId source, const cam::Observation& obs) {
    Staging& s = staging(source);
    s.compact_if_needed();
    if (s.items.size() - s.head >= capacity_) return false;
    s.items.push_back(obs);
    return true;
  }

  // Calls fn(observation) in packet-time order (ties: lower source first) for every staged
  // observation with time <= cutoff.
  template <typename Fn>
  std::size_t release(cam::PacketTime cutoff, Fn&& fn) {
    std::size_t released = 0;
    for (;;) {
      // Few sources (an uplink or a thread each): a linear scan beats a heap. Strict '<' keeps
      // the lower source on ties.
      Staging* best = nullptr;
      for (Staging& s : staging_) {
        if (s.head == s.items.size()) continue;
        const cam::Observation& o = s.items[s.head];
        if (o.time > cutoff) continue;
        if (best == nullptr || o.time < best->items[best->head].time) best = &s;
      }
      if (best == nullptr) return released;
      fn(best->items[best->head++]);
      ++released;
    }
  }

  // The latest time that may be released without overtaking frames still waiting in `ring`:
  // when the source's staging is full and its ring is not empty, frames older than the ones that
  // wait could follow, so nothing newer than its last staged frame may go out yet.
  cam::PacketTime limit_cutoff(SourceId source, const capture::SpscRing<cam::Observation>& ring,
                               cam::PacketTime cutoff) const {
    if (source >= staging_.size()) return cutoff;
    const Staging& s = staging_[source];
    if (s.items.size() - s.head < capacity_ || ring.size() == 0) return cutoff;
    return std::min(cutoff, s.items.back().time);
  }

  // Earliest staged time: returns false when nothing is staged.
  bool earliest(cam::PacketTime& out) const {
    bool any = false;
    for (const Staging& s : staging_) {
      if (s.head == s.items.size()) continue;
      const cam::PacketTime t = s.items[s.head].time;
      if (!any || t < out) out = t;
      any = true;
    }
    return any;
  }

  std::size_t staged() const {
    std::size_t n = 0;
    for (const Staging& s : staging_) n += s.items.size() - s.head;
    return n;
  }

 private:
  struct Staging {
    std::vector<cam::Observation> items;
    std::size_t head = 0;
    // Released items are dropped from the front once they are half the buffer: amortised O(1).
    void compact_if_needed() {
      if (head == 0) return;
      if (head == items.size()) {
        items.clear();
        head = 0;
      } else if (head * 2 >= items.size()) {
        items.erase(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(head));
        head = 0;
      }
    }
  };

  Staging& staging(SourceId source) {
    if (source >= staging_.size()) staging_.resize(std::size_t{source} + 1U);
    return staging_[source];
  }

  std::size_t capacity_;
  std::vector<Staging> staging_;  // indexed by source: iteration order is the tie order
};

}  // namespace camwatch::daemon
