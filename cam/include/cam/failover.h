// FailoverStory: what happened when an uplink failed or came back, told as one event.
//
// A NIC-team failover moves every station behind one uplink to another within seconds; a user
// wants one sentence ("vmnic2 failed: 12 stations moved announced, 2 NLB hosts moved silently and
// were dark for 1 s"), not fourteen move events. The tracker groups moves into stories:
//
//  - Membership: moves *away from* one uplink U, each within `FailoverConfig::gap` of the
//    previous one, form one candidate story; it opens at the first such move and closes when
//    the packet clock passes the last move + gap (at least notify_window_after + 1 s, so every
//    member's silent/announced decision is known by then). Damped moves of flapping stations
//    are not members; a member that starts flapping is counted as flapping.
//  - Cause, decided when the story closes; a candidate with none of these is not a failover
//    (a vMotion, a few VMs rebalanced) and is dropped silently:
//      link_down        U's link went down (live, rtnetlink) within kFailoverAttribution before
//                       the first move, or up to 1 s after it;
//      traffic_stopped  no frame at all arrived on U from the first move until the story closed,
//                       and U's last frame came before the first move (offline, or a link that
//                       stays up while its far end is dead);
//      failback         the moves go back the way an earlier failover story went (that story
//                       moved stations from V to U; these move from U to V), within 24 hours.
//  - Time: the event's `time` is the moment the story closed (last move + gap): a packet time,
//    so a replay tells the same story as the live daemon. `started`/`ended` are the first and
//    last member moves.
//  - Blackout of a silent station: from its last frame on U to its first frame elsewhere — the
//    time the switch kept sending its traffic into the failed uplink, as far as frames show.
//
// Limits: at most kMaxStoryStations members are kept per story (the counts cover all of them).
// Thread-safety: plain values; a story is shared read-only once emitted.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "cam/event.h"
#include "cam/types.h"

namespace camwatch::cam {

enum class FailoverCause : std::uint8_t { link_down, traffic_stopped, failback };
// "link_down", "traffic_stopped", "failback".
const char* to_string(FailoverCause cause);

struct FailoverConfig {
  bool enabled = true;
  // Moves away from one uplink at most this far apart belong to one story.
  Duration gap = std::chrono::seconds(10);
};

inline constexpr std::size_t kMaxStoryStations = 4096;

struct FailoverStation {
  StationKey station;
  UplinkId to = kNoUplink;
  PacketTime moved{};              // first frame on the new uplink
  PacketTime last_seen_on_from{};  // last frame on the failed uplink
  EventKind outcome = EventKind::silent_move;  // silent_move, announced_move or flap
  Notification notification = Notification::none;
  // Filled in from the NLB inventory when the story is published.
  NlbMode nlb_mode = NlbMode::none;
  std::uint8_t nlb_host_id = 0;
  std::uint32_t nlb_cluster_ip = 0;

  Duration blackout() const { return moved - last_seen_on_from; }
};

struct FailoverStory {
  UplinkId from = kNoUplink;  // the uplink the stations left
  UplinkId to = kNoUplink;    // where most of them went
  FailoverCause cause = FailoverCause::traffic_stopped;
  PacketTime started{};        // first member move
  PacketTime ended{};          // last member move
  PacketTime closed{};         // the event's time: ended + gap
  PacketTime link_down_at{};   // link_down: when `from` went down
  PacketTime last_frame_on_from{};  // traffic_stopped: the last frame `from` delivered
  PacketTime failback_of{};    // failback: `started` of the story it reverses
  std::uint32_t moved = 0;     // members, all of them
  std::uint32_t announced = 0;
  std::uint32_t silent = 0;
  std::uint32_t flapping = 0;
  std::uint32_t nlb_hosts = 0;  // members known as NLB hosts (filled in when published)
  Duration longest_blackout{};  // among silent members
  std::vector<FailoverStation> stations;  // the first kMaxStoryStations members, in move order
};

}  // namespace camwatch::cam
