// Private to camwatch_decode: the byte readers and layer walks that frame_decoder.cc and
// mirror_decap.cc share, so both read tags, lengths and IPv6 header chains the same way.
//
// Everything is inline and allocation-free; the decoder's fast path (decode_frame() itself) uses
// only be16/be64, and the walks below are inlined into the out-of-line slow paths.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "capture/frame_decoder.h"

namespace camwatch::capture::wire_format {

inline constexpr std::size_t kEthernetHeader = 14;  // destination, source, type/length
inline constexpr std::size_t kMaxVlanTags = 8;
inline constexpr std::size_t kMaxIpv6ExtensionHeaders = 8;

inline constexpr std::uint16_t kEtherIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherIpv6 = 0x86DD;

inline constexpr std::uint8_t kIpProtoHopByHop = 0;
inline constexpr std::uint8_t kIpProtoRouting = 43;
inline constexpr std::uint8_t kIpProtoFragment = 44;
inline constexpr std::uint8_t kIpProtoAh = 51;
inline constexpr std::uint8_t kIpProtoDestinationOptions = 60;

inline std::uint16_t be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

inline std::uint32_t be32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// Eight bytes as one unaligned load and a byte swap; a MAC is read as the top (or bottom) 48 bits
// of one of these, where two neighbouring bytes are known to be readable.
inline std::uint64_t be64(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}

inline bool is_vlan_tpid(std::uint16_t type) noexcept {
  return type == 0x8100 || type == 0x88A8 || type == 0x9100;
}

// One protocol layer of the frame: bytes [.., limit) belong to it on the wire, the capture holds
// [.., captured). `limit` never exceeds the wire length.
struct Layer {
  const std::uint8_t* bytes;
  std::size_t captured;
  std::size_t limit;

  bool has(std::size_t end) const noexcept { return end <= captured && end <= limit; }
  // Why bytes up to `end` cannot be read: the layer (or the wire) ends before them, or only the
  // capture cut them.
  DecodeStatus missing(std::size_t end) const noexcept {
    return end > limit ? DecodeStatus::malformed : DecodeStatus::truncated;
  }
};

enum class TagWalk : std::uint8_t {
  done,      // `type` is the first type field that is not a tag, at `off`
  too_many,  // a tag beyond kMaxVlanTags: malformed
  cut,       // the capture ends inside the tag stack; the type field at `off` is missing
};

// Steps over stacked 802.1Q / 802.1ad / 0x9100 tags. On entry `off` is at a type field already
// read into `type`, and `tags` counts the tags stepped over before it; on return both are updated.
// Reading a tag's own VID is the caller's business (only the decoder needs the outermost one).
inline TagWalk skip_vlan_tags(const std::uint8_t* p, std::size_t cap, std::size_t& off, std::uint16_t& type,
                              std::uint8_t& tags) noexcept {
  while (is_vlan_tpid(type)) {
    if (tags == kMaxVlanTags) return TagWalk::too_many;
    ++tags;
    off += 4;
    if (off + 2 > cap) return TagWalk::cut;
    type = be16(p + off);
  }
  return TagWalk::done;
}

// What a walk of an IPv6 header chain saw of fragmentation (RFC 8200 4.5).
struct Ipv6Fragmentation {
  bool fragmented = false;      // a fragment header with a non-zero offset or the M flag set
  bool later_fragment = false;  // the walk stopped at a fragment with a non-zero offset
};

// Walks the IPv6 extension headers from `off`, whose protocol is `next`, until `target`: returns
// true with `off` at the start of the `target` header. Hop-by-hop (0), routing (43), destination
// options (60), AH (51) and fragment (44) headers are stepped over (at most
// kMaxIpv6ExtensionHeaders, more is malformed); a first fragment (offset 0) is walked into. A later
// fragment ends the walk with `next` set to its header's Next Header field and `off` after it (no
// `target` header follows: the bytes continue the first fragment's payload). ESP (50),
// no-next-header (59) and any other protocol end it with `next` at that protocol. Returns false
// with `status` ok for those, truncated/malformed when a header was cut or overran `packet`, which
// should end at the IPv6 payload length so that padding is never walked.
//
// In/out references and a bool rather than a returned struct: after inlining, this keeps
// decode_rest() clear of the register decode_frame() holds its result in across the call (with a
// struct, g++ 12 -O2 adds a push/pop of %rbx to decode_frame()'s fast path).
inline bool walk_ipv6_extensions(const std::uint8_t* p, const Layer& packet, std::size_t& off, std::uint8_t& next,
                                 std::uint8_t target, DecodeStatus& status,
                                 Ipv6Fragmentation* fragmentation = nullptr) noexcept {
  for (std::size_t headers = 0; next != target; ++headers) {
    if (headers == kMaxIpv6ExtensionHeaders) {
      status = DecodeStatus::malformed;
      return false;
    }
    std::size_t size = 8;
    switch (next) {
      case kIpProtoHopByHop:
      case kIpProtoRouting:
      case kIpProtoDestinationOptions:
        if (!packet.has(off + 2)) {
          status = packet.missing(off + 2);
          return false;
        }
        size = (std::size_t{p[off + 1]} + 1) * 8;
        break;
      case kIpProtoAh:
        if (!packet.has(off + 2)) {
          status = packet.missing(off + 2);
          return false;
        }
        size = (std::size_t{p[off + 1]} + 2) * 4;
        break;
      case kIpProtoFragment: {
        if (!packet.has(off + 8)) {
          status = packet.missing(off + 8);
          return false;
        }
        const std::uint16_t offset_and_flags = be16(p + off + 2);  // offset << 3 | reserved | M
        if (fragmentation != nullptr && (offset_and_flags & 0xFFF9) != 0) fragmentation->fragmented = true;
        if ((offset_and_flags & 0xFFF8) != 0) {
          if (fragmentation != nullptr) fragmentation->later_fragment = true;
          next = p[off];
          off += 8;
          return false;
        }
        break;
      }
      default:  // 59 (no next header), 50 (ESP: opaque) or an upper layer other than `target`
        return false;
    }
    if (!packet.has(off + size)) {
      status = packet.missing(off + size);
      return false;
    }
    next = p[off];
    off += size;
  }
  return true;
}

}  // namespace camwatch::capture::wire_format
