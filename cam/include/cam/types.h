// camwatch core vocabulary: MAC addresses, station keys, packet time, uplink ids.
//
// Everything in cam/ speaks in these types. They are small, trivially copyable value types so
// that observations can cross a lock-free ring by memcpy and a station key fits in one register.
//
// Time: PacketTime is a point on the Unix epoch taken from packet headers (pcap timestamps),
// never from a clock read by camwatch. cam/ never reads a clock; two runs over the same frames
// give the same decisions.
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <string>

namespace camwatch::cam {

using Duration = std::chrono::nanoseconds;
using PacketTime = std::chrono::sys_time<Duration>;

// Index of an uplink in the order the user configured them (command line or config file).
using UplinkId = std::uint16_t;
inline constexpr UplinkId kNoUplink = 0xFFFF;

// 802.1Q VLAN identifier (12 bits); 0 means untagged or priority-tagged.
using VlanId = std::uint16_t;

// A 48-bit IEEE MAC address held in the low 48 bits of an integer, first octet most significant,
// so that comparisons and hashing are single integer operations.
class MacAddress {
 public:
  constexpr MacAddress() = default;
  static constexpr MacAddress from_u64(std::uint64_t bits) { return MacAddress(bits & kMask); }
  // Reads six octets in wire order. The caller guarantees six readable bytes.
  static constexpr MacAddress from_bytes(const std::uint8_t* octets) {
    std::uint64_t v = 0;
    for (int i = 0; i < 6; ++i) v = (v << 8) | octets[i];
    return MacAddress(v);
  }

  constexpr std::uint64_t to_u64() const { return bits_; }
  constexpr std::array<std::uint8_t, 6> octets() const {
    std::array<std::uint8_t, 6> out{};
    for (int i = 0; i < 6; ++i) out[i] = static_cast<std::uint8_t>(bits_ >> (8 * (5 - i)));
    return out;
  }
  // I/G bit: the least significant bit of the first octet marks group (multicast/broadcast).
  constexpr bool is_group() const { return (bits_ >> 40) & 1U; }
  constexpr bool is_zero() const { return bits_ == 0; }
  // A station can only be learned from a unicast, non-zero source address.
  // One test instead of two (per frame on the tracker's path): the I/G bit rotated into the
  // sign bit, the other 47 bits below it, so the value is positive exactly when the address is
  // not zero and not a group address.
  constexpr bool is_learnable() const { return static_cast<std::int64_t>(std::rotl(bits_ << 16, 7)) > 0; }

  // "00:50:56:aa:bb:cc": lowercase, colon-separated.
  std::string to_string() const;
  // Parses "00:50:56:AA:bb:cc" or "00-50-56-aa-bb-cc"; returns false on anything else.
  static bool parse(const std::string& text, MacAddress& out);

  friend constexpr bool operator==(MacAddress, MacAddress) = default;
  friend constexpr auto operator<=>(MacAddress, MacAddress) = default;

 private:
  static constexpr std::uint64_t kMask = 0xFFFF'FFFF'FFFFULL;
  constexpr explicit MacAddress(std::uint64_t bits) : bits_(bits) {}
  std::uint64_t bits_ = 0;
};

// A station as a switch with independent VLAN learning sees it: (VLAN, MAC).
struct StationKey {
  VlanId vlan = 0;
  MacAddress mac;

  // VLAN in bits 48..59, MAC in bits 0..47. Never 0 for a learnable station (the MAC is non-zero).
  constexpr std::uint64_t packed() const {
    return (static_cast<std::uint64_t>(vlan & 0x0FFFU) << 48) | mac.to_u64();
  }
  static constexpr StationKey unpack(std::uint64_t packed) {
    return StationKey{static_cast<VlanId>((packed >> 48) & 0x0FFFU), MacAddress::from_u64(packed)};
  }
  friend constexpr bool operator==(StationKey, StationKey) = default;
};

// An IPv4 or IPv6 address as 16 bytes in network order; IPv4 is held IPv4-mapped
// (::ffff:a.b.c.d, RFC 4291 2.5.5.2) so both families share one key type. Trivially copyable.
class IpAddress {
 public:
  constexpr IpAddress() = default;
  static constexpr IpAddress v4(std::uint32_t address_host_order) {
    IpAddress a;
    a.bytes_[10] = 0xFF;
    a.bytes_[11] = 0xFF;
    for (int i = 0; i < 4; ++i) a.bytes_[12 + i] = static_cast<std::uint8_t>(address_host_order >> (8 * (3 - i)));
    return a;
  }
  // Sixteen octets in wire order. The caller guarantees sixteen readable bytes.
  static constexpr IpAddress v6(const std::uint8_t* octets) {
    IpAddress a;
    for (int i = 0; i < 16; ++i) a.bytes_[i] = octets[i];
    return a;
  }

  constexpr bool is_v4() const {
    for (int i = 0; i < 10; ++i)
      if (bytes_[i] != 0) return false;
    return bytes_[10] == 0xFF && bytes_[11] == 0xFF;
  }
  // The IPv4 address in host order; meaningful when is_v4().
  constexpr std::uint32_t v4_value() const {
    return std::uint32_t{bytes_[12]} << 24 | std::uint32_t{bytes_[13]} << 16 | std::uint32_t{bytes_[14]} << 8 | bytes_[15];
  }
  constexpr bool is_unspecified() const {
    if (is_v4()) return v4_value() == 0;
    for (auto b : bytes_)
      if (b != 0) return false;
    return true;
  }
  constexpr const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }

  // "192.0.2.1" or RFC 5952 text ("2001:db8::1").
  std::string to_string() const;
  // Parses dotted IPv4 or IPv6 text; returns false on anything else.
  static bool parse(const std::string& text, IpAddress& out);

  friend constexpr bool operator==(const IpAddress&, const IpAddress&) = default;
  friend constexpr auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
};

// The kinds of frame that announce "MAC M is now here" to the switches (SPEC: notification frame).
enum class Notification : std::uint8_t {
  none = 0,
  rarp,            // VMware "Notify Switches", QEMU announce-self
  garp,            // gratuitous ARP request or reply: sender IP == target IP
  unsolicited_na,  // ICMPv6 neighbour advertisement with the Solicited flag clear
};
inline constexpr int kNotificationKinds = 4;

// "rarp", "garp", "unsolicited_na" ("none" for none): the names used in events and metrics.
const char* to_string(Notification kind);

// What an ARP or neighbour-discovery frame says about an IP address (the address bindings of
// docs/EVENTS.md). The claim binds `claim_ip` to `claim_mac` (see Observation).
enum class ClaimKind : std::uint8_t {
  none = 0,
  arp_request,        // ARP request: the sender's own IP and MAC
  arp_reply,          // ARP reply: the sender's own IP and MAC
  arp_announcement,   // gratuitous ARP (sender IP == target IP, not 0.0.0.0)
  arp_probe,          // RFC 5227 probe (sender IP 0.0.0.0): asks whether the target IP is free
  nd_solicitation,    // neighbour or router solicitation from a specified source with a link-layer option
  nd_dad,             // neighbour solicitation from :: (RFC 4862 duplicate address detection)
  nd_advertisement,   // solicited neighbour advertisement: target IP, target link-layer address
  nd_unsolicited_advertisement,  // unsolicited one (Solicited flag clear)
  nd_router_advertisement,       // router advertisement: the router's link-local source IP
};
inline constexpr int kClaimKinds = 10;

// "arp_request", "nd_dad", ... ("none" for none): the names used in events and metrics.
const char* to_string(ClaimKind kind);
// Probes and DAD ask about an address; they do not claim it.
constexpr bool is_probe(ClaimKind kind) { return kind == ClaimKind::arp_probe || kind == ClaimKind::nd_dad; }

// RFC 3339 UTC with microseconds: "2012-08-30T05:42:07.559886Z".
std::string format_rfc3339_micros(PacketTime t);

}  // namespace camwatch::cam
