// Tracker: learns the CAM table the upstream switch should hold and decides station moves.
//
// Theory of operation. Each Observation (one frame) teaches the tracker that station
// (VLAN, source MAC) is reachable through the uplink it arrived on, as a switch's MAC learning
// does. When a known station is first heard on a different uplink, that is a move. Whether the
// host told the switches (a RARP, gratuitous ARP or unsolicited neighbour advertisement for the
// station arriving on the *new* uplink) is decided with the notify window: a notification from
// `notify_window_before` before the move to `notify_window_after` after it announces the move.
// The decision therefore waits until the packet clock passes `move + notify_window_after` (or
// `finish()` is called): no notification by then makes it a silent_move, the alert.
// A notification seen only on the old uplink announces nothing: the switch still learns the
// station on the new one by its ordinary frames, and forwards to the old one until it does.
//
// A station that moves `flap_moves` times within `flap_window` is flapping (a loop, a
// mis-cabled team): it gets one `flap` event, its pending move decisions are dropped, and its
// further moves are damped (counted, not reported) until it has been still for `flap_damping`.
//
// Aging: a station not heard for `idle_timeout` is forgotten, as the switch forgets it; a move
// after that is harmless (the switch floods until it re-learns) and is not reported.
// Size cap: at most `max_entries` stations; memory for the cap is reserved at construction.
// A full table (one `table_full` event until aging has made room again) protects the stations
// it knows and still learns new ones. A station is *established* once it has been heard over
// `probation` (first to last frame), has moved, was announced by a notification or sent NLB
// heartbeats; the others are *probationary*. A new station meeting a full table takes the slot
// of an aged-out station, else of a probationary one heard only once, else of one heard again
// (the one heard longest ago first), looking at the 8 slots from its hash position and then at
// 32 slots under a hand that walks the table (counted in stations_replaced); when there is none
// it is not learned (stations_refused). Established stations are never given up: a flood of
// random MACs, each heard once, churns through probationary slots only, the known stations keep
// their moves detected, and a real new station is learned and, from its second frame on,
// outranks every flood MAC heard once. Limits: a flood that repeats each MAC competes with new
// stations heard twice; a table holding nothing but established stations refuses, as before.
//
// Display: each station's slot also keeps, for `camwatch table` and the state file, its first
// frame, its last move (kept after the flap window, when the move bookkeeping is gone), the last
// notification that announced it on any uplink (kind and time; recorded whether or not it
// announced a move) and whether it sent Windows NLB heartbeats. These are seconds in the slot,
// which stays 32 bytes; they never influence a decision.
//
// Failover stories: moves away from one uplink are also grouped into one `failover` event per
// uplink failure or failback (cam/failover.h), emitted when the story closes.
//
// Both-ways mirrors: a mirror of both directions of a port also shows the frames sent *toward*
// the hosts behind it, whose source MACs (the gateway, remote servers) live elsewhere; on two
// such uplinks those stations would seem to move back and forth. A move onto or off an uplink in
// `both_ways_uplinks` is therefore tentative: it is made only if the station is not heard again
// on the uplink it left within `both_ways_confirm`, and then dated at its first frame on the new
// uplink and decided as any move. Heard again there, the move is cancelled and the station is
// known to show on both sides: its later moves between both-ways uplinks are not made at all
// (until it ages out). Events are then held max(notify_window_after, both_ways_confirm).
// A remote station that shows on a second both-ways uplink only after a pause longer than
// `both_ways_confirm` still makes one move (docs/OPERATIONS.md recommends rx-only mirrors).
//
// Time: only packet time. The clock is the latest observation time seen (advance() moves it on
// idle inputs); a frame with an older timestamp is still learned, decisions never go back.
// Events reach the sink in packet-time order: each is held until no earlier event can follow;
// an event decided by a frame older than events already delivered (a late frame, a clock step)
// is given the latest delivered time (counted in late_events).
//
// Not for: decoding frames, reading clocks, threads, I/O. The tracker never allocates per
// ordinary frame and never throws from observe()/advance()/finish().
//
// Thread-safety: none. One thread owns a Tracker; feed it in (roughly) packet-time order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "cam/event.h"
#include "cam/failover.h"
#include "cam/observation.h"
#include "cam/table_memory.h"
#include "cam/types.h"

namespace camwatch::cam {

struct TrackerConfig {
  Duration notify_window_before = std::chrono::seconds(1);
  Duration notify_window_after = std::chrono::seconds(2);
  std::uint32_t flap_moves = 4;
  Duration flap_window = std::chrono::seconds(10);
  Duration flap_damping = std::chrono::seconds(60);
  // Cisco and most switches age idle CAM entries after 300 s.
  Duration idle_timeout = std::chrono::seconds(300);
  std::uint64_t max_entries = 1'000'000;
  // A station heard over at least this long (first to last frame, whole seconds) is established:
  // a full table never gives its slot to a new station. 0: every station is established at once
  // (a full table refuses new ones).
  Duration probation = std::chrono::seconds(10);
  // Where the table's memory comes from (cam/table_memory.h); nullptr: calloc(). Not owned; it
  // must outlive the tracker. Not a setting: reconfigure() ignores it.
  TableMemory* table_memory = nullptr;
  // The station table's hash seed. It only decides the table's layout: which slot a station
  // takes, so which probationary station a full table gives up for a new one. 0 (default): 64
  // random bits at construction, so nobody can compute MACs that collide in it (a hash flood);
  // `camwatch replay` and tests fix one so that runs repeat exactly. reconfigure() ignores it.
  std::uint64_t hash_seed = 0;
  FailoverConfig failover;  // grouping of moves into failover stories (cam/failover.h)
  // Uplinks whose mirror carries both directions of the port (see "Both-ways mirrors" above),
  // and how long a move onto or off one waits for confirmation.
  std::vector<UplinkId> both_ways_uplinks;
  Duration both_ways_confirm = std::chrono::seconds(10);
};

// Monotonic counters and gauges, read by exporters at scrape or summary time. Gauges are exact
// at every moment: they follow each add, aging (lazy and swept), removal and restore.
struct TrackerStats {
  std::uint64_t observations = 0;        // frames given to observe()
  std::uint64_t ignored_sources = 0;     // group or all-zero source MACs, impossible times
  std::uint64_t stations = 0;            // gauge: stations in the table now
  std::uint64_t stations_learned = 0;    // stations ever added
  std::uint64_t stations_restored = 0;   // stations put back from a state file
  std::uint64_t stations_aged = 0;       // removed after idle_timeout
  std::uint64_t stations_evicted = 0;    // removed because their uplink was removed by a reload (forget_uplink)
  std::uint64_t stations_refused = 0;    // frames of new stations not learned: table full, nothing to give up
  std::uint64_t stations_replaced = 0;   // probationary stations a full table gave up for new ones
  std::uint64_t notifications[kNotificationKinds] = {};  // indexed by Notification
  std::uint64_t silent_moves = 0;
  std::uint64_t announced_moves = 0;
  std::uint64_t flaps = 0;
  std::uint64_t damped_moves = 0;        // moves of flapping stations, not reported one by one
  std::uint64_t pending_moves = 0;       // gauge: moves waiting for their notify window
  std::uint64_t nlb_heartbeats = 0;
  std::uint64_t nlb_hosts = 0;           // gauge: stations in the table that sent an NLB heartbeat
  std::uint64_t failovers = 0;           // failover stories published (cam/failover.h)
  std::uint64_t both_ways_suppressed = 0;  // moves not made: the station showed on both sides of a both-ways mirror
  std::uint64_t late_events = 0;  // events decided by a frame older than events already delivered: given the latest delivered time
  std::uint64_t external_events = 0;     // events of other analyses ordered through emit()
};

// One station as the table holds it, for state files and `camwatch table`. last_seen has the
// packet time's nanoseconds (aging needs them); first_seen, last_move and last_notification are
// whole seconds (the slot keeps them as u32 Unix seconds, saturating in 2106). Everything
// describes the station since it was last learned: aging or a reload removing its uplink
// forgets it all. There is no per-station frame count (per-uplink counts are in the capture
// statistics).
struct StationView {
  StationKey key;
  UplinkId uplink = kNoUplink;
  PacketTime first_seen{};         // seconds
  PacketTime last_seen{};          // nanoseconds
  std::uint32_t moves = 0;         // saturates at 255
  PacketTime last_move{};          // seconds; epoch when it never moved. Damped moves count too
  PacketTime last_notification{};  // seconds; epoch when no notification announced it
  Notification notification = Notification::none;  // kind of that last notification
  bool nlb_host = false;           // it sent a Windows NLB heartbeat
};

class Tracker {
 public:
  // Reserves memory for config.max_entries stations. Throws std::invalid_argument on a config
  // the tracker cannot honour (zero windows are fine; flap_moves < 2 or max_entries 0 are not).
  Tracker(const TrackerConfig& config, EventSink& sink);
  ~Tracker();
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  // One frame. Order: the notification it carries is noted first, then its source is learned,
  // so a RARP that is itself the first frame on the new uplink announces its own move; last, the
  // notification is recorded for display on the station it announces, so a station whose very
  // first frame is its own RARP or GARP shows it too.
  void observe(const Observation& obs) noexcept;
  // Called for each frame of a batch that carries more than its station (a notification, a
  // claim, a heartbeat) right after the tracker took it, before the next frame: how the
  // Analyzer hands those to its other analyses in order.
  class FollowUp {
   public:
    virtual void after(const Observation& obs) noexcept = 0;

   protected:
    ~FollowUp() = default;
  };
  // The same for many frames in order: exactly what observe() of each in turn does (and
  // follow_up->after() of those carrying more), faster: the table's slots for frames a few
  // places ahead are prefetched, so their cache misses overlap.
  void observe(std::span<const Observation> batch, FollowUp* follow_up = nullptr) noexcept;

  // Moves the packet clock without a frame (live capture with idle uplinks): decides pending
  // moves whose window has passed, ages stations, releases held events.
  void advance(PacketTime now) noexcept;

  // An uplink's link went down or came back (live capture, from the OS), at `time` on the same
  // clock as packet timestamps. Emits uplink_down / uplink_up; moves away from an uplink within
  // kFailoverAttribution after it went down carry it as `failed_uplink`.
  void uplink_state(UplinkId uplink, bool up, PacketTime time) noexcept;

  // Applies new windows, flap and aging settings (SIGHUP) keeping the learned table; moves
  // already waiting for their window keep the window they started with. The table
  // cannot be resized while running: returns false, changing nothing else either, when
  // config.max_entries differs. Throws std::invalid_argument on settings the constructor rejects.
  bool reconfigure(const TrackerConfig& config);

  // End of input: every pending move is decided with what was seen, open failover stories are
  // closed, all events released.
  void finish() noexcept;

  // Orders an event decided elsewhere (address bindings, NLB inventory) with the tracker's own:
  // it reaches the sink in packet-time order among them. Its time should be the packet time of
  // the frame that decided it (the clock, or a little before it).
  void emit(const Event& event) noexcept;

  // A failover story published by an earlier run (state file): a failback reversing it is told.
  void restore_story(const FailoverStory& story);

  const TrackerStats& stats() const noexcept;
  PacketTime clock() const noexcept;
  const TrackerConfig& config() const noexcept;

  // Puts back a station saved by an earlier run (state file), without any event: a restart
  // neither forgets stations nor reports them as new, and a station that moved while camwatch
  // was down is caught as a move by its first frame. Returns false when the table is full.
  // Call before the first observe(). The display fields (moves, last_move, last_notification
  // with its kind, nlb_host) are kept as given, first_seen and the display times rounded down
  // to seconds; a notification without a time (or a time without a kind) is dropped.
  bool restore(const StationView& view) noexcept;

  // Forgets every station learned on `uplink` (a reload removed it): their next frames elsewhere
  // are new stations, not moves, as after a restart without that uplink. Returns how many
  // (also counted in stations_evicted).
  std::uint64_t forget_uplink(UplinkId uplink) noexcept;

  // Calls fn for every station in unspecified order. Not for the hot path.
  void for_each_station(const std::function<void(const StationView&)>& fn) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace camwatch::cam
