#include "capture/mirror_decap.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <vector>

#include "capture/frame_decoder.h"
#include "testsupport/frame_builder.h"

namespace camwatch {
namespace cam {
void PrintTo(MacAddress m, std::ostream* os);  // frame_decoder_test.cc, same executable
}  // namespace cam

namespace capture {
void PrintTo(DecodeStatus s, std::ostream* os);  // frame_decoder_test.cc, same executable
void PrintTo(MirrorEncap e, std::ostream* os) {
  *os << to_string(e);
}

namespace {

using cam::MacAddress;
using cam::Notification;
using testsupport::Bytes;
using testsupport::concat;
using testsupport::erspan_ii_header;
using testsupport::erspan_iii_header;
using testsupport::ErspanIIHeader;
using testsupport::ErspanIIIHeader;
using testsupport::FrameBuilder;
using testsupport::gre_header;
using testsupport::GreHeader;
using testsupport::ipv4;
using testsupport::ipv6;
using testsupport::kBroadcast;
using testsupport::kTpid8021ad;
using testsupport::kTpid8021Q;
using testsupport::mac;
using testsupport::truncate;

const MacAddress kSwitch = mac("00:1b:54:c2:00:01");     // the mirroring switch (outer source)
const MacAddress kCollector = mac("00:1b:21:aa:00:02");  // the collector NIC (outer destination)
const MacAddress kVm = mac("00:50:56:01:02:03");         // the mirrored station

constexpr std::uint16_t kErspan = 0x88BE;
constexpr std::uint16_t kErspanIII = 0x22EB;
constexpr std::uint16_t kTeb = 0x6558;

// Outer offsets of an untagged IPv4 collector frame.
constexpr std::size_t kOuterIp = 14;
constexpr std::size_t kGre = kOuterIp + 20;

// A collector frame together with what decapsulate_mirror() made of it. `inner` points into
// `frame`, so the two live and move together (a MirroredFrame of a temporary frame would dangle).
// Moving keeps a vector's buffer, copying would not: copies are refused.
struct Decapsulated : MirroredFrame {
  Decapsulated() = default;
  Decapsulated(const Decapsulated&) = delete;
  Decapsulated& operator=(const Decapsulated&) = delete;
  Decapsulated(Decapsulated&&) = default;
  Decapsulated& operator=(Decapsulated&&) = default;
  Bytes frame;
};

Decapsulated decap(Bytes frame, std::size_t wire_length) {
  Decapsulated out;
  out.frame = std::move(frame);
  static_cast<MirroredFrame&>(out) = decapsulate_mirror(out.frame, static_cast<std::uint32_t>(wire_length));
  return out;
}

Decapsulated decap(Bytes frame) {
  const std::size_t wire_length = frame.size();
  return decap(std::move(frame), wire_length);
}

Bytes inner_of(const MirroredFrame& m) {
  return Bytes(m.inner.begin(), m.inner.end());
}

// The mirrored frame most tests carry: VMware's "Notify Switches" RARP (60 bytes, padded).
Bytes rarp_from_vm() {
  return FrameBuilder().source(kVm).destination(kBroadcast).rarp_request(kVm).build();
}

Bytes over_ipv4(const Bytes& gre_packet, std::uint16_t flags_and_offset = 0) {
  FrameBuilder::Ipv4Packet ip;
  ip.source = ipv4("192.0.2.1");
  ip.destination = ipv4("192.0.2.200");
  ip.flags_and_offset = flags_and_offset;
  ip.body = gre_packet;
  return FrameBuilder().source(kSwitch).destination(kCollector).ipv4_packet(ip).build();
}

Bytes over_ipv6(const Bytes& gre_packet, std::vector<std::uint8_t> extension_headers = {},
                std::uint16_t fragment_offset_and_more = 0) {
  FrameBuilder::Ipv6Packet ip;
  ip.source = ipv6("2001:db8::1");
  ip.destination = ipv6("2001:db8::200");
  ip.extension_headers = std::move(extension_headers);
  ip.fragment_offset_and_more = fragment_offset_and_more;
  ip.body = gre_packet;
  return FrameBuilder().source(kSwitch).destination(kCollector).ipv6_packet(ip).build();
}

GreHeader gre(std::uint16_t protocol) {
  GreHeader g;
  g.protocol = protocol;
  return g;
}

GreHeader gre_with_sequence(std::uint16_t protocol) {
  GreHeader g = gre(protocol);
  g.sequence = 7;
  return g;
}

ErspanIIHeader type_ii(std::uint16_t session, std::uint32_t index) {
  ErspanIIHeader h;
  h.session = session;
  h.index = index;
  return h;
}

ErspanIIIHeader type_iii(std::uint16_t session) {
  ErspanIIIHeader h;
  h.session = session;
  h.timestamp = 0x12345678;
  return h;
}

Bytes type_ii_frame(std::uint16_t session, std::uint32_t index, const Bytes& inner) {
  return over_ipv4(concat({gre_header(gre_with_sequence(kErspan)), erspan_ii_header(type_ii(session, index)), inner}));
}

void expect_inner_is(const MirroredFrame& m, const Bytes& expected) {
  EXPECT_TRUE(m.has_inner_ethernet());
  EXPECT_EQ(inner_of(m), expected);
  EXPECT_EQ(m.inner_wire_length, expected.size());
}

// --- The four encapsulations ---

TEST(MirrorDecap, DecapsulatesErspanTypeIWhenGreSequenceBitIsClear) {
  const Bytes inner = rarp_from_vm();
  const Decapsulated m = decap(over_ipv4(concat({gre_header(gre(kErspan)), inner})));
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_EQ(m.encap, MirrorEncap::erspan_i);
  EXPECT_EQ(m.session, 0);
  EXPECT_FALSE(m.has_index);
  EXPECT_FALSE(m.has_key);
  EXPECT_FALSE(m.mirror_truncated);
  expect_inner_is(m, inner);
}

TEST(MirrorDecap, ReadsSessionAndIndexOfTypeIIHeader) {
  const Bytes inner = rarp_from_vm();
  ErspanIIHeader h = type_ii(1023, 0xFFFFF);
  h.vlan = 4095;
  h.cos = 7;
  h.encap = 3;
  const Decapsulated m =
      decap(over_ipv4(concat({gre_header(gre_with_sequence(kErspan)), erspan_ii_header(h), inner})));
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_EQ(m.encap, MirrorEncap::erspan_ii);
  EXPECT_EQ(m.session, 1023);
  EXPECT_TRUE(m.has_index);
  EXPECT_EQ(m.index, 0xFFFFFU);
  EXPECT_EQ(m.erspan_vlan, 4095);
  EXPECT_FALSE(m.mirror_truncated);  // COS and En all ones do not leak into T or the session
  expect_inner_is(m, inner);

  const Decapsulated small = decap(type_ii_frame(5, 0, inner));
  EXPECT_EQ(small.session, 5);
  EXPECT_TRUE(small.has_index);  // index 0 is still an index
  EXPECT_EQ(small.index, 0U);
  EXPECT_EQ(small.erspan_vlan, 0);
}

TEST(MirrorDecap, ReportsSwitchTruncationBitOfTypeIIAndIII) {
  const Bytes inner = rarp_from_vm();
  ErspanIIHeader ii = type_ii(3, 1);
  ii.truncated = true;
  const Decapsulated m2 =
      decap(over_ipv4(concat({gre_header(gre_with_sequence(kErspan)), erspan_ii_header(ii), inner})));
  EXPECT_TRUE(m2.mirror_truncated);
  EXPECT_EQ(m2.session, 3);
  ErspanIIIHeader iii = type_iii(4);
  iii.truncated = true;
  const Decapsulated m3 = decap(over_ipv4(concat({gre_header(gre(kErspanIII)), erspan_iii_header(iii), inner})));
  EXPECT_TRUE(m3.mirror_truncated);
  EXPECT_EQ(m3.session, 4);
  // The tunnel carried the whole (already cut) frame: its length is what the tunnel carried.
  EXPECT_EQ(m3.inner_wire_length, inner.size());
}

TEST(MirrorDecap, ReadsSessionAndVlanOfTypeIIIHeader) {
  const Bytes inner = rarp_from_vm();
  ErspanIIIHeader h = type_iii(1000);
  h.vlan = 20;
  h.cos = 5;
  h.bso = 3;
  h.sgt = 0xFFFF;
  h.hw_id = 0x3F;
  h.egress = true;
  h.granularity = 3;
  const Decapsulated m = decap(over_ipv4(concat({gre_header(gre(kErspanIII)), erspan_iii_header(h), inner})));
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_EQ(m.encap, MirrorEncap::erspan_iii);
  EXPECT_EQ(m.session, 1000);
  EXPECT_EQ(m.erspan_vlan, 20);
  EXPECT_FALSE(m.has_index);  // no platform subheader
  EXPECT_FALSE(m.mirror_truncated);
  EXPECT_EQ(m.frame_type, 0);
  expect_inner_is(m, inner);
}

TEST(MirrorDecap, DecapsulatesTypeIIIWithOrWithoutGreSequenceNumber) {
  const Bytes inner = rarp_from_vm();
  for (const GreHeader& g : {gre(kErspanIII), gre_with_sequence(kErspanIII)}) {
    const Decapsulated m = decap(over_ipv4(concat({gre_header(g), erspan_iii_header(type_iii(9)), inner})));
    EXPECT_EQ(m.encap, MirrorEncap::erspan_iii);
    EXPECT_EQ(m.session, 9);
    expect_inner_is(m, inner);
  }
}

TEST(MirrorDecap, ReadsPortIdOfTypeIIIPlatformSubheaderWhenItsPlatformHasOne) {
  const Bytes inner = rarp_from_vm();
  struct Case {
    std::uint8_t platform;
    std::uint32_t first;   // low 26 bits of the subheader's first word
    std::uint32_t second;  // its second word
    bool has_index;
    std::uint32_t index;
  };
  const Case cases[] = {
      {1, 0x0000ABC, 0xDEADBEEF, true, 0xDEADBEEF},  // VSM domain ID, then a 32-bit port ID
      {3, 0x3FFC000 | 0x1234, 0x11111111, true, 0x1234},  // 14-bit port ID under reserved bits
      {5, 0x3FF0000 | 0xBEEF, 0x22222222, true, 0xBEEF},  // 10-bit switch ID, 16-bit port ID
      {6, 0x0010002, 0x33333333, true, 0x0002},
      {7, 0x3F00000 | 0xFFFFF, 0x44444444, true, 0xFFFFF},  // 20-bit source index
      {0, 0x0000003, 0x55555555, true, 3},                  // read as 7
      {2, 0x3FFFFFF, 0x66666666, false, 0},
      {4, 0x3FFFFFF, 0x77777777, false, 0},
      {8, 0x0000001, 0x88888888, false, 0},
      {63, 0x0000001, 0x99999999, false, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.platform));
    ErspanIIIHeader h = type_iii(12);
    h.platform = c.platform;
    h.platform_first = c.first;
    h.platform_second = c.second;
    const Decapsulated m = decap(over_ipv4(concat({gre_header(gre(kErspanIII)), erspan_iii_header(h), inner})));
    EXPECT_EQ(m.status, DecodeStatus::ok);
    EXPECT_EQ(m.session, 12);
    EXPECT_EQ(m.has_index, c.has_index);
    EXPECT_EQ(m.index, c.index);
    expect_inner_is(m, inner);  // the 8-byte subheader is skipped whatever the platform
  }
}

TEST(MirrorDecap, ReportsTypeIIINonEthernetFrameTypeWithoutInnerFrame) {
  const Bytes inner = rarp_from_vm();
  const std::uint8_t frame_types[] = {2, 7, 31};
  for (std::uint8_t ft : frame_types) {
    SCOPED_TRACE(static_cast<int>(ft));
    ErspanIIIHeader h = type_iii(101);
    h.frame_type = ft;
    h.platform = 3;
    h.platform_first = 865;
    const Decapsulated m = decap(over_ipv4(concat({gre_header(gre(kErspanIII)), erspan_iii_header(h), inner})));
    EXPECT_EQ(m.status, DecodeStatus::ok);  // not damage: just nothing to learn
    EXPECT_EQ(m.encap, MirrorEncap::erspan_iii);
    EXPECT_EQ(m.frame_type, ft);
    EXPECT_EQ(m.session, 101);
    EXPECT_EQ(m.index, 865U);
    EXPECT_TRUE(m.inner.empty());
    EXPECT_FALSE(m.has_inner_ethernet());
  }
}

TEST(MirrorDecap, DecapsulatesTransparentEthernetBridgingAndReportsGreKey) {
  const Bytes inner = rarp_from_vm();
  GreHeader keyed = gre(kTeb);
  keyed.key = 0x02000000;
  const Decapsulated m = decap(over_ipv4(concat({gre_header(keyed), inner})));
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_EQ(m.encap, MirrorEncap::gre_teb);
  EXPECT_TRUE(m.has_key);
  EXPECT_EQ(m.gre_key, 0x02000000U);
  EXPECT_EQ(m.session, 0);
  EXPECT_FALSE(m.has_index);
  expect_inner_is(m, inner);

  const Decapsulated unkeyed = decap(over_ipv4(concat({gre_header(gre(kTeb)), inner})));
  EXPECT_EQ(unkeyed.encap, MirrorEncap::gre_teb);
  EXPECT_FALSE(unkeyed.has_key);
  expect_inner_is(unkeyed, inner);
}

// --- GRE fields ---

TEST(MirrorDecap, StepsOverEveryCombinationOfGreChecksumKeyAndSequenceFields) {
  const Bytes inner = rarp_from_vm();
  for (int bits = 0; bits < 8; ++bits) {
    GreHeader g;
    g.checksum = (bits & 1) != 0;
    if ((bits & 2) != 0) g.key = 0xA0B0C0D0;
    if ((bits & 4) != 0) g.sequence = 0x01020304;
    SCOPED_TRACE(bits);
    for (std::uint16_t protocol : {kTeb, kErspan, kErspanIII}) {
      g.protocol = protocol;
      Bytes body = gre_header(g);
      if (protocol == kErspan && g.sequence) body = concat({body, erspan_ii_header(type_ii(77, 5))});
      if (protocol == kErspanIII) body = concat({body, erspan_iii_header(type_iii(77))});
      const Decapsulated m = decap(over_ipv4(concat({body, inner})));
      EXPECT_EQ(m.status, DecodeStatus::ok);
      EXPECT_EQ(m.has_key, g.key.has_value());
      EXPECT_EQ(m.gre_key, g.key ? 0xA0B0C0D0U : 0U);
      if (protocol == kTeb) {
        EXPECT_EQ(m.encap, MirrorEncap::gre_teb);
      }
      if (protocol == kErspan) {
        EXPECT_EQ(m.encap, g.sequence ? MirrorEncap::erspan_ii : MirrorEncap::erspan_i);
      }
      if (protocol != kTeb && (protocol == kErspanIII || g.sequence)) {
        EXPECT_EQ(m.session, 77);
      }
      expect_inner_is(m, inner);
    }
  }
}

TEST(MirrorDecap, ReportsGreVersion1AsNotMirroredTraffic) {
  // PPTP's enhanced GRE (RFC 2637): version 1, key (payload length + call ID), PPP inside.
  GreHeader pptp;
  pptp.protocol = 0x880B;
  pptp.version = 1;
  pptp.key = 0x00100001;
  pptp.sequence = 1;
  Decapsulated m = decap(over_ipv4(concat({gre_header(pptp), Bytes(20, 0xFF)})));
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_EQ(m.encap, MirrorEncap::none);
  EXPECT_FALSE(m.has_inner_ethernet());
  // Even with a mirroring protocol type, a version other than 0 is not GRE as mirrors use it.
  GreHeader v1 = gre(kErspan);
  v1.version = 1;
  m = decap(over_ipv4(concat({gre_header(v1), rarp_from_vm()})));
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_EQ(m.encap, MirrorEncap::none);
  EXPECT_TRUE(m.inner.empty());
}

TEST(MirrorDecap, ReportsGreWithRoutingBitAsNotMirroredTraffic) {
  GreHeader routed = gre(kTeb);
  routed.routing = true;
  const Decapsulated m = decap(over_ipv4(concat({gre_header(routed), rarp_from_vm()})));
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_EQ(m.encap, MirrorEncap::none);
  EXPECT_TRUE(m.inner.empty());
}

TEST(MirrorDecap, ReportsGreCarryingIpArpOrOtherProtocolsAsNotMirroredTraffic) {
  const Bytes udp = FrameBuilder().udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 30).build();
  const std::uint16_t protocols[] = {0x0800, 0x86DD, 0x0806, 0x8847, 0x8909, 0x0000};
  for (std::uint16_t protocol : protocols) {
    SCOPED_TRACE(protocol);
    const Decapsulated m = decap(over_ipv4(concat({gre_header(gre(protocol)), Bytes(udp.begin() + 14, udp.end())})));
    EXPECT_EQ(m.status, DecodeStatus::ok);
    EXPECT_EQ(m.encap, MirrorEncap::none);
    EXPECT_TRUE(m.inner.empty());
  }
}

TEST(MirrorDecap, ReportsCollectorsOwnTrafficAsNotMirrored) {
  const Bytes frames[] = {
      FrameBuilder().source(kSwitch).udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 100).build(),
      FrameBuilder().source(kSwitch).vlan(5).udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10).build(),
      FrameBuilder().source(kSwitch).udp6(ipv6("2001:db8::1"), ipv6("2001:db8::2"), 1, 2, 10).build(),
      FrameBuilder().source(kSwitch).garp_request(kSwitch, ipv4("10.0.0.9")).build(),
      FrameBuilder().source(kSwitch).llc_snap(0x0806, Bytes(28, 0)).build(),
      FrameBuilder().source(kSwitch).payload(0x88CC, Bytes(40, 1)).build(),  // LLDP
  };
  for (const Bytes& f : frames) {
    const Decapsulated m = decap(f);
    EXPECT_EQ(m.status, DecodeStatus::ok);
    EXPECT_EQ(m.encap, MirrorEncap::none);
    EXPECT_FALSE(m.fragment);
    EXPECT_TRUE(m.inner.empty());
  }
}

TEST(MirrorDecap, JudgesNonGreIpv4OnlyAsFarAsItsProtocolField) {
  Bytes f = FrameBuilder().source(kSwitch).udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10).build();
  f[kOuterIp + 2] = 0xFF;  // total length far beyond the frame: not ours to judge
  f[kOuterIp + 3] = 0xFF;
  const Decapsulated m = decap(f);
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_EQ(m.encap, MirrorEncap::none);
}

// --- Outer layers ---

TEST(MirrorDecap, EndsInnerFrameAtIpv4TotalLengthNotAtEthernetPadding) {
  // A 14-byte inner "frame" makes the outer one 52 bytes: build() pads it to 60.
  const Bytes inner = FrameBuilder().source(kVm).payload(0x88B5, {}).unpadded().build();
  Bytes f = over_ipv4(concat({gre_header(gre(kTeb)), inner}));
  ASSERT_EQ(f.size(), 60U);
  Decapsulated m = decap(f);
  EXPECT_EQ(m.status, DecodeStatus::ok);
  expect_inner_is(m, inner);
  // A trailer after the IP packet (an FCS the NIC kept, a switch trailer) is not inner either.
  f.insert(f.end(), {0xDE, 0xAD, 0xBE, 0xEF});
  m = decap(f);
  expect_inner_is(m, inner);
}

TEST(MirrorDecap, SkipsIpv4Options) {
  const Bytes inner = rarp_from_vm();
  FrameBuilder::Ipv4Packet ip;
  ip.options_bytes = 12;
  ip.body = concat({gre_header(gre_with_sequence(kErspan)), erspan_ii_header(type_ii(8, 2)), inner});
  const Decapsulated m = decap(FrameBuilder().source(kSwitch).ipv4_packet(ip).build());
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_EQ(m.session, 8);
  expect_inner_is(m, inner);
}

TEST(MirrorDecap, ReportsIpv4FragmentsOfGreAsFragmentsNotDecapsulated) {
  const Bytes gre_packet = concat({gre_header(gre(kTeb)), rarp_from_vm()});
  const std::uint16_t fragmented[] = {0x2000, 0x0001, 0x00B9, 0x20B9};  // MF, offsets, both
  for (std::uint16_t flags_and_offset : fragmented) {
    SCOPED_TRACE(flags_and_offset);
    const Decapsulated m = decap(over_ipv4(gre_packet, flags_and_offset));
    EXPECT_EQ(m.status, DecodeStatus::ok);
    EXPECT_TRUE(m.fragment);
    EXPECT_EQ(m.encap, MirrorEncap::none);
    EXPECT_TRUE(m.inner.empty());
  }
  // Don't-fragment is no fragment.
  const Decapsulated df = decap(over_ipv4(gre_packet, 0x4000));
  EXPECT_FALSE(df.fragment);
  EXPECT_EQ(df.encap, MirrorEncap::gre_teb);
  // A fragment of something else is just not ours.
  FrameBuilder::Ipv4Packet udp;
  udp.protocol = 17;
  udp.flags_and_offset = 0x2000;
  udp.body = Bytes(40, 0);
  const Decapsulated other = decap(FrameBuilder().ipv4_packet(udp).build());
  EXPECT_FALSE(other.fragment);
  EXPECT_EQ(other.encap, MirrorEncap::none);
}

TEST(MirrorDecap, DecapsulatesOverIpv6SteppingOverExtensionHeaders) {
  const Bytes inner = rarp_from_vm();
  const Bytes erspan = concat({gre_header(gre(kErspanIII)), erspan_iii_header(type_iii(33)), inner});
  for (const std::vector<std::uint8_t>& ext :
       {std::vector<std::uint8_t>{}, {0}, {0, 60, 43}, {44}, {60, 44, 60}}) {  // 44: atomic fragment
    SCOPED_TRACE(::testing::PrintToString(ext));
    const Decapsulated m = decap(over_ipv6(erspan, ext));
    EXPECT_EQ(m.status, DecodeStatus::ok);
    EXPECT_EQ(m.encap, MirrorEncap::erspan_iii);
    EXPECT_EQ(m.session, 33);
    EXPECT_FALSE(m.fragment);
    expect_inner_is(m, inner);
  }
}

TEST(MirrorDecap, ReportsIpv6FragmentsOfGreAsFragmentsNotDecapsulated) {
  const Bytes gre_packet = concat({gre_header(gre(kTeb)), rarp_from_vm()});
  // First fragment (M set): the GRE header is there, the rest of the packet is not.
  Decapsulated m = decap(over_ipv6(gre_packet, {44}, 0x0001));
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_TRUE(m.fragment);
  EXPECT_EQ(m.encap, MirrorEncap::none);
  EXPECT_TRUE(m.inner.empty());
  // A later fragment whose fragment header names GRE.
  m = decap(over_ipv6(gre_packet, {44}, 185 << 3));
  EXPECT_TRUE(m.fragment);
  EXPECT_EQ(m.encap, MirrorEncap::none);
  // A later fragment of UDP is only not ours.
  FrameBuilder::Ipv6Packet udp;
  udp.next_header = 17;
  udp.extension_headers = {44};
  udp.fragment_offset_and_more = 185 << 3;
  udp.body = Bytes(40, 0);
  m = decap(FrameBuilder().ipv6_packet(udp).build());
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_FALSE(m.fragment);
}

TEST(MirrorDecap, ReportsIpv6WithoutGreAsNotMirrored) {
  const Bytes gre_packet = concat({gre_header(gre(kTeb)), rarp_from_vm()});
  FrameBuilder::Ipv6Packet esp;
  esp.next_header = 50;  // ESP: opaque, even if GRE is inside
  esp.body = gre_packet;
  Decapsulated m = decap(FrameBuilder().ipv6_packet(esp).build());
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_EQ(m.encap, MirrorEncap::none);
}

TEST(MirrorDecap, RefusesMoreThanEightIpv6ExtensionHeadersAsMalformed) {
  const Bytes gre_packet = concat({gre_header(gre(kTeb)), rarp_from_vm()});
  EXPECT_EQ(decap(over_ipv6(gre_packet, std::vector<std::uint8_t>(8, 60))).status, DecodeStatus::ok);
  EXPECT_EQ(decap(over_ipv6(gre_packet, std::vector<std::uint8_t>(9, 60))).status, DecodeStatus::malformed);
}

TEST(MirrorDecap, StepsOverUpToEightStackedOuterTags) {
  const Bytes inner = rarp_from_vm();
  const Bytes ip = over_ipv4(concat({gre_header(gre(kTeb)), inner}));
  const Bytes ip_packet(ip.begin() + kOuterIp, ip.end());
  for (std::size_t tags = 1; tags <= 9; ++tags) {
    SCOPED_TRACE(tags);
    FrameBuilder b;
    b.source(kSwitch);
    for (std::size_t i = 0; i < tags; ++i) {
      const std::uint16_t tpids[] = {kTpid8021ad, kTpid8021Q, testsupport::kTpid9100};
      b.tag(tpids[i % 3], static_cast<std::uint16_t>(100 + i));
    }
    const Decapsulated m = decap(b.payload(0x0800, ip_packet).build());
    if (tags <= 8) {
      EXPECT_EQ(m.status, DecodeStatus::ok);
      expect_inner_is(m, inner);
    } else {
      EXPECT_EQ(m.status, DecodeStatus::malformed);
      EXPECT_TRUE(m.inner.empty());
    }
  }
}

// --- The inner frame through decode_frame() ---

TEST(MirrorDecap, GivesTheDecoderTheInnerStationNotTheSwitch) {
  const Bytes inner = FrameBuilder().source(kVm).tag(kTpid8021ad, 300).tag(kTpid8021Q, 20).rarp_request(kVm).build();
  FrameBuilder outer;
  outer.source(kSwitch).destination(kCollector).vlan(999);
  FrameBuilder::Ipv4Packet ip;
  ip.body = concat({gre_header(gre_with_sequence(kErspan)), erspan_ii_header(type_ii(1, 2)), inner});
  const Decapsulated m = decap(outer.ipv4_packet(ip).build());
  ASSERT_TRUE(m.has_inner_ethernet());
  const DecodedFrame d = decode_frame(m.inner, m.inner_wire_length);
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.source, kVm);
  EXPECT_EQ(d.vlan, 300);  // the inner outermost tag; the collector's VLAN 999 is not the station's
  EXPECT_EQ(d.vlan_tags, 2);
  EXPECT_EQ(d.notification, Notification::rarp);
  EXPECT_EQ(d.notified, kVm);

  const Bytes untagged = rarp_from_vm();
  const Decapsulated u = decap(type_ii_frame(1, 2, untagged));
  const DecodedFrame du = decode_frame(u.inner, u.inner_wire_length);
  EXPECT_EQ(du.vlan, 0);
  EXPECT_EQ(du.source, kVm);
}

TEST(MirrorDecap, DecodesInnerGratuitousArpAndUnsolicitedAdvertOfEveryEncapsulation) {
  FrameBuilder::NeighborAdvert na;
  na.source_ip = ipv6("fe80::250:56ff:fe01:203");
  na.target = ipv6("2001:db8::10");
  na.target_lla = kVm;
  const Bytes inners[] = {
      FrameBuilder().source(kVm).vlan(10).garp_request(kVm, ipv4("10.0.0.5")).build(),
      FrameBuilder().source(kVm).destination(mac("33:33:00:00:00:01")).neighbor_advert(na).build(),
  };
  const Notification kinds[] = {Notification::garp, Notification::unsolicited_na};
  for (int i = 0; i < 2; ++i) {
    const Bytes& inner = inners[i];
    const Bytes frames[] = {
        over_ipv4(concat({gre_header(gre(kErspan)), inner})),
        type_ii_frame(3, 4, inner),
        over_ipv6(concat({gre_header(gre(kErspanIII)), erspan_iii_header(type_iii(5)), inner})),
        over_ipv4(concat({gre_header(gre(kTeb)), inner})),
    };
    for (const Bytes& f : frames) {
      const Decapsulated m = decap(f);
      ASSERT_TRUE(m.has_inner_ethernet());
      const DecodedFrame d = decode_frame(m.inner, m.inner_wire_length);
      EXPECT_EQ(d.status, DecodeStatus::ok);
      EXPECT_EQ(d.source, kVm);
      EXPECT_EQ(d.notification, kinds[i]);
      EXPECT_EQ(d.notified, kVm);
    }
  }
}

// --- Cuts and lies, layer by layer ---

struct LayeredFrame {
  const char* name;
  Bytes frame;
  std::size_t inner_offset;  // where the mirrored frame starts
  std::size_t ip_end;        // where the outer IP packet ends
};

std::vector<LayeredFrame> layered_frames() {
  const Bytes inner = FrameBuilder().source(kVm).vlan(20).garp_request(kVm, ipv4("10.0.0.5")).build();
  std::vector<LayeredFrame> out;
  {
    // Tagged Ethernet / IPv4 with options / GRE C+K+S / ERSPAN II.
    GreHeader g = gre_with_sequence(kErspan);
    g.checksum = true;
    g.key = 1;
    FrameBuilder::Ipv4Packet ip;
    ip.options_bytes = 8;
    ip.body = concat({gre_header(g), erspan_ii_header(type_ii(1, 1)), inner});
    Bytes f = FrameBuilder().source(kSwitch).tag(kTpid8021ad, 7).vlan(8).ipv4_packet(ip).build();
    const std::size_t ip_at = 22;
    out.push_back({"erspan_ii", f, ip_at + 28 + 16 + 8, ip_at + 28 + ip.body.size()});
  }
  {
    // IPv6 with two extension headers / GRE S / ERSPAN III with platform subheader.
    ErspanIIIHeader h = type_iii(2);
    h.platform = 3;
    h.platform_first = 4;
    Bytes body = concat({gre_header(gre_with_sequence(kErspanIII)), erspan_iii_header(h), inner});
    Bytes f = over_ipv6(body, {0, 60});
    out.push_back({"erspan_iii", f, 14 + 40 + 16 + 8 + 20, 14 + 40 + 16 + body.size()});
  }
  {
    GreHeader g = gre(kTeb);
    g.key = 2;
    Bytes body = concat({gre_header(g), inner});
    out.push_back({"gre_teb", over_ipv4(body), kGre + 8, kGre + body.size()});
  }
  {
    Bytes body = concat({gre_header(gre(kErspan)), inner});
    out.push_back({"erspan_i", over_ipv4(body), kGre + 4, kGre + body.size()});
  }
  return out;
}

TEST(MirrorDecap, ReportsSnaplenCutInsideAnyEncapsulationLayerAsTruncated) {
  for (const LayeredFrame& l : layered_frames()) {
    SCOPED_TRACE(l.name);
    ASSERT_EQ(decap(l.frame).inner_wire_length, l.ip_end - l.inner_offset);
    for (std::size_t n = 0; n < l.inner_offset; ++n) {
      SCOPED_TRACE(n);
      const Decapsulated m = decap(truncate(l.frame, n), l.frame.size());
      EXPECT_EQ(m.status, DecodeStatus::truncated);
      EXPECT_TRUE(m.inner.empty());
      EXPECT_FALSE(m.has_inner_ethernet());
    }
  }
}

TEST(MirrorDecap, ReportsFrameShorterOnTheWireThanItsHeadersAsMalformed) {
  for (const LayeredFrame& l : layered_frames()) {
    SCOPED_TRACE(l.name);
    // Cut on the wire anywhere before the IP packet's end: some header (at the latest the IP
    // length) claims bytes that never were.
    for (std::size_t n = 0; n < l.ip_end; ++n) {
      SCOPED_TRACE(n);
      const Bytes cut = truncate(l.frame, n);
      const Decapsulated m = decap(cut, n);
      EXPECT_EQ(m.status, DecodeStatus::malformed);
      EXPECT_TRUE(m.inner.empty());
    }
  }
}

TEST(MirrorDecap, LeavesSnaplenCutInsideInnerFrameToTheDecoder) {
  for (const LayeredFrame& l : layered_frames()) {
    SCOPED_TRACE(l.name);
    for (std::size_t n = l.inner_offset; n <= l.ip_end; ++n) {
      SCOPED_TRACE(n);
      const Decapsulated m = decap(truncate(l.frame, n), l.frame.size());
      EXPECT_EQ(m.status, DecodeStatus::ok);
      EXPECT_TRUE(m.has_inner_ethernet());
      EXPECT_EQ(m.inner.size(), n - l.inner_offset);
      EXPECT_EQ(m.inner_wire_length, l.ip_end - l.inner_offset);
      const DecodedFrame d = decode_frame(m.inner, m.inner_wire_length);
      if (m.inner.size() >= 18) {  // the inner tag's VID captured: the station is known
        EXPECT_NE(d.status, DecodeStatus::malformed);
        EXPECT_EQ(d.source, kVm);
        EXPECT_EQ(d.vlan, 20);
      }
      // Tagged ARP ends at 18 + 28 = 46 bytes; the rest is padding.
      if (m.inner.size() >= 18 && m.inner.size() < 46) {
        EXPECT_EQ(d.status, DecodeStatus::truncated);
      }
      if (m.inner.size() >= 46) {
        EXPECT_EQ(d.notification, Notification::garp);
      }
    }
  }
}

TEST(MirrorDecap, ReportsImpossibleIpv4HeadersOfGreAsMalformed) {
  const Bytes good = over_ipv4(concat({gre_header(gre(kTeb)), rarp_from_vm()}));
  ASSERT_EQ(decap(good).status, DecodeStatus::ok);
  auto with = [&](std::size_t at, std::uint8_t value) {
    Bytes f = good;
    f[at] = value;
    return decap(f).status;
  };
  EXPECT_EQ(with(kOuterIp, 0x65), DecodeStatus::malformed);  // version 6 under ethertype IPv4
  EXPECT_EQ(with(kOuterIp, 0x44), DecodeStatus::malformed);  // IHL 4: shorter than a header
  Bytes short_total = good;
  short_total[kOuterIp + 2] = 0;
  short_total[kOuterIp + 3] = 19;  // under the 20-byte header
  EXPECT_EQ(decap(short_total).status, DecodeStatus::malformed);
  Bytes long_total = good;
  long_total[kOuterIp + 2] = 0x05;  // 0x0554 = 1364 bytes in a 98-byte frame
  EXPECT_EQ(decap(long_total).status, DecodeStatus::malformed);
  // ... unless the wire had them and a snaplen cut them: then it is the inner frame that is cut.
  const Decapsulated cut = decap(long_total, 2000);
  EXPECT_EQ(cut.status, DecodeStatus::ok);
  EXPECT_EQ(cut.inner.size(), good.size() - (kGre + 4));
  EXPECT_EQ(cut.inner_wire_length, 1364U - 24U);
}

TEST(MirrorDecap, ReportsIpv6VersionMismatchAndOverlongPayloadAsMalformed) {
  const Bytes good = over_ipv6(concat({gre_header(gre(kTeb)), rarp_from_vm()}));
  ASSERT_EQ(decap(good).status, DecodeStatus::ok);
  Bytes v4 = good;
  v4[kOuterIp] = 0x40;
  EXPECT_EQ(decap(v4).status, DecodeStatus::malformed);
  Bytes longer = good;
  longer[kOuterIp + 4] = 0x10;  // payload length + 4096
  EXPECT_EQ(decap(longer).status, DecodeStatus::malformed);
  EXPECT_EQ(decap(longer, good.size() + 4096).status, DecodeStatus::ok);  // snaplen cut in the inner frame
  Bytes jumbo = good;
  jumbo[kOuterIp + 4] = 0;
  jumbo[kOuterIp + 5] = 0;  // payload length 0: no room for GRE
  EXPECT_EQ(decap(jumbo).status, DecodeStatus::malformed);
}

TEST(MirrorDecap, ReportsErspanVersionContradictingGreProtocolAsMalformed) {
  const Bytes inner = rarp_from_vm();
  ErspanIIHeader ii = type_ii(6, 1);
  ii.version = 2;
  Decapsulated m = decap(over_ipv4(concat({gre_header(gre_with_sequence(kErspan)), erspan_ii_header(ii), inner})));
  EXPECT_EQ(m.status, DecodeStatus::malformed);
  EXPECT_EQ(m.encap, MirrorEncap::erspan_ii);  // kept for diagnostics
  EXPECT_TRUE(m.inner.empty());
  ErspanIIIHeader iii = type_iii(6);
  iii.version = 1;
  m = decap(over_ipv4(concat({gre_header(gre(kErspanIII)), erspan_iii_header(iii), inner})));
  EXPECT_EQ(m.status, DecodeStatus::malformed);
  EXPECT_EQ(m.encap, MirrorEncap::erspan_iii);
}

TEST(MirrorDecap, KeepsWhatWasReadBeforeASnaplenCut) {
  const Bytes f = type_ii_frame(42, 9, rarp_from_vm());
  // Cut after the GRE header, inside the ERSPAN header: the encapsulation is known, the session not.
  Decapsulated m = decap(truncate(f, kGre + 8 + 3), f.size());
  EXPECT_EQ(m.status, DecodeStatus::truncated);
  EXPECT_EQ(m.encap, MirrorEncap::erspan_ii);
  EXPECT_EQ(m.session, 0);
  // Cut before the GRE protocol type: nothing is known.
  m = decap(truncate(f, kGre + 2), f.size());
  EXPECT_EQ(m.status, DecodeStatus::truncated);
  EXPECT_EQ(m.encap, MirrorEncap::none);
}

TEST(MirrorDecap, TreatsWireLengthBelowCapturedSizeAsCapturedSize) {
  const Bytes f = type_ii_frame(42, 9, rarp_from_vm());
  const Decapsulated m = decap(f, 10);
  EXPECT_EQ(m.status, DecodeStatus::ok);
  EXPECT_EQ(m.session, 42);
}

// Every byte of every layer replaced by interesting values, at full length and snaplen-cut:
// no read outside the exact-size copy (the sanitizer build checks), and the header's promises.
TEST(MirrorDecap, KeepsItsContractOnMutatedFrames) {
  const std::uint8_t values[] = {0x00, 0x01, 0x02, 0x04, 0x06, 0x08, 0x10, 0x20, 0x22, 0x2C, 0x2F, 0x3A,
                                 0x40, 0x45, 0x4F, 0x60, 0x65, 0x80, 0x81, 0x86, 0x88, 0xBE, 0xDD, 0xEB, 0xFF};
  std::size_t decapsulated = 0;
  for (const LayeredFrame& l : layered_frames()) {
    for (std::size_t i = 0; i < l.inner_offset + 4; ++i) {
      for (std::uint8_t v : values) {
        Bytes frame = l.frame;
        frame[i] = v;
        for (std::size_t keep : {frame.size(), l.inner_offset - 1, i + 1}) {
          const std::size_t n = std::min(keep, frame.size());
          auto copy = std::make_unique<std::uint8_t[]>(n);
          std::memcpy(copy.get(), frame.data(), n);
          const std::span<const std::uint8_t> captured(copy.get(), n);
          for (std::size_t wire : {n, frame.size()}) {
            const MirroredFrame m = decapsulate_mirror(captured, static_cast<std::uint32_t>(wire));
            if (m.status == DecodeStatus::truncated) {
              EXPECT_LT(n, wire);
            }
            if (!m.inner.empty()) {
              EXPECT_TRUE(m.has_inner_ethernet());
              EXPECT_GE(m.inner.data(), captured.data());
              EXPECT_LE(m.inner.data() + m.inner.size(), captured.data() + captured.size());
              EXPECT_GE(m.inner_wire_length, m.inner.size());
              EXPECT_LE(m.inner_wire_length, wire);
              ++decapsulated;
            }
            if (m.encap == MirrorEncap::none) {
              EXPECT_TRUE(m.inner.empty());
            }
            if (m.fragment) {
              EXPECT_EQ(m.encap, MirrorEncap::none);
            }
            EXPECT_LE(m.session, 1023);
          }
        }
      }
    }
  }
  EXPECT_GT(decapsulated, 1000U);
}

TEST(MirrorDecap, SurvivesRandomBytesAfterAGreHeader) {
  std::mt19937 rng(20240229);
  const Bytes outer_prefix = truncate(over_ipv4(Bytes(200, 0)), kGre);
  for (int round = 0; round < 20000; ++round) {
    Bytes frame = outer_prefix;
    frame.resize(kGre + rng() % 80);
    for (std::size_t i = kGre; i < frame.size(); ++i) frame[i] = static_cast<std::uint8_t>(rng());
    if (frame.size() > kGre + 3) {  // steer most rounds into the mirroring protocol types
      const std::uint16_t protocols[] = {kErspan, kErspanIII, kTeb, 0x0800};
      const std::uint16_t protocol = protocols[rng() % 4];
      frame[kGre + 1] &= 0xF8;
      frame[kGre + 2] = static_cast<std::uint8_t>(protocol >> 8);
      frame[kGre + 3] = static_cast<std::uint8_t>(protocol);
    }
    const auto total = static_cast<std::uint16_t>(frame.size() - kOuterIp);
    frame[kOuterIp + 2] = static_cast<std::uint8_t>(total >> 8);
    frame[kOuterIp + 3] = static_cast<std::uint8_t>(total);
    auto copy = std::make_unique<std::uint8_t[]>(frame.size());
    std::memcpy(copy.get(), frame.data(), frame.size());
    const std::span<const std::uint8_t> captured(copy.get(), frame.size());
    const MirroredFrame m = decapsulate_mirror(captured, static_cast<std::uint32_t>(frame.size()));
    EXPECT_NE(m.status, DecodeStatus::truncated);
    if (!m.inner.empty()) {
      EXPECT_LE(m.inner.data() + m.inner.size(), captured.data() + captured.size());
      (void)decode_frame(m.inner, m.inner_wire_length);
    }
  }
}

// --- Counters and names ---

TEST(MirrorCounters, CountsEveryFrameExactlyOnce) {
  MirrorCounters counters;
  const Bytes inner = rarp_from_vm();
  ErspanIIHeader cut = type_ii(1, 1);
  cut.truncated = true;
  ErspanIIIHeader ip_frame = type_iii(2);
  ip_frame.frame_type = 2;
  const Bytes frames[] = {
      type_ii_frame(1, 1, inner),
      over_ipv4(concat({gre_header(gre_with_sequence(kErspan)), erspan_ii_header(cut), inner})),
      over_ipv4(concat({gre_header(gre(kTeb)), inner})),
      over_ipv4(concat({gre_header(gre(kErspanIII)), erspan_iii_header(ip_frame), inner})),
      over_ipv4(concat({gre_header(gre(kTeb)), inner}), 0x2000),
      FrameBuilder().udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1, 2, 10).build(),
      truncate(type_ii_frame(1, 1, inner), 20),
  };
  for (const Bytes& f : frames) counters.count(decap(f, 200), 200);
  counters.count(decap(truncate(inner, 10)), 10);
  EXPECT_EQ(counters.frames, 8U);
  EXPECT_EQ(counters.bytes, 7U * 200U + 10U);
  EXPECT_EQ(counters.malformed, 1U);
  EXPECT_EQ(counters.truncated, 1U);
  EXPECT_EQ(counters.fragments, 1U);
  EXPECT_EQ(counters.not_mirrored, 1U);
  EXPECT_EQ(counters.not_ethernet, 1U);
  EXPECT_EQ(counters.mirrored[static_cast<int>(MirrorEncap::erspan_ii)], 2U);
  EXPECT_EQ(counters.mirrored[static_cast<int>(MirrorEncap::gre_teb)], 1U);
  EXPECT_EQ(counters.switch_truncated, 1U);
}

TEST(MirrorDecap, NamesEncapsulationsForLogsAndLabels) {
  EXPECT_STREQ(to_string(MirrorEncap::none), "none");
  EXPECT_STREQ(to_string(MirrorEncap::erspan_i), "erspan_i");
  EXPECT_STREQ(to_string(MirrorEncap::erspan_ii), "erspan_ii");
  EXPECT_STREQ(to_string(MirrorEncap::erspan_iii), "erspan_iii");
  EXPECT_STREQ(to_string(MirrorEncap::gre_teb), "gre_teb");
}

}  // namespace
}  // namespace capture
}  // namespace camwatch
