#include "cam/tracker.h"

#include <algorithm>
#include <limits>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "failover_stories.h"
#include "station_table.h"

namespace camwatch::cam {
namespace {

using detail::Slot;
using detail::StationTable;

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min() / 2;
constexpr std::int64_t kFarFuture = std::numeric_limits<std::int64_t>::max() / 2;
// Latest packet time accepted (year 2116): with kNever = -2^62 every difference stays in range.
constexpr std::int64_t kMaxTimeNs = 4'600'000'000'000'000'000LL;

std::int64_t to_ns(PacketTime t) { return t.time_since_epoch().count(); }
std::int64_t to_ns(Duration d) { return d.count(); }
PacketTime from_ns(std::int64_t v) { return PacketTime(Duration(v)); }

constexpr std::int64_t kNsPerSecond = 1'000'000'000;

// A packet time as the slot's u32 Unix seconds, rounded down and saturating (kMaxTimeNs is in
// 2116, u32 seconds end in 2106), so nothing wraps. Times before 1970 never reach the table.
std::uint32_t slot_seconds(std::int64_t ns) {
  return static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(ns / kNsPerSecond, 0, std::numeric_limits<std::uint32_t>::max()));
}
// For slot fields where 0 means "none": a time in 1970's first second is stored as 1.
std::uint32_t slot_seconds_set(std::int64_t ns) { return std::max<std::uint32_t>(1, slot_seconds(ns)); }
// The view's time of a "0 = none" field, and back (epoch or earlier = none).
PacketTime from_slot_seconds(std::uint32_t s) { return PacketTime(std::chrono::seconds(s)); }
std::uint32_t optional_slot_seconds(PacketTime t) {
  const std::int64_t ns = to_ns(t);
  return ns <= 0 ? 0 : slot_seconds_set(std::min(ns, kMaxTimeNs));
}

struct PendingMove {
  std::int64_t move_ns;
  std::int64_t last_seen_on_from_ns;
  UplinkId from;
  UplinkId to;
  // move + the notify_window_after in force when it moved: a reload changing the window does
  // not strand or reorder the decisions already waiting.
  std::int64_t deadline_ns;
};

// What the tracker remembers beyond the slot, only for stations that moved recently or were
// announced on an uplink they are not on. Most stations never get one, which keeps the slot at
// 32 bytes and the ordinary frame free of allocation.
struct MobilityRecord {
  // The latest notification for the station that arrived on an uplink other than its own.
  std::int64_t notify_ns = kNever;
  UplinkId notify_uplink = kNoUplink;
  Notification notify_kind = Notification::none;
  std::vector<PendingMove> pending;        // moves waiting for notify_window_after to pass
  std::vector<std::int64_t> recent_moves;  // at most flap_moves latest move times, oldest first
  std::int64_t damped_until_ns = kNever;
  std::int64_t last_move_ns = kNever;
  // Both-ways mirrors: a move waiting for confirmation (the slot already shows `tentative_to`),
  // and whether the station was seen on both sides (then it never moves between such uplinks).
  bool tentative = false;
  bool both_ways = false;
  bool confirmation_queued = false;  // one Confirmation at most per station, whatever the frame rate
  UplinkId tentative_from = kNoUplink;
  UplinkId tentative_to = kNoUplink;
  std::int64_t tentative_move_ns = kNever;
  std::int64_t tentative_last_seen_on_from_ns = kNever;
};

struct Confirmation {
  std::int64_t at_ns;  // move + both_ways_confirm
  std::int64_t move_ns;
  std::uint64_t key;
  bool operator>(const Confirmation& o) const { return at_ns > o.at_ns; }
};

struct Deadline {
  std::int64_t at_ns;    // move + notify_window_after: decide when the clock passes it
  std::uint64_t seq;     // decision order for equal deadlines: the order moves happened in
  std::uint64_t key;
  bool operator>(const Deadline& o) const { return at_ns != o.at_ns ? at_ns > o.at_ns : seq > o.seq; }
};

}  // namespace

class Tracker::Impl {
  static constexpr std::uint64_t kSweepSlice = 8192;    // slots per sweep step: a few us
  static constexpr std::int64_t kMaxSlicesPerFrame = 4;  // bounds the work one frame can cause

  // Aging precision comes from the lazy check on every lookup; the sweep only reclaims memory,
  // so a coarse interval is enough.
  static std::int64_t sweep_interval_for(std::int64_t idle_ns) {
    return std::clamp<std::int64_t>(idle_ns / 8, 1'000'000'000LL, 60'000'000'000LL);
  }
  static std::int64_t sweep_step_for(std::int64_t interval_ns, std::uint64_t max_entries) {
    const auto slices = static_cast<std::int64_t>((StationTable::capacity_for(max_entries) + kSweepSlice - 1) / kSweepSlice);
    return std::max<std::int64_t>(1'000'000LL, interval_ns / slices);
  }

 public:
  Impl(const TrackerConfig& config, EventSink& sink)
      : config_(config),
        sink_(sink),
        before_ns_(to_ns(config.notify_window_before)),
        after_ns_(to_ns(config.notify_window_after)),
        idle_ns_(to_ns(config.idle_timeout)),
        flap_window_ns_(to_ns(config.flap_window)),
        damping_ns_(to_ns(config.flap_damping)),
        sweep_interval_ns_(sweep_interval_for(idle_ns_)),
        sweep_step_ns_(sweep_step_for(sweep_interval_ns_, config.max_entries)),
        probation_ns_(to_ns(config.probation)),
        max_notify_records_(config.max_entries / 4 + 1024),
        table_(config.max_entries, config.table_memory, detail::table_seed(config.hash_seed)),
        stories_(config.failover, story_min_gap(after_ns_), 0) {
    set_both_ways(config);
  }

  // Frames of one uplink not yet added to uplinks_: a batch counts them in registers and adds
  // them before anything reads the uplinks' traffic (a move, housekeeping, a frame carrying
  // more, the end of the batch), so the failover stories see exact counts (11 instructions per
  // frame counted into memory, 5 in registers).
  struct UplinkRun {
    UplinkId uplink = kNoUplink;
    std::uint64_t frames = 0;
    std::int64_t last_frame_ns = -1;
  };
  void flush(UplinkRun& run) {
    if (run.frames == 0) return;
    add_traffic(run.uplink, run.frames, run.last_frame_ns);
    run.frames = 0;
    run.last_frame_ns = -1;
  }

  // One frame. The ordinary one (a station heard again on its uplink) stays in this function,
  // inlined into the batch loop; everything else is out of line. `key` and `home` are the
  // station's key and home slot (the batch computed them when it prefetched the slot). The
  // clock moves on almost every frame of an ordered capture, so that branch carries no hint.
  [[gnu::always_inline]] void observe(const Observation& obs, std::uint64_t key, std::uint64_t home,
                                      FollowUp* follow_up, UplinkRun& run) {
    const std::int64_t t = to_ns(obs.time);
    // Times outside 1970..2116 cannot come from a real capture; keeping them out keeps every
    // time difference below within int64. One unsigned compare covers both ends.
    if (static_cast<std::uint64_t>(t) > static_cast<std::uint64_t>(kMaxTimeNs)) [[unlikely]] {
      ++stats_.ignored_sources;
      return;
    }
    // Per uplink, for the failover stories' "its traffic stopped".
    if (obs.uplink != run.uplink) [[unlikely]] {
      flush(run);
      run.uplink = obs.uplink;
    }
    ++run.frames;
    run.last_frame_ns = std::max(run.last_frame_ns, t);
    if (t > clock_ns_) {
      clock_ns_ = t;
      if (t >= next_housekeeping_ns_) [[unlikely]] {
        flush(run);
        housekeeping();
      }
    }
    if (obs.carries_more_than_station()) [[unlikely]] {
      flush(run);
      observe_more(obs, t, key, home);
      if (follow_up != nullptr) follow_up->after(obs);
      return;
    }
    learn(obs, t, key, home, run);
  }

  void observe(const Observation& obs) {
    ++stats_.observations;
    UplinkRun run;
    const std::uint64_t key = station_key(obs);
    observe(obs, key, table_.home(key), nullptr, run);
    flush(run);
  }

  // Frames with a notification, a flag or a claim: the notification is noted before the source
  // is learned, the display after (see Tracker::observe()).
  [[gnu::noinline]] void observe_more(const Observation& obs, std::int64_t t, std::uint64_t key, std::uint64_t home) {
    if (obs.notification != Notification::none) note_notification(obs, t);
    UplinkRun none;
    Slot* s = learn(obs, t, key, home, none);
    // After learn(): a station whose first frame announces itself is in the table by now.
    if (obs.notification != Notification::none || obs.flags != 0) note_display(obs, s, t);
  }

  // How far ahead a batch prefetches: enough misses in flight to cover a DRAM access, few enough
  // that the lines are still in L1 when their turn comes. Table_LookupUpdate_1M_Uniform_Prefetch:
  // 38.9 -> 30.1 ns at 8 (docs/PERFORMANCE.md).
  static constexpr std::size_t kPrefetchAhead = 8;

  // Each frame's key and home slot are computed once, kPrefetchAhead frames early when the slot
  // is prefetched, and kept until its turn (computing them again cost ~9 instructions a frame).
  void observe(const Observation* batch, std::size_t n, FollowUp* follow_up) {
    stats_.observations += n;
    std::uint64_t keys[kPrefetchAhead];
    std::uint64_t homes[kPrefetchAhead];
    const auto ahead = [&](std::size_t j) {
      const std::size_t r = j % kPrefetchAhead;
      keys[r] = station_key(batch[j]);
      homes[r] = table_.home(keys[r]);
      table_.prefetch_at(homes[r]);
    };
    const std::size_t warm = std::min(n, kPrefetchAhead);
    for (std::size_t j = 0; j < warm; ++j) ahead(j);
    UplinkRun run;
    std::size_t i = 0;
    for (; i + kPrefetchAhead < n; ++i) {
      const std::uint64_t key = keys[i % kPrefetchAhead];
      const std::uint64_t home = homes[i % kPrefetchAhead];
      ahead(i + kPrefetchAhead);
      observe(batch[i], key, home, follow_up, run);
    }
    for (; i < n; ++i) observe(batch[i], keys[i % kPrefetchAhead], homes[i % kPrefetchAhead], follow_up, run);
    flush(run);
  }

  void advance(PacketTime now) {
    const std::int64_t t = to_ns(now);
    if (t > clock_ns_) {
      clock_ns_ = t;
      if (clock_ns_ >= next_housekeeping_ns_) housekeeping();
    }
  }

  void finish() {
    // Tentative moves (both-ways mirrors) the station never came back from are made; then every
    // pending move is decided as it stands: the input has ended, no notification can follow.
    confirm_due(kFarFuture);
    while (!deadlines_.empty()) {
      Deadline d = deadlines_.top();
      deadlines_.pop();
      decide_expired(d.key, kFarFuture);
    }
    if (stats_.pending_moves != 0) {  // cannot happen; never leave a decision unmade
      std::vector<std::uint64_t> keys;
      for (const auto& [key, rec] : mobility_)
        if (!rec.pending.empty()) keys.push_back(key);
      std::sort(keys.begin(), keys.end());
      for (std::uint64_t key : keys) decide_expired(key, kFarFuture);
    }
    close_stories(/*all=*/true);
    while (!nothing_held()) release_front();
  }

  void for_each_station(const std::function<void(const StationView&)>& fn) const {
    for (std::uint64_t i = 0; i < table_.capacity(); ++i) {
      const Slot& s = table_.at(i);
      if (s.key == 0) continue;
      StationView v;
      v.key = StationKey::unpack(s.key);
      v.uplink = s.uplink;
      v.first_seen = from_slot_seconds(s.first_seen_s);
      v.last_seen = from_ns(s.last_seen_ns);
      v.moves = s.moves;
      v.last_move = from_slot_seconds(s.last_move_s);  // 0: the epoch, "never"
      v.last_notification = from_slot_seconds(s.notify_s);
      v.notification = detail::slot_notification(s.flags);
      v.nlb_host = (s.flags & detail::kSlotNlbHost) != 0;
      fn(v);
    }
  }

  void uplink_state(UplinkId uplink, bool up, std::int64_t t) {
    if (uplink == kNoUplink) return;
    if (uplink >= down_since_ns_.size()) down_since_ns_.resize(uplink + 1U, kNever);
    if (t > clock_ns_) {
      clock_ns_ = t;
      if (clock_ns_ >= next_housekeeping_ns_) housekeeping();
    }
    down_since_ns_[uplink] = up ? kNever : t;
    Event e;
    e.kind = up ? EventKind::uplink_up : EventKind::uplink_down;
    e.time = from_ns(t);
    e.to = uplink;
    hold(e);
  }

  void emit(const Event& e) {
    ++stats_.external_events;
    hold(e);
  }

  void restore_story(const FailoverStory& st) { stories_.note_published(st.from, st.to, to_ns(st.started), to_ns(st.closed)); }

  void reconfigure(const TrackerConfig& c) {
    config_ = c;
    before_ns_ = to_ns(c.notify_window_before);
    after_ns_ = to_ns(c.notify_window_after);
    set_both_ways(c);
    stories_.reconfigure(c.failover, story_min_gap(after_ns_), confirm_ns_);
    release_delay_ns_ = std::max(release_delay_ns_, base_delay());
    idle_ns_ = to_ns(c.idle_timeout);
    flap_window_ns_ = to_ns(c.flap_window);
    damping_ns_ = to_ns(c.flap_damping);
    probation_ns_ = to_ns(c.probation);
    sweep_interval_ns_ = sweep_interval_for(idle_ns_);
    sweep_step_ns_ = sweep_step_for(sweep_interval_ns_, c.max_entries);
  }

  std::uint64_t forget_uplink(UplinkId uplink) {
    std::uint64_t forgotten = 0;
    for (std::uint64_t i = 0; i < table_.capacity();) {
      Slot& s = table_.at(i);
      if (s.key != 0 && s.uplink == uplink) {
        erase_station(i);  // may shift a later entry into i: look at i again
        ++forgotten;
        continue;
      }
      ++i;
    }
    stats_.stations = table_.size();
    stats_.stations_evicted += forgotten;
    return forgotten;
  }

  bool restore(const StationView& v) {
    if (!v.key.mac.is_learnable()) return false;
    const std::int64_t first = to_ns(v.first_seen), last = to_ns(v.last_seen);
    if (first < 0 || first > kMaxTimeNs || last < 0 || last > kMaxTimeNs) return false;
    bool inserted = false;
    Slot* s = table_.find_or_insert(v.key.packed(), inserted);
    if (s == nullptr) return false;
    s->uplink = v.uplink;
    s->first_seen_s = slot_seconds(first);
    s->last_seen_ns = last;
    s->moves = static_cast<std::uint8_t>(std::min<std::uint32_t>(v.moves, std::numeric_limits<std::uint8_t>::max()));
    s->last_move_s = optional_slot_seconds(v.last_move);
    // A kind needs a time and a time a kind: the view must read back as it would from a frame.
    const auto kind = static_cast<unsigned>(v.notification);
    const bool notified = kind != 0 && kind < static_cast<unsigned>(kNotificationKinds) && to_ns(v.last_notification) > 0;
    s->notify_s = notified ? optional_slot_seconds(v.last_notification) : 0;
    s->flags = detail::with_slot_notification(s->flags, notified ? v.notification : Notification::none);
    set_nlb_host(*s, v.nlb_host);
    if (inserted) ++stats_.stations_restored;
    stats_.stations = table_.size();
    return true;
  }

  const TrackerStats& stats() const { return stats_; }
  PacketTime clock() const { return from_ns(clock_ns_ == kNever ? 0 : clock_ns_); }
  const TrackerConfig& config() const { return config_; }

 private:
  bool idle_expired(const Slot& s, std::int64_t t) const { return t - s.last_seen_ns > idle_ns_; }

  static std::uint64_t station_key(const Observation& obs) { return StationKey{obs.vlan, obs.source}.packed(); }

  // Learns the frame's source; returns its slot, or nullptr when it was not learned (not a
  // station, or the table is full). The pointer is good until a station is next removed (the
  // sweep, forget_uplink), which cannot happen before observe() returns.
  // `key` and `home` are station_key(obs) and its home slot; `run` is flushed before a move (the
  // failover stories read the uplinks' traffic), the only path here that reads it.
  Slot* learn(const Observation& obs, std::int64_t t, std::uint64_t key, std::uint64_t home, UplinkRun& run) {
    if (!obs.source.is_learnable()) [[unlikely]] {
      ++stats_.ignored_sources;
      return nullptr;
    }
    bool inserted = false;
    Slot* s = table_.find_or_insert(key, home, inserted);
    if (s != nullptr && !inserted && !idle_expired(*s, t)) [[likely]] {
      if (s->uplink == obs.uplink) [[likely]] {
        s->last_seen_ns = std::max(s->last_seen_ns, t);
        s->flags |= detail::kSlotHeardAgain;  // for a full table's choice of what to give up
        return s;
      }
      flush(run);
      move(*s, obs.uplink, t);
      return s;
    }
    return learn_new(obs, t, key, s, inserted);
  }

  [[gnu::noinline]] void move(Slot& s, UplinkId to, std::int64_t t) { on_move(s, to, t); }

  // learn() for a station not in the table (or only as one aged out): learned, or not when the
  // table is full. Nothing here reads the uplinks' traffic.
  [[gnu::noinline]] Slot* learn_new(const Observation& obs, std::int64_t t, std::uint64_t key, Slot* s, bool inserted) {
    if (s == nullptr) return learn_in_full_table(obs, t, key);
    if (!inserted) {
      // The switch aged it out too and floods until it re-learns: a new station, not a move.
      ++stats_.stations_aged;
      drop_mobility(*s);
    }
    start_station(*s, obs.uplink, t);
    return s;
  }

  // A station that a full table keeps whatever comes: heard over `probation`, moved, announced,
  // an NLB host, or with move bookkeeping. Seconds precision (first_seen is whole seconds).
  // Once heard over the probation a station stays established until it is forgotten, so the
  // verdict is kept in the slot (kSlotEstablished) and a full table of established stations
  // costs one flag test per slot looked at. A reload that lengthens the probation does not
  // demote stations already established.
  bool established(Slot& s) const {
    constexpr std::uint8_t kKept = detail::kSlotEstablished | detail::kSlotHasMobility | detail::kSlotNlbHost;
    if ((s.flags & kKept) != 0 || s.moves != 0 || s.notify_s != 0) return true;
    if (s.last_seen_ns - std::int64_t{s.first_seen_s} * kNsPerSecond < probation_ns_) return false;
    s.flags |= detail::kSlotEstablished;
    return true;
  }

  // Where a new station meeting a full table looks for a slot to take: first the 4 slots from
  // its home (two cache lines, about 2 stations at the cap's load, already in cache from its
  // lookup), then up to 32 slots at a hand that walks the table, so that a home crowded with
  // established stations does not keep a new one out while probationary stations sit
  // elsewhere. Instructions per frame of the callgrind flood (bench/callgrind_path.sh) with 8, 4
  // and 2 slots from home: 485, 377, 319; 4 keeps the choice of the longest unheard among ~2
  // probationary stations (protecting a new station until its second frame) for 58 of those.
  static constexpr unsigned kReplaceWindow = 4;
  static constexpr unsigned kHandSlots = 32;
  static constexpr std::uint32_t kHandRestMax = 4096;

  // What giving up a slot costs, as a rank: 3 aged out (the switch forgot it too), 2 probationary
  // heard once (a flood MAC looks like this), 1 probationary heard again, 0 never (empty or
  // established). Among equal ranks the one heard longest ago goes.
  int replace_rank(Slot& c, std::int64_t t) const {
    if (c.key == 0) return 0;
    if (idle_expired(c, t)) return 3;
    if (established(c)) return 0;
    return (c.flags & detail::kSlotHeardAgain) != 0 ? 1 : 2;
  }
  struct Candidate {
    std::uint64_t index = 0;
    int rank = 0;
    std::int64_t last_seen_ns = 0;
    bool on_path = false;  // before the first empty slot from the new station's home
    void consider(std::uint64_t i, const Slot& c, int r, bool path) {
      if (r > rank || (r == rank && r != 0 && c.last_seen_ns < last_seen_ns)) *this = Candidate{i, r, c.last_seen_ns, path};
    }
  };

  // A new station and no room: it takes the place of an aged-out station, else of a
  // probationary one heard only once, else of one heard again (near its home first, then at
  // the hand); established stations are never given up. Without any, it is refused.
  [[gnu::noinline]] Slot* learn_in_full_table(const Observation& obs, std::int64_t t, std::uint64_t key) {
    note_table_full(obs, t);
    Candidate best;
    std::uint64_t i = table_.home(key);
    bool path = true;
    for (unsigned n = 0; n < kReplaceWindow && best.rank < 3; ++n, i = table_.next(i)) {
      Slot& c = table_.at(i);
      if (c.key == 0) path = false;
      best.consider(i, c, replace_rank(c, t), path);
    }
    if (best.rank < 2) {
      if (hand_skip_ != 0) {
        --hand_skip_;
      } else {
        Candidate at_hand;
        for (unsigned n = 0; n < kHandSlots && at_hand.rank < 2; ++n, hand_ = table_.next(hand_)) {
          Slot& c = table_.at(hand_);
          at_hand.consider(hand_, c, replace_rank(c, t), false);
        }
        if (at_hand.rank > best.rank) best = at_hand;
        // A table of established stations has nothing for the hand: it rests for twice as many
        // new stations after each empty walk, up to kHandRestMax (a flood against such a table
        // cost 924 instructions per frame with the hand walking every time, 248 like this).
        hand_rest_ = at_hand.rank != 0 ? 0 : std::min<std::uint32_t>(std::max<std::uint32_t>(1, hand_rest_ * 2), kHandRestMax);
        hand_skip_ = hand_rest_;
      }
    }
    if (best.rank == 0) {
      ++stats_.stations_refused;
      return nullptr;
    }
    if (best.rank == 3) {
      ++stats_.stations_aged;
    } else {
      ++stats_.stations_replaced;
    }
    if (best.on_path && best.rank != 3) {
      // On the new station's own probe path: it takes the slot as it is (no shifting, no second
      // probe). A probationary station has no mobility record and is no NLB host.
      Slot& s = table_.at(best.index);
      s = Slot{};
      s.key = key;
      start_station(s, obs.uplink, t);
      return &s;
    }
    if (best.rank == 3) {
      erase_station(best.index);
    } else {
      table_.erase_at(best.index);
    }
    bool inserted = false;
    Slot* s = table_.find_or_insert(key, inserted);  // one slot was just freed: never nullptr
    if (s != nullptr) start_station(*s, obs.uplink, t);
    return s;
  }

  // A new station, or one heard again after aging: nothing of its past is kept.
  void start_station(Slot& s, UplinkId uplink, std::int64_t t) {
    s.uplink = uplink;
    s.first_seen_s = slot_seconds(t);
    s.last_seen_ns = t;
    s.last_move_s = 0;
    s.notify_s = 0;
    s.moves = 0;
    set_nlb_host(s, false);  // before flags are cleared: keeps the nlb_hosts gauge exact
    s.flags = 0;
    ++stats_.stations_learned;
    stats_.stations = table_.size();
  }

  // The only writer of kSlotNlbHost outside erase_station(): the gauge moves with the bit.
  void set_nlb_host(Slot& s, bool nlb) {
    const bool was = (s.flags & detail::kSlotNlbHost) != 0;
    if (was == nlb) return;
    if (nlb) {
      s.flags |= detail::kSlotNlbHost;
      ++stats_.nlb_hosts;
    } else {
      s.flags &= static_cast<std::uint8_t>(~detail::kSlotNlbHost);
      --stats_.nlb_hosts;
    }
  }

  // Removes the station at `index` for good (aging sweep, forget_uplink).
  void erase_station(std::uint64_t index) {
    Slot& s = table_.at(index);
    drop_mobility(s);
    set_nlb_host(s, false);
    table_.erase_at(index);
  }

  // What a frame with a notification or a flag tells `camwatch table`, after `learned` (the
  // frame's own source, or nullptr) was learned. Never part of a decision.
  void note_display(const Observation& obs, Slot* learned, std::int64_t t) {
    if (obs.has(ObservationFlag::nlb_heartbeat)) {
      ++stats_.nlb_heartbeats;
      if (learned != nullptr) set_nlb_host(*learned, true);
    }
    if (obs.notification == Notification::none || !obs.notified.is_learnable()) return;
    // The announced station, on any uplink: usually the sender itself (RARP, GARP), which is
    // `learned`; an NA's target link-layer address may name another one.
    Slot* s = obs.notified == obs.source ? learned : table_.find(StationKey{obs.vlan, obs.notified}.packed());
    if (s == nullptr || idle_expired(*s, t)) return;  // not in the table (or aged): nothing to show it on
    const std::uint32_t at = slot_seconds_set(t);
    if (at < s->notify_s) return;  // an older frame arriving late: keep the latest
    s->notify_s = at;
    s->flags = detail::with_slot_notification(s->flags, obs.notification);
  }

  // A new station met the full table: one table_full event until aging has made room again.
  void note_table_full(const Observation& obs, std::int64_t t) {
    if (table_full_reported_) return;
    table_full_reported_ = true;
    Event e;
    e.kind = EventKind::table_full;
    e.time = from_ns(t);
    e.station = StationKey{obs.vlan, obs.source};
    e.to = obs.uplink;
    e.table_entries = table_.size();
    hold(e);
  }

  MobilityRecord& mobility(Slot& s) {
    s.flags |= detail::kSlotHasMobility;
    return mobility_[s.key];
  }

  MobilityRecord* find_mobility(const Slot& s) {
    if ((s.flags & detail::kSlotHasMobility) == 0) return nullptr;
    auto it = mobility_.find(s.key);
    return it == mobility_.end() ? nullptr : &it->second;
  }

  // Forgets a station's mobility; moves still pending are decided now with what was seen.
  void drop_mobility(Slot& s) {
    MobilityRecord* rec = find_mobility(s);
    if (rec != nullptr) {
      for (const PendingMove& p : rec->pending) emit_move(s.key, p, EventKind::silent_move, Notification::none, kNever);
      stats_.pending_moves -= rec->pending.size();
      mobility_.erase(s.key);
    }
    s.flags &= static_cast<std::uint8_t>(~detail::kSlotHasMobility);
  }

  void note_notification(const Observation& obs, std::int64_t t) {
    ++stats_.notifications[static_cast<int>(obs.notification)];
    if (!obs.notified.is_learnable()) return;
    const std::uint64_t key = StationKey{obs.vlan, obs.notified}.packed();
    Slot* s = table_.find(key);
    // An unknown (or aged) station cannot be moving: its first frame will simply be learned.
    if (s == nullptr || idle_expired(*s, t)) return;

    MobilityRecord* rec = find_mobility(*s);
    if (rec != nullptr && !rec->pending.empty()) {
      // A notification on the new uplink within the window after the move announces it.
      auto& pending = rec->pending;
      for (std::size_t i = 0; i < pending.size();) {
        const PendingMove& p = pending[i];
        if (p.to == obs.uplink && t >= p.move_ns - before_ns_ && t <= p.deadline_ns) {
          emit_move(key, p, EventKind::announced_move, obs.notification, t);
          pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
          --stats_.pending_moves;
        } else {
          ++i;
        }
      }
    }
    // A tentative move (both-ways mirrors) already shows the station on its new uplink: a
    // notification there must still be remembered for the move's decision.
    const bool tentative_here = rec != nullptr && rec->tentative && rec->tentative_to == obs.uplink;
    if (s->uplink != obs.uplink || tentative_here) {
      // Remember it: the station's first ordinary frame on this uplink may follow.
      if (rec == nullptr) {
        if (mobility_.size() >= max_notify_records_) return;  // bounded under a notification flood
        rec = &mobility(*s);
      }
      rec->notify_ns = t;
      rec->notify_uplink = obs.uplink;
      rec->notify_kind = obs.notification;
    }
  }

  // Uplinks configured as both-ways mirrors, and the delays that follow from them.
  void set_both_ways(const TrackerConfig& c) {
    both_ways_.assign(0, false);
    for (UplinkId u : c.both_ways_uplinks) {
      if (u == kNoUplink) continue;
      if (u >= both_ways_.size()) both_ways_.resize(u + 1U, false);
      both_ways_[u] = true;
    }
    confirm_ns_ = both_ways_.empty() ? 0 : to_ns(c.both_ways_confirm);
    stories_.reconfigure(c.failover, story_min_gap(after_ns_), confirm_ns_);
    release_delay_ns_ = std::max(release_delay_ns_, base_delay());
  }
  bool both_ways(UplinkId u) const { return u < both_ways_.size() && both_ways_[u]; }
  // How long after its time an event may still be decided: the notify window, or a both-ways
  // confirmation when that is longer.
  std::int64_t base_delay() const { return std::max(after_ns_, confirm_ns_); }

  // A move onto or off a both-ways uplink (see tracker.h). Returns true when it was handled
  // here (made tentative, cancelled or suppressed); false lets the ordinary move go ahead.
  bool both_ways_move(Slot& s, UplinkId to, std::int64_t t) {
    MobilityRecord* known = find_mobility(s);
    if (known != nullptr && known->both_ways) {
      // Seen on both sides of a both-ways mirror: it never moves onto or off one. Heard on an
      // received-only uplink, it is placed there (that side is the truth), without an event.
      if (!both_ways(to) && both_ways(s.uplink)) s.uplink = to;
      s.last_seen_ns = std::max(s.last_seen_ns, t);
      return true;
    }
    MobilityRecord& rec = known != nullptr ? *known : mobility(s);
    if (rec.tentative) {
      if (to == rec.tentative_from) {
        // Back on the uplink it was leaving: it shows on both sides. It stays where it was, or
        // goes to the received-only side of a mixed pair.
        const UplinkId from = rec.tentative_from, other = rec.tentative_to;
        s.uplink = !both_ways(from) || both_ways(other) ? from : other;
        s.last_seen_ns = std::max(s.last_seen_ns, t);
        rec.tentative = false;
        rec.both_ways = true;
        ++stats_.both_ways_suppressed;
        return true;
      }
      rec.tentative_to = to;  // on to a third uplink: the same tentative move, from the same time
      s.uplink = to;
      s.last_seen_ns = std::max(s.last_seen_ns, t);
      return true;
    }
    rec.tentative = true;
    rec.tentative_from = s.uplink;
    rec.tentative_to = to;
    rec.tentative_move_ns = t;
    rec.tentative_last_seen_on_from_ns = s.last_seen_ns;
    s.uplink = to;
    s.last_seen_ns = std::max(s.last_seen_ns, t);
    queue_confirmation(s.key, rec);
    return true;
  }

  void queue_confirmation(std::uint64_t key, MobilityRecord& rec) {
    if (rec.confirmation_queued) return;  // the queued one finds the newer tentative move and re-queues
    rec.confirmation_queued = true;
    const std::int64_t at = rec.tentative_move_ns + confirm_ns_;
    confirmations_.push(Confirmation{at, rec.tentative_move_ns, key});
    next_housekeeping_ns_ = std::min(next_housekeeping_ns_, at + 1);
  }

  // Tentative moves whose station stayed away from the old uplink for both_ways_confirm are
  // made now, dated when they happened; those due before `until_ns` (the clock; the far future
  // at the end of input). A station idle for idle_timeout by now is not moved: it aged out.
  void confirm_due(std::int64_t until_ns) {
    while (!confirmations_.empty() && confirmations_.top().at_ns < until_ns) {
      const Confirmation c = confirmations_.top();
      confirmations_.pop();
      Slot* s = table_.find(c.key);
      if (s == nullptr) continue;
      MobilityRecord* rec = find_mobility(*s);
      if (rec == nullptr) continue;
      rec->confirmation_queued = false;
      if (!rec->tentative) continue;
      if (rec->tentative_move_ns != c.move_ns) {  // a newer tentative move than the one queued
        queue_confirmation(c.key, *rec);
        continue;
      }
      rec->tentative = false;
      if (idle_expired(*s, clock_ns_)) continue;  // live or replay alike, whatever the sweep did
      s->uplink = rec->tentative_from;
      make_move(*s, rec->tentative_to, c.move_ns, rec->tentative_last_seen_on_from_ns);
    }
  }

  void on_move(Slot& s, UplinkId to, std::int64_t t) {
    if (!both_ways_.empty() && (both_ways(s.uplink) || both_ways(to)) && both_ways_move(s, to, t)) return;
    make_move(s, to, t, s.last_seen_ns);
  }

  // The move of `s` from its uplink to `to` at `t`; `last_seen_on_from_ns`: its last frame there.
  void make_move(Slot& s, UplinkId to, std::int64_t t, std::int64_t last_seen_on_from_ns) {
    const PendingMove move{t, last_seen_on_from_ns, s.uplink, to, t + after_ns_};
    const UplinkId from = s.uplink;
    if (MobilityRecord* r = find_mobility(s); r != nullptr && r->tentative) [[unlikely]] {
      r->tentative = false;  // both-ways mirrors were turned off by a reload: this move is the real one
    }
    s.uplink = to;
    s.last_seen_ns = std::max(s.last_seen_ns, t);
    if (s.moves != std::numeric_limits<std::uint8_t>::max()) ++s.moves;
    // For display, every move (damped and flapping ones too); it outlives the MobilityRecord.
    s.last_move_s = std::max(s.last_move_s, slot_seconds_set(t));

    MobilityRecord& rec = mobility(s);
    rec.last_move_ns = t;
    if (rec.recent_moves.size() >= config_.flap_moves) rec.recent_moves.erase(rec.recent_moves.begin());
    rec.recent_moves.push_back(t);
    const auto in_window = static_cast<std::uint32_t>(
        std::count_if(rec.recent_moves.begin(), rec.recent_moves.end(),
                      [&](std::int64_t m) { return m >= t - flap_window_ns_; }));

    if (t < rec.damped_until_ns) {
      ++stats_.damped_moves;
      rec.damped_until_ns = t + damping_ns_;
      return;
    }
    stories_.on_move(from, to, s.key, t, move.last_seen_on_from_ns, facts(from));
    arm_housekeeping(stories_.next_deadline());
    if (in_window >= config_.flap_moves) {
      // One flap event replaces the reports of the bounces still undecided.
      stats_.pending_moves -= rec.pending.size();
      rec.pending.clear();
      rec.damped_until_ns = t + damping_ns_;
      ++stats_.flaps;
      Event e;
      e.kind = EventKind::flap;
      e.time = from_ns(t);
      e.station = StationKey::unpack(s.key);
      e.from = move.from;
      e.to = move.to;
      e.last_seen_on_from = from_ns(move.last_seen_on_from_ns);
      e.moves_in_window = in_window;
      stories_.on_decision(e);
      hold(e);
      return;
    }
    if (rec.notify_uplink == to && rec.notify_ns >= t - before_ns_ && rec.notify_ns <= t + after_ns_) {
      emit_move(s.key, move, EventKind::announced_move, rec.notify_kind, rec.notify_ns);
      rec.notify_uplink = kNoUplink;  // one notification announces one move
      return;
    }
    rec.pending.push_back(move);
    ++stats_.pending_moves;
    deadlines_.push(Deadline{t + after_ns_, next_seq_++, s.key});
    next_housekeeping_ns_ = std::min(next_housekeeping_ns_, t + after_ns_ + 1);
  }

  UplinkId failed_uplink_for(UplinkId from, std::int64_t move_ns) const {
    if (from >= down_since_ns_.size() || down_since_ns_[from] == kNever) return kNoUplink;
    const std::int64_t since = move_ns - down_since_ns_[from];
    return since >= -to_ns(Duration(std::chrono::seconds(1))) && since <= to_ns(kFailoverAttribution) ? from : kNoUplink;
  }

  void emit_move(std::uint64_t key, const PendingMove& p, EventKind kind, Notification via, std::int64_t via_ns) {
    Event e;
    e.kind = kind;
    e.time = from_ns(p.move_ns);
    e.station = StationKey::unpack(key);
    e.from = p.from;
    e.to = p.to;
    e.last_seen_on_from = from_ns(p.last_seen_on_from_ns);
    e.failed_uplink = failed_uplink_for(p.from, p.move_ns);
    if (kind == EventKind::announced_move) {
      e.notification = via;
      e.notification_time = from_ns(via_ns);
      ++stats_.announced_moves;
    } else {
      ++stats_.silent_moves;
    }
    stories_.on_decision(e);
    hold(e);
  }

  // Uplink ids are small and dense (configuration order); kNoUplink (tests) shares slot 0.
  void grow_uplinks(UplinkId uplink) {
    uplinks_.resize(uplink == kNoUplink ? std::max<std::size_t>(uplinks_.size(), 1) : uplink + 1U);
  }
  [[gnu::noinline]] void add_traffic(UplinkId uplink, std::uint64_t frames, std::int64_t last_frame_ns) {
    if (uplink >= uplinks_.size()) grow_uplinks(uplink);
    UplinkTraffic& u = uplinks_[uplink < uplinks_.size() ? uplink : 0];
    u.frames += frames;
    u.last_frame_ns = std::max(u.last_frame_ns, last_frame_ns);
  }

  static std::int64_t story_min_gap(std::int64_t after_ns) { return after_ns + kNsPerSecond; }

  detail::FailoverStories::UplinkFacts facts(UplinkId u) const {
    detail::FailoverStories::UplinkFacts f{-1, -1, 0};
    if (u < down_since_ns_.size() && down_since_ns_[u] != kNever) f.down_since_ns = down_since_ns_[u];
    if (u < uplinks_.size()) {
      f.last_frame_ns = uplinks_[u].last_frame_ns;
      f.frames = uplinks_[u].frames;
    }
    return f;
  }

  void arm_housekeeping(std::int64_t at_ns) {
    if (at_ns != std::numeric_limits<std::int64_t>::max()) next_housekeeping_ns_ = std::min(next_housekeeping_ns_, at_ns + 1);
  }

  // Publishes the stories whose deadline the clock passed (all of them at the end of input), as
  // failover events held like any other.
  void close_stories(bool all) {
    stories_.close_due(clock_ns_, all, [this](UplinkId u) { return facts(u); },
                       [this](std::shared_ptr<FailoverStory> story) {
                         ++stats_.failovers;
                         Event e;
                         e.kind = EventKind::failover;
                         e.time = story->closed;
                         e.from = story->from;
                         e.to = story->to;
                         e.story = std::move(story);
                         hold(e);
                       });
  }

  // Events wait here, sorted by time (ties in decision order), until no earlier one can still
  // be decided: a silent move is only known notify_window_after after its time.
  // Delivers the oldest held event.
  void release_front() {
    const Event& front = held_[held_head_];
    last_released_ns_ = std::max(last_released_ns_, to_ns(front.time));
    sink_.on_event(front);
    held_[held_head_++] = Event{};  // drops a failover story's storage now
    if (held_head_ == held_.size()) {
      held_.clear();  // keeps the capacity
      held_head_ = 0;
    } else if (held_head_ >= 64 && held_head_ * 2 >= held_.size()) {
      held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(held_head_));  // moves, no allocation
      held_head_ = 0;
    }
  }
  bool nothing_held() const { return held_head_ == held_.size(); }
  const Event& oldest_held() const { return held_[held_head_]; }

  void hold(const Event& decided) {
    Event e = decided;
    // An event decided by a frame older than events already delivered (a late frame, a clock
    // step) is delivered with the latest delivered time: the stream never goes back in time.
    if (last_released_ns_ != kNever && to_ns(e.time) < last_released_ns_) [[unlikely]] {
      e.time = from_ns(last_released_ns_);
      ++stats_.late_events;
    }
    auto pos = std::upper_bound(held_.begin() + static_cast<std::ptrdiff_t>(held_head_), held_.end(), e,
                                [](const Event& a, const Event& b) { return a.time < b.time; });
    held_.insert(pos, e);
    next_housekeeping_ns_ = std::min(next_housekeeping_ns_, to_ns(e.time) + release_delay_ns_ + 1);
  }

  // Decides the pending moves of `key` whose window closed before `clock_ns`.
  void decide_expired(std::uint64_t key, std::int64_t clock_ns) {
    Slot* s = table_.find(key);
    if (s == nullptr) return;
    MobilityRecord* rec = find_mobility(*s);
    if (rec == nullptr) return;
    auto& pending = rec->pending;
    for (std::size_t i = 0; i < pending.size();) {
      if (pending[i].deadline_ns < clock_ns) {
        emit_move(key, pending[i], EventKind::silent_move, Notification::none, kNever);
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i));
        --stats_.pending_moves;
      } else {
        ++i;
      }
    }
  }

  [[gnu::noinline]] void housekeeping() {
    confirm_due(clock_ns_);  // first: a confirmed move may be due for its decision at once
    while (!deadlines_.empty() && deadlines_.top().at_ns < clock_ns_) {
      Deadline d = deadlines_.top();
      deadlines_.pop();
      decide_expired(d.key, clock_ns_);
    }
    // Stories close before held events are released: a story's time is its deadline, which
    // is before the clock, and nothing later than it may have gone out yet.
    close_stories(/*all=*/false);
    // After a reload shortened the window, moves decided under the old one may still come:
    // events are held for the longer of the two until those are all decided.
    // (Tentative moves waiting for confirmation count as pending here: their events will be dated
    // when they happened.)
    if (stats_.pending_moves == 0 && confirmations_.empty()) release_delay_ns_ = base_delay();
    while (!nothing_held() && to_ns(oldest_held().time) + release_delay_ns_ < clock_ns_) {
      release_front();
    }
    if (clock_ns_ >= next_sweep_ns_) {
      if (next_sweep_ns_ != kNever) {  // the first frame only starts the schedule
        // Catch up after a gap in traffic, a few slices at most per frame.
        const std::int64_t owed = 1 + (clock_ns_ - next_sweep_ns_) / sweep_step_ns_;
        for (std::int64_t i = 0; i < std::min<std::int64_t>(owed, kMaxSlicesPerFrame); ++i) sweep();
      }
      next_sweep_ns_ = clock_ns_ + sweep_step_ns_;
    }
    std::int64_t next = next_sweep_ns_;
    if (!deadlines_.empty()) next = std::min(next, deadlines_.top().at_ns + 1);
    if (!confirmations_.empty()) next = std::min(next, confirmations_.top().at_ns + 1);
    if (!nothing_held()) next = std::min(next, to_ns(oldest_held().time) + release_delay_ns_ + 1);
    const std::int64_t story = stories_.next_deadline();
    if (story != std::numeric_limits<std::int64_t>::max()) next = std::min(next, story + 1);
    next_housekeeping_ns_ = next;
  }

  bool mobility_idle(const MobilityRecord& rec) const {
    // kNever means "no such time"; compared, never subtracted, so no overflow at any clock.
    const bool moves_old = rec.last_move_ns == kNever || clock_ns_ - rec.last_move_ns > flap_window_ns_;
    const bool notify_old = rec.notify_ns == kNever || clock_ns_ - rec.notify_ns > before_ns_;
    return rec.pending.empty() && !rec.tentative && !rec.both_ways && clock_ns_ >= rec.damped_until_ns && moves_old &&
           notify_old;
  }

  // Aging reclaims memory incrementally: each call looks at a bounded slice of the table, so
  // no frame ever waits for a scan of the whole table (a capture with timestamps minutes apart
  // would otherwise trigger one per frame). Correctness does not depend on it: every lookup
  // checks idle_timeout itself. A full pass takes about sweep_interval of packet time.
  void sweep() {
    const std::uint64_t capacity = table_.capacity();
    const std::uint64_t end = std::min(capacity, sweep_cursor_ + kSweepSlice);
    for (std::uint64_t i = sweep_cursor_; i < end;) {
      Slot& s = table_.at(i);
      if (s.key != 0 && idle_expired(s, clock_ns_)) {
        erase_station(i);  // may shift a later entry into i: look at i again
        ++stats_.stations_aged;
        continue;
      }
      ++i;
    }
    stats_.stations = table_.size();
    sweep_cursor_ = end;
    if (sweep_cursor_ < capacity) return;

    sweep_cursor_ = 0;
    for (auto it = mobility_.begin(); it != mobility_.end();) {
      if (mobility_idle(it->second)) {
        if (Slot* s = table_.find(it->first)) s->flags &= static_cast<std::uint8_t>(~detail::kSlotHasMobility);
        it = mobility_.erase(it);
      } else {
        ++it;
      }
    }
    // Re-arm the table_full event once aging has made real room.
    if (table_full_reported_ && table_.size() < table_.max_entries() - table_.max_entries() / 20) {
      table_full_reported_ = false;
    }
  }

  TrackerConfig config_;
  EventSink& sink_;
  std::int64_t before_ns_;
  std::int64_t after_ns_;
  std::int64_t release_delay_ns_ = after_ns_;  // how long events are held (see housekeeping)
  std::int64_t idle_ns_;
  std::int64_t flap_window_ns_;
  std::int64_t damping_ns_;
  std::int64_t sweep_interval_ns_;
  std::int64_t sweep_step_ns_;  // packet time between two slices of the sweep
  std::int64_t probation_ns_;
  const std::size_t max_notify_records_;

  StationTable table_;
  std::unordered_map<std::uint64_t, MobilityRecord> mobility_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::priority_queue<Confirmation, std::vector<Confirmation>, std::greater<>> confirmations_;
  std::vector<bool> both_ways_;  // indexed by uplink id
  std::int64_t confirm_ns_ = 0;  // both_ways_confirm, 0 without both-ways uplinks
  // Events waiting for their release, oldest first: a vector read from `held_head_` on, so its
  // storage is reused (a deque frees and allocates a node every few events).
  std::vector<Event> held_;
  std::size_t held_head_ = 0;
  std::int64_t last_released_ns_ = kNever;  // time of the latest event delivered
  std::uint64_t next_seq_ = 0;
  std::int64_t clock_ns_ = kNever;
  std::int64_t next_housekeeping_ns_ = kNever;  // first frame runs housekeeping to arm the sweep
  std::int64_t next_sweep_ns_ = kNever;
  std::uint64_t sweep_cursor_ = 0;
  std::uint64_t hand_ = 0;  // where a full table looks next for a slot to give up
  std::uint32_t hand_rest_ = 0;  // new stations the hand lets pass after an empty walk ...
  std::uint32_t hand_skip_ = 0;  // ... and how many of them are still to pass
  std::vector<std::int64_t> down_since_ns_;  // per uplink: when its link went down, or kNever
  struct UplinkTraffic {
    std::uint64_t frames = 0;
    std::int64_t last_frame_ns = -1;
  };
  std::vector<UplinkTraffic> uplinks_;  // indexed by uplink id
  bool table_full_reported_ = false;
  TrackerStats stats_;
  detail::FailoverStories stories_;
};

namespace {
void validate(const TrackerConfig& config) {
  if (config.flap_moves < 2) throw std::invalid_argument("flap_moves must be at least 2");
  if (config.max_entries == 0) throw std::invalid_argument("max_entries must be at least 1");
  if (config.both_ways_confirm.count() < 0) throw std::invalid_argument("both_ways_confirm must not be negative");
  if (config.notify_window_before.count() < 0 || config.notify_window_after.count() < 0 ||
      config.flap_window.count() <= 0 || config.flap_damping.count() < 0 || config.idle_timeout.count() <= 0 ||
      config.probation.count() < 0) {
    throw std::invalid_argument("tracker windows and timeouts must not be negative");
  }
}
}  // namespace

Tracker::Tracker(const TrackerConfig& config, EventSink& sink) {
  validate(config);
  impl_ = std::make_unique<Impl>(config, sink);
}

bool Tracker::reconfigure(const TrackerConfig& config) {
  validate(config);
  if (config.max_entries != impl_->config().max_entries) return false;
  impl_->reconfigure(config);
  return true;
}

Tracker::~Tracker() = default;

void Tracker::observe(const Observation& obs) noexcept { impl_->observe(obs); }
void Tracker::observe(std::span<const Observation> batch, FollowUp* follow_up) noexcept {
  impl_->observe(batch.data(), batch.size(), follow_up);
}
void Tracker::advance(PacketTime now) noexcept { impl_->advance(now); }
bool Tracker::restore(const StationView& view) noexcept { return impl_->restore(view); }
std::uint64_t Tracker::forget_uplink(UplinkId uplink) noexcept { return impl_->forget_uplink(uplink); }
void Tracker::finish() noexcept { impl_->finish(); }
void Tracker::emit(const Event& event) noexcept { impl_->emit(event); }
void Tracker::restore_story(const FailoverStory& story) { impl_->restore_story(story); }
void Tracker::uplink_state(UplinkId uplink, bool up, PacketTime time) noexcept {
  impl_->uplink_state(uplink, up, time.time_since_epoch().count());
}
const TrackerStats& Tracker::stats() const noexcept { return impl_->stats(); }
PacketTime Tracker::clock() const noexcept { return impl_->clock(); }
const TrackerConfig& Tracker::config() const noexcept { return impl_->config(); }
void Tracker::for_each_station(const std::function<void(const StationView&)>& fn) const {
  impl_->for_each_station(fn);
}

}  // namespace camwatch::cam
