#include "failover_stories.h"

#include <algorithm>
#include <limits>

namespace camwatch::cam::detail {
namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;
// An uplink_down this long before the first move (or 1 s after it) explains the story.
constexpr std::int64_t kAttributionNs = std::chrono::duration_cast<Duration>(kFailoverAttribution).count();
// A failback reverses a failover published at most this long before it started.
constexpr std::int64_t kFailbackMemoryNs = 24LL * 3600 * kNsPerSecond;

PacketTime at(std::int64_t ns) { return PacketTime(Duration(ns)); }
std::int64_t ns_of(PacketTime t) { return t.time_since_epoch().count(); }

}  // namespace

void FailoverStories::on_move(UplinkId from, UplinkId to, std::uint64_t key, std::int64_t move_ns,
                              std::int64_t last_seen_on_from_ns, const UplinkFacts& facts) {
  if (!enabled_ || from == kNoUplink || to == kNoUplink) return;
  if (from >= open_.size()) open_.resize(from + 1U);
  Open& o = open_[from];
  if (!o.active) {
    o.active = true;
    o.story = std::make_shared<FailoverStory>();
    o.story->from = from;
    o.story->started = at(move_ns);
    o.member_of.clear();
    o.to_counts.clear();
    o.at_start = facts;
    o.gap_ns = gap_ns_;
    o.delay_ns = delay_ns_;
  }
  FailoverStory& s = *o.story;
  s.ended = std::max(s.ended, at(move_ns));
  ++s.moved;
  if (to >= o.to_counts.size()) o.to_counts.resize(to + 1U, 0);
  ++o.to_counts[to];
  if (s.stations.size() < kMaxStoryStations) {
    FailoverStation m;
    m.station = StationKey::unpack(key);
    m.to = to;
    m.moved = at(move_ns);
    m.last_seen_on_from = at(last_seen_on_from_ns);
    m.outcome = EventKind::flap;  // until decided: a move whose decision never comes was dropped by a flap
    o.member_of[key] = static_cast<std::uint32_t>(s.stations.size());
    s.stations.push_back(m);
  }
}

void FailoverStories::on_decision(const Event& e) {
  if (!enabled_ || e.from >= open_.size()) return;
  Open& o = open_[e.from];
  if (!o.active || e.time < o.story->started) return;
  FailoverStory& s = *o.story;
  switch (e.kind) {
    case EventKind::silent_move: ++s.silent; break;
    case EventKind::announced_move: ++s.announced; break;
    default: break;  // a flap: counted from the members below when the story closes
  }
  auto it = o.member_of.find(e.station.packed());
  if (it == o.member_of.end()) return;
  FailoverStation& m = s.stations[it->second];
  if (e.kind == EventKind::flap) {
    m.outcome = EventKind::flap;
  } else if (m.moved == e.time) {
    m.outcome = e.kind;
    m.notification = e.notification;
  }
}

std::int64_t FailoverStories::next_deadline() const {
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (const Open& o : open_) {
    if (o.active) next = std::min(next, ns_of(o.story->ended) + o.gap_ns + o.delay_ns);
  }
  return next;
}

std::shared_ptr<FailoverStory> FailoverStories::close(UplinkId from, Open& o, const UplinkFacts& now) {
  o.active = false;
  std::shared_ptr<FailoverStory> story = std::move(o.story);
  o.member_of.clear();
  FailoverStory& s = *story;
  const std::int64_t started = ns_of(s.started);
  s.closed = at(ns_of(s.ended) + o.gap_ns);

  // Members whose decision never came were dropped by a flap; every other member is counted by
  // its decision (including members beyond kMaxStoryStations).
  s.flapping = s.moved >= s.silent + s.announced ? s.moved - s.silent - s.announced : 0;
  for (const FailoverStation& m : s.stations) {
    if (m.outcome == EventKind::silent_move) s.longest_blackout = std::max(s.longest_blackout, m.blackout());
  }
  std::uint32_t best = 0;
  for (std::size_t u = 0; u < o.to_counts.size(); ++u) {
    if (o.to_counts[u] > best) {
      best = o.to_counts[u];
      s.to = static_cast<UplinkId>(u);
    }
  }

  // A link event explains a story best; then the reverse of an earlier failover (a failback:
  // the uplink that emptied may well fall silent, which is not what happened to it); then an
  // uplink that stopped delivering frames.
  bool failover = false;
  if (now.down_since_ns >= 0 && started - now.down_since_ns <= kAttributionNs &&
      now.down_since_ns - started <= kNsPerSecond) {
    s.cause = FailoverCause::link_down;
    s.link_down_at = at(now.down_since_ns);
    failover = true;
  }
  for (auto it = history_.rbegin(); !failover && it != history_.rend(); ++it) {
    if (it->from == s.to && it->to == from && started >= it->started_ns && started - it->started_ns <= kFailbackMemoryNs) {
      s.cause = FailoverCause::failback;
      s.failback_of = at(it->started_ns);
      failover = true;
    }
  }
  if (!failover && o.at_start.last_frame_ns < started && now.frames == o.at_start.frames) {
    s.cause = FailoverCause::traffic_stopped;
    s.last_frame_on_from = at(std::max<std::int64_t>(o.at_start.last_frame_ns, 0));
    failover = true;
  }
  if (!failover) return nullptr;
  if (history_.size() == kHistory) history_.erase(history_.begin());
  history_.push_back(Published{from, s.to, started, ns_of(s.closed)});
  ++published_;
  return story;
}

}  // namespace camwatch::cam::detail
