// Observation: what one captured frame tells the tracker, and nothing more.
//
// The capture side decodes a frame into one Observation: the station that sent it (source MAC on
// the outermost VLAN), the uplink it arrived on, its packet time, and, when the frame is a
// notification (RARP, gratuitous ARP, unsolicited neighbour advertisement), which MAC it
// announces. Observations are fixed-size and trivially copyable so that a capture thread can
// publish them into a lock-free ring by plain copies; nothing here owns memory.
//
// Not for: carrying frame bytes, IP addresses or anything a later stage might want "just in
// case". Widen this struct only when the tracker needs the field.
#pragma once

#include <cstdint>
#include <type_traits>

#include "cam/types.h"

namespace camwatch::cam {

enum class ObservationFlag : std::uint8_t {
  nlb_heartbeat = 1U << 0,  // Windows NLB heartbeat (ethertype 0x886F)
};

struct Observation {
  PacketTime time{};
  MacAddress source;    // Ethernet source; the tracker ignores it unless learnable
  MacAddress notified;  // the MAC the notification announces; meaningful when notification != none
  VlanId vlan = 0;      // outermost VID, 0 when untagged or priority-tagged
  UplinkId uplink = kNoUplink;
  Notification notification = Notification::none;
  std::uint8_t flags = 0;  // ObservationFlag bits

  constexpr bool has(ObservationFlag f) const { return (flags & static_cast<std::uint8_t>(f)) != 0; }
};

static_assert(std::is_trivially_copyable_v<Observation>);
static_assert(sizeof(Observation) == 32, "Observation is copied through rings; keep it 32 bytes");

}  // namespace camwatch::cam
