#include "capture/recent_filter.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace camwatch::capture {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const cam::PacketTime kT0 = cam::PacketTime(seconds(1'346'305'200));

cam::Observation frame(cam::PacketTime t, std::uint64_t mac, cam::VlanId vlan = 0) {
  cam::Observation o;
  o.time = t;
  o.source = cam::MacAddress::from_u64(mac);
  o.vlan = vlan;
  o.uplink = 0;
  return o;
}

constexpr std::uint64_t kVm = 0x005056000001ULL;
constexpr std::uint64_t kOther = 0x005056000002ULL;

TEST(RecentlySeenFilter, PassesAFirstSightingAndHoldsBackRepeatsWithinTheRefresh) {
  RecentlySeenFilter f(seconds(1));
  EXPECT_TRUE(f.pass(frame(kT0, kVm)));
  EXPECT_FALSE(f.pass(frame(kT0 + milliseconds(10), kVm)));
  EXPECT_FALSE(f.pass(frame(kT0 + milliseconds(90), kVm)));
  EXPECT_TRUE(f.pass(frame(kT0 + milliseconds(95), kOther))) << "another station is a first sighting";
  EXPECT_EQ(f.forwarded(), 2U);
  EXPECT_EQ(f.filtered(), 2U);
}

TEST(RecentlySeenFilter, PassesTheStationAgainOnceTheRefreshHasGone) {
  RecentlySeenFilter f(seconds(1));
  EXPECT_TRUE(f.pass(frame(kT0, kVm)));
  for (int ms = 50; ms < 1000; ms += 50) {
    f.pass(frame(kT0 + milliseconds(ms), kOther));  // keeps the uplink tick from passing kVm
    EXPECT_FALSE(f.pass(frame(kT0 + milliseconds(ms + 1), kVm))) << ms;
  }
  EXPECT_TRUE(f.pass(frame(kT0 + seconds(1), kVm)));
  EXPECT_FALSE(f.pass(frame(kT0 + seconds(1) + milliseconds(1), kVm)));
}

TEST(RecentlySeenFilter, AlwaysPassesFramesCarryingMoreThanTheirStationAndRecordsTheSender) {
  RecentlySeenFilter f(seconds(1));
  ASSERT_TRUE(f.pass(frame(kT0, kVm)));
  cam::Observation rarp = frame(kT0 + milliseconds(1), kVm);
  rarp.notification = cam::Notification::rarp;
  rarp.notified = rarp.source;
  EXPECT_TRUE(f.pass(rarp));
  cam::Observation claim = frame(kT0 + milliseconds(2), kVm);
  claim.claim = cam::ClaimKind::arp_request;
  EXPECT_TRUE(f.pass(claim));
  cam::Observation heartbeat = frame(kT0 + milliseconds(3), kVm);
  heartbeat.flags = static_cast<std::uint8_t>(cam::ObservationFlag::nlb_heartbeat);
  EXPECT_TRUE(f.pass(heartbeat));
  // The sender of a notification is recorded like any forwarded frame.
  cam::Observation garp = frame(kT0 + milliseconds(4), kOther);
  garp.notification = cam::Notification::garp;
  garp.notified = garp.source;
  EXPECT_TRUE(f.pass(garp));
  EXPECT_FALSE(f.pass(frame(kT0 + milliseconds(5), kOther)));
}

TEST(RecentlySeenFilter, PassesAFrameOlderThanTheStationsLastForwardedOne) {
  RecentlySeenFilter f(seconds(1));
  ASSERT_TRUE(f.pass(frame(kT0 + milliseconds(10), kVm)));
  EXPECT_TRUE(f.pass(frame(kT0 + milliseconds(9), kVm)));
  EXPECT_FALSE(f.pass(frame(kT0 + milliseconds(11), kVm))) << "the record keeps the later time";
}

TEST(RecentlySeenFilter, LetsAFramePassAtLeastEveryTickOfTheUplink) {
  RecentlySeenFilter f(seconds(10));
  std::vector<int> passed_ms;
  for (int ms = 0; ms <= 1000; ++ms) {
    if (f.pass(frame(kT0 + milliseconds(ms), kVm))) passed_ms.push_back(ms);
  }
  EXPECT_EQ(passed_ms, (std::vector<int>{0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000}));
}

TEST(RecentlySeenFilter, TellsVlansApart) {
  RecentlySeenFilter f(seconds(1));
  EXPECT_TRUE(f.pass(frame(kT0, kVm, 10)));
  EXPECT_TRUE(f.pass(frame(kT0 + milliseconds(1), kVm, 20)));
  EXPECT_FALSE(f.pass(frame(kT0 + milliseconds(2), kVm, 10)));
}

TEST(RecentlySeenFilter, PassesEverythingWithRefreshZero) {
  RecentlySeenFilter f(cam::Duration::zero());
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(f.pass(frame(kT0 + milliseconds(i), kVm)));
  EXPECT_EQ(f.filtered(), 0U);
}

TEST(RecentlySeenFilter, PassesGroupAndZeroSourcesWithoutRecordingThem) {
  RecentlySeenFilter f(seconds(1));
  EXPECT_TRUE(f.pass(frame(kT0, 0)));
  EXPECT_TRUE(f.pass(frame(kT0 + milliseconds(1), 0)));
  EXPECT_TRUE(f.pass(frame(kT0 + milliseconds(2), 0x01005E000001ULL)));
  EXPECT_TRUE(f.pass(frame(kT0 + milliseconds(3), 0x01005E000001ULL)));
}

TEST(RecentlySeenFilter, AFullSetGivesUpTheRecordForwardedLongestAgo) {
  RecentlySeenFilter f(seconds(10), 4);  // one set of four
  ASSERT_EQ(f.entries(), 4U);
  for (std::uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(f.pass(frame(kT0 + milliseconds(i), kVm + i)));
  ASSERT_TRUE(f.pass(frame(kT0 + milliseconds(4), kVm + 4)));  // displaces kVm's record
  EXPECT_FALSE(f.pass(frame(kT0 + milliseconds(5), kVm + 1)));
  EXPECT_TRUE(f.pass(frame(kT0 + milliseconds(6), kVm))) << "no record left: a first sighting again";
}

TEST(RecentlySeenFilter, DecidesTheSameForTheSameFrames) {
  auto run = [] {
    RecentlySeenFilter f(milliseconds(500), 64);
    std::mt19937 rng(7);
    std::vector<bool> out;
    cam::PacketTime t = kT0;
    for (int i = 0; i < 20000; ++i) {
      t += std::chrono::microseconds(rng() % 2000);
      out.push_back(f.pass(frame(t, kVm + rng() % 200, static_cast<cam::VlanId>(rng() % 2))));
    }
    return out;
  };
  const std::vector<bool> a = run();
  EXPECT_EQ(a, run());
  EXPECT_GT(std::count(a.begin(), a.end(), false), 1000);
}

}  // namespace
}  // namespace camwatch::capture
