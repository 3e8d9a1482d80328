// Observation: what one captured frame tells the analysis, and nothing more.
//
// The capture side decodes a frame into one Observation: the station that sent it (source MAC on
// the outermost VLAN), the uplink it arrived on, its packet time, and, when the frame is a
// notification (RARP, gratuitous ARP, unsolicited neighbour advertisement), which MAC it
// announces. ARP and neighbour-discovery frames also carry an address claim (an IP address and
// the MAC it is bound to, for the address bindings), and Windows NLB heartbeats the cluster's
// and the host's identity. Observations are fixed-size and trivially copyable so that a capture
// thread can publish them into a lock-free ring by plain copies; nothing here owns memory.
//
// Size: one 64-byte cache line. The first 32 bytes are all the station table needs; the second
// half is written only for the few frames that carry a claim or a heartbeat (the decoder leaves
// it zero otherwise). 64 bytes per observation is cheap where it is paid: the replay path passes
// observations by reference, and the live path forwards only a small fraction of frames.
//
// Not for: carrying frame bytes or anything a later stage might want "just in case". Widen this
// struct only when the analysis needs the field.
#pragma once

#include <cstdint>
#include <type_traits>

#include "cam/types.h"

namespace camwatch::cam {

enum class ObservationFlag : std::uint8_t {
  nlb_heartbeat = 1U << 0,  // Windows NLB heartbeat (ethertype 0x886F)
  nlb_identity = 1U << 1,   // nlb_host_id / nlb_cluster_ip / nlb_dedicated_ip were read from its body
  nlb_extended = 1U << 2,   // an extended heartbeat (signature 0xC0DE01C0): no host fields read
};

struct Observation {
  PacketTime time{};
  MacAddress source;    // Ethernet source; the analysis ignores it unless learnable
  MacAddress notified;  // the MAC the notification announces; meaningful when notification != none
  VlanId vlan = 0;      // outermost VID, 0 when untagged or priority-tagged
  UplinkId uplink = kNoUplink;
  Notification notification = Notification::none;
  std::uint8_t flags = 0;  // ObservationFlag bits
  ClaimKind claim = ClaimKind::none;
  std::uint8_t nlb_host_id = 0;  // NLB heartbeat: the host's priority id (1..32); 0 unknown

  // ARP / neighbour discovery: `claim_ip` is bound to `claim_mac` (see ClaimKind).
  MacAddress claim_mac;
  IpAddress claim_ip;
  // NLB heartbeat with nlb_identity: the cluster's virtual IP and the host's dedicated IP
  // (IPv4, host order).
  std::uint32_t nlb_cluster_ip = 0;
  std::uint32_t nlb_dedicated_ip = 0;

  constexpr bool has(ObservationFlag f) const { return (flags & static_cast<std::uint8_t>(f)) != 0; }
  // Anything beyond the station itself: notifications, claims, heartbeats. Such frames are
  // never filtered out on the way to the analysis.
  constexpr bool carries_more_than_station() const {
    return notification != Notification::none || claim != ClaimKind::none || flags != 0;
  }
};

static_assert(std::is_trivially_copyable_v<Observation>);
static_assert(sizeof(Observation) == 64, "Observation is copied through rings; keep it one cache line");

}  // namespace camwatch::cam
