// See capture/mirror_decap.h for the contract and the decisions taken on odd frames.
#include "capture/mirror_decap.h"

#include <algorithm>

#include "wire_format.h"

namespace camwatch::capture {
namespace {

using wire_format::be16;
using wire_format::be32;
using wire_format::kEtherIpv4;
using wire_format::kEtherIpv6;
using wire_format::kEthernetHeader;
using wire_format::Layer;

constexpr std::uint8_t kIpProtoGre = 47;

// GRE flags, first octet (RFC 1701 names; RFC 2784 keeps C, RFC 2890 adds K and S back).
constexpr std::uint8_t kGreChecksum = 0x80;
constexpr std::uint8_t kGreRouting = 0x40;
constexpr std::uint8_t kGreKey = 0x20;
constexpr std::uint8_t kGreSequence = 0x10;
constexpr std::uint8_t kGreVersionMask = 0x07;  // second octet

constexpr std::uint16_t kGreErspanI_II = 0x88BE;
constexpr std::uint16_t kGreErspanIII = 0x22EB;
constexpr std::uint16_t kGreTeb = 0x6558;

constexpr std::size_t kErspanIIHeader = 8;
constexpr std::size_t kErspanIIIHeader = 12;
constexpr std::size_t kErspanPlatformSubheader = 8;

// The first 32-bit word is laid out alike in types II and III:
// version (4) | VLAN (12) | COS (3) | En or BSO (2) | T (1) | session ID (10).
void read_erspan_common(std::uint32_t word, MirroredFrame& out) noexcept {
  out.erspan_vlan = static_cast<std::uint16_t>(word >> 16 & 0x0FFF);
  out.mirror_truncated = (word >> 10 & 1) != 0;
  out.session = static_cast<std::uint16_t>(word & 0x03FF);
}

// Type III platform-specific subheader: platform ID in the top 6 bits of the first word.
void read_platform_port(const std::uint8_t* sub, MirroredFrame& out) noexcept {
  const std::uint32_t first = be32(sub);
  switch (first >> 26) {
    case 1: out.index = be32(sub + 4); break;  // the whole second word: port ID/index
    case 3: out.index = first & 0x3FFF; break;
    case 5:
    case 6: out.index = first & 0xFFFF; break;  // below a 10-bit switch ID
    case 0:                                     // used for 7 by some implementations
    case 7: out.index = first & 0xFFFFF; break;  // source index
    default: return;                            // 2, 4 and 8..63: no port
  }
  out.has_index = true;
}

// `packet` ends at the IP packet's end (total or payload length), which is known to be within
// the wire length; `off` is at the GRE header.
void decapsulate_gre(const std::uint8_t* p, const Layer& packet, std::size_t off, MirroredFrame& out) noexcept {
  if (!packet.has(off + 4)) {
    out.status = packet.missing(off + 4);
    return;
  }
  out.status = DecodeStatus::ok;  // from here on, whatever is not ours is `none`, ok
  const std::uint8_t flags = p[off];
  if ((p[off + 1] & kGreVersionMask) != 0 || (flags & kGreRouting) != 0) return;
  switch (be16(p + off + 2)) {
    case kGreErspanI_II:
      out.encap = (flags & kGreSequence) != 0 ? MirrorEncap::erspan_ii : MirrorEncap::erspan_i;
      break;
    case kGreErspanIII: out.encap = MirrorEncap::erspan_iii; break;
    case kGreTeb: out.encap = MirrorEncap::gre_teb; break;
    default: return;
  }

  std::size_t at = off + 4;
  if ((flags & kGreChecksum) != 0) at += 4;  // checksum and reserved1
  const std::size_t key_at = at;
  if ((flags & kGreKey) != 0) at += 4;
  if ((flags & kGreSequence) != 0) at += 4;
  if (!packet.has(at)) {
    out.status = packet.missing(at);
    return;
  }
  if ((flags & kGreKey) != 0) {
    out.has_key = true;
    out.gre_key = be32(p + key_at);
  }

  if (out.encap == MirrorEncap::erspan_ii) {
    if (!packet.has(at + kErspanIIHeader)) {
      out.status = packet.missing(at + kErspanIIHeader);
      return;
    }
    const std::uint32_t word = be32(p + at);
    if (word >> 28 != 1) {
      out.status = DecodeStatus::malformed;
      return;
    }
    read_erspan_common(word, out);
    out.has_index = true;
    out.index = be32(p + at + 4) & 0xFFFFF;  // below 12 reserved bits
    at += kErspanIIHeader;
  } else if (out.encap == MirrorEncap::erspan_iii) {
    if (!packet.has(at + kErspanIIIHeader)) {
      out.status = packet.missing(at + kErspanIIIHeader);
      return;
    }
    const std::uint32_t word = be32(p + at);
    if (word >> 28 != 2) {
      out.status = DecodeStatus::malformed;
      return;
    }
    read_erspan_common(word, out);
    // After the timestamp (4) and SGT (2): P (1) | FT (5) | HwID (6) | D (1) | Gra (2) | O (1).
    const std::uint16_t bits = be16(p + at + 10);
    at += kErspanIIIHeader;
    if ((bits & 1) != 0) {
      if (!packet.has(at + kErspanPlatformSubheader)) {
        out.status = packet.missing(at + kErspanPlatformSubheader);
        return;
      }
      read_platform_port(p + at, out);
      at += kErspanPlatformSubheader;
    }
    out.frame_type = static_cast<std::uint8_t>(bits >> 10 & 0x1F);
    if (out.frame_type != 0) return;  // not an Ethernet frame: nothing to hand to the decoder
  }

  // packet.has(at) held above, so `at` is within both the capture and the packet.
  out.inner = std::span<const std::uint8_t>(p + at, std::min(packet.captured, packet.limit) - at);
  out.inner_wire_length = static_cast<std::uint32_t>(packet.limit - at);
}

void decapsulate_ipv4(const std::uint8_t* p, const Layer& frame, std::size_t off, MirroredFrame& out) noexcept {
  if (!frame.has(off + 20)) {
    out.status = frame.missing(off + 20);
    return;
  }
  const std::uint8_t* ip = p + off;
  const std::size_t header = std::size_t{ip[0] & 0x0Fu} * 4;
  if (ip[0] >> 4 != 4 || header < 20) return;  // malformed
  if (ip[9] != kIpProtoGre) {
    out.status = DecodeStatus::ok;
    return;
  }
  const std::size_t total = be16(ip + 2);
  // Padding after the total length is not the packet's; a total beyond the wire is a lie.
  if (total < header || off + total > frame.limit) return;  // malformed
  if ((be16(ip + 6) & 0x3FFF) != 0) {  // MF or a fragment offset; DF (0x4000) does not matter
    out.fragment = true;
    out.status = DecodeStatus::ok;
    return;
  }
  const Layer packet{p, frame.captured, off + total};
  if (!packet.has(off + header)) {  // options cut by the capture
    out.status = packet.missing(off + header);
    return;
  }
  decapsulate_gre(p, packet, off + header, out);
}

void decapsulate_ipv6(const std::uint8_t* p, const Layer& frame, std::size_t off, MirroredFrame& out) noexcept {
  if (!frame.has(off + 40)) {
    out.status = frame.missing(off + 40);
    return;
  }
  if (p[off] >> 4 != 6) return;  // malformed
  const std::size_t packet_end = off + 40 + be16(p + off + 4);
  // Within min(wire, payload end) while walking: a header crossing either is malformed.
  const Layer walk{p, frame.captured, std::min(frame.limit, packet_end)};
  std::size_t at = off + 40;
  std::uint8_t next = p[off + 6];
  DecodeStatus status = DecodeStatus::ok;
  wire_format::Ipv6Fragmentation fragmentation;
  if (!wire_format::walk_ipv6_extensions(p, walk, at, next, kIpProtoGre, status, &fragmentation)) {
    out.status = status;
    out.fragment = status == DecodeStatus::ok && fragmentation.later_fragment && next == kIpProtoGre;
    return;
  }
  if (packet_end > frame.limit) return;  // malformed: the payload length claims more than the wire
  if (fragmentation.fragmented) {        // a first fragment: the rest of the GRE packet is elsewhere
    out.fragment = true;
    out.status = DecodeStatus::ok;
    return;
  }
  decapsulate_gre(p, Layer{p, frame.captured, packet_end}, at, out);
}

}  // namespace

const char* to_string(MirrorEncap encap) noexcept {
  switch (encap) {
    case MirrorEncap::none: return "none";
    case MirrorEncap::erspan_i: return "erspan_i";
    case MirrorEncap::erspan_ii: return "erspan_ii";
    case MirrorEncap::erspan_iii: return "erspan_iii";
    case MirrorEncap::gre_teb: return "gre_teb";
  }
  return "none";
}

MirroredFrame decapsulate_mirror(std::span<const std::uint8_t> captured, std::uint32_t wire_length) noexcept {
  MirroredFrame out;  // status malformed until a branch says otherwise
  const std::uint8_t* p = captured.data();
  const std::size_t cap = captured.size();
  const Layer frame{p, cap, std::max<std::size_t>(wire_length, cap)};

  if (!frame.has(kEthernetHeader)) {
    out.status = frame.missing(kEthernetHeader);
    return out;
  }
  std::size_t off = 12;  // at the type field
  std::uint16_t type = be16(p + off);
  std::uint8_t tags = 0;
  switch (wire_format::skip_vlan_tags(p, cap, off, type, tags)) {
    case wire_format::TagWalk::done: break;
    case wire_format::TagWalk::too_many: return out;  // malformed
    case wire_format::TagWalk::cut: out.status = frame.missing(off + 2); return out;
  }
  off += 2;

  if (type == kEtherIpv4) {
    decapsulate_ipv4(p, frame, off, out);
  } else if (type == kEtherIpv6) {
    decapsulate_ipv6(p, frame, off, out);
  } else {
    out.status = DecodeStatus::ok;  // ARP, LLC, LLDP, ...: the collector's own traffic
  }
  return out;
}

}  // namespace camwatch::capture
