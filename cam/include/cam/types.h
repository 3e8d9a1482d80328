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
  constexpr bool is_learnable() const { return !is_zero() && !is_group(); }

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

// RFC 3339 UTC with microseconds: "2012-08-30T05:42:07.559886Z".
std::string format_rfc3339_micros(PacketTime t);

}  // namespace camwatch::cam
