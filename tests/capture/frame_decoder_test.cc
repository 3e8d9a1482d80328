#include "capture/frame_decoder.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <ostream>
#include <random>
#include <vector>

#include "testsupport/frame_builder.h"

namespace camwatch {
namespace cam {
// Readable failure messages instead of byte dumps.
void PrintTo(MacAddress m, std::ostream* os) {
  *os << m.to_string();
}
void PrintTo(Notification n, std::ostream* os) {
  *os << to_string(n);
}
}  // namespace cam

namespace capture {
void PrintTo(DecodeStatus s, std::ostream* os) {
  *os << (s == DecodeStatus::ok ? "ok" : s == DecodeStatus::truncated ? "truncated" : "malformed");
}

namespace {

using cam::ClaimKind;
using cam::IpAddress;
using cam::MacAddress;
using cam::Notification;
using testsupport::Bytes;
using testsupport::FrameBuilder;
using testsupport::ipv4;
using testsupport::ipv6;
using testsupport::kBroadcast;
using testsupport::kTpid8021ad;
using testsupport::kTpid8021Q;
using testsupport::kTpid9100;
using testsupport::mac;
using testsupport::truncate;

const MacAddress kVm = mac("00:50:56:01:02:03");
const MacAddress kOther = mac("00:50:56:0a:0b:0c");
const MacAddress kMulticast = mac("01:00:5e:00:00:01");
const MacAddress kZero;

DecodedFrame decode(const Bytes& frame) {
  return decode_frame(frame, static_cast<std::uint32_t>(frame.size()));
}

DecodedFrame decode(const Bytes& frame, std::size_t wire_length) {
  return decode_frame(frame, static_cast<std::uint32_t>(wire_length));
}

FrameBuilder::NeighborAdvert unsolicited_na(MacAddress target_lla) {
  FrameBuilder::NeighborAdvert na;
  na.source_ip = ipv6("fe80::250:56ff:fe01:203");
  na.target = ipv6("2001:db8::10");
  na.target_lla = target_lla;
  return na;
}

Bytes na_frame(const FrameBuilder::NeighborAdvert& na, MacAddress source = kVm) {
  return FrameBuilder().source(source).destination(mac("33:33:00:00:00:01")).neighbor_advert(na).build();
}

// Offsets in an untagged frame from na_frame() without extension headers.
constexpr std::size_t kIpv6 = 14;
constexpr std::size_t kIcmpv6 = kIpv6 + 40;
constexpr std::size_t kNdOptions = kIcmpv6 + 24;

void set_be16(Bytes& frame, std::size_t at, std::uint16_t v) {
  frame[at] = static_cast<std::uint8_t>(v >> 8);
  frame[at + 1] = static_cast<std::uint8_t>(v);
}

std::uint16_t get_be16(const Bytes& frame, std::size_t at) {
  return static_cast<std::uint16_t>(frame[at] << 8 | frame[at + 1]);
}

// Appends bytes to the IPv6 payload of an untagged, unpadded frame, keeping the payload length true.
void append_to_ipv6(Bytes& frame, const Bytes& bytes) {
  frame.insert(frame.end(), bytes.begin(), bytes.end());
  set_be16(frame, kIpv6 + 4, static_cast<std::uint16_t>(get_be16(frame, kIpv6 + 4) + bytes.size()));
}

// Inserts an extension header of protocol `next_header` right after the IPv6 header of an untagged
// frame; `header[0]` is overwritten with the previous next-header value.
void insert_extension(Bytes& frame, std::uint8_t next_header, Bytes header) {
  header[0] = frame[kIpv6 + 6];
  frame[kIpv6 + 6] = next_header;
  frame.insert(frame.begin() + kIcmpv6, header.begin(), header.end());
  set_be16(frame, kIpv6 + 4, static_cast<std::uint16_t>(get_be16(frame, kIpv6 + 4) + header.size()));
}

Bytes arp_body(std::uint16_t htype, std::uint16_t ptype, std::uint8_t hlen, std::uint8_t plen,
               std::uint16_t op) {
  return {static_cast<std::uint8_t>(htype >> 8),
          static_cast<std::uint8_t>(htype),
          static_cast<std::uint8_t>(ptype >> 8),
          static_cast<std::uint8_t>(ptype),
          hlen,
          plen,
          static_cast<std::uint8_t>(op >> 8),
          static_cast<std::uint8_t>(op)};
}

// The ARP body FrameBuilder::garp_request() writes, for LLC/SNAP and hand-made variants.
Bytes garp_body(MacAddress sha, testsupport::Ipv4 ip, std::uint16_t htype = 1) {
  Bytes body = arp_body(htype, 0x0800, 6, 4, 1);
  auto o = sha.octets();
  body.insert(body.end(), o.begin(), o.end());
  body.insert(body.end(), ip.begin(), ip.end());
  body.insert(body.end(), 6, 0);
  body.insert(body.end(), ip.begin(), ip.end());
  return body;
}

// --- Ethernet and VLAN tags ---

TEST(FrameDecoder, ReportsAddressesAndEthertypeOfUntaggedFrame) {
  auto frame = FrameBuilder()
                   .source(kVm)
                   .destination(kOther)
                   .udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 100)
                   .build();
  DecodedFrame d = decode(frame);
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.source, kVm);
  EXPECT_EQ(d.destination, kOther);
  EXPECT_EQ(d.vlan, 0);
  EXPECT_EQ(d.vlan_tags, 0);
  EXPECT_EQ(d.ethertype, 0x0800);
  EXPECT_EQ(d.notification, Notification::none);
  EXPECT_FALSE(d.nlb_heartbeat);
}

TEST(FrameDecoder, ReportsVidOfSingle8021QTag) {
  DecodedFrame d =
      decode(FrameBuilder().source(kVm).vlan(42).udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.vlan, 42);
  EXPECT_EQ(d.vlan_tags, 1);
  EXPECT_EQ(d.ethertype, 0x0800);
  EXPECT_EQ(d.source, kVm);
}

TEST(FrameDecoder, ReportsOutermostVidOfQinQStack) {
  DecodedFrame d = decode(
      FrameBuilder().tag(kTpid8021ad, 200).tag(kTpid8021Q, 2001).garp_request(kVm, ipv4("10.0.0.5")).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.vlan, 200);
  EXPECT_EQ(d.vlan_tags, 2);
  EXPECT_EQ(d.ethertype, 0x0806);
  EXPECT_EQ(d.notification, Notification::garp);
}

TEST(FrameDecoder, ReportsOutermostVidOfTripleStack) {
  DecodedFrame d = decode(
      FrameBuilder().vlan(30).vlan(20).vlan(10).udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.vlan, 30);
  EXPECT_EQ(d.vlan_tags, 3);
  EXPECT_EQ(d.ethertype, 0x0800);
}

TEST(FrameDecoder, Accepts8021adTagAlone) {
  DecodedFrame d =
      decode(FrameBuilder().tag(kTpid8021ad, 3000).udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.vlan, 3000);
  EXPECT_EQ(d.vlan_tags, 1);
  EXPECT_EQ(d.ethertype, 0x0800);
}

TEST(FrameDecoder, Accepts9100TagOutside8021Q) {
  DecodedFrame d = decode(FrameBuilder().tag(kTpid9100, 77).vlan(5).rarp_request(kVm).source(kVm).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.vlan, 77);
  EXPECT_EQ(d.vlan_tags, 2);
  EXPECT_EQ(d.ethertype, 0x8035);
  EXPECT_EQ(d.notification, Notification::rarp);
}

TEST(FrameDecoder, MasksPriorityAndDeiBitsOutOfVid) {
  DecodedFrame d = decode(FrameBuilder()
                              .tag(kTpid8021Q, 0xFFF, 7, true)
                              .udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10)
                              .build());
  EXPECT_EQ(d.vlan, 0xFFF);
  d = decode(
      FrameBuilder().tag(kTpid8021Q, 100, 5, true).udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10).build());
  EXPECT_EQ(d.vlan, 100);
}

TEST(FrameDecoder, TreatsPriorityTagAsUntagged) {
  DecodedFrame d =
      decode(FrameBuilder().source(kVm).tag(kTpid8021Q, 0, 5).garp_reply(kVm, ipv4("10.0.0.5")).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.vlan, 0);
  EXPECT_EQ(d.vlan_tags, 1);
  EXPECT_EQ(d.ethertype, 0x0806);
  EXPECT_EQ(d.notification, Notification::garp);
}

// SPEC: the station VLAN is the outermost tag's VID. A bridge gives a priority-tagged frame its
// port VLAN and carries the inner tag as payload, so the inner VID is not the station's VLAN.
TEST(FrameDecoder, KeepsVlanZeroWhenPriorityTagIsOutsideARealVid) {
  DecodedFrame d =
      decode(FrameBuilder().tag(kTpid8021Q, 0, 3).vlan(10).garp_request(kVm, ipv4("10.0.0.5")).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.vlan, 0);
  EXPECT_EQ(d.vlan_tags, 2);
  EXPECT_EQ(d.ethertype, 0x0806);
  EXPECT_EQ(d.notification, Notification::garp);
}

TEST(FrameDecoder, ReportsRealOuterVidAbovePriorityTaggedInner) {
  DecodedFrame d = decode(FrameBuilder()
                              .tag(kTpid8021ad, 12)
                              .tag(kTpid8021Q, 0)
                              .udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10)
                              .build());
  EXPECT_EQ(d.vlan, 12);
  EXPECT_EQ(d.vlan_tags, 2);
}

TEST(FrameDecoder, AcceptsEightStackedTagsAndRejectsNine) {
  FrameBuilder b;
  b.source(kVm);
  for (std::uint16_t i = 1; i <= 8; ++i) b.vlan(i);
  b.udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10);
  DecodedFrame d = decode(b.build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.vlan, 1);
  EXPECT_EQ(d.vlan_tags, 8);
  EXPECT_EQ(d.ethertype, 0x0800);

  b.vlan(9);
  EXPECT_EQ(decode(b.build()).status, DecodeStatus::malformed);
}

TEST(FrameDecoder, TreatsWireLengthBelowCapturedLengthAsCapturedLength) {
  auto frame = FrameBuilder().source(kVm).garp_request(kVm, ipv4("10.0.0.5")).build();
  DecodedFrame d = decode(frame, 0);
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::garp);
}

TEST(FrameDecoder, ReportsEmptyFrameAsMalformed) {
  DecodedFrame d = decode_frame({}, 0);
  EXPECT_EQ(d.status, DecodeStatus::malformed);
  EXPECT_EQ(d.source, kZero);
  EXPECT_EQ(decode_frame({}, 60).status, DecodeStatus::malformed);
}

// Under 14 bytes nobody knows whether a tag follows, so the station (VLAN, source) is unknown:
// malformed even when only the snaplen cut it. The addresses are kept when captured.
TEST(FrameDecoder, ReportsFrameCutInsideEthernetHeaderAsMalformedKeepingCapturedAddresses) {
  auto frame = FrameBuilder()
                   .source(kVm)
                   .destination(kOther)
                   .udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10)
                   .build();
  for (std::size_t n = 0; n < 14; ++n) {
    SCOPED_TRACE(n);
    DecodedFrame snap = decode(truncate(frame, n), frame.size());
    EXPECT_EQ(snap.status, DecodeStatus::malformed);
    EXPECT_EQ(decode(truncate(frame, n)).status, DecodeStatus::malformed);
    EXPECT_EQ(snap.destination, n >= 6 ? kOther : kZero);
    EXPECT_EQ(snap.source, n >= 12 ? kVm : kZero);
  }
}

TEST(FrameDecoder, ReportsFrameCutInsideOuterVidAsMalformed) {
  auto frame = FrameBuilder().source(kVm).vlan(42).udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10).build();
  EXPECT_EQ(decode(truncate(frame, 14), frame.size()).status, DecodeStatus::malformed);
  EXPECT_EQ(decode(truncate(frame, 15), frame.size()).status, DecodeStatus::malformed);
}

TEST(FrameDecoder, ReportsSnaplenCutAfterOuterVidAsTruncatedWithStation) {
  auto frame =
      FrameBuilder().source(kVm).vlan(42).vlan(7).udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10).build();
  for (std::size_t n : {16, 17, 18, 19, 20, 21}) {
    SCOPED_TRACE(n);
    DecodedFrame d = decode(truncate(frame, n), frame.size());
    EXPECT_EQ(d.status, DecodeStatus::truncated);
    EXPECT_EQ(d.source, kVm);
    EXPECT_EQ(d.vlan, 42);
    EXPECT_EQ(d.ethertype, 0);
    EXPECT_EQ(decode(truncate(frame, n)).status, DecodeStatus::malformed);
  }
  DecodedFrame d = decode(truncate(frame, 22), frame.size());
  EXPECT_EQ(d.status, DecodeStatus::ok);  // IPv4 is not looked into
  EXPECT_EQ(d.vlan_tags, 2);
  EXPECT_EQ(d.ethertype, 0x0800);
}

// --- ARP ---

TEST(FrameDecoder, ReportsGratuitousArpRequestAsGarpForSenderMac) {
  DecodedFrame d = decode(FrameBuilder().source(kVm).garp_request(kVm, ipv4("192.168.1.20")).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.ethertype, 0x0806);
  EXPECT_EQ(d.notification, Notification::garp);
  EXPECT_EQ(d.notified, kVm);
}

TEST(FrameDecoder, ReportsGratuitousArpReplyAsGarpOnItsVlan) {
  DecodedFrame d =
      decode(FrameBuilder().source(kVm).vlan(123).garp_reply(kVm, ipv4("192.168.123.1")).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.vlan, 123);
  EXPECT_EQ(d.notification, Notification::garp);
  EXPECT_EQ(d.notified, kVm);
}

// SPEC: a GARP announces its sender MAC; the Ethernet source is the station that relayed it.
TEST(FrameDecoder, AnnouncesGarpSenderHardwareAddressNotEthernetSource) {
  DecodedFrame d = decode(FrameBuilder().source(kOther).garp_request(kVm, ipv4("10.0.0.5")).build());
  EXPECT_EQ(d.source, kOther);
  EXPECT_EQ(d.notification, Notification::garp);
  EXPECT_EQ(d.notified, kVm);
}

TEST(FrameDecoder, DoesNotTakeArpProbeFromZeroAddressForAnnouncement) {
  // RFC 5227 probe: sender IP 0.0.0.0; and a degenerate one with target 0.0.0.0 too.
  DecodedFrame d =
      decode(FrameBuilder().source(kVm).arp(1, kVm, ipv4("0.0.0.0"), kZero, ipv4("10.0.0.5")).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::none);
  d = decode(FrameBuilder().source(kVm).arp(1, kVm, ipv4("0.0.0.0"), kZero, ipv4("0.0.0.0")).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::none);
}

TEST(FrameDecoder, DoesNotTakeOrdinaryArpRequestOrReplyForAnnouncement) {
  DecodedFrame d =
      decode(FrameBuilder().source(kVm).arp(1, kVm, ipv4("10.0.0.5"), kZero, ipv4("10.0.0.1")).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::none);
  d = decode(FrameBuilder()
                 .source(kVm)
                 .destination(kOther)
                 .arp(2, kVm, ipv4("10.0.0.5"), kOther, ipv4("10.0.0.1"))
                 .build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::none);
}

TEST(FrameDecoder, DoesNotTakeArpOpcodesOtherThanRequestAndReplyForAnnouncement) {
  for (std::uint16_t op : std::initializer_list<std::uint16_t>{0, 3, 4, 8, 9}) {
    SCOPED_TRACE(op);
    DecodedFrame d =
        decode(FrameBuilder().source(kVm).arp(op, kVm, ipv4("10.0.0.5"), kVm, ipv4("10.0.0.5")).build());
    EXPECT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.notification, Notification::none);
  }
}

TEST(FrameDecoder, TreatsArpForOtherHardwareOrProtocolAsNotOursButNotMalformed) {
  const Bytes headers[] = {
      arp_body(1, 0x86DD, 6, 16, 1),  // IPv6 over ARP: not a thing we announce
      arp_body(1, 0x0800, 14, 4, 1),  // hardware length 14 (tcpdump arp-too-long-tha)
      arp_body(1, 0x0800, 6, 6, 1), arp_body(7, 0x0800, 6, 4, 1),  // ARCNET-ish hardware type
  };
  for (const Bytes& header : headers) {
    Bytes body = header;
    body.resize(28, 0x0A);  // sender IP == target IP, were it IPv4 at the usual offsets
    DecodedFrame d = decode(FrameBuilder().source(kVm).payload(0x0806, body).build());
    EXPECT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.notification, Notification::none);
    // Only the fixed 8-byte header is needed to know it is not ours.
    d = decode(FrameBuilder().source(kVm).payload(0x0806, header).unpadded().build());
    EXPECT_EQ(d.status, DecodeStatus::ok);
  }
}

TEST(FrameDecoder, AcceptsIeee802HardwareTypeInGratuitousArp) {
  DecodedFrame d =
      decode(FrameBuilder().source(kVm).payload(0x0806, garp_body(kVm, ipv4("10.0.0.5"), 6)).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::garp);
  EXPECT_EQ(d.notified, kVm);
}

TEST(FrameDecoder, ReportsArpShorterOnTheWireThanItsBodyAsMalformed) {
  auto frame = FrameBuilder().source(kVm).garp_request(kVm, ipv4("10.0.0.5")).unpadded().build();
  EXPECT_EQ(decode(truncate(frame, 41)).status, DecodeStatus::malformed);
  EXPECT_EQ(decode(truncate(frame, 21)).status, DecodeStatus::malformed);
}

// --- RARP ---

TEST(FrameDecoder, ReportsRarpWhoseSenderIsTheEthernetSource) {
  for (std::uint16_t op : std::initializer_list<std::uint16_t>{3, 4}) {
    SCOPED_TRACE(op);
    DecodedFrame d = decode(FrameBuilder().source(kVm).rarp(op, kVm, kVm).build());
    EXPECT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.ethertype, 0x8035);
    EXPECT_EQ(d.notification, Notification::rarp);
    EXPECT_EQ(d.notified, kVm);
  }
}

TEST(FrameDecoder, IgnoresRarpWhoseSenderDiffersFromEthernetSource) {
  // Its protocol addresses are both 0.0.0.0: the GARP rule must not pick it up either.
  DecodedFrame d = decode(FrameBuilder().source(kOther).rarp_request(kVm).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::none);
}

TEST(FrameDecoder, IgnoresRarpWithArpOpcodes) {
  for (std::uint16_t op : std::initializer_list<std::uint16_t>{1, 2, 5}) {
    SCOPED_TRACE(op);
    DecodedFrame d = decode(FrameBuilder().source(kVm).rarp(op, kVm, kVm).build());
    EXPECT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.notification, Notification::none);
  }
}

TEST(FrameDecoder, NeverReportsRarpLayoutInsideArpEthertypeAsGarp) {
  // sha = tha, spa = tpa = 0.0.0.0 under ethertype 0x0806: sender IP is 0.0.0.0, so no GARP.
  DecodedFrame d =
      decode(FrameBuilder().source(kVm).arp(1, kVm, ipv4("0.0.0.0"), kVm, ipv4("0.0.0.0")).build());
  EXPECT_EQ(d.notification, Notification::none);
}

// --- ICMPv6 neighbour advertisements ---

TEST(FrameDecoder, ReportsUnsolicitedAdvertForTargetLinkLayerAddress) {
  DecodedFrame d = decode(na_frame(unsolicited_na(kOther), kVm));
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.ethertype, 0x86DD);
  EXPECT_EQ(d.source, kVm);
  EXPECT_EQ(d.notification, Notification::unsolicited_na);
  EXPECT_EQ(d.notified, kOther);
}

TEST(FrameDecoder, ReportsUnsolicitedAdvertWithoutLinkLayerOptionForEthernetSource) {
  DecodedFrame d = decode(na_frame(unsolicited_na(kZero), kVm));
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::unsolicited_na);
  EXPECT_EQ(d.notified, kVm);
}

TEST(FrameDecoder, IgnoresSolicitedAdvert) {
  for (MacAddress lla : {kVm, kZero}) {
    auto na = unsolicited_na(lla);
    na.solicited = true;
    DecodedFrame d = decode(na_frame(na));
    EXPECT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.notification, Notification::none);
  }
}

TEST(FrameDecoder, ReportsUnsolicitedAdvertWithoutOverrideOrWithRouterFlag) {
  auto na = unsolicited_na(kVm);
  na.override_flag = false;
  na.router = true;
  DecodedFrame d = decode(na_frame(na));
  EXPECT_EQ(d.notification, Notification::unsolicited_na);
}

TEST(FrameDecoder, SkipsHopByHopDestinationOptionsAndFragmentHeaders) {
  auto na = unsolicited_na(kVm);
  na.extension_headers = {0, 60, 44};
  DecodedFrame d = decode(na_frame(na, kOther));
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::unsolicited_na);
  EXPECT_EQ(d.notified, kVm);
}

TEST(FrameDecoder, SkipsRoutingHeader) {
  auto na = unsolicited_na(kZero);
  na.extension_headers = {43};
  DecodedFrame d = decode(na_frame(na));
  EXPECT_EQ(d.notification, Notification::unsolicited_na);
  EXPECT_EQ(d.notified, kVm);
}

TEST(FrameDecoder, SkipsLongerOptionsHeaderByItsLengthInEightOctetUnits) {
  auto frame = na_frame(unsolicited_na(kOther));
  // Destination options, hdr ext len 1: 16 bytes (PadN filling 12).
  insert_extension(frame, 60, {0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  DecodedFrame d = decode(frame);
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::unsolicited_na);
  EXPECT_EQ(d.notified, kOther);
}

TEST(FrameDecoder, SkipsAuthenticationHeaderByItsLengthInFourOctetUnits) {
  auto frame = na_frame(unsolicited_na(kOther));
  // AH with payload len 1: (1 + 2) * 4 = 12 bytes (SPI, sequence, no ICV).
  insert_extension(frame, 51, {0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1});
  DecodedFrame d = decode(frame);
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::unsolicited_na);
  EXPECT_EQ(d.notified, kOther);
}

TEST(FrameDecoder, FindsNoIcmpv6InNonFirstFragment) {
  auto na = unsolicited_na(kVm);
  na.extension_headers = {44};
  auto frame = na_frame(na);
  set_be16(frame, kIcmpv6 + 2, 1 << 3);  // fragment offset 1 (8 bytes), M = 0
  DecodedFrame d = decode(frame);
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::none);
}

TEST(FrameDecoder, DecodesFirstFragmentOfAdvert) {
  auto na = unsolicited_na(kVm);
  na.extension_headers = {44};
  auto frame = na_frame(na);
  set_be16(frame, kIcmpv6 + 2, 1);  // offset 0, more fragments follow
  EXPECT_EQ(decode(frame).notification, Notification::unsolicited_na);
}

TEST(FrameDecoder, StopsAtEspAndNoNextHeader) {
  for (std::uint8_t stop : std::initializer_list<std::uint8_t>{50, 59}) {
    auto na = unsolicited_na(kVm);
    na.extension_headers = {0, stop};
    DecodedFrame d = decode(na_frame(na));
    EXPECT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.notification, Notification::none);
  }
}

TEST(FrameDecoder, AcceptsEightExtensionHeadersAndRejectsNine) {
  auto na = unsolicited_na(kVm);
  na.extension_headers.assign(8, 60);
  EXPECT_EQ(decode(na_frame(na)).notification, Notification::unsolicited_na);
  na.extension_headers.assign(9, 60);
  EXPECT_EQ(decode(na_frame(na)).status, DecodeStatus::malformed);
}

TEST(FrameDecoder, IgnoresOtherIcmpv6TypesAndNonZeroCode) {
  auto frame = na_frame(unsolicited_na(kVm));
  frame[kIcmpv6] = 135;  // neighbour solicitation
  EXPECT_EQ(decode(frame).status, DecodeStatus::ok);
  EXPECT_EQ(decode(frame).notification, Notification::none);

  frame = na_frame(unsolicited_na(kVm));
  frame[kIcmpv6 + 1] = 1;
  EXPECT_EQ(decode(frame).status, DecodeStatus::ok);
  EXPECT_EQ(decode(frame).notification, Notification::none);
}

TEST(FrameDecoder, ReportsOrdinaryIpv6TrafficWithoutLookingFurther) {
  auto frame = na_frame(unsolicited_na(kZero));
  frame[kIpv6 + 6] = 6;  // TCP
  DecodedFrame d = decode(frame);
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.ethertype, 0x86DD);
  EXPECT_EQ(d.notification, Notification::none);
}

TEST(FrameDecoder, FindsLinkLayerOptionAfterOtherOptions) {
  auto frame = na_frame(unsolicited_na(kZero), kVm);
  append_to_ipv6(frame, {14, 1, 1, 2, 3, 4, 5, 6});  // nonce
  append_to_ipv6(frame,
                 {2, 2, 0xAA, 0xBB, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // TLLA, but 16 bytes: not a MAC
  append_to_ipv6(frame, {2, 1, 0x00, 0x50, 0x56, 0x0a, 0x0b, 0x0c});
  DecodedFrame d = decode(frame);
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::unsolicited_na);
  EXPECT_EQ(d.notified, kOther);
}

TEST(FrameDecoder, ReportsZeroLengthNdOptionAsMalformed) {
  auto frame = na_frame(unsolicited_na(kZero));
  append_to_ipv6(frame, {1, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(decode(frame).status, DecodeStatus::malformed);
  frame = na_frame(unsolicited_na(kOther));
  frame[kNdOptions + 1] = 0;  // the target link-layer option itself
  EXPECT_EQ(decode(frame).status, DecodeStatus::malformed);
}

TEST(FrameDecoder, ReportsNdOptionRunningPastPayloadAsMalformed) {
  auto frame = na_frame(unsolicited_na(kZero));
  append_to_ipv6(frame, {14, 2, 0, 0, 0, 0, 0, 0});  // claims 16 bytes, 8 present
  EXPECT_EQ(decode(frame).status, DecodeStatus::malformed);
  frame.resize(frame.size() + 8, 0);  // an Ethernet trailer after the payload does not complete it
  EXPECT_EQ(decode(frame).status, DecodeStatus::malformed);
}

// Bytes after the IPv6 payload length (Ethernet padding, trailers) are not options: zeros there
// would otherwise read as a zero-length option.
TEST(FrameDecoder, IgnoresBytesAfterIpv6PayloadLength) {
  auto frame = na_frame(unsolicited_na(kZero), kVm);
  frame.resize(frame.size() + 12, 0);
  DecodedFrame d = decode(frame);
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, Notification::unsolicited_na);
  EXPECT_EQ(d.notified, kVm);
}

TEST(FrameDecoder, ReportsIpv6PayloadLengthBeyondFrameAsMalformedOrTruncated) {
  auto frame = na_frame(unsolicited_na(kZero));
  set_be16(frame, kIpv6 + 4, static_cast<std::uint16_t>(get_be16(frame, kIpv6 + 4) + 8));
  EXPECT_EQ(decode(frame).status, DecodeStatus::malformed);
  EXPECT_EQ(decode(frame, frame.size() + 8).status, DecodeStatus::truncated);
}

TEST(FrameDecoder, ReportsIpv6HeaderWithWrongVersionAsMalformed) {
  auto frame = na_frame(unsolicited_na(kVm));
  frame[kIpv6] = 0x45;
  EXPECT_EQ(decode(frame).status, DecodeStatus::malformed);
}

// --- NLB ---

TEST(FrameDecoder, FlagsNlbHeartbeat) {
  DecodedFrame d = decode(FrameBuilder()
                              .source(mac("02:01:c0:a8:64:50"))
                              .nlb_heartbeat(1, ipv4("192.168.100.80"), ipv4("192.168.100.81"))
                              .build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.ethertype, 0x886F);
  EXPECT_TRUE(d.nlb_heartbeat);
  EXPECT_EQ(d.notification, Notification::none);
}

TEST(FrameDecoder, FlagsNlbHeartbeatFromEthertypeAloneWhateverItsBody) {
  auto frame =
      FrameBuilder().source(kVm).vlan(5).nlb_heartbeat(2, ipv4("10.0.0.1"), ipv4("10.0.0.2")).build();
  DecodedFrame d = decode(truncate(frame, 24), 1514);  // body cut to 6 bytes by the snaplen
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_TRUE(d.nlb_heartbeat);
  EXPECT_EQ(d.vlan, 5);
  d = decode(truncate(frame, 18), 18);  // no body at all
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_TRUE(d.nlb_heartbeat);
}

TEST(FrameDecoder, ReadsHostIdClusterAndDedicatedAddressOfNlbHeartbeat) {
  DecodedFrame d = decode(FrameBuilder()
                              .source(mac("02:02:c0:a8:64:50"))
                              .nlb_heartbeat(2, ipv4("192.168.100.80"), ipv4("192.168.100.82"))
                              .build());
  EXPECT_TRUE(d.nlb_heartbeat);
  EXPECT_TRUE(d.nlb_identity);
  EXPECT_FALSE(d.nlb_extended);
  EXPECT_EQ(d.nlb_host_id, 2);
  EXPECT_EQ(d.nlb_cluster_ip, 0xC0A86450U);
  EXPECT_EQ(d.nlb_dedicated_ip, 0xC0A86452U);
}

TEST(FrameDecoder, ReadsNoNlbIdentityFromCutBodyExtendedSignatureOrImpossibleHostId) {
  auto frame = FrameBuilder().source(kVm).nlb_heartbeat(3, ipv4("10.0.0.1"), ipv4("10.0.0.2")).build();
  DecodedFrame d = decode(truncate(frame, 14 + 19), 1514);  // dedicated IP cut by one byte
  EXPECT_TRUE(d.nlb_heartbeat);
  EXPECT_FALSE(d.nlb_identity);
  EXPECT_EQ(d.nlb_host_id, 0);

  auto extended = frame;
  extended[14] = 0xC0;  // signature 0xC0DE01C0
  d = decode(extended);
  EXPECT_TRUE(d.nlb_extended);
  EXPECT_FALSE(d.nlb_identity);

  auto host33 = FrameBuilder().source(kVm).nlb_heartbeat(33, ipv4("10.0.0.1"), ipv4("10.0.0.2")).build();
  d = decode(host33);
  EXPECT_TRUE(d.nlb_heartbeat);
  EXPECT_FALSE(d.nlb_identity);
}

// --- address claims (ARP and neighbour discovery) ---

TEST(FrameDecoder, ClaimsSenderAddressOfArpRequestAndReplyForSenderHardwareAddress) {
  DecodedFrame d = decode(
      FrameBuilder().source(kOther).arp(1, kVm, ipv4("10.0.0.5"), kZero, ipv4("10.0.0.1")).build());
  EXPECT_EQ(d.claim, ClaimKind::arp_request);
  EXPECT_EQ(d.claim_mac, kVm);
  EXPECT_EQ(d.claim_ip, IpAddress::v4(0x0A000005));
  d = decode(FrameBuilder().source(kVm).arp(2, kVm, ipv4("10.0.0.5"), kOther, ipv4("10.0.0.1")).build());
  EXPECT_EQ(d.claim, ClaimKind::arp_reply);
  EXPECT_EQ(d.claim_ip, IpAddress::v4(0x0A000005));
}

TEST(FrameDecoder, ClaimsGratuitousArpAsAnnouncementAndProbeAsProbeOfTargetAddress) {
  DecodedFrame d = decode(FrameBuilder().source(kVm).garp_reply(kVm, ipv4("10.0.0.7")).build());
  EXPECT_EQ(d.claim, ClaimKind::arp_announcement);
  EXPECT_EQ(d.notification, Notification::garp);
  EXPECT_EQ(d.claim_ip, IpAddress::v4(0x0A000007));
  d = decode(FrameBuilder().source(kVm).arp(1, kVm, ipv4("0.0.0.0"), kZero, ipv4("10.0.0.9")).build());
  EXPECT_EQ(d.claim, ClaimKind::arp_probe);
  EXPECT_EQ(d.notification, Notification::none);
  EXPECT_EQ(d.claim_ip, IpAddress::v4(0x0A000009));
  EXPECT_EQ(d.claim_mac, kVm);
}

TEST(FrameDecoder, ClaimsNothingForArpWithGroupSenderOrCutBody) {
  auto frame = FrameBuilder().source(kVm).arp(1, kBroadcast, ipv4("10.0.0.5"), kZero, ipv4("10.0.0.1")).build();
  EXPECT_EQ(decode(frame).claim, ClaimKind::none);
  auto garp = FrameBuilder().source(kVm).garp_request(kVm, ipv4("10.0.0.7")).build();
  DecodedFrame d = decode(truncate(garp, 14 + 27), 60);
  EXPECT_EQ(d.status, DecodeStatus::truncated);
  EXPECT_EQ(d.claim, ClaimKind::none);
}

TEST(FrameDecoder, ClaimsAdvertTargetForItsTargetLinkLayerAddressSolicitedOrNot) {
  auto na = unsolicited_na(kOther);
  DecodedFrame d = decode(na_frame(na, kVm));
  EXPECT_EQ(d.claim, ClaimKind::nd_unsolicited_advertisement);
  EXPECT_EQ(d.claim_mac, kOther);
  EXPECT_EQ(d.claim_ip, IpAddress::v6(na.target.data()));
  na.solicited = true;
  d = decode(na_frame(na, kVm));
  EXPECT_EQ(d.claim, ClaimKind::nd_advertisement);
  EXPECT_EQ(d.notification, Notification::none);
  na.target_lla = kZero;
  d = decode(na_frame(na, kVm));
  EXPECT_EQ(d.claim_mac, kVm);  // no option: the Ethernet source
}

TEST(FrameDecoder, ClaimsSolicitationSourceForSourceLinkLayerAddressAndDadForTentativeTarget) {
  FrameBuilder::NeighborDiscovery ns;
  ns.type = 135;
  ns.source_ip = ipv6("2001:db8::5");
  ns.destination_ip = ipv6("ff02::1:ff00:9");
  ns.target = ipv6("2001:db8::9");
  ns.lla = kOther;
  DecodedFrame d = decode(FrameBuilder().source(kVm).neighbor_discovery(ns).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.claim, ClaimKind::nd_solicitation);
  EXPECT_EQ(d.claim_mac, kOther);
  EXPECT_EQ(d.claim_ip, IpAddress::v6(ipv6("2001:db8::5").data()));

  ns.source_ip = ipv6("::");
  ns.lla = kZero;  // RFC 4861: no SLLA from the unspecified address
  d = decode(FrameBuilder().source(kVm).neighbor_discovery(ns).build());
  EXPECT_EQ(d.claim, ClaimKind::nd_dad);
  EXPECT_EQ(d.claim_mac, kVm);
  EXPECT_EQ(d.claim_ip, IpAddress::v6(ipv6("2001:db8::9").data()));
}

TEST(FrameDecoder, ClaimsRouterAdvertisementSourceAndRouterSolicitationFromSpecifiedSourceOnly) {
  FrameBuilder::NeighborDiscovery ra;
  ra.type = 134;
  ra.source_ip = ipv6("fe80::1");
  ra.destination_ip = ipv6("ff02::1");
  ra.lla = kOther;
  DecodedFrame d = decode(FrameBuilder().source(kOther).neighbor_discovery(ra).build());
  EXPECT_EQ(d.claim, ClaimKind::nd_router_advertisement);
  EXPECT_EQ(d.claim_ip, IpAddress::v6(ipv6("fe80::1").data()));
  EXPECT_EQ(d.claim_mac, kOther);

  FrameBuilder::NeighborDiscovery rs;
  rs.type = 133;
  rs.source_ip = ipv6("fe80::5");
  rs.destination_ip = ipv6("ff02::2");
  rs.lla = kVm;
  d = decode(FrameBuilder().source(kVm).neighbor_discovery(rs).build());
  EXPECT_EQ(d.claim, ClaimKind::nd_solicitation);
  rs.source_ip = ipv6("::");
  rs.lla = kZero;
  d = decode(FrameBuilder().source(kVm).neighbor_discovery(rs).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.claim, ClaimKind::none);
}

TEST(FrameDecoder, ClaimsNothingFromNdMessageCutBeforeItsOptionsEnd) {
  FrameBuilder::NeighborDiscovery ns;
  ns.type = 135;
  ns.source_ip = ipv6("2001:db8::5");
  ns.destination_ip = ipv6("ff02::1:ff00:9");
  ns.target = ipv6("2001:db8::9");
  ns.lla = kOther;
  auto frame = FrameBuilder().source(kVm).neighbor_discovery(ns).build();
  DecodedFrame d = decode(truncate(frame, 14 + 40 + 24 + 4), static_cast<std::uint32_t>(frame.size()));
  EXPECT_EQ(d.status, DecodeStatus::truncated);
  EXPECT_EQ(d.claim, ClaimKind::none);
}

// --- 802.3 and LLC/SNAP ---

TEST(FrameDecoder, DecodesArpInsideLlcSnap) {
  DecodedFrame d =
      decode(FrameBuilder().source(kVm).llc_snap(0x0806, garp_body(kVm, ipv4("10.0.0.5"))).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.ethertype, 0x0806);
  EXPECT_EQ(d.notification, Notification::garp);
  EXPECT_EQ(d.notified, kVm);

  d = decode(
      FrameBuilder().source(kVm).vlan(9).llc_snap(0x0806, garp_body(kVm, ipv4("10.0.0.5"), 6)).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.vlan, 9);
  EXPECT_EQ(d.notification, Notification::garp);
}

TEST(FrameDecoder, ReportsSourceOfPlainLlcFrameWithoutEthertype) {
  Bytes bpdu = {0x42, 0x42, 0x03};
  bpdu.resize(38, 0);
  DecodedFrame d =
      decode(FrameBuilder().source(kVm).destination(mac("01:80:c2:00:00:00")).payload(38, bpdu).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.source, kVm);
  EXPECT_EQ(d.ethertype, 0);
  // An LLC XID/TEST frame can be just the three LLC bytes.
  d = decode(FrameBuilder().source(kVm).payload(3, {0xAA, 0xAA, 0xE3}).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
}

TEST(FrameDecoder, ReportsNoEthertypeForSnapWithNonZeroOui) {
  Bytes cdp = {0xAA, 0xAA, 0x03, 0x00, 0x00, 0x0C, 0x20, 0x00};
  cdp.resize(40, 0);
  DecodedFrame d = decode(FrameBuilder().source(kVm).payload(40, cdp).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.ethertype, 0);
}

TEST(FrameDecoder, Bounds8023PayloadByItsLengthField) {
  auto frame = FrameBuilder().source(kVm).llc_snap(0x0806, garp_body(kVm, ipv4("10.0.0.5"))).build();
  set_be16(frame, 12, 30);  // 8 bytes of SNAP, 22 of the 28-byte ARP body
  EXPECT_EQ(decode(frame).status, DecodeStatus::malformed);
  set_be16(frame, 12, 5);  // not even the SNAP header
  EXPECT_EQ(decode(frame).status, DecodeStatus::malformed);
  set_be16(frame, 12, 2);  // not even the LLC header
  EXPECT_EQ(decode(frame).status, DecodeStatus::malformed);
}

TEST(FrameDecoder, ReportsTypeFieldBetweenLengthsAndEthertypesAsMalformed) {
  for (std::uint16_t type : std::initializer_list<std::uint16_t>{1501, 1535}) {
    EXPECT_EQ(decode(FrameBuilder().source(kVm).payload(type, Bytes(46, 0)).build()).status,
              DecodeStatus::malformed);
  }
  EXPECT_EQ(decode(FrameBuilder().source(kVm).payload(1500, Bytes(46, 0)).build()).status, DecodeStatus::ok);
  DecodedFrame d = decode(FrameBuilder().source(kVm).payload(0x0600, Bytes(46, 0)).build());
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.ethertype, 0x0600);
}

// --- Group and zero announced addresses ---

TEST(FrameDecoder, NeverAnnouncesGroupOrZeroMac) {
  for (MacAddress bad : {kMulticast, kBroadcast, kZero}) {
    SCOPED_TRACE(bad.to_string());
    EXPECT_EQ(decode(FrameBuilder().source(kVm).garp_request(bad, ipv4("10.0.0.5")).build()).notification,
              Notification::none);
    EXPECT_EQ(decode(FrameBuilder().source(bad).rarp_request(bad).build()).notification, Notification::none);
    EXPECT_EQ(decode(na_frame(unsolicited_na(kZero), bad)).notification, Notification::none);
  }
}

TEST(FrameDecoder, DoesNotFallBackToEthernetSourceWhenLinkLayerOptionIsGroupOrZero) {
  for (MacAddress bad : {kMulticast, kZero}) {
    auto frame = na_frame(unsolicited_na(kZero), kVm);
    auto o = bad.octets();
    Bytes option = {2, 1};
    option.insert(option.end(), o.begin(), o.end());
    append_to_ipv6(frame, option);
    DecodedFrame d = decode(frame);
    EXPECT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.notification, Notification::none);
  }
}

// --- Every cut of a notification frame ---

// Decodes every prefix of `frame`, once cut by a snaplen (wire length = the whole frame) and once
// really that short on the wire. `complete` bytes are enough to decode it fully; `station` bytes
// to know its VLAN and source.
void expect_every_prefix_safe(const Bytes& frame, std::size_t station, std::size_t complete) {
  const DecodedFrame whole = decode(frame);
  ASSERT_EQ(whole.status, DecodeStatus::ok);
  for (std::size_t n = 0; n <= frame.size(); ++n) {
    SCOPED_TRACE(n);
    const Bytes cut = truncate(frame, n);  // its own allocation: the sanitizer sees any overread
    const DecodedFrame snap = decode(cut, frame.size());
    const DecodedFrame wire = decode(cut);
    if (n >= complete) {
      for (const DecodedFrame& d : {snap, wire}) {
        EXPECT_EQ(d.status, DecodeStatus::ok);
        EXPECT_EQ(d.notification, whole.notification);
        EXPECT_EQ(d.notified, whole.notified);
        EXPECT_EQ(d.nlb_heartbeat, whole.nlb_heartbeat);
        EXPECT_EQ(d.vlan, whole.vlan);
      }
      continue;
    }
    EXPECT_EQ(wire.status, DecodeStatus::malformed);
    EXPECT_EQ(snap.status, n < station ? DecodeStatus::malformed : DecodeStatus::truncated);
    EXPECT_EQ(snap.notification, Notification::none);
    if (n >= station) {
      EXPECT_EQ(snap.source, whole.source);
      EXPECT_EQ(snap.vlan, whole.vlan);
    }
  }
}

TEST(FrameDecoder, SurvivesEveryCutOfGarp) {
  expect_every_prefix_safe(FrameBuilder().source(kVm).garp_request(kVm, ipv4("10.0.0.5")).build(), 14, 42);
  expect_every_prefix_safe(
      FrameBuilder().source(kVm).tag(kTpid8021ad, 10).vlan(20).garp_reply(kVm, ipv4("10.0.0.5")).build(), 16,
      50);
}

TEST(FrameDecoder, SurvivesEveryCutOfRarp) {
  expect_every_prefix_safe(FrameBuilder().source(kVm).rarp_request(kVm).build(), 14, 42);
  expect_every_prefix_safe(FrameBuilder().source(kVm).vlan(3).rarp_request(kVm).build(), 16, 46);
}

TEST(FrameDecoder, SurvivesEveryCutOfNeighborAdvert) {
  auto with_lla = na_frame(unsolicited_na(kOther));
  expect_every_prefix_safe(with_lla, 14, with_lla.size());
  auto without = na_frame(unsolicited_na(kZero));
  expect_every_prefix_safe(without, 14, without.size());
  auto na = unsolicited_na(kOther);
  na.extension_headers = {0, 60, 44, 43};
  auto chained = FrameBuilder().source(kVm).vlan(7).neighbor_advert(na).build();
  expect_every_prefix_safe(chained, 16, chained.size());
}

TEST(FrameDecoder, SurvivesEveryCutOfSnapArp) {
  expect_every_prefix_safe(
      FrameBuilder().source(kVm).llc_snap(0x0806, garp_body(kVm, ipv4("10.0.0.5"))).build(), 14, 50);
}

TEST(FrameDecoder, SurvivesEveryCutOfNlbHeartbeat) {
  expect_every_prefix_safe(
      FrameBuilder().source(kVm).nlb_heartbeat(1, ipv4("10.0.0.1"), ipv4("10.0.0.2"), 46).build(), 14, 14);
}

// Single-byte mutations of notification frames walk every branch with odd values; each decode
// gets an exact-size buffer so the sanitizer catches any read past it.
TEST(FrameDecoder, SurvivesSingleByteMutationsOfNotificationFrames) {
  auto na = unsolicited_na(kOther);
  na.extension_headers = {0, 44, 51};
  const Bytes frames[] = {
      FrameBuilder().source(kVm).vlan(5).garp_request(kVm, ipv4("10.0.0.5")).unpadded().build(),
      FrameBuilder().source(kVm).rarp_request(kVm).unpadded().build(),
      FrameBuilder().source(kVm).tag(kTpid8021ad, 5).neighbor_advert(na).build(),
      FrameBuilder().source(kVm).llc_snap(0x0806, garp_body(kVm, ipv4("10.0.0.5"))).unpadded().build(),
  };
  const std::uint8_t values[] = {0x00, 0x01, 0x02, 0x06, 0x08, 0x2C, 0x33,
                                 0x3A, 0x81, 0x86, 0x88, 0xAA, 0xDD, 0xFF};
  for (const Bytes& original : frames) {
    for (std::size_t i = 0; i < original.size(); ++i) {
      for (std::uint8_t v : values) {
        Bytes frame = original;
        frame[i] = v;
        for (std::size_t wire : {frame.size(), frame.size() + 100}) {
          const DecodedFrame d = decode(frame, wire);
          if (d.notification != Notification::none) {
            EXPECT_EQ(d.status, DecodeStatus::ok);
            EXPECT_TRUE(d.notified.is_learnable());
          }
        }
      }
    }
  }
}

TEST(FrameDecoder, SurvivesRandomBytes) {
  std::mt19937 rng(20120830);
  const std::uint8_t tokens[] = {0x81, 0x00, 0x88, 0xA8, 0x91, 0x86, 0xDD, 0x08,
                                 0x06, 0x80, 0x35, 0x3A, 0x88, 0x2C, 0xAA, 0x03};
  for (int round = 0; round < 20000; ++round) {
    Bytes frame(rng() % 130);
    for (auto& b : frame)
      b = (rng() & 1) != 0 ? tokens[rng() % sizeof tokens] : static_cast<std::uint8_t>(rng());
    const DecodedFrame d = decode(frame, frame.size() + rng() % 3 * 50);
    if (d.notification != Notification::none) {
      EXPECT_TRUE(d.notified.is_learnable());
    }
  }
}

// --- Counters ---

TEST(DecodeCounters, CountsMalformedFramesOnlyAsMalformed) {
  DecodeCounters counters;
  auto garp = FrameBuilder().source(kVm).vlan(4).garp_request(kVm, ipv4("10.0.0.5")).build();
  auto nlb = FrameBuilder().source(kVm).nlb_heartbeat(1, ipv4("10.0.0.1"), ipv4("10.0.0.2")).build();
  counters.count(decode(garp), 64);
  counters.count(decode(truncate(garp, 30), 64), 64);
  counters.count(decode(truncate(garp, 30)), 30);
  counters.count(decode(nlb), 1514);
  EXPECT_EQ(counters.frames, 4U);
  EXPECT_EQ(counters.bytes, 64U + 64U + 30U + 1514U);
  EXPECT_EQ(counters.malformed, 1U);
  EXPECT_EQ(counters.truncated, 1U);
  EXPECT_EQ(counters.vlan_tagged, 2U);
  EXPECT_EQ(counters.notifications[static_cast<int>(Notification::garp)], 1U);
  EXPECT_EQ(counters.notifications[static_cast<int>(Notification::none)], 0U) << "not counted: frames - malformed - others";
  EXPECT_EQ(counters.claims[static_cast<int>(cam::ClaimKind::none)], 0U);
  EXPECT_EQ(counters.claims[static_cast<int>(cam::ClaimKind::arp_announcement)], 1U);
  EXPECT_EQ(counters.nlb_heartbeats, 1U);
}

// --- to_observation: the inline fast path gives what decode_frame() gives ---

void expect_same_observation(const Bytes& frame, std::uint32_t wire) {
  const cam::PacketTime t = cam::PacketTime(std::chrono::nanoseconds(1'346'305'200'123'456'789LL));
  DecodeCounters fast_counters, slow_counters;
  cam::Observation fast, slow;
  std::memset(static_cast<void*>(&fast), 0xA5, sizeof fast);  // every byte must be written
  std::memset(static_cast<void*>(&slow), 0x5A, sizeof slow);
  const std::span<const std::uint8_t> bytes(frame);
  const bool fast_ok = to_observation(t, bytes, wire, 3, fast_counters, fast);
  const bool slow_ok = to_observation_decoded(t, bytes, wire, 3, slow_counters, slow);
  ASSERT_EQ(fast_ok, slow_ok);
  EXPECT_EQ(fast_ok, decode_frame(bytes, wire).status != DecodeStatus::malformed);
  if (fast_ok) {
    EXPECT_EQ(std::memcmp(&fast, &slow, sizeof fast), 0) << "frame of " << frame.size() << " bytes";
  }
  EXPECT_EQ(std::memcmp(&fast_counters, &slow_counters, sizeof fast_counters), 0);
}

TEST(ToObservation, FastPathMatchesTheFullDecoder) {
  const auto udp = [] { return FrameBuilder().source(kVm).udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 18); };
  expect_same_observation(udp().build(), 64);
  expect_same_observation(udp().vlan(4094).build(), 68);
  expect_same_observation(udp().vlan(0).build(), 68);                 // priority tag
  expect_same_observation(udp().vlan(10).vlan(20).build(), 72);       // two tags: the slow path
  expect_same_observation(truncate(udp().vlan(7).build(), 17), 68);   // the tag's VID cut
  expect_same_observation(truncate(udp().vlan(7).build(), 18), 68);   // the inner type cut
  expect_same_observation(truncate(udp().build(), 14), 64);           // header only
  expect_same_observation(truncate(udp().build(), 13), 64);           // no type field
  expect_same_observation(FrameBuilder().source(kVm).vlan(4).garp_request(kVm, ipv4("10.0.0.5")).build(), 64);
  expect_same_observation(FrameBuilder().source(kVm).rarp_request(kVm).build(), 64);
  expect_same_observation(FrameBuilder().source(kVm).nlb_heartbeat(1, ipv4("10.0.0.1"), ipv4("10.0.0.2")).build(), 1514);
}

TEST(ToObservation, FastPathMatchesTheFullDecoderOnRandomBytes) {
  std::mt19937 rng(20121205);
  const std::uint8_t tokens[] = {0x81, 0x00, 0x08, 0x06, 0x80, 0x35, 0x88, 0xA8, 0x86, 0xDD};
  for (int round = 0; round < 20000; ++round) {
    Bytes frame(rng() % 40);
    for (auto& b : frame) b = (rng() & 1) != 0 ? tokens[rng() % sizeof tokens] : static_cast<std::uint8_t>(rng());
    expect_same_observation(frame, static_cast<std::uint32_t>(frame.size() + rng() % 3 * 20));
  }
}

}  // namespace
}  // namespace capture
}  // namespace camwatch
