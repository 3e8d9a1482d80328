// Decapsulates the real ERSPAN and GRE captures of the shared corpus (../shared/corpus, see its
// INDEX.md) and checks facts looked up independently with tshark 4.0.17 (fields gre.proto,
// gre.flags_and_version, gre.key, erspan.spanid, erspan.index, erspan.ft, erspan.pid3.port_index,
// the second eth.src, vlan.id and arp.src/dst.proto_ipv4 per frame). Skipped when the corpus is
// absent.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "capture/frame_decoder.h"
#include "capture/mirror_decap.h"
#include "capture/mirror_session_map.h"
#include "corpus_capture.h"

namespace camwatch::capture {
namespace {

using testcorpus::Capture;
using testcorpus::Frame;
using testcorpus::kCorpus;
using testcorpus::read_capture;
namespace fs = std::filesystem;

MirroredFrame decap(const Frame& f) {
  return decapsulate_mirror(f.bytes, f.wire_length);
}

// How a frame was carried: "erspan_ii session=101 index=43973 vlan=1" (vlan: the ERSPAN header's
// field when not 0), "gre_teb key=0x02000000", "erspan_iii session=101 ft=7", "none",
// "none fragment", "truncated", "malformed".
std::string carriage(const MirroredFrame& m) {
  static const char* const kStatus[] = {"ok", "truncated", "malformed"};
  if (m.status != DecodeStatus::ok) return kStatus[static_cast<int>(m.status)];
  std::string out = to_string(m.encap);
  char field[48];
  if (m.encap == MirrorEncap::erspan_ii || m.encap == MirrorEncap::erspan_iii) {
    std::snprintf(field, sizeof field, " session=%u", unsigned{m.session});
    out += field;
  }
  if (m.has_index) {
    std::snprintf(field, sizeof field, " index=%u", static_cast<unsigned>(m.index));
    out += field;
  }
  if (m.has_key) {
    std::snprintf(field, sizeof field, " key=0x%08x", static_cast<unsigned>(m.gre_key));
    out += field;
  }
  if ((m.encap == MirrorEncap::erspan_ii || m.encap == MirrorEncap::erspan_iii) && m.erspan_vlan != 0) {
    std::snprintf(field, sizeof field, " vlan=%u", unsigned{m.erspan_vlan});
    out += field;
  }
  if (m.frame_type != 0) {
    std::snprintf(field, sizeof field, " ft=%u", unsigned{m.frame_type});
    out += field;
  }
  if (m.mirror_truncated) out += " cut";
  if (m.fragment) out += " fragment";
  return out;
}

// Frames per carriage.
std::map<std::string, int> carriages(const Capture& c) {
  std::map<std::string, int> out;
  for (const Frame& f : c.frames) ++out[carriage(decap(f))];
  return out;
}

// Inner stations per carriage, "vlan/mac": what the tracker would learn from each session.
std::map<std::string, std::set<std::string>> stations(const Capture& c) {
  std::map<std::string, std::set<std::string>> out;
  for (const Frame& f : c.frames) {
    const MirroredFrame m = decap(f);
    if (!m.has_inner_ethernet()) continue;
    const DecodedFrame d = decode_frame(m.inner, m.inner_wire_length);
    EXPECT_NE(d.status, DecodeStatus::malformed);
    out[carriage(m)].insert(std::to_string(d.vlan) + "/" + d.source.to_string());
  }
  return out;
}

// "12 garp=00:0c:29:61:f5:5f" for every inner notification, frame numbers from 1 as tshark counts.
std::vector<std::string> notifications(const Capture& c) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < c.frames.size(); ++i) {
    const MirroredFrame m = decap(c.frames[i]);
    if (!m.has_inner_ethernet()) continue;
    const DecodedFrame d = decode_frame(m.inner, m.inner_wire_length);
    if (d.notification == cam::Notification::none) continue;
    out.push_back(std::to_string(i + 1) + " " + cam::to_string(d.notification) + "=" + d.notified.to_string());
  }
  return out;
}

class MirrorDecapCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::is_directory(kCorpus / "real")) {
      GTEST_SKIP() << "corpus not found at " << kCorpus
                   << " (CAMWATCH_CORPUS_DIR); real-capture checks skipped";
    }
  }

  static Capture real(const char* name) {
    Capture c = read_capture(kCorpus / "real" / name);
    EXPECT_TRUE(c.opened) << name << ": " << c.error;
    EXPECT_EQ(c.error, "") << name;
    EXPECT_EQ(c.linktype, DLT_EN10MB) << name;
    return c;
  }
};

using Carriages = std::map<std::string, int>;
using Stations = std::map<std::string, std::set<std::string>>;

TEST_F(MirrorDecapCorpus, DecapsulatesTypeIBesideTheSwitchesOwnTraffic) {
  const Capture c = real("tcpdump__erspan-type-i-4.pcap");
  // 88 ERSPAN I; 8 GRE frames carrying IPv4 (OSPF), and 23 OSPF/LLDP/other frames of the switches.
  EXPECT_EQ(carriages(c), (Carriages{{"erspan_i", 88}, {"none", 31}}));
  EXPECT_EQ(stations(c), (Stations{{"erspan_i", {"0/00:50:56:84:01:7d", "10/00:23:89:ce:44:13"}}}));
  EXPECT_EQ(notifications(c), std::vector<std::string>{});
}

TEST_F(MirrorDecapCorpus, DecapsulatesTypeIWithTaggedInnerFrames) {
  // INDEX.md calls the tag outer; tshark and this decoder both find it inside the mirrored frame.
  const Capture c = real("suricata-verify__decode-erspan-typeI-02.pcap");
  EXPECT_EQ(carriages(c), (Carriages{{"erspan_i", 42}}));
  EXPECT_EQ(stations(c), (Stations{{"erspan_i", {"1011/80:a2:35:46:37:ae", "999/c4:54:44:89:12:e5"}}}));
}

TEST_F(MirrorDecapCorpus, ReadsTypeIISessionIndexAndVlanFieldOfTcpdumpCapture) {
  const Capture c = real("tcpdump__erspan-type-ii-3.pcap");
  EXPECT_EQ(carriages(c), (Carriages{{"erspan_ii session=101 index=43973 vlan=1", 98},
                                     {"erspan_ii session=101 index=43973 vlan=865", 10}}));
  // En = 2 ("originally 802.1Q") on every frame, yet 28 of the VLAN 1 frames still carry their tag.
  EXPECT_EQ(stations(c), (Stations{{"erspan_ii session=101 index=43973 vlan=1",
                                    {"0/00:19:69:df:dc:01", "1/00:19:69:df:dc:01"}},
                                   {"erspan_ii session=101 index=43973 vlan=865", {"865/14:18:77:60:aa:75"}}}));
  // Its ten ARPs (tshark frames 70..87) are ordinary requests: decoded as ARP, no notification.
  for (std::size_t number : {70, 71, 73, 74, 76, 78, 79, 84, 86, 87}) {
    const MirroredFrame m = decap(c.frames.at(number - 1));
    const DecodedFrame d = decode_frame(m.inner, m.inner_wire_length);
    EXPECT_EQ(d.ethertype, 0x0806) << number;
    EXPECT_EQ(d.source.to_string(), "14:18:77:60:aa:75") << number;
  }
  EXPECT_EQ(notifications(c), std::vector<std::string>{});
}

TEST_F(MirrorDecapCorpus, ReadsSessionsAndIndexesOfEightStationTypeIICapture) {
  const Capture c = real("suricata-verify__bug-5437-02.pcap");
  EXPECT_EQ(carriages(c), (Carriages{{"erspan_ii session=2 index=3 vlan=3", 18},
                                     {"erspan_ii session=2 index=1408 vlan=3", 16},
                                     {"erspan_ii session=5 index=18 vlan=7", 9},
                                     {"erspan_ii session=5 index=32 vlan=7", 6},
                                     {"erspan_ii session=6 index=32 vlan=6", 1},
                                     {"erspan_ii session=7 index=101 vlan=2", 10}}));
  EXPECT_EQ(stations(c), (Stations{{"erspan_ii session=2 index=3 vlan=3", {"0/00:20:52:ff:03:00"}},
                                   {"erspan_ii session=2 index=1408 vlan=3", {"0/00:09:0f:09:00:00"}},
                                   {"erspan_ii session=5 index=18 vlan=7", {"0/38:17:e1:ed:0b:29"}},
                                   {"erspan_ii session=5 index=32 vlan=7", {"0/00:20:52:ff:03:02"}},
                                   {"erspan_ii session=6 index=32 vlan=6", {"0/00:20:52:ff:03:03"}},
                                   {"erspan_ii session=7 index=101 vlan=2", {"0/00:09:0f:09:00:01"}}}));
}

TEST_F(MirrorDecapCorpus, MapsRealSessionsToUplinksExactMatchFirst) {
  const Capture c = real("suricata-verify__bug-5437-02.pcap");
  const MirrorSessionMap map({{MirrorSessionKey::erspan(2, 3), 0},
                              {MirrorSessionKey::erspan(2), 1},
                              {MirrorSessionKey::erspan(5), 2},
                              {MirrorSessionKey::erspan(7, 101), 3},
                              {MirrorSessionKey::erspan(7, 102), 4}});
  std::map<cam::UplinkId, int> frames;
  for (const Frame& f : c.frames) ++frames[map.find(decap(f))];
  EXPECT_EQ(frames, (std::map<cam::UplinkId, int>{{0, 18}, {1, 16}, {2, 15}, {3, 10}, {cam::kNoUplink, 1}}));
}

TEST_F(MirrorDecapCorpus, CarriesTheMirroredVxlanFrameNotTheFrameInsideIt) {
  const Capture c = real("arkime__gre-erspan-vxlan.pcap");
  EXPECT_EQ(carriages(c), (Carriages{{"erspan_ii session=20 index=1", 7}}));
  // ee:ee:ee:ee:ee:e1 sent the VXLAN packets on the mirrored port; aa:bb:cc:dd:cc:c1 is inside them.
  EXPECT_EQ(stations(c), (Stations{{"erspan_ii session=20 index=1", {"0/ee:ee:ee:ee:ee:e1"}}}));
}

TEST_F(MirrorDecapCorpus, DecapsulatesTypeIIIWithoutGreSequenceNumber) {
  const Capture c = real("tcpdump__erspan-type-iii-ft-0.pcap");
  EXPECT_EQ(carriages(c), (Carriages{{"erspan_iii session=0 vlan=20", 9}}));
  EXPECT_EQ(stations(c), (Stations{{"erspan_iii session=0 vlan=20", {"20/f8:c2:88:90:d2:7b"}}}));
  const Capture zeek = real("zeek__erspanIII.pcap");
  EXPECT_EQ(carriages(zeek), (Carriages{{"erspan_iii session=0 vlan=20", 2}}));
  EXPECT_EQ(stations(zeek), (Stations{{"erspan_iii session=0 vlan=20", {"0/00:50:56:be:d5:5d", "0/02:50:56:56:44:52"}}}));
}

TEST_F(MirrorDecapCorpus, ReadsPortIdOfPlatformSubheaderOfZeekTypeIIICapture) {
  // O = 1, platform ID 3, port ID 3 (tshark erspan.pid3.port_index).
  const Capture c = real("zeek__tunnels_gre-erspan3-dot1q.pcap");
  EXPECT_EQ(carriages(c), (Carriages{{"erspan_iii session=0 index=3 vlan=10", 2}}));
  EXPECT_EQ(stations(c),
            (Stations{{"erspan_iii session=0 index=3 vlan=10", {"10/00:50:56:8b:6d:c7", "10/00:ae:cd:00:0c:f1"}}}));
}

TEST_F(MirrorDecapCorpus, ReportsTypeIIIFrameType7WithoutLearningFromIt) {
  const Capture c = real("tcpdump__erspan-type-iii-ft-7.pcap");
  EXPECT_EQ(carriages(c), (Carriages{{"erspan_iii session=101 vlan=1 ft=7", 44},
                                     {"erspan_iii session=101 vlan=865 ft=7", 14}}));
  EXPECT_EQ(stations(c), Stations{});
}

TEST_F(MirrorDecapCorpus, TellsKeyedTebSessionsApartAndCountsFragments) {
  // GRE 0x6558 with keys 0 and 0x02000000. 55 frames are IPv4 fragments of big GRE packets
  // (16 first, 23 middle, 16 last: tshark -o ip.defragment:FALSE, outer MF / offset).
  const Capture c = real("zeek__erspan.pcap");
  EXPECT_EQ(carriages(c),
            (Carriages{{"gre_teb key=0x00000000", 125}, {"gre_teb key=0x02000000", 107}, {"none fragment", 55}}));
  EXPECT_EQ(stations(c), (Stations{{"gre_teb key=0x00000000", {"0/00:50:56:82:2b:52"}},
                                   {"gre_teb key=0x02000000", {"0/00:50:56:82:08:d1"}}}));
  // Ten ordinary ARP requests and replies (tshark frames 5, 6, 12, 13, 59, 60, 95, 96, 138, 139).
  for (std::size_t number : {5, 6, 12, 13, 59, 60, 95, 96, 138, 139}) {
    const MirroredFrame m = decap(c.frames.at(number - 1));
    EXPECT_EQ(decode_frame(m.inner, m.inner_wire_length).ethertype, 0x0806) << number;
  }
  EXPECT_EQ(notifications(c), std::vector<std::string>{});
}

TEST_F(MirrorDecapCorpus, ReportsGreThatIsNotMirroringAsNotMirrored) {
  // Cisco metadata (0x8909) and nested GRE, GRE v0/v1 (PPTP) with PPP, ARP directly in GRE.
  EXPECT_EQ(carriages(real("tcpdump__various_gre.pcap")), (Carriages{{"none", 100}}));
  EXPECT_EQ(carriages(real("pcapplusplus__GrePackets.cap")), (Carriages{{"none", 28}}));
  EXPECT_EQ(carriages(real("suricata-verify__decode-arp-3__arp-encap.pcap")), (Carriages{{"none", 1}}));
  EXPECT_EQ(carriages(real("tcpdump__pptp.pcap")), (Carriages{{"none", 23}}));
}

TEST_F(MirrorDecapCorpus, JudgesFuzzedGreCapturesAsTsharkDoes) {
  auto statuses = [](const char* name) {
    const Capture c = read_capture(kCorpus / "malformed" / name);
    EXPECT_TRUE(c.opened) << name;
    std::vector<std::string> out;
    for (const Frame& f : c.frames) out.push_back(carriage(decap(f)));
    return out;
  };
  // Frame 2: IPv4 version 0 (tshark: "Bogus IPv4 version").
  EXPECT_EQ(statuses("tcpdump__gre-heapoverflow-1.pcap"), (std::vector<std::string>{"none", "malformed"}));
  // Frame 2: GRE with C and R set: source-routed GRE is not a mirror.
  EXPECT_EQ(statuses("tcpdump__gre-heapoverflow-2.pcap"), (std::vector<std::string>{"none", "none"}));
  // Frames 4 and 8: IPv4 total length 22 and IPv6 payload length 2 leave no room for GRE's 4 bytes.
  EXPECT_EQ(statuses("suricata-verify__decode-too-small.pcap"),
            (std::vector<std::string>{"none", "none", "none", "malformed", "none", "none", "none", "malformed"}));
}

TEST_F(MirrorDecapCorpus, ReportsTypeIIICutInsideItsPlatformSubheaderAsTruncated) {
  // Raw IPv6 (DLT_RAW) with a destination options header, GRE with S, the strict source route
  // bit and recursion 5 (ignored), ERSPAN III with O set; 79 of 188109 bytes captured, so the
  // capture ends 5 bytes into the platform subheader: tcpdump prints "[|erspan]". Given an
  // Ethernet header to sit behind.
  const Capture c = read_capture(kCorpus / "malformed" / "tcpdump__erspan-type-iii-pb-1.pcap");
  ASSERT_TRUE(c.opened) << c.error;
  ASSERT_EQ(c.frames.size(), 1U);
  Frame f = c.frames[0];
  const std::uint8_t ethernet[14] = {0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x86, 0xDD};
  f.bytes.insert(f.bytes.begin(), ethernet, ethernet + 14);
  f.wire_length += 14;
  const MirroredFrame m = decap(f);
  EXPECT_EQ(m.status, DecodeStatus::truncated);
  EXPECT_EQ(m.encap, MirrorEncap::erspan_iii);
  EXPECT_EQ(m.session, 0);
  EXPECT_EQ(m.erspan_vlan, 0xD2D);
  EXPECT_TRUE(m.inner.empty());
}

// Every frame of every Ethernet capture in the corpus, real and malformed: never a read past the
// frame (the sanitizer build checks), and the header's promises hold.
TEST_F(MirrorDecapCorpus, DecapsulatesEveryFrameOfEveryEthernetCapture) {
  std::size_t files = 0;
  std::size_t frames = 0;
  std::size_t mirrored = 0;
  for (const char* folder : {"real", "malformed"}) {
    std::vector<fs::path> paths;
    for (const auto& entry : fs::directory_iterator(kCorpus / folder)) paths.push_back(entry.path());
    std::sort(paths.begin(), paths.end());
    for (const fs::path& path : paths) {
      const Capture c = read_capture(path);
      if (!c.opened || c.linktype != DLT_EN10MB) continue;
      ++files;
      for (const Frame& f : c.frames) {
        ++frames;
        const MirroredFrame m = decap(f);
        if (m.inner.empty()) continue;
        ++mirrored;
        EXPECT_TRUE(m.has_inner_ethernet()) << path.filename();
        EXPECT_GE(m.inner.data(), f.bytes.data()) << path.filename();
        EXPECT_LE(m.inner.data() + m.inner.size(), f.bytes.data() + f.bytes.size()) << path.filename();
        EXPECT_GE(m.inner_wire_length, m.inner.size()) << path.filename();
        const DecodedFrame d = decode_frame(m.inner, m.inner_wire_length);
        if (d.notification != cam::Notification::none) {
          EXPECT_TRUE(d.notified.is_learnable()) << path.filename();
        }
      }
    }
  }
  EXPECT_GT(files, 200U);
  EXPECT_GT(frames, 10000U);
  // The ten mirror captures hold 88 + 42 + 108 + 60 + 7 + 9 + 2 + 2 + 232 mirrored Ethernet frames.
  EXPECT_GE(mirrored, 550U);
}

}  // namespace
}  // namespace camwatch::capture
