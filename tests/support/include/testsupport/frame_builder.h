// FrameBuilder: builds Ethernet frames byte by byte for tests, scenario pcaps and benchmarks.
//
//   auto frame = FrameBuilder()
//                    .source(mac("00:50:56:01:02:03"))
//                    .destination(kBroadcast)
//                    .vlan(10)
//                    .rarp_request(mac("00:50:56:01:02:03"))
//                    .build();
//
// Tags are written in the order they are added (first = outermost). build() pads to the
// 60-byte Ethernet minimum unless unpadded() was called. The builder checks nothing: tests use
// it to make malformed frames on purpose (truncate(), raw ethertypes, odd lengths).
//
// PcapWriter writes classic pcap files (µs or ns, either byte order) with chosen caplen/len.
//
// Thread-safety: none; plain values.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "cam/types.h"

namespace camwatch::testsupport {

using Bytes = std::vector<std::uint8_t>;
using Ipv4 = std::array<std::uint8_t, 4>;
using Ipv6 = std::array<std::uint8_t, 16>;

inline constexpr std::uint16_t kTpid8021Q = 0x8100;
inline constexpr std::uint16_t kTpid8021ad = 0x88a8;
inline constexpr std::uint16_t kTpid9100 = 0x9100;

// Parses "00:50:56:aa:bb:cc"; aborts the program on a typo (it is test code).
cam::MacAddress mac(const char* text);
Ipv4 ipv4(const char* dotted);
Ipv6 ipv6(const char* text);
inline constexpr cam::MacAddress kBroadcast = cam::MacAddress::from_u64(0xFFFF'FFFF'FFFFULL);

class FrameBuilder {
 public:
  FrameBuilder& source(cam::MacAddress m);
  FrameBuilder& destination(cam::MacAddress m);
  FrameBuilder& tag(std::uint16_t tpid, std::uint16_t vid, std::uint8_t pcp = 0, bool dei = false);
  FrameBuilder& vlan(std::uint16_t vid) { return tag(kTpid8021Q, vid); }

  // Ethernet II payloads (each sets the ethertype and replaces any earlier payload).
  FrameBuilder& payload(std::uint16_t ethertype, Bytes bytes);
  FrameBuilder& arp(std::uint16_t op, cam::MacAddress sha, Ipv4 spa, cam::MacAddress tha, Ipv4 tpa);
  // Gratuitous ARP request (tha 00:..:00, tpa = spa) and reply (tha = sha, tpa = spa).
  FrameBuilder& garp_request(cam::MacAddress sha, Ipv4 ip);
  FrameBuilder& garp_reply(cam::MacAddress sha, Ipv4 ip);
  // RARP with sha = tha = m and zero protocol addresses: VMware's "Notify Switches" frame.
  FrameBuilder& rarp(std::uint16_t op, cam::MacAddress sha, cam::MacAddress tha);
  FrameBuilder& rarp_request(cam::MacAddress m) { return rarp(3, m, m); }
  // ICMPv6 neighbour advertisement from `source_ip` to ff02::1 (hop limit 255). A zero
  // `target_lla` omits the target link-layer address option. `extension_headers` is a list of
  // next-header values (0 hop-by-hop, 60 destination options, 43 routing, 44 fragment) inserted
  // in order before the ICMPv6 header, each 8 bytes long.
  struct NeighborAdvert {
    Ipv6 source_ip{};
    Ipv6 target{};
    cam::MacAddress target_lla;
    bool router = false;
    bool solicited = false;
    bool override_flag = true;
    std::vector<std::uint8_t> extension_headers;
  };
  FrameBuilder& neighbor_advert(const NeighborAdvert& na);
  // Any neighbour-discovery message (RFC 4861): router solicitation 133, router advertisement
  // 134, neighbour solicitation 135 (target set), neighbour advertisement 136 (target and
  // `flags`: 0x80 router, 0x40 solicited, 0x20 override). A non-zero `lla` adds the link-layer
  // address option the message type carries (SLLA, TLLA for 136). Hop limit 255.
  struct NeighborDiscovery {
    std::uint8_t type = 135;
    Ipv6 source_ip{};
    Ipv6 destination_ip{};
    Ipv6 target{};
    std::uint8_t flags = 0;
    cam::MacAddress lla;
  };
  FrameBuilder& neighbor_discovery(const NeighborDiscovery& nd);
  // Windows NLB heartbeat (ethertype 0x886F): signature 0xC0DE01BF little-endian, host id,
  // cluster IP, dedicated IP, padded to `body_bytes`.
  FrameBuilder& nlb_heartbeat(std::uint8_t host_id, Ipv4 cluster_ip, Ipv4 dedicated_ip,
                              std::size_t body_bytes = 1500);
  // IPv4/UDP filler traffic of `payload_bytes`.
  FrameBuilder& udp(Ipv4 src, Ipv4 dst, std::uint16_t sport, std::uint16_t dport, std::size_t payload_bytes);
  // IPv6/UDP filler traffic of `payload_bytes` (hop limit 64, valid UDP checksum): ordinary IPv6
  // frames that are not neighbour discovery (DHCPv6, mDNS, application traffic).
  FrameBuilder& udp6(const Ipv6& src, const Ipv6& dst, std::uint16_t sport, std::uint16_t dport,
                     std::size_t payload_bytes);

  // 802.3 length field + LLC/SNAP (OUI 0) + `ethertype` + bytes.
  FrameBuilder& llc_snap(std::uint16_t ethertype, Bytes bytes);

  // IP packets around a ready-made `body` (GRE and ERSPAN for mirror collector frames; see
  // gre_header() and erspan_*_header() below).
  // IPv4: IHL 5 plus `options_bytes` (a multiple of 4, filled with NOPs), total length header +
  // body, TTL 64, valid header checksum. `flags_and_offset` is the raw 16-bit field: 0x2000 MF,
  // 0x4000 DF, the low 13 bits the fragment offset in 8-byte units.
  struct Ipv4Packet {
    Ipv4 source{};
    Ipv4 destination{};
    std::uint8_t protocol = 47;
    std::uint16_t flags_and_offset = 0;
    std::size_t options_bytes = 0;
    Bytes body;
  };
  FrameBuilder& ipv4_packet(const Ipv4Packet& packet);
  // IPv6: hop limit 64, payload length = extension headers + body. `extension_headers` as in
  // NeighborAdvert (8 bytes each); a fragment header (44) carries `fragment_offset_and_more`
  // (the raw 16-bit field: offset << 3 | M).
  struct Ipv6Packet {
    Ipv6 source{};
    Ipv6 destination{};
    std::uint8_t next_header = 47;
    std::vector<std::uint8_t> extension_headers;
    std::uint16_t fragment_offset_and_more = 0;
    Bytes body;
  };
  FrameBuilder& ipv6_packet(const Ipv6Packet& packet);

  FrameBuilder& unpadded() { pad_ = false; return *this; }
  Bytes build() const;

 private:
  cam::MacAddress src_ = mac_const(0x005056000001ULL);
  cam::MacAddress dst_ = kBroadcast;
  struct Tag { std::uint16_t tpid; std::uint16_t tci; };
  std::vector<Tag> tags_;
  std::uint16_t ethertype_ = 0x0800;
  bool llc_ = false;
  Bytes payload_;
  bool pad_ = true;

  static constexpr cam::MacAddress mac_const(std::uint64_t v) { return cam::MacAddress::from_u64(v); }
};

// Returns the first `n` bytes (for truncated or malformed frames).
Bytes truncate(const Bytes& frame, std::size_t n);

// The parts one after the other (header bytes + payload).
Bytes concat(std::initializer_list<Bytes> parts);

// GRE header (RFC 2784/2890; RFC 1701 for the routing bit): flags C, R, K, S as given, then the
// optional checksum + reserved1 (checksum left 0: not verified by camwatch), key and sequence
// number in that order. `routing` sets the R bit and the checksum/offset word RFC 1701 puts with
// it, without any source route entries (camwatch never reads past the R bit).
struct GreHeader {
  std::uint16_t protocol = 0x88BE;
  bool checksum = false;
  bool routing = false;
  std::optional<std::uint32_t> key;
  std::optional<std::uint32_t> sequence;
  std::uint8_t version = 0;
};
Bytes gre_header(const GreHeader& gre);

// ERSPAN type II header (version 1), 8 bytes (draft-foschiano-erspan-03 4.2).
struct ErspanIIHeader {
  std::uint16_t session = 0;  // 10 bits
  std::uint32_t index = 0;    // 20 bits
  std::uint16_t vlan = 0;     // 12 bits
  std::uint8_t cos = 0;
  std::uint8_t encap = 0;     // En, 2 bits
  bool truncated = false;     // T
  std::uint8_t version = 1;
};
Bytes erspan_ii_header(const ErspanIIHeader& h);

// ERSPAN type III header (version 2), 12 bytes, plus the 8-byte platform-specific subheader when
// `platform` is set (O bit): its first word is platform ID (6 bits) << 26 | `platform_first`
// (26 bits), its second word `platform_second`.
struct ErspanIIIHeader {
  std::uint16_t session = 0;
  std::uint16_t vlan = 0;
  std::uint8_t cos = 0;
  std::uint8_t bso = 0;
  bool truncated = false;
  std::uint32_t timestamp = 0;
  std::uint16_t sgt = 0;
  std::uint8_t frame_type = 0;  // FT, 5 bits
  std::uint8_t hw_id = 0;
  bool egress = false;          // D
  std::uint8_t granularity = 0;
  std::optional<std::uint8_t> platform;
  std::uint32_t platform_first = 0;
  std::uint32_t platform_second = 0;
  std::uint8_t version = 2;
};
Bytes erspan_iii_header(const ErspanIIIHeader& h);

enum class PcapPrecision : std::uint8_t { micro, nano };
enum class ByteOrder : std::uint8_t { little, big };

class PcapWriter {
 public:
  // Creates or truncates `path`; aborts with a message if it cannot (test/generator code).
  explicit PcapWriter(const std::string& path, PcapPrecision precision = PcapPrecision::micro,
                      ByteOrder order = ByteOrder::little, std::uint32_t snaplen = 262144,
                      std::uint32_t linktype = 1);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Writes one record. `wire_length` 0 means frame.size(). Frames longer than snaplen are cut.
  void write(cam::PacketTime time, const Bytes& frame, std::uint32_t wire_length = 0);
  // Writes raw bytes (for corrupting files on purpose).
  void write_raw(const Bytes& bytes);
  void close();

 private:
  void put32(std::uint32_t v);
  void put16(std::uint16_t v);
  std::FILE* file_ = nullptr;
  PcapPrecision precision_;
  ByteOrder order_;
  std::uint32_t snaplen_;
};

// Seconds (and fractions) since the Unix epoch as a PacketTime: at(1346305327.559886).
cam::PacketTime at_seconds(std::int64_t seconds, std::int64_t nanoseconds = 0);

}  // namespace camwatch::testsupport
