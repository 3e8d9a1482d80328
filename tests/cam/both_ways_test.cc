// Both-ways mirrors (cam/tracker.h): stations that show on both sides never move; real moves do.
#include <gtest/gtest.h>

#include <vector>

#include "cam/tracker.h"

namespace camwatch::cam {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr UplinkId kA = 0;
constexpr UplinkId kB = 1;
constexpr UplinkId kRx = 2;  // an ordinary received-only mirror
const PacketTime kT0 = PacketTime(seconds(1'346'305'200));

const MacAddress kGateway = MacAddress::from_u64(0x00000C07AC01ULL);
const MacAddress kHost = MacAddress::from_u64(0x005056000001ULL);
const MacAddress kOther = MacAddress::from_u64(0x005056000002ULL);

class Sink : public EventSink {
 public:
  void on_event(const Event& e) override {
    ASSERT_TRUE(e.time >= last) << "events must come in packet-time order";
    last = e.time;
    if (e.kind != EventKind::failover) events.push_back(e);
  }
  PacketTime last{};
  std::vector<Event> events;
};

TrackerConfig both_ways_ab(bool enabled = true) {
  TrackerConfig c;
  if (enabled) c.both_ways_uplinks = {kA, kB};
  c.both_ways_confirm = seconds(10);
  return c;
}

void frame(Tracker& t, PacketTime at, UplinkId u, MacAddress m, Notification n = Notification::none) {
  Observation o;
  o.time = at;
  o.uplink = u;
  o.source = m;
  o.notification = n;
  o.notified = n == Notification::none ? MacAddress() : m;
  t.observe(o);
}

// The gateway's frames toward hosts behind A and behind B show on both mirrors, interleaved.
void gateway_talks_to_both(Tracker& t, PacketTime from, PacketTime to) {
  int i = 0;
  for (PacketTime at = from; at < to; at += milliseconds(300), ++i) frame(t, at, i % 3 == 0 ? kB : kA, kGateway);
}

TEST(BothWays, NeverMovesAStationThatShowsOnBothSidesOfBothWaysMirrors) {
  Sink sink;
  Tracker t(both_ways_ab(), sink);
  gateway_talks_to_both(t, kT0, kT0 + seconds(120));
  t.finish();
  EXPECT_TRUE(sink.events.empty()) << to_string(sink.events.front().kind);
  EXPECT_GE(t.stats().both_ways_suppressed, 1U);
  EXPECT_EQ(t.stats().silent_moves + t.stats().flaps, 0U);
}

TEST(BothWays, WithoutTheSettingTheSameFramesAreAFlap) {
  Sink sink;
  Tracker t(both_ways_ab(false), sink);
  gateway_talks_to_both(t, kT0, kT0 + seconds(120));
  t.finish();
  ASSERT_FALSE(sink.events.empty());
  EXPECT_GE(t.stats().flaps, 1U);
}

TEST(BothWays, ReportsAHostsSilentMoveDatedAtItsFirstFrameOnTheNewUplinkOnceConfirmed) {
  Sink sink;
  Tracker t(both_ways_ab(), sink);
  gateway_talks_to_both(t, kT0, kT0 + seconds(60));
  for (int s = 0; s < 20; ++s) frame(t, kT0 + seconds(s) + milliseconds(50), kA, kHost);
  // The host's uplink A fails at 20 s; it carries on behind B without a notification.
  for (int s = 21; s < 60; ++s) frame(t, kT0 + seconds(s) + milliseconds(50), kB, kHost);
  // Before the confirmation (10 s) nothing is decided; a second after it, the move is.
  t.advance(kT0 + seconds(30));
  EXPECT_TRUE(sink.events.empty());
  t.advance(kT0 + seconds(60));
  ASSERT_EQ(sink.events.size(), 1U);
  const Event& e = sink.events[0];
  EXPECT_EQ(e.kind, EventKind::silent_move);
  EXPECT_EQ(e.station.mac, kHost);
  EXPECT_EQ(e.from, kA);
  EXPECT_EQ(e.to, kB);
  EXPECT_EQ(e.time, kT0 + seconds(21) + milliseconds(50));
  EXPECT_EQ(e.last_seen_on_from, kT0 + seconds(19) + milliseconds(50));
  t.finish();
  EXPECT_EQ(sink.events.size(), 1U);
}

TEST(BothWays, ReportsAnAnnouncedMoveWhenTheRarpArrivesDuringTheConfirmation) {
  Sink sink;
  Tracker t(both_ways_ab(), sink);
  for (int s = 0; s < 20; ++s) frame(t, kT0 + seconds(s), kA, kHost);
  frame(t, kT0 + seconds(20), kB, kHost);                                     // first frame on B
  frame(t, kT0 + seconds(21), kB, kHost, Notification::rarp);                 // its RARP, 1 s later
  for (int s = 22; s < 40; ++s) frame(t, kT0 + seconds(s), kB, kHost);
  t.finish();
  ASSERT_EQ(sink.events.size(), 1U);
  EXPECT_EQ(sink.events[0].kind, EventKind::announced_move);
  EXPECT_EQ(sink.events[0].time, kT0 + seconds(20));
  EXPECT_EQ(sink.events[0].notification, Notification::rarp);
}

TEST(BothWays, ConfirmsMovesBetweenABothWaysAndAReceivedOnlyUplinkToo) {
  Sink sink;
  Tracker t(both_ways_ab(), sink);
  for (int s = 0; s < 10; ++s) frame(t, kT0 + seconds(s), kRx, kOther);
  for (int s = 10; s < 30; ++s) frame(t, kT0 + seconds(s), kA, kOther);  // onto a both-ways uplink
  t.finish();
  ASSERT_EQ(sink.events.size(), 1U);
  EXPECT_EQ(sink.events[0].kind, EventKind::silent_move);
  EXPECT_EQ(sink.events[0].time, kT0 + seconds(10));
}

TEST(BothWays, CancelsAMoveWhenTheStationIsHeardOnItsOldUplinkWithinTheConfirmation) {
  Sink sink;
  Tracker t(both_ways_ab(), sink);
  for (int s = 0; s < 10; ++s) frame(t, kT0 + seconds(s), kA, kOther);
  frame(t, kT0 + seconds(10), kB, kOther);
  frame(t, kT0 + seconds(15), kA, kOther);  // back within 10 s: it shows on both sides
  for (int s = 16; s < 60; ++s) frame(t, kT0 + seconds(s), s % 2 == 0 ? kA : kB, kOther);
  t.finish();
  EXPECT_TRUE(sink.events.empty());
  EXPECT_EQ(t.stats().both_ways_suppressed, 1U) << "suppressed once, then known to show on both sides";
}

}  // namespace
}  // namespace camwatch::cam
