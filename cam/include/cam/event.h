// Event: a decision of the tracker that a user is told about.
//
// Events carry uplink ids, not names; the exporters map ids to the names the user chose. Every
// event has a packet time (SPEC: `time`), never a wall-clock time. For moves, `time` is the
// first frame of the station on its new uplink: the moment the switch re-learned it.
//
// Thread-safety: plain values. EventSink implementations say their own.
#pragma once

#include <cstdint>

#include "cam/types.h"

namespace camwatch::cam {

enum class EventKind : std::uint8_t {
  silent_move,     // moved to a new uplink, no notification on it within the notify window
  announced_move,  // moved, and a notification for it arrived on the new uplink in the window
  flap,            // flap_moves moves within flap_window; further moves are damped
  table_full,      // the table reached max_entries; new stations are not learned until room frees
  uplink_down,     // the uplink's interface lost its link (live only)
  uplink_up,       // the uplink's interface has its link again (live only)
};
inline constexpr int kEventKinds = 6;  // keep in step with EventKind: arrays are indexed by it

// "silent_move", "announced_move", "flap", "table_full".
const char* to_string(EventKind kind);

struct Event {
  EventKind kind = EventKind::silent_move;
  PacketTime time{};
  StationKey station;
  UplinkId from = kNoUplink;  // moves and flap: the uplink the station was learned on before
  UplinkId to = kNoUplink;    // moves and flap: the uplink it appeared on
  Notification notification = Notification::none;  // announced_move: which kind announced it
  PacketTime notification_time{};                   // announced_move: when it arrived
  PacketTime last_seen_on_from{};  // moves: last frame on `from`, so `time - last_seen_on_from`
                                   // bounds how long the station was unheard
  std::uint32_t moves_in_window = 0;  // flap: moves counted within flap_window
  std::uint64_t table_entries = 0;    // table_full: entries at the time
  // Moves: the old uplink had gone down within kFailoverAttribution before the move, so this
  // move is part of that uplink's failover. kNoUplink otherwise.
  UplinkId failed_uplink = kNoUplink;
};

// How long after an uplink goes down a move away from it is attributed to that failure.
inline constexpr Duration kFailoverAttribution = std::chrono::seconds(60);

// Receives events in packet-time order. Called from the tracker's thread only; must not throw.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const Event& event) = 0;
};

}  // namespace camwatch::cam
