#include "daemon/merger.h"

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

namespace camwatch::daemon {
namespace {

using std::chrono::milliseconds;
using Ring = capture::SpscRing<cam::Observation>;

cam::PacketTime at_ms(int ms) { return cam::PacketTime(milliseconds(1'346'305'200'000LL + ms)); }
int ms_of(const cam::Observation& o) {
  return static_cast<int>(o.time.time_since_epoch().count() / 1'000'000 % 1000);
}

cam::Observation obs(cam::UplinkId uplink, int ms, std::uint64_t mac) {
  cam::Observation o;
  o.uplink = uplink;
  o.time = at_ms(ms);
  o.source = cam::MacAddress::from_u64(mac);
  return o;
}

TEST(ObservationMerger, ReleasesAllSourcesInPacketTimeOrderWithTiesToTheLowerSource) {
  ObservationMerger m;
  Ring a(16), b(16);
  for (int t : {10, 20, 30}) a.try_write(obs(0, t, 1));
  for (int t : {5, 20, 25}) b.try_write(obs(1, t, 2));
  m.pull(0, a);
  m.pull(1, b);
  std::vector<std::pair<int, int>> got;
  m.release(at_ms(100), [&](const cam::Observation& o) { got.emplace_back(o.uplink, ms_of(o)); });
  std::vector<std::pair<int, int>> want = {{1, 5}, {0, 10}, {0, 20}, {1, 20}, {1, 25}, {0, 30}};
  EXPECT_EQ(got, want);
}

TEST(ObservationMerger, BreaksTiesBySourceNotByUplink) {
  // Source 0 carries uplink 5, source 1 uplink 2: equal times go in source order.
  ObservationMerger m;
  Ring first(16), second(16);
  first.try_write(obs(5, 10, 1));
  second.try_write(obs(2, 10, 2));
  m.pull(1, second);
  m.pull(0, first);
  std::vector<int> uplinks;
  m.release(at_ms(100), [&](const cam::Observation& o) { uplinks.push_back(o.uplink); });
  EXPECT_EQ(uplinks, (std::vector<int>{5, 2}));
}

TEST(ObservationMerger, KeepsTheOrderOfOneSourceCarryingSeveralUplinks) {
  // A collector: one ring, observations of three uplinks interleaved in time order, some equal.
  ObservationMerger m;
  Ring collector(16), other(16);
  for (auto [uplink, t] : {std::pair{3, 10}, {1, 10}, {2, 15}, {1, 20}, {3, 20}}) {
    collector.try_write(obs(static_cast<cam::UplinkId>(uplink), t, 1));
  }
  other.try_write(obs(0, 15, 2));
  m.pull(0, collector);
  m.pull(1, other);
  std::vector<std::pair<int, int>> got;
  m.release(at_ms(100), [&](const cam::Observation& o) { got.emplace_back(o.uplink, ms_of(o)); });
  std::vector<std::pair<int, int>> want = {{3, 10}, {1, 10}, {2, 15}, {0, 15}, {1, 20}, {3, 20}};
  EXPECT_EQ(got, want);
}

TEST(ObservationMerger, MergesSeveralSourcesOfOneUplinkBackIntoTimeOrder) {
  // PACKET_FANOUT: one uplink's frames spread over three threads' rings.
  ObservationMerger m;
  Ring r0(16), r1(16), r2(16);
  for (int t : {1, 4, 9}) r0.try_write(obs(7, t, 10 + static_cast<std::uint64_t>(t)));
  for (int t : {2, 3, 8}) r1.try_write(obs(7, t, 10 + static_cast<std::uint64_t>(t)));
  for (int t : {5, 6, 7}) r2.try_write(obs(7, t, 10 + static_cast<std::uint64_t>(t)));
  m.pull(2, r2);
  m.pull(0, r0);
  m.pull(1, r1);
  std::vector<int> times;
  m.release(at_ms(100), [&](const cam::Observation& o) {
    EXPECT_EQ(o.uplink, 7);
    times.push_back(ms_of(o));
  });
  EXPECT_EQ(times, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(ObservationMerger, HoldsBackObservationsNewerThanTheCutoff) {
  ObservationMerger m;
  m.push(0, obs(0, 10, 1));
  m.push(1, obs(1, 50, 2));
  int n = 0;
  EXPECT_EQ(m.release(at_ms(20), [&](const cam::Observation&) { ++n; }), 1U);
  EXPECT_EQ(m.staged(), 1U);
  // A late frame of source 0 older than the held one still comes first.
  m.push(0, obs(0, 40, 3));
  std::vector<std::uint64_t> macs;
  m.release(at_ms(60), [&](const cam::Observation& o) { macs.push_back(o.source.to_u64()); });
  EXPECT_EQ(macs, (std::vector<std::uint64_t>{3, 2}));
}

TEST(ObservationMerger, StagesNoMoreThanItsBoundPerSourceAndLeavesTheRestInTheRing) {
  ObservationMerger m(4);
  Ring ring(16), other(16);
  for (int t = 0; t < 10; ++t) ring.try_write(obs(0, t, 1));
  for (int t = 0; t < 3; ++t) other.try_write(obs(0, t, 2));
  EXPECT_EQ(m.pull(0, ring), 4U);
  EXPECT_EQ(ring.size(), 6U);
  EXPECT_EQ(m.pull(1, other), 3U) << "the bound is per source";
  EXPECT_FALSE(m.push(0, obs(0, 20, 1)));
  m.release(at_ms(1), [](const cam::Observation&) {});
  EXPECT_EQ(m.pull(0, ring), 2U);
}

TEST(ObservationMerger, NeverReleasesPastAFullSourceWhoseRingStillHoldsOlderFrames) {
  ObservationMerger m(2);
  Ring a(16), b(16);
  for (int t : {10, 20, 30, 40}) a.try_write(obs(0, t, 1));  // a's staging fills at 20
  b.try_write(obs(0, 35, 2));                                 // the same uplink, another thread
  m.pull(0, a);
  m.pull(1, b);
  cam::PacketTime cutoff = at_ms(100);
  cutoff = m.limit_cutoff(0, a, cutoff);
  cutoff = m.limit_cutoff(1, b, cutoff);
  EXPECT_EQ(cutoff, at_ms(20));
  std::vector<std::uint64_t> order;
  m.release(cutoff, [&](const cam::Observation& o) { order.push_back(o.source.to_u64()); });
  EXPECT_EQ(order, (std::vector<std::uint64_t>{1, 1})) << "b's frame at 35 must wait for a's at 30";
  // Once a's ring is drained, everything goes out in order.
  m.pull(0, a);
  m.pull(0, a);
  std::vector<int> rest;
  for (int round = 0; round < 3; ++round) {
    m.pull(0, a);
    cam::PacketTime c = m.limit_cutoff(0, a, at_ms(100));
    c = m.limit_cutoff(1, b, c);
    m.release(c, [&](const cam::Observation& o) { rest.push_back(ms_of(o)); });
  }
  EXPECT_EQ(rest, (std::vector<int>{30, 35, 40}));
}

TEST(ObservationMerger, LimitCutoffIgnoresASourceItHasNeverSeen) {
  ObservationMerger m(2);
  Ring ring(16);
  ring.try_write(obs(0, 1, 1));
  EXPECT_EQ(m.limit_cutoff(9, ring, at_ms(50)), at_ms(50));
}

TEST(ObservationMerger, ReportsTheEarliestStagedTimeAcrossSources) {
  ObservationMerger m;
  cam::PacketTime t{};
  EXPECT_FALSE(m.earliest(t));
  m.push(3, obs(1, 30, 1));
  m.push(1, obs(1, 12, 1));
  ASSERT_TRUE(m.earliest(t));
  EXPECT_EQ(t, at_ms(12));
}

}  // namespace
}  // namespace camwatch::daemon
