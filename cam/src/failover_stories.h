// FailoverStories: the tracker's bookkeeping behind cam::FailoverStory (see cam/failover.h for
// what a story is). Private to the tracker: it is told of every reported move when it starts and
// of every decision, and closes stories when the packet clock passes their deadline.
//
// Memory: one open story per uplink at most, each with at most kMaxStoryStations members and an
// index of them; a short history of published stories for failback detection.
// Thread-safety: none (the tracker's thread).
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "cam/event.h"
#include "cam/failover.h"

namespace camwatch::cam::detail {

class FailoverStories {
 public:
  // What the tracker knows of an uplink when a story closes.
  struct UplinkFacts {
    std::int64_t down_since_ns;    // kNever-like sentinel (< 0) when up
    std::int64_t last_frame_ns;    // last frame that arrived on it, or < 0
    std::uint64_t frames;          // frames that arrived on it so far
  };

  FailoverStories(const FailoverConfig& config, std::int64_t min_gap_ns, std::int64_t decision_delay_ns) {
    reconfigure(config, min_gap_ns, decision_delay_ns);
  }

  // `min_gap_ns`: the notify window after a move plus a second, so every member is decided
  // before its story closes. `decision_delay_ns`: how late a move can reach on_move() after it
  // happened (both-ways mirrors confirm moves that long after), so a story is closed that much
  // after its deadline, its time unchanged. Open stories keep the gap and delay they opened
  // with (a reload must not close one early, behind events already delivered); turned off,
  // the open ones are dropped untold.
  void reconfigure(const FailoverConfig& config, std::int64_t min_gap_ns, std::int64_t decision_delay_ns) {
    enabled_ = config.enabled;
    gap_ns_ = std::max<std::int64_t>(config.gap.count(), min_gap_ns);
    delay_ns_ = decision_delay_ns;
    if (!enabled_) {
      for (Open& o : open_) o.active = false;
    }
  }

  // A story an earlier run published (state file): a failback may reverse it.
  void note_published(UplinkId from, UplinkId to, std::int64_t started_ns, std::int64_t closed_ns) {
    if (from == kNoUplink || to == kNoUplink) return;
    if (history_.size() == kHistory) history_.erase(history_.begin());
    history_.push_back(Published{from, to, started_ns, closed_ns});
  }

  // A move the tracker will decide (not a damped one). `facts` describes `from` now.
  void on_move(UplinkId from, UplinkId to, std::uint64_t key, std::int64_t move_ns, std::int64_t last_seen_on_from_ns,
               const UplinkFacts& facts);
  // The decision for a move (silent_move, announced_move) or a flap of a member.
  void on_decision(const Event& e);

  // Earliest deadline of an open story, or INT64_MAX.
  std::int64_t next_deadline() const;
  // Closes every story whose deadline is before `clock_ns` (all of them when `all`), calling
  // emit(std::shared_ptr<FailoverStory>) for those that are failovers. `facts(uplink)` gives
  // the UplinkFacts of an uplink now.
  template <typename Facts, typename Emit>
  void close_due(std::int64_t clock_ns, bool all, Facts&& facts, Emit&& emit) {
    for (std::size_t u = 0; u < open_.size(); ++u) {
      Open& o = open_[u];
      if (!o.active || (!all && o.story->ended.time_since_epoch().count() + o.gap_ns + o.delay_ns >= clock_ns)) continue;
      auto story = close(static_cast<UplinkId>(u), o, facts(static_cast<UplinkId>(u)));
      if (story) emit(std::move(story));
    }
  }

  std::uint64_t published() const { return published_; }

 private:
  struct Open {
    bool active = false;
    std::shared_ptr<FailoverStory> story;
    std::unordered_map<std::uint64_t, std::uint32_t> member_of;  // station key -> index in stations
    std::vector<std::uint32_t> to_counts;                         // per destination uplink
    UplinkFacts at_start{};
    std::int64_t gap_ns = 0;    // the gap and decision delay in force when it opened
    std::int64_t delay_ns = 0;
  };
  static constexpr std::size_t kHistory = 32;  // published stories remembered for failbacks
  struct Published {
    UplinkId from;
    UplinkId to;
    std::int64_t started_ns;
    std::int64_t closed_ns;
  };

  std::shared_ptr<FailoverStory> close(UplinkId from, Open& o, const UplinkFacts& now);

  bool enabled_ = true;
  std::int64_t gap_ns_ = 0;
  std::int64_t delay_ns_ = 0;
  std::vector<Open> open_;  // indexed by the uplink the stations leave
  std::vector<Published> history_;  // the latest published stories, oldest first
  std::uint64_t published_ = 0;
};

}  // namespace camwatch::cam::detail
