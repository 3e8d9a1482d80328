// Event: a decision of the tracker that a user is told about.
//
// Events carry uplink ids, not names; the exporters map ids to the names the user chose. Every
// event has a packet time (SPEC: `time`), never a wall-clock time. For moves, `time` is the
// first frame of the station on its new uplink: the moment the switch re-learned it.
//
// Thread-safety: plain values. EventSink implementations say their own.
#pragma once

#include <cstdint>
#include <memory>

#include "cam/types.h"

namespace camwatch::cam {

enum class EventKind : std::uint8_t {
  silent_move,     // moved to a new uplink, no notification on it within the notify window
  announced_move,  // moved, and a notification for it arrived on the new uplink in the window
  flap,            // flap_moves moves within flap_window; further moves are damped
  table_full,      // the table reached max_entries; new stations are not learned until room frees
  uplink_down,     // the uplink's interface lost its link (live only)
  uplink_up,       // the uplink's interface has its link again (live only)
  nlb_unicast_host,  // a Windows NLB host in unicast mode was first seen: it never announces a move
  failover,          // a group of moves away from one uplink, told as one story (FailoverStory)
  new_binding,       // an IP address was first claimed by a MAC (ARP / neighbour discovery)
  changed_mac,       // an IP address is now claimed by another MAC
  flip_flop,         // an IP address went back to the MAC it had before its last change
  ip_conflict,       // two MACs claim one IP address at the same time
};
inline constexpr int kEventKinds = 12;  // keep in step with EventKind: arrays are indexed by it

// "silent_move", "announced_move", "flap", "table_full", ...: the names used in events.
const char* to_string(EventKind kind);

struct FailoverStory;  // cam/failover.h

// How a Windows NLB host shows itself (see cam/nlb.h).
enum class NlbMode : std::uint8_t {
  none = 0,
  unicast,    // unicast mode, source MAC masked to 02-<host id>-<cluster IP>: never announces a move
  unicast_unmasked,  // unicast mode sending from the cluster MAC 02-BF-<cluster IP> itself
  multicast,  // multicast / IGMP mode: the host keeps its own MAC and announces moves as usual
};
const char* to_string(NlbMode mode);

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

  // Windows NLB identity of the station (nlb_unicast_host, and moves and flaps of NLB hosts).
  NlbMode nlb_mode = NlbMode::none;
  std::uint8_t nlb_host_id = 0;       // 0: unknown
  std::uint32_t nlb_cluster_ip = 0;   // IPv4, host order; 0: unknown
  std::uint32_t nlb_dedicated_ip = 0;

  // Address bindings: `ip` is claimed by station.mac; `other_mac` is the MAC it had before
  // (changed_mac, flip_flop) or the other claimant (ip_conflict); `claim` the frame that said so.
  IpAddress ip;
  MacAddress other_mac;
  ClaimKind claim = ClaimKind::none;
  // Address bindings: events of the same binding that were decided but not reported (the
  // per-binding report_interval, the new_binding budget) since its previous reported event, so
  // a binding that keeps conflicting stays visible with how often it did. 0 when none were.
  std::uint32_t suppressed = 0;

  // failover: the whole story. Shared, never modified once emitted.
  std::shared_ptr<const FailoverStory> story;
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
