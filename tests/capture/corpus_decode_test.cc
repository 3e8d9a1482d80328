// Decodes real captures from the shared corpus (../shared/corpus, see its INDEX.md) and checks
// facts looked up independently with tshark 4.0 and tcpdump 4.99. Skipped when the corpus is absent.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "capture/frame_decoder.h"
#include "corpus_capture.h"

namespace camwatch::capture {
namespace {

using testcorpus::Capture;
using testcorpus::Frame;
using testcorpus::kCorpus;
using testcorpus::read_capture;
namespace fs = std::filesystem;

DecodedFrame decode(const Frame& f) {
  return decode_frame(f.bytes, f.wire_length);
}

// One line per frame: "ok 00:0c:29:34:0b:de vlan=0 tags=0 type=8035 rarp=00:0c:29:34:0b:de".
std::string summary(const DecodedFrame& d) {
  static const char* const kStatus[] = {"ok", "truncated", "malformed"};
  char head[96];
  std::snprintf(head, sizeof head, "%s %s vlan=%u tags=%u type=%04x", kStatus[static_cast<int>(d.status)],
                d.source.to_string().c_str(), unsigned{d.vlan}, unsigned{d.vlan_tags}, unsigned{d.ethertype});
  std::string out = head;
  if (d.notification != cam::Notification::none) {
    out += std::string(" ") + cam::to_string(d.notification) + "=" + d.notified.to_string();
  }
  if (d.nlb_heartbeat) out += " nlb";
  return out;
}

std::vector<std::string> summaries(const Capture& c) {
  std::vector<std::string> out;
  for (const Frame& f : c.frames) out.push_back(summary(decode(f)));
  return out;
}

// "12 unsolicited_na=00:0c:29:61:f5:5f" for every notification, frame numbers from 1 as tshark counts.
std::vector<std::string> notifications(const Capture& c) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < c.frames.size(); ++i) {
    DecodedFrame d = decode(c.frames[i]);
    if (d.notification == cam::Notification::none) continue;
    out.push_back(std::to_string(i + 1) + " " + cam::to_string(d.notification) + "=" +
                  d.notified.to_string());
  }
  return out;
}

class CorpusDecode : public ::testing::Test {
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

TEST_F(CorpusDecode, ReportsVmwareStyleRarpRequestAndTheServersReply) {
  Capture c = real("libpcap__rarp_req_reply.pcapng");
  // Frame 1 is the ESXi "notify switches" layout: sha = tha = source, spa = tpa = 0.0.0.0. Frame 2
  // is a RARP reply whose sender is the RARP server itself (sha = its Ethernet source).
  EXPECT_EQ(summaries(c), (std::vector<std::string>{
                              "ok 00:0c:29:34:0b:de vlan=0 tags=0 type=8035 rarp=00:0c:29:34:0b:de",
                              "ok 00:0c:29:c5:f6:9b vlan=0 tags=0 type=8035 rarp=00:0c:29:c5:f6:9b",
                          }));
}

TEST_F(CorpusDecode, ReportsOutermostVidOfOneTwoAndThreeStacked8021QTags) {
  Capture c = real("suricata-verify__detect-arp-03-vlan.pcap");
  // ARP who-has 0.0.0.0 tell 10.204.1.5: sender IP != target IP, not gratuitous.
  EXPECT_EQ(summaries(c), (std::vector<std::string>{
                              "ok 00:01:02:03:04:05 vlan=6 tags=1 type=0806",
                              "ok 00:01:02:03:04:05 vlan=1 tags=2 type=0806",
                              "ok 00:01:02:03:04:05 vlan=1 tags=3 type=0806",
                          }));
}

TEST_F(CorpusDecode, ReportsSTagVidOf8021adQinQ) {
  Capture c = real("tcpdump__802.1ad_QinQ.pcap");
  EXPECT_EQ(summaries(c), (std::vector<std::string>{
                              "ok 00:20:d2:5a:fb:3f vlan=200 tags=2 type=0806",
                              "ok 00:80:ea:81:88:63 vlan=200 tags=2 type=0806",
                          }));
}

TEST_F(CorpusDecode, ReportsOuterVidOfTripleStack) {
  Capture c = real("zeek__vlan-qinqinq.pcap");
  ASSERT_EQ(c.frames.size(), 14U);
  for (const Frame& f : c.frames) {
    DecodedFrame d = decode(f);
    EXPECT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.vlan, 30);
    EXPECT_EQ(d.vlan_tags, 3);
  }
}

TEST_F(CorpusDecode, KeepsVlanZeroForDoublePriorityTaggedFrames) {
  Capture c = real("zeek__http-qinq-0.pcap");
  ASSERT_EQ(c.frames.size(), 14U);
  for (const Frame& f : c.frames) {
    DecodedFrame d = decode(f);
    EXPECT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.vlan, 0);
    EXPECT_EQ(d.vlan_tags, 2);
    EXPECT_EQ(d.ethertype, 0x0800);
  }
}

TEST_F(CorpusDecode, ReportsGratuitousArpRepliesOnVlan123) {
  Capture c = real("zeek__icmp_dot1q.pcap");
  ASSERT_EQ(c.frames.size(), 15U);
  for (const Frame& f : c.frames) {
    EXPECT_EQ(decode(f).status, DecodeStatus::ok);
    EXPECT_EQ(decode(f).vlan, 123);
  }
  EXPECT_EQ(summary(decode(c.frames[0])),
            "ok 00:19:06:ea:b8:c1 vlan=123 tags=1 type=0806 garp=00:19:06:ea:b8:c1");
  EXPECT_EQ(summary(decode(c.frames[1])),
            "ok 00:18:73:de:57:c1 vlan=123 tags=1 type=0806 garp=00:18:73:de:57:c1");
  EXPECT_EQ(notifications(c),
            (std::vector<std::string>{"1 garp=00:19:06:ea:b8:c1", "2 garp=00:18:73:de:57:c1"}));
}

TEST_F(CorpusDecode, ReportsLinkLocalGratuitousArpsAfter8021X) {
  Capture c = real("tcpdump__eapon1.pcap");
  EXPECT_EQ(notifications(c),
            (std::vector<std::string>{"40 garp=00:04:23:57:a5:7a", "41 garp=00:04:23:57:a5:7a",
                                      "42 garp=00:04:23:57:a5:7a"}));
}

// The Zeek trace's only MAC is an all-zero Ethernet source (no target link-layer option), so the
// unsolicited advertisement it carries has nothing a switch could learn: no notification.
TEST_F(CorpusDecode, DecodesZeekUnsolicitedAdvertButAnnouncesNoAllZeroSource) {
  Capture c = real("zeek__icmp_icmp6-neighbor-advert.pcap");
  EXPECT_EQ(summaries(c), (std::vector<std::string>{"ok 00:00:00:00:00:00 vlan=0 tags=0 type=86dd"}));
}

TEST_F(CorpusDecode, ReportsUnsolicitedAdvertWithTargetLinkLayerOption) {
  Capture c = real("pcapplusplus__IcmpV6_NeighAdvSoli.pcap");
  EXPECT_EQ(summaries(c), (std::vector<std::string>{
                              "ok c2:00:54:f5:00:00 vlan=0 tags=0 type=86dd",  // neighbour solicitation
                              "ok c2:00:54:f5:00:00 vlan=0 tags=0 type=86dd unsolicited_na=c2:00:54:f5:00:00",
                          }));
  Capture options = real("zeek__icmp_icmp6-nd-options.pcap");
  EXPECT_EQ(notifications(options), (std::vector<std::string>{"2 unsolicited_na=c2:00:54:f5:00:00",
                                                              "9 unsolicited_na=c2:00:54:f5:00:00"}));
}

TEST_F(CorpusDecode, ReportsEveryAnnouncementOfBootingWindowsVms) {
  Capture c = real("suricata-verify__smb2-ntlmssp-negotiateflags.pcap");
  // tshark: GARPs (arp.src.proto_ipv4 == arp.dst.proto_ipv4) and NAs with S=0; frames 185 and
  // 254 are solicited NAs and must not appear.
  EXPECT_EQ(notifications(c), (std::vector<std::string>{
                                  "12 unsolicited_na=00:0c:29:61:f5:5f",
                                  "18 garp=00:0c:29:61:f5:5f",
                                  "46 unsolicited_na=00:0c:29:61:f5:5f",
                                  "72 garp=00:0c:29:61:f5:5f",
                                  "333 unsolicited_na=00:0c:29:03:df:ad",
                                  "392 garp=00:0c:29:03:df:ad",
                                  "456 unsolicited_na=00:0c:29:03:df:ad",
                                  "465 garp=00:0c:29:03:df:ad",
                                  "515 unsolicited_na=00:0c:29:03:df:ad",
                                  "534 garp=00:0c:29:03:df:ad",
                              }));
}

TEST_F(CorpusDecode, FlagsNlbHeartbeatsCutBySnaplen) {
  for (const char* name : {"tcpdump__msnlb.pcap", "tcpdump__msnlb2.pcapng"}) {
    SCOPED_TRACE(name);
    Capture c = real(name);
    // Wire length 1510, snaplen 96 and 20: the ethertype alone decides.
    EXPECT_EQ(summaries(c), (std::vector<std::string>{
                                "ok 02:02:c0:a8:64:50 vlan=0 tags=0 type=886f nlb",
                                "ok 02:01:c0:a8:64:50 vlan=0 tags=0 type=886f nlb",
                            }));
  }
}

TEST_F(CorpusDecode, DecodesArpInsideLlcSnap) {
  Capture c = real("zeek__snap-arp.pcapng");
  // Ordinary request/reply pairs (hardware type 6, IEEE 802): not gratuitous.
  EXPECT_EQ(summaries(c), (std::vector<std::string>{
                              "ok c2:3d:19:6c:00:01 vlan=0 tags=0 type=0806",
                              "ok c2:3d:19:6c:00:01 vlan=0 tags=0 type=0806",
                              "ok c2:3c:19:6c:00:01 vlan=0 tags=0 type=0806",
                              "ok c2:3c:19:6c:00:01 vlan=0 tags=0 type=0806",
                          }));
  // The ARP body is really read: cutting it short makes the frame truncated.
  ASSERT_FALSE(c.frames.empty());
  Frame cut = c.frames[0];
  cut.bytes.resize(40);
  EXPECT_EQ(summary(decode(cut)), "truncated c2:3d:19:6c:00:01 vlan=0 tags=0 type=0806");
}

TEST_F(CorpusDecode, ReportsForeignArpHardwareLengthAsNotOurs) {
  // 0x88a8 tag + ARP with hardware address length 14; wire length claims 262144.
  Capture c = read_capture(kCorpus / "malformed" / "tcpdump__arp-too-long-tha.pcap");
  ASSERT_TRUE(c.opened) << c.error;
  ASSERT_FALSE(c.frames.empty());
  DecodedFrame d = decode(c.frames[0]);
  EXPECT_EQ(d.status, DecodeStatus::ok);
  EXPECT_EQ(d.notification, cam::Notification::none);
}

// Every frame of every Ethernet capture in the corpus, real and malformed: the decoder never reads
// past a frame (the sanitizer build checks), and never reports an unusable announcement.
TEST_F(CorpusDecode, DecodesEveryFrameOfEveryEthernetCapture) {
  std::size_t files = 0;
  std::size_t frames = 0;
  for (const char* folder : {"real", "malformed"}) {
    std::vector<fs::path> paths;
    for (const auto& entry : fs::directory_iterator(kCorpus / folder)) paths.push_back(entry.path());
    std::sort(paths.begin(), paths.end());
    for (const fs::path& path : paths) {
      Capture c = read_capture(path);
      if (!c.opened || c.linktype != DLT_EN10MB) continue;
      ++files;
      for (const Frame& f : c.frames) {
        ++frames;
        DecodedFrame d = decode(f);
        if (d.notification != cam::Notification::none) {
          EXPECT_EQ(d.status, DecodeStatus::ok) << path.filename();
          EXPECT_TRUE(d.notified.is_learnable()) << path.filename();
        }
      }
    }
  }
  EXPECT_GT(files, 200U);
  EXPECT_GT(frames, 10000U);
}

}  // namespace
}  // namespace camwatch::capture
