// Frame decoder: raw Ethernet bytes in, the few facts camwatch needs out.
//
// decode_frame() reads one captured Ethernet II (or 802.3 LLC/SNAP) frame and reports its source
// MAC, its station VLAN (the outermost 802.1Q / 802.1ad / 0x9100 tag's VID; a priority tag,
// VID 0, counts as untagged), and whether it is a notification frame (SPEC):
//   - RARP (0x8035, op 3/4) whose sender hardware address equals the Ethernet source;
//   - gratuitous ARP (Ethernet/IPv4, op 1/2, sender IP == target IP, sender IP not 0.0.0.0,
//     so RFC 5227 probes are not announcements): announces the sender hardware address;
//   - ICMPv6 neighbour advertisement with the Solicited flag clear (IPv6 extension headers
//     skipped): announces the target link-layer address option, else the Ethernet source.
// It also flags Windows NLB heartbeats (0x886F) for later use.
//
// Limits: it never reads past `captured.size()`. A frame too short for a layer it claims to carry
// is `malformed` when the wire length says it really was that short, and `truncated` when only
// the capture cut it (caplen < wire length: a snaplen); a truncated frame's source is still
// valid, its unfinished notification is not reported. A malformed frame must be skipped.
//
// Not for: IP payloads, checksums, tunnels (ERSPAN comes later). Pure function: no libpcap, no
// allocation, no exceptions; safe from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cam/types.h"

namespace camwatch::capture {

enum class DecodeStatus : std::uint8_t {
  ok,         // every layer we looked at was complete
  truncated,  // a layer we needed was cut by the capture's snaplen; source still valid
  malformed,  // shorter on the wire than its headers claim, or an impossible header: skip it
};

struct DecodedFrame {
  DecodeStatus status = DecodeStatus::malformed;
  cam::MacAddress source;
  cam::MacAddress destination;
  cam::VlanId vlan = 0;          // outermost VID; 0 untagged or priority-tagged
  std::uint8_t vlan_tags = 0;    // number of VLAN tags stacked
  std::uint16_t ethertype = 0;   // innermost ethertype after the tags (0 for 802.3 without SNAP)
  cam::Notification notification = cam::Notification::none;
  cam::MacAddress notified;      // the announced MAC when notification != none
  bool nlb_heartbeat = false;
};

// `captured`: the bytes the capture holds; `wire_length`: the frame's length on the wire (pcap
// `len`), at least captured.size() (a smaller value is treated as captured.size()).
DecodedFrame decode_frame(std::span<const std::uint8_t> captured, std::uint32_t wire_length) noexcept;

// Per-source decode tallies, single writer. Exporters read them between batches.
struct DecodeCounters {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;           // wire bytes
  std::uint64_t malformed = 0;
  std::uint64_t truncated = 0;
  std::uint64_t vlan_tagged = 0;
  std::uint64_t notifications[cam::kNotificationKinds] = {};
  std::uint64_t nlb_heartbeats = 0;

  void count(const DecodedFrame& frame, std::uint32_t wire_length) noexcept {
    ++frames;
    bytes += wire_length;
    if (frame.status == DecodeStatus::malformed) {
      ++malformed;
      return;
    }
    if (frame.status == DecodeStatus::truncated) ++truncated;
    if (frame.vlan_tags != 0) ++vlan_tagged;
    ++notifications[static_cast<int>(frame.notification)];
    if (frame.nlb_heartbeat) ++nlb_heartbeats;
  }
};

}  // namespace camwatch::capture
