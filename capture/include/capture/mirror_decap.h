// Mirror decapsulation: one frame received on an ERSPAN / GRE collector interface in, the
// mirrored Ethernet frame and the mirror session it belongs to out.
//
// A switch (or a virtual switch) that mirrors a port remotely wraps each copy in GRE over IP and
// sends it to a collector. One collector interface usually receives the mirrors of many ports;
// each mirror session stands for one uplink. decapsulate_mirror() reads the outer layers,
//   Ethernet II (up to 8 stacked 802.1Q / 802.1ad / 0x9100 tags) / IPv4 or IPv6 / GRE,
// and recognises four encapsulations by the GRE protocol type:
//   - ERSPAN type I    0x88BE, GRE S bit clear: the mirrored frame follows GRE directly;
//   - ERSPAN type II   0x88BE, GRE S bit set: an 8-byte ERSPAN header (version 1) with a 10-bit
//                      session ID, the VLAN field, the T bit and a 20-bit index;
//   - ERSPAN type III  0x22EB: a 12-byte ERSPAN header (version 2) with the session ID, VLAN, T
//                      and the frame type FT, optionally followed by an 8-byte platform-specific
//                      subheader (O bit) that may carry a port ID;
//   - GRE transparent Ethernet bridging (TEB, 0x6558): the frame follows GRE; sessions are told
//                      apart by the GRE key.
// The result says which (`encap`), the session facts, and where the mirrored frame lies in the
// input (`inner`): hand that to decode_frame(inner, inner_wire_length), and map the session to an
// uplink with MirrorSessionMap (capture/mirror_session_map.h). Header layouts: RFC 2784 and
// RFC 2890 (GRE), draft-foschiano-erspan-03 (ERSPAN; the platform subheader as Wireshark's
// ERSPAN dissector reads it).
//
// Decisions on the odd cases:
//   - Not mirrored traffic is `encap none` with status ok, for the caller to count and skip: any
//     ethertype other than IPv4/IPv6 (ARP, LLC, ...), IP protocols other than GRE (47), GRE
//     version 1 (PPTP's enhanced GRE), GRE with the routing bit R set (RFC 1701 source routes,
//     deprecated by RFC 2784; no mirroring source sends them, Linux drops them), and GRE carrying
//     anything but 0x88BE / 0x22EB / 0x6558 (IP, ARP, MPLS, Cisco metadata 0x8909, ...). An IP
//     packet is read only as far as needed to know it is not GRE: a non-GRE IPv4 packet whose
//     total length is wrong is still `none`, ok.
//   - GRE: C (checksum + reserved1), K (key) and S (sequence number) fields are stepped over in
//     that order; the key is reported, checksum and sequence number are not checked. The strict
//     source route bit, recursion control and the reserved flag bits are ignored (RFC 2784 allows
//     that of a receiver that also implements RFC 1701; Linux does the same).
//   - 0x88BE with S clear is type I, with or without a key; with S set it is type II and the
//     header's version must be 1. 0x22EB is type III whatever the S bit (real type III captures
//     come both ways) and its version must be 2. A version that contradicts the GRE protocol
//     type is malformed (no layout can be trusted).
//   - Type III frame type: only FT 0 (Ethernet) is decapsulated. Any other FT (2 = IP, 7, ...) is
//     reported with `frame_type` set, status ok, `inner` empty: nothing to learn, not damage.
//   - Type III platform subheader (O bit): 8 bytes, skipped. `index` is its port ID when the
//     platform ID has one: 1 (32-bit port ID/index, second word), 3 (14 bits), 5 and 6 (16 bits),
//     7 (20-bit source index) and 0, which some implementations use for 7 (Wireshark reads it
//     so). Platform IDs 2, 4 and 8..63 carry none: `has_index` false. Type II always has an
//     index (0 is a valid one).
//   - The ERSPAN VLAN field (`erspan_vlan`) is information only. The station VLAN stays what
//     decode_frame() finds in the inner frame: switches disagree on when they strip the tag into
//     that field (the type II "En" field), and real captures keep the tag while saying it was
//     stripped. The wiring may choose otherwise per session.
//   - T bit (`mirror_truncated`): the switch cut the mirrored frame to fit its MTU. Its real
//     length is unknown; `inner_wire_length` is what the tunnel carried (a lower bound), so
//     decode_frame() sees a complete frame of that length (a header crossing the cut reads as
//     malformed there: skipped, as a frame too damaged to trust).
//   - Fragments: only an unfragmented IP packet is decapsulated (camwatch does not reassemble).
//     An IPv4 fragment (MF set or a non-zero offset; DF is irrelevant) or an IPv6 packet with a
//     fragment header that is not atomic (offset 0 and M clear, RFC 6946) carrying GRE is
//     reported as `fragment`, `encap none`, status ok: count them, they mean the mirror path's
//     MTU is smaller than the mirrored frames plus their encapsulation. A later IPv6 fragment
//     counts when its fragment header names GRE as the next header.
//   - IPv4: version 4 and IHL >= 5 or malformed; options are skipped; the header checksum is not
//     checked. The total length ends the packet: bytes after it (Ethernet padding, trailers) are
//     never part of `inner`. A total length under the header length, or beyond the wire length,
//     is malformed.
//   - IPv6: version 6 or malformed; extension headers are walked as decode_frame() walks them
//     (hop-by-hop, routing, destination options, AH, fragment; at most 8, more is malformed) up
//     to GRE; ESP or any other protocol is `none`. The payload length ends the packet as the
//     IPv4 total length does (a jumbogram, payload length 0, has no room for GRE: malformed).
//   - One level only: the mirrored frame is what crossed the mirrored port, even when it is
//     itself tunnel traffic (VXLAN, GRE, even ERSPAN); its station is its own Ethernet source.
//   - Neither the outer VLAN nor the outer addresses are reported: they describe the path to
//     the collector, not the mirrored port. (So type I and TEB sessions without a GRE key can
//     only be told apart by using one collector interface per source.)
//
// Status, lengths and cuts. It never reads past `captured.size()`. The status covers the
// encapsulation only:
//   ok         every encapsulation header was read. Mirrored Ethernet: `inner` starts at the
//              mirrored frame and ends at the IP packet's end or the capture's, whichever comes
//              first; `inner_wire_length` is its length inside the IP packet, so a capture cut
//              inside it leaves inner.size() < inner_wire_length and decode_frame() reports the
//              cut as its own `truncated`. Also the status of `none`, `fragment` and FT != 0.
//   truncated  the capture (snaplen) ended inside the encapsulation headers: nothing to learn,
//              `inner` empty. What was read before the cut is set (`encap` once the GRE protocol
//              type was read, the session once the ERSPAN header was); before that, `encap` is
//              none. A collector showing these needs a larger snaplen.
//   malformed  shorter on the wire than a header claims, or an impossible header (9th tag,
//              IPv4 IHL < 5, wrong IP or ERSPAN version, ...): skip it. Fields read before the
//              problem are kept for diagnostics.
// Unlike decode_frame(), a cut inside the outer Ethernet header is `truncated`, not malformed:
// the collector's own station is not wanted, and the status is there to tell snaplen cuts from
// damage. `inner` is non-empty only when has_inner_ethernet() is true, and then always lies
// inside `captured`.
//
// Pure function: no libpcap, no allocation, no exceptions; safe from any number of threads.
#pragma once

#include <cstdint>
#include <span>

#include "capture/frame_decoder.h"

namespace camwatch::capture {

enum class MirrorEncap : std::uint8_t {
  none,        // not mirrored traffic (management traffic on the collector, other GRE, fragments)
  erspan_i,    // GRE 0x88BE without sequence number: no ERSPAN header
  erspan_ii,   // GRE 0x88BE with sequence number: ERSPAN version 1 header
  erspan_iii,  // GRE 0x22EB: ERSPAN version 2 header
  gre_teb,     // GRE 0x6558: transparent Ethernet bridging
};
inline constexpr int kMirrorEncapKinds = 5;

// "none", "erspan_i", "erspan_ii", "erspan_iii", "gre_teb": for logs and metric labels.
const char* to_string(MirrorEncap encap) noexcept;

struct MirroredFrame {
  DecodeStatus status = DecodeStatus::malformed;  // of the encapsulation; see the header comment
  MirrorEncap encap = MirrorEncap::none;
  bool fragment = false;          // an IP fragment of a GRE packet: not decapsulated (encap none)
  std::uint16_t session = 0;      // ERSPAN session ID (10 bits); 0 for type I and TEB
  bool has_index = false;         // type II always; type III when the platform subheader has a port
  std::uint32_t index = 0;        // type II index (20 bits) / type III platform port ID
  bool has_key = false;           // GRE K bit
  std::uint32_t gre_key = 0;
  std::uint16_t erspan_vlan = 0;  // the ERSPAN header's VLAN field (12 bits), for information
  std::uint8_t frame_type = 0;    // type III FT: 0 Ethernet; others are not decapsulated
  bool mirror_truncated = false;  // ERSPAN T bit: the switch cut the mirrored frame
  std::span<const std::uint8_t> inner;  // the mirrored Ethernet frame as captured
  std::uint32_t inner_wire_length = 0;  // its length inside the IP packet (>= inner.size())

  // True when `inner` holds a mirrored Ethernet frame for decode_frame(inner, inner_wire_length).
  bool has_inner_ethernet() const noexcept {
    return status == DecodeStatus::ok && encap != MirrorEncap::none && frame_type == 0;
  }
};

// `captured`: the bytes the capture holds; `wire_length`: the frame's length on the wire (pcap
// `len`), at least captured.size() (a smaller value is treated as captured.size()).
MirroredFrame decapsulate_mirror(std::span<const std::uint8_t> captured, std::uint32_t wire_length) noexcept;

// Per-collector tallies, single writer; read between batches like DecodeCounters. Every frame
// lands in exactly one of malformed, truncated, fragments, not_mirrored, not_ethernet and
// mirrored[], so they add up to `frames`.
struct MirrorCounters {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;             // wire bytes of the outer frames
  std::uint64_t malformed = 0;
  std::uint64_t truncated = 0;         // snaplen cut inside the encapsulation
  std::uint64_t fragments = 0;         // fragmented GRE: raise the mirror path's MTU
  std::uint64_t not_mirrored = 0;      // encap none: other traffic on the collector
  std::uint64_t not_ethernet = 0;      // type III with FT != 0
  std::uint64_t mirrored[kMirrorEncapKinds] = {};  // by encap, with an Ethernet frame inside
  std::uint64_t switch_truncated = 0;  // of those, with the ERSPAN T bit set
  std::uint64_t unmapped = 0;          // left to the caller: mirrored frames of no known session

  void count(const MirroredFrame& frame, std::uint32_t wire_length) noexcept {
    ++frames;
    bytes += wire_length;
    if (frame.status == DecodeStatus::malformed) {
      ++malformed;
    } else if (frame.status == DecodeStatus::truncated) {
      ++truncated;
    } else if (frame.fragment) {
      ++fragments;
    } else if (frame.encap == MirrorEncap::none) {
      ++not_mirrored;
    } else if (frame.frame_type != 0) {
      ++not_ethernet;
    } else {
      ++mirrored[static_cast<int>(frame.encap)];
      if (frame.mirror_truncated) ++switch_truncated;
    }
  }
};

}  // namespace camwatch::capture
