#include "testsupport/frame_builder.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>

namespace camwatch::testsupport {
namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "frame_builder: %s\n", what.c_str());
  std::abort();
}

void put_be16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_mac(Bytes& out, cam::MacAddress m) {
  auto o = m.octets();
  out.insert(out.end(), o.begin(), o.end());
}

template <std::size_t N>
void put(Bytes& out, const std::array<std::uint8_t, N>& a) {
  out.insert(out.end(), a.begin(), a.end());
}

}  // namespace

cam::MacAddress mac(const char* text) {
  cam::MacAddress m;
  if (!cam::MacAddress::parse(text, m)) die(std::string("bad MAC ") + text);
  return m;
}

Ipv4 ipv4(const char* dotted) {
  Ipv4 out{};
  if (inet_pton(AF_INET, dotted, out.data()) != 1) die(std::string("bad IPv4 ") + dotted);
  return out;
}

Ipv6 ipv6(const char* text) {
  Ipv6 out{};
  if (inet_pton(AF_INET6, text, out.data()) != 1) die(std::string("bad IPv6 ") + text);
  return out;
}

FrameBuilder& FrameBuilder::source(cam::MacAddress m) {
  src_ = m;
  return *this;
}

FrameBuilder& FrameBuilder::destination(cam::MacAddress m) {
  dst_ = m;
  return *this;
}

FrameBuilder& FrameBuilder::tag(std::uint16_t tpid, std::uint16_t vid, std::uint8_t pcp, bool dei) {
  auto tci = static_cast<std::uint16_t>((pcp & 7U) << 13 | (dei ? 1U << 12 : 0U) | (vid & 0x0FFFU));
  tags_.push_back(Tag{tpid, tci});
  return *this;
}

FrameBuilder& FrameBuilder::payload(std::uint16_t ethertype, Bytes bytes) {
  llc_ = false;
  ethertype_ = ethertype;
  payload_ = std::move(bytes);
  return *this;
}

FrameBuilder& FrameBuilder::arp(std::uint16_t op, cam::MacAddress sha, Ipv4 spa, cam::MacAddress tha,
                                Ipv4 tpa) {
  Bytes p;
  put_be16(p, 1);       // htype Ethernet
  put_be16(p, 0x0800);  // ptype IPv4
  p.push_back(6);
  p.push_back(4);
  put_be16(p, op);
  put_mac(p, sha);
  put(p, spa);
  put_mac(p, tha);
  put(p, tpa);
  return payload(0x0806, std::move(p));
}

FrameBuilder& FrameBuilder::garp_request(cam::MacAddress sha, Ipv4 ip) {
  return arp(1, sha, ip, cam::MacAddress(), ip);
}

FrameBuilder& FrameBuilder::garp_reply(cam::MacAddress sha, Ipv4 ip) { return arp(2, sha, ip, sha, ip); }

FrameBuilder& FrameBuilder::rarp(std::uint16_t op, cam::MacAddress sha, cam::MacAddress tha) {
  arp(op, sha, Ipv4{}, tha, Ipv4{});
  ethertype_ = 0x8035;
  return *this;
}

FrameBuilder& FrameBuilder::neighbor_advert(const NeighborAdvert& na) {
  Bytes icmp;
  icmp.push_back(136);
  icmp.push_back(0);
  put_be16(icmp, 0);  // checksum: not verified by camwatch
  std::uint8_t flags = static_cast<std::uint8_t>((na.router ? 0x80 : 0) | (na.solicited ? 0x40 : 0) |
                                                 (na.override_flag ? 0x20 : 0));
  icmp.push_back(flags);
  icmp.push_back(0);
  icmp.push_back(0);
  icmp.push_back(0);
  put(icmp, na.target);
  if (!na.target_lla.is_zero()) {
    icmp.push_back(2);  // target link-layer address
    icmp.push_back(1);  // length in 8-octet units
    put_mac(icmp, na.target_lla);
  }

  Bytes ext;
  for (std::size_t i = 0; i < na.extension_headers.size(); ++i) {
    std::uint8_t next = i + 1 < na.extension_headers.size() ? na.extension_headers[i + 1] : 58;
    std::uint8_t kind = na.extension_headers[i];
    ext.push_back(next);
    if (kind == 44) {  // fragment header: reserved, offset 0, M=0, identification
      ext.push_back(0);
      ext.insert(ext.end(), {0, 0, 0, 0, 0, 1});
    } else {  // hop-by-hop, destination options, routing: hdr ext len 0 (8 bytes), PadN
      ext.push_back(0);
      ext.insert(ext.end(), {1, 4, 0, 0, 0, 0});
    }
  }

  Bytes p;
  p.insert(p.end(), {0x60, 0, 0, 0});
  put_be16(p, static_cast<std::uint16_t>(ext.size() + icmp.size()));
  p.push_back(na.extension_headers.empty() ? 58 : na.extension_headers.front());
  p.push_back(255);  // hop limit
  put(p, na.source_ip);
  put(p, ipv6("ff02::1"));
  p.insert(p.end(), ext.begin(), ext.end());
  p.insert(p.end(), icmp.begin(), icmp.end());
  return payload(0x86DD, std::move(p));
}

FrameBuilder& FrameBuilder::neighbor_discovery(const NeighborDiscovery& nd) {
  Bytes icmp;
  icmp.push_back(nd.type);
  icmp.push_back(0);
  put_be16(icmp, 0);  // checksum: not verified by camwatch
  switch (nd.type) {
    case 134:  // cur hop limit, flags, router lifetime, reachable time, retrans timer
      icmp.insert(icmp.end(), {64, nd.flags, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0});
      break;
    case 135:
    case 136:
      icmp.insert(icmp.end(), {nd.type == 136 ? nd.flags : std::uint8_t{0}, 0, 0, 0});
      put(icmp, nd.target);
      break;
    default:  // 133: reserved
      icmp.insert(icmp.end(), {0, 0, 0, 0});
      break;
  }
  if (!nd.lla.is_zero()) {
    icmp.push_back(nd.type == 136 ? 2 : 1);  // target / source link-layer address
    icmp.push_back(1);
    put_mac(icmp, nd.lla);
  }
  Bytes p;
  p.insert(p.end(), {0x60, 0, 0, 0});
  put_be16(p, static_cast<std::uint16_t>(icmp.size()));
  p.push_back(58);
  p.push_back(255);
  put(p, nd.source_ip);
  put(p, nd.destination_ip);
  p.insert(p.end(), icmp.begin(), icmp.end());
  return payload(0x86DD, std::move(p));
}

FrameBuilder& FrameBuilder::nlb_heartbeat(std::uint8_t host_id, Ipv4 cluster_ip, Ipv4 dedicated_ip,
                                          std::size_t body_bytes) {
  Bytes p;
  // Little-endian signature 0xC0DE01BF, version, host id, cluster IP, dedicated IP (layout as
  // documented by Wireshark's msnlb dissector).
  p.insert(p.end(), {0xBF, 0x01, 0xDE, 0xC0});
  p.insert(p.end(), {0x00, 0x02, 0x00, 0x00});  // version
  p.insert(p.end(), {host_id, 0, 0, 0});        // host id
  put(p, cluster_ip);
  put(p, dedicated_ip);
  if (p.size() < body_bytes) p.resize(body_bytes, 0);
  return payload(0x886F, std::move(p));
}

FrameBuilder& FrameBuilder::udp(Ipv4 src, Ipv4 dst, std::uint16_t sport, std::uint16_t dport,
                                std::size_t payload_bytes) {
  Bytes p;
  auto total = static_cast<std::uint16_t>(20 + 8 + payload_bytes);
  p.insert(p.end(), {0x45, 0});
  put_be16(p, total);
  p.insert(p.end(), {0, 0, 0x40, 0, 64, 17, 0, 0});
  put(p, src);
  put(p, dst);
  put_be16(p, sport);
  put_be16(p, dport);
  put_be16(p, static_cast<std::uint16_t>(8 + payload_bytes));
  put_be16(p, 0);
  p.resize(p.size() + payload_bytes, 0xAB);
  return payload(0x0800, std::move(p));
}

FrameBuilder& FrameBuilder::udp6(const Ipv6& src, const Ipv6& dst, std::uint16_t sport, std::uint16_t dport,
                                 std::size_t payload_bytes) {
  auto udp_length = static_cast<std::uint16_t>(8 + payload_bytes);
  Bytes udp;
  put_be16(udp, sport);
  put_be16(udp, dport);
  put_be16(udp, udp_length);
  put_be16(udp, 0);
  udp.resize(udp.size() + payload_bytes, 0xAB);

  // RFC 8200 8.1: the checksum is mandatory over IPv6 and covers a pseudo-header.
  std::uint32_t sum = 0;
  auto add_words = [&sum](const std::uint8_t* bytes, std::size_t n) {
    for (std::size_t i = 0; i < n; i += 2) {
      std::uint32_t hi = bytes[i];
      std::uint32_t lo = i + 1 < n ? bytes[i + 1] : 0;
      sum += hi << 8 | lo;
    }
  };
  add_words(src.data(), src.size());
  add_words(dst.data(), dst.size());
  sum += udp_length;
  sum += 17;
  add_words(udp.data(), udp.size());
  while ((sum >> 16) != 0) sum = (sum & 0xFFFFU) + (sum >> 16);
  auto checksum = static_cast<std::uint16_t>(~sum & 0xFFFFU);
  if (checksum == 0) checksum = 0xFFFF;
  udp[6] = static_cast<std::uint8_t>(checksum >> 8);
  udp[7] = static_cast<std::uint8_t>(checksum);

  Bytes p;
  p.insert(p.end(), {0x60, 0, 0, 0});
  put_be16(p, udp_length);
  p.push_back(17);  // next header UDP
  p.push_back(64);  // hop limit
  put(p, src);
  put(p, dst);
  p.insert(p.end(), udp.begin(), udp.end());
  return payload(0x86DD, std::move(p));
}

FrameBuilder& FrameBuilder::llc_snap(std::uint16_t ethertype, Bytes bytes) {
  Bytes p = {0xAA, 0xAA, 0x03, 0, 0, 0};
  put_be16(p, ethertype);
  p.insert(p.end(), bytes.begin(), bytes.end());
  payload_ = std::move(p);
  llc_ = true;
  return *this;
}

FrameBuilder& FrameBuilder::ipv4_packet(const Ipv4Packet& packet) {
  if (packet.options_bytes % 4 != 0 || packet.options_bytes > 40) die("IPv4 options must be 0..40 bytes, 4 by 4");
  const std::size_t header = 20 + packet.options_bytes;
  Bytes p;
  p.push_back(static_cast<std::uint8_t>(0x40 | header / 4));
  p.push_back(0);
  put_be16(p, static_cast<std::uint16_t>(header + packet.body.size()));
  put_be16(p, 0x1234);  // identification
  put_be16(p, packet.flags_and_offset);
  p.push_back(64);
  p.push_back(packet.protocol);
  put_be16(p, 0);  // checksum, filled in below
  put(p, packet.source);
  put(p, packet.destination);
  p.resize(header, 1);  // options: NOP
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < header; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  while ((sum >> 16) != 0) sum = (sum & 0xFFFFU) + (sum >> 16);
  const auto checksum = static_cast<std::uint16_t>(~sum & 0xFFFFU);
  p[10] = static_cast<std::uint8_t>(checksum >> 8);
  p[11] = static_cast<std::uint8_t>(checksum);
  p.insert(p.end(), packet.body.begin(), packet.body.end());
  return payload(0x0800, std::move(p));
}

FrameBuilder& FrameBuilder::ipv6_packet(const Ipv6Packet& packet) {
  Bytes ext;
  for (std::size_t i = 0; i < packet.extension_headers.size(); ++i) {
    const std::uint8_t next =
        i + 1 < packet.extension_headers.size() ? packet.extension_headers[i + 1] : packet.next_header;
    ext.push_back(next);
    if (packet.extension_headers[i] == 44) {  // fragment header: reserved, offset and M, identification
      ext.push_back(0);
      put_be16(ext, packet.fragment_offset_and_more);
      ext.insert(ext.end(), {0, 0, 0, 7});
    } else {  // hop-by-hop, destination options, routing: hdr ext len 0 (8 bytes), PadN
      ext.push_back(0);
      ext.insert(ext.end(), {1, 4, 0, 0, 0, 0});
    }
  }
  Bytes p;
  p.insert(p.end(), {0x60, 0, 0, 0});
  put_be16(p, static_cast<std::uint16_t>(ext.size() + packet.body.size()));
  p.push_back(packet.extension_headers.empty() ? packet.next_header : packet.extension_headers.front());
  p.push_back(64);
  put(p, packet.source);
  put(p, packet.destination);
  p.insert(p.end(), ext.begin(), ext.end());
  p.insert(p.end(), packet.body.begin(), packet.body.end());
  return payload(0x86DD, std::move(p));
}

Bytes FrameBuilder::build() const {
  Bytes out;
  out.reserve(18 + 4 * tags_.size() + payload_.size());
  put_mac(out, dst_);
  put_mac(out, src_);
  for (const Tag& t : tags_) {
    put_be16(out, t.tpid);
    put_be16(out, t.tci);
  }
  put_be16(out, llc_ ? static_cast<std::uint16_t>(payload_.size()) : ethertype_);
  out.insert(out.end(), payload_.begin(), payload_.end());
  if (pad_ && out.size() < 60) out.resize(60, 0);
  return out;
}

Bytes truncate(const Bytes& frame, std::size_t n) {
  return Bytes(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(std::min(n, frame.size())));
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

namespace {

void put_be32(Bytes& out, std::uint32_t v) {
  put_be16(out, static_cast<std::uint16_t>(v >> 16));
  put_be16(out, static_cast<std::uint16_t>(v));
}

}  // namespace

Bytes gre_header(const GreHeader& gre) {
  Bytes out;
  out.push_back(static_cast<std::uint8_t>((gre.checksum ? 0x80 : 0) | (gre.routing ? 0x40 : 0) |
                                          (gre.key ? 0x20 : 0) | (gre.sequence ? 0x10 : 0)));
  out.push_back(static_cast<std::uint8_t>(gre.version & 7));
  put_be16(out, gre.protocol);
  if (gre.checksum || gre.routing) put_be32(out, 0);  // checksum and reserved1 / offset
  if (gre.key) put_be32(out, *gre.key);
  if (gre.sequence) put_be32(out, *gre.sequence);
  return out;
}

Bytes erspan_ii_header(const ErspanIIHeader& h) {
  Bytes out;
  put_be32(out, std::uint32_t{h.version & 0xFU} << 28 | std::uint32_t{h.vlan & 0xFFFU} << 16 |
                    std::uint32_t{h.cos & 7U} << 13 | std::uint32_t{h.encap & 3U} << 11 |
                    (h.truncated ? 1U << 10 : 0U) | (h.session & 0x3FFU));
  put_be32(out, h.index & 0xFFFFFU);
  return out;
}

Bytes erspan_iii_header(const ErspanIIIHeader& h) {
  Bytes out;
  put_be32(out, std::uint32_t{h.version & 0xFU} << 28 | std::uint32_t{h.vlan & 0xFFFU} << 16 |
                    std::uint32_t{h.cos & 7U} << 13 | std::uint32_t{h.bso & 3U} << 11 |
                    (h.truncated ? 1U << 10 : 0U) | (h.session & 0x3FFU));
  put_be32(out, h.timestamp);
  put_be16(out, h.sgt);
  put_be16(out, static_cast<std::uint16_t>(std::uint32_t{h.frame_type & 0x1FU} << 10 |
                                           std::uint32_t{h.hw_id & 0x3FU} << 4 | (h.egress ? 8U : 0U) |
                                           std::uint32_t{h.granularity & 3U} << 1 | (h.platform ? 1U : 0U)));
  if (h.platform) {
    put_be32(out, std::uint32_t{*h.platform & 0x3FU} << 26 | (h.platform_first & 0x3FFFFFFU));
    put_be32(out, h.platform_second);
  }
  return out;
}

PcapWriter::PcapWriter(const std::string& path, PcapPrecision precision, ByteOrder order,
                       std::uint32_t snaplen, std::uint32_t linktype)
    : precision_(precision), order_(order), snaplen_(snaplen) {
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) die("cannot create " + path + ": " + std::strerror(errno));
  put32(precision == PcapPrecision::nano ? 0xA1B23C4DU : 0xA1B2C3D4U);
  put16(2);
  put16(4);
  put32(0);
  put32(0);
  put32(snaplen);
  put32(linktype);
}

PcapWriter::~PcapWriter() { close(); }

void PcapWriter::close() {
  if (file_ != nullptr) {
    if (std::fclose(file_) != 0) die(std::string("write failed: ") + std::strerror(errno));
    file_ = nullptr;
  }
}

void PcapWriter::put32(std::uint32_t v) {
  std::uint8_t b[4];
  for (int i = 0; i < 4; ++i) {
    int shift = order_ == ByteOrder::little ? 8 * i : 8 * (3 - i);
    b[i] = static_cast<std::uint8_t>(v >> shift);
  }
  if (std::fwrite(b, 1, 4, file_) != 4) die("write failed");
}

void PcapWriter::put16(std::uint16_t v) {
  std::uint8_t b[2];
  b[0] = static_cast<std::uint8_t>(order_ == ByteOrder::little ? v : v >> 8);
  b[1] = static_cast<std::uint8_t>(order_ == ByteOrder::little ? v >> 8 : v);
  if (std::fwrite(b, 1, 2, file_) != 2) die("write failed");
}

void PcapWriter::write(cam::PacketTime time, const Bytes& frame, std::uint32_t wire_length) {
  auto since_epoch = time.time_since_epoch().count();
  auto seconds = since_epoch / 1'000'000'000;
  auto nanos = since_epoch % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --seconds;
  }
  auto caplen = static_cast<std::uint32_t>(std::min<std::size_t>(frame.size(), snaplen_));
  put32(static_cast<std::uint32_t>(seconds));
  put32(static_cast<std::uint32_t>(precision_ == PcapPrecision::nano ? nanos : nanos / 1000));
  put32(caplen);
  put32(wire_length != 0 ? wire_length : static_cast<std::uint32_t>(frame.size()));
  if (caplen != 0 && std::fwrite(frame.data(), 1, caplen, file_) != caplen) die("write failed");
}

void PcapWriter::write_raw(const Bytes& bytes) {
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) die("write failed");
}

cam::PacketTime at_seconds(std::int64_t seconds, std::int64_t nanoseconds) {
  return cam::PacketTime(std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanoseconds));
}

}  // namespace camwatch::testsupport
