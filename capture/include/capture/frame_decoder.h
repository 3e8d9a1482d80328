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
// It also reads Windows NLB heartbeats (0x886F: host id, cluster IP and dedicated IP when the body
// was captured) and the address claim of every ARP and neighbour-discovery frame (which IP the
// frame binds to which MAC, cam::ClaimKind), for the NLB inventory and the address bindings.
//
// Decisions on the odd cases:
//   - VLAN: only the outermost tag decides. A priority tag (VID 0) outside a tag with a real VID
//     gives VLAN 0, as a bridge classifies it (port VLAN; the inner tag is payload to it). Up to
//     8 stacked tags; a 9th is malformed. VID 4095 (reserved) is reported as it is.
//   - 802.3 (type field <= 1500): the length field bounds the LLC payload (under the 3-byte LLC
//     header is malformed). Only SNAP with OUI 00-00-00 carries an ethertype (then decoded as for
//     Ethernet II); other LLC frames report ethertype 0 and no notification. Type values
//     1501..1535 are neither length nor ethertype: malformed.
//   - ARP/RARP: hardware type 1 (Ethernet) or 6 (IEEE 802, used by ARP in SNAP), protocol IPv4,
//     lengths 6 and 4; any other ARP is not ours (ok, no notification). ARP ops other than 1/2
//     and RARP ops other than 3/4 announce nothing. A RARP is judged on its sender hardware
//     address only (its protocol addresses are 0.0.0.0, never read as a GARP).
//   - Neighbour advertisement: ICMPv6 code 0 only; hop limit and checksum are not checked.
//     Extension headers 0, 43, 60, 44 and 51 are skipped (at most 8, more is malformed). A first
//     fragment is decoded (hosts drop fragmented ND, RFC 6980, but it was still sent); a
//     non-first fragment, ESP (50), no-next-header (59) or any other protocol ends the walk with
//     no notification. The first target link-layer option (type 2, length 1) wins; a zero-length
//     option is malformed (RFC 4861 7.1.2). The IPv6 payload length bounds the walk, so Ethernet
//     padding is never read as options. An IPv6 version other than 6 is malformed.
//   - A group or all-zero announced MAC is not reported (notification none), including a TLLA
//     option holding one: there is no fallback to the Ethernet source then.
//   - Claims. ARP (the same frames as above): sender IP 0.0.0.0 is an arp_probe of the target IP;
//     sender IP == target IP an arp_announcement; otherwise arp_request / arp_reply of the sender
//     IP; the MAC is always the sender hardware address (which a proxy or a poisoner may set
//     apart from the Ethernet source). Neighbour discovery (ICMPv6 code 0, types 133-136): a
//     neighbour advertisement claims its target for the TLLA (else the Ethernet source), solicited
//     or not; a neighbour solicitation from :: is nd_dad of its target, from any other source an
//     nd_solicitation of that source for the SLLA (else the Ethernet source); a router
//     solicitation likewise (none from ::); a router advertisement claims its source for the SLLA
//     (else the Ethernet source). A claim is only reported when the whole message, options
//     included, was read (never on a truncated or malformed frame) and its MAC is learnable;
//     whether the IP is a sensible host address is for the bindings to judge.
//   - NLB heartbeat: the signature 0xC0DE01BF (little-endian) is followed by a version, the host
//     id (little-endian u32) and the cluster and dedicated IPv4 addresses (layout as Wireshark's
//     msnlb dissector documents it); 0xC0DE01C0 is an extended heartbeat whose fields are not
//     read. A body cut by the snaplen still flags the heartbeat (status ok: the station is
//     known), without identity.
//
// Limits: it never reads past `captured.size()`. A frame too short for a layer it claims to carry
// is `malformed` when the wire length says it really was that short (or a header's own length
// field says so: 802.3 length, IPv6 payload length, extension and option lengths), and
// `truncated` when only the capture cut it (caplen < wire length: a snaplen). A truncated
// frame's station (source and VLAN) is valid, its unfinished notification is not reported.
// A capture cut before the station is known (under 14 bytes, or inside the outermost tag's VID)
// is therefore reported malformed even on a snaplen cut: there is nothing safe to learn.
// A malformed frame must be skipped; its other fields hold what was read before the problem
// (source and destination whenever 12 bytes were captured), for diagnostics only.
//
// Not for: IP payloads, checksums, tunnels (mirror_decap.h unwraps ERSPAN and GRE mirrors first),
// PBB (0x88e7) or VN-Tag (0x8926) inner frames. Pure function: no libpcap, no allocation, no exceptions; safe from
// any number of threads.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "cam/observation.h"
#include "cam/types.h"

namespace camwatch::capture {

enum class DecodeStatus : std::uint8_t {
  ok,         // every layer we looked at was complete
  truncated,  // a layer we needed was cut by the capture's snaplen; source and vlan still valid
  malformed,  // shorter on the wire than its headers claim, an impossible header, or cut before
              // its station is known: skip it
};

struct DecodedFrame {
  DecodeStatus status = DecodeStatus::malformed;
  cam::MacAddress source;
  cam::MacAddress destination;
  cam::VlanId vlan = 0;          // outermost VID; 0 untagged or priority-tagged
  std::uint8_t vlan_tags = 0;    // number of VLAN tags stacked (those captured, when truncated)
  std::uint16_t ethertype = 0;   // innermost ethertype after the tags, or the SNAP one for
                                 // 802.3; 0 for other 802.3 frames or when not captured
  cam::Notification notification = cam::Notification::none;
  cam::MacAddress notified;      // the announced MAC when notification != none
  cam::ClaimKind claim = cam::ClaimKind::none;
  cam::MacAddress claim_mac;     // claim != none: the MAC claim_ip is bound to
  cam::IpAddress claim_ip;
  bool nlb_heartbeat = false;
  bool nlb_identity = false;     // the heartbeat's host id and addresses below were captured
  bool nlb_extended = false;     // an extended heartbeat (0xC0DE01C0)
  std::uint8_t nlb_host_id = 0;
  std::uint32_t nlb_cluster_ip = 0;    // IPv4, host order
  std::uint32_t nlb_dedicated_ip = 0;
};

// `captured`: the bytes the capture holds; `wire_length`: the frame's length on the wire (pcap
// `len`), at least captured.size() (a smaller value is treated as captured.size()).
DecodedFrame decode_frame(std::span<const std::uint8_t> captured, std::uint32_t wire_length) noexcept;

// Per-source decode tallies, single writer. Exporters read them between batches.
//
// notifications[none] and claims[none] are not counted (they stay 0): the ordinary frame pays
// for frames, bytes and its VLAN tag only (3 of the 16 instructions the full tally cost per
// frame, callgrind). Frames without a notification are frames - malformed - the other kinds.
struct DecodeCounters {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;           // wire bytes
  std::uint64_t malformed = 0;
  std::uint64_t truncated = 0;
  std::uint64_t vlan_tagged = 0;
  std::uint64_t notifications[cam::kNotificationKinds] = {};  // [none] stays 0
  std::uint64_t claims[cam::kClaimKinds] = {};                // [none] stays 0
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
    if (frame.notification != cam::Notification::none) ++notifications[static_cast<int>(frame.notification)];
    if (frame.claim != cam::ClaimKind::none) ++claims[static_cast<int>(frame.claim)];
    if (frame.nlb_heartbeat) ++nlb_heartbeats;
  }
};

// Decodes one frame, counts it, and fills `out` (all 64 bytes) with what the analysis needs.
// Returns false for a malformed frame (counted, to be skipped). Replay and live capture both use
// it, so a frame becomes the same observation either way.
//
// Untagged and single-802.1Q-tagged IPv4, most of the traffic, is finished inline without
// decode_frame(): a DecodedFrame is 80 bytes to initialise and copy, the observation is written
// directly (decode + observation + counters: 75.6 instructions per frame of the bench mix through
// decode_frame(), 32.0 here; bench/callgrind_path.sh). It gives exactly what decode_frame() gives for those
// frames (tests and the decoder fuzz target compare the two); everything else goes through
// to_observation_decoded().
bool to_observation_decoded(cam::PacketTime time, std::span<const std::uint8_t> captured, std::uint32_t wire_length,
                            cam::UplinkId uplink, DecodeCounters& counters, cam::Observation& out) noexcept;

namespace detail {

// to_observation()'s inline part: untagged or single-802.1Q IPv4 written into `out` (true, with
// the number of tags in `tags`), or false with `out` untouched for everything else.
inline bool ipv4_observation(cam::PacketTime time, const std::uint8_t* p, std::size_t cap, cam::UplinkId uplink,
                             cam::Observation& out, unsigned& tags) noexcept {
  if (cap < 14) [[unlikely]] return false;
  // Bytes 4..11 as one big-endian word: the source MAC is its low 48 bits.
  std::uint64_t word;
  std::memcpy(&word, p + 4, sizeof word);
  std::uint16_t type;
  std::memcpy(&type, p + 12, sizeof type);
  if constexpr (std::endian::native == std::endian::little) {
    word = __builtin_bswap64(word);
    type = __builtin_bswap16(type);
  }
  cam::VlanId vlan = 0;
  tags = 0;
  if (type == 0x8100 && cap >= 18) {
    std::uint32_t tag;  // TCI, then the inner type
    std::memcpy(&tag, p + 14, sizeof tag);
    if constexpr (std::endian::native == std::endian::little) tag = __builtin_bswap32(tag);
    vlan = static_cast<cam::VlanId>((tag >> 16) & 0x0FFF);
    type = static_cast<std::uint16_t>(tag);
    tags = 1;
  }
  if (type != 0x0800) [[unlikely]] return false;
  out.time = time;
  out.source = cam::MacAddress::from_u64(word);
  out.notified = cam::MacAddress();
  if constexpr (std::endian::native == std::endian::little) {
    // Bytes 24..31 (vlan, uplink, then notification, flags, claim, NLB host id: all none) as one
    // store and the zero second half as two: 9 stores field by field, 6 like this (callgrind).
    static_assert(offsetof(cam::Observation, vlan) == 24 && offsetof(cam::Observation, uplink) == 26 &&
                  offsetof(cam::Observation, nlb_host_id) == 31 && offsetof(cam::Observation, claim_mac) == 32);
    const std::uint64_t station_word = std::uint64_t{vlan} | std::uint64_t{uplink} << 16;
    auto* bytes = reinterpret_cast<unsigned char*>(&out);
    std::memcpy(bytes + 24, &station_word, sizeof station_word);
    std::memset(bytes + 32, 0, sizeof(cam::Observation) - 32);
  } else {
    out.vlan = vlan;
    out.uplink = uplink;
    out.notification = cam::Notification::none;
    out.flags = 0;
    out.claim = cam::ClaimKind::none;
    out.nlb_host_id = 0;
    out.claim_mac = cam::MacAddress();
    out.claim_ip = cam::IpAddress();
    out.nlb_cluster_ip = 0;
    out.nlb_dedicated_ip = 0;
  }
  return true;
}

}  // namespace detail

inline bool to_observation(cam::PacketTime time, std::span<const std::uint8_t> captured, std::uint32_t wire_length,
                           cam::UplinkId uplink, DecodeCounters& counters, cam::Observation& out) noexcept {
  unsigned tags = 0;
  if (detail::ipv4_observation(time, captured.data(), captured.size(), uplink, out, tags)) [[likely]] {
    ++counters.frames;
    counters.bytes += wire_length;
    counters.vlan_tagged += tags;
    return true;
  }
  return to_observation_decoded(time, captured, wire_length, uplink, counters, out);
}

// to_observation() of frames[0..n) into out[0..): returns how many observations were written
// (malformed frames are counted and skipped). `Frame` has `time`, `data` and `wire_length` (a
// capture::RawFrame). For replay: the ordinary frame's tallies stay in registers for the batch
// (written to `counters` once at the end: 8 instructions per frame less than to_observation()
// in a loop, callgrind).
template <typename Frame>
std::size_t to_observations(const Frame* frames, std::size_t n, cam::UplinkId uplink, DecodeCounters& counters,
                            cam::Observation* out) noexcept {
  std::size_t written = 0;
  std::uint64_t slow = 0, fast_bytes = 0, fast_tagged = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Frame& f = frames[i];
    unsigned tags = 0;
    if (detail::ipv4_observation(f.time, f.data.data(), f.data.size(), uplink, out[written], tags)) [[likely]] {
      fast_bytes += f.wire_length;
      fast_tagged += tags;
      ++written;
    } else {
      ++slow;  // counted by to_observation_decoded()
      if (to_observation_decoded(f.time, f.data, f.wire_length, uplink, counters, out[written])) ++written;
    }
  }
  counters.frames += n - slow;
  counters.bytes += fast_bytes;
  counters.vlan_tagged += fast_tagged;
  return written;
}

}  // namespace camwatch::capture
