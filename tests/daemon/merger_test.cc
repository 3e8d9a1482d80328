#include "daemon/merger.h"

#include <gtest/gtest.h>

#include <vector>

namespace camwatch::daemon {
namespace {

using std::chrono::milliseconds;

cam::PacketTime at_ms(int ms) { return cam::PacketTime(milliseconds(1'346'305'200'000LL + ms)); }

cam::Observation obs(cam::UplinkId uplink, int ms, std::uint64_t mac) {
  cam::Observation o;
  o.uplink = uplink;
  o.time = at_ms(ms);
  o.source = cam::MacAddress::from_u64(mac);
  return o;
}

TEST(ObservationMerger, ReleasesAllUplinksInPacketTimeOrderWithTiesToTheLowerUplink) {
  ObservationMerger m;
  capture::SpscRing<cam::Observation> a(16), b(16);
  for (int t : {10, 20, 30}) a.try_write(obs(0, t, 1));
  for (int t : {5, 20, 25}) b.try_write(obs(1, t, 2));
  m.pull(0, a);
  m.pull(1, b);
  std::vector<std::pair<int, int>> got;
  m.release(at_ms(100), [&](const cam::Observation& o) { got.emplace_back(o.uplink, static_cast<int>(o.time.time_since_epoch().count() / 1'000'000 % 1000)); });
  std::vector<std::pair<int, int>> want = {{1, 5}, {0, 10}, {0, 20}, {1, 20}, {1, 25}, {0, 30}};
  EXPECT_EQ(got, want);
}

TEST(ObservationMerger, HoldsBackObservationsNewerThanTheCutoff) {
  ObservationMerger m;
  m.push(obs(0, 10, 1));
  m.push(obs(1, 50, 2));
  int n = 0;
  EXPECT_EQ(m.release(at_ms(20), [&](const cam::Observation&) { ++n; }), 1U);
  EXPECT_EQ(m.staged(), 1U);
  // A late frame of uplink 0 older than the held one still comes first.
  m.push(obs(0, 40, 3));
  std::vector<std::uint64_t> macs;
  m.release(at_ms(60), [&](const cam::Observation& o) { macs.push_back(o.source.to_u64()); });
  EXPECT_EQ(macs, (std::vector<std::uint64_t>{3, 2}));
}

TEST(ObservationMerger, StagesNoMoreThanItsBoundAndLeavesTheRestInTheRing) {
  ObservationMerger m(4);
  capture::SpscRing<cam::Observation> ring(16);
  for (int t = 0; t < 10; ++t) ring.try_write(obs(0, t, 1));
  EXPECT_EQ(m.pull(0, ring), 4U);
  EXPECT_EQ(ring.size(), 6U);
  m.release(at_ms(1), [](const cam::Observation&) {});
  EXPECT_EQ(m.pull(0, ring), 2U);
}

}  // namespace
}  // namespace camwatch::daemon

namespace camwatch::daemon {
namespace {

TEST(ObservationMerger, NeverReleasesPastAFullUplinkWhoseRingStillHoldsOlderFrames) {
  ObservationMerger m(2);
  capture::SpscRing<cam::Observation> a(16), b(16);
  for (int t : {10, 20, 30, 40}) a.try_write(obs(0, t, 1));  // a's staging fills at 20
  b.try_write(obs(1, 35, 2));
  m.pull(0, a);
  m.pull(1, b);
  cam::PacketTime cutoff = at_ms(100);
  cutoff = m.limit_cutoff(0, a, cutoff);
  cutoff = m.limit_cutoff(1, b, cutoff);
  std::vector<int> order;
  m.release(cutoff, [&](const cam::Observation& o) { order.push_back(o.uplink); });
  EXPECT_EQ(order, (std::vector<int>{0, 0})) << "b's frame at 35 must wait for a's at 30";
}

}  // namespace
}  // namespace camwatch::daemon
