#include "cam/tracker.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace camwatch::cam {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr UplinkId kA = 0;
constexpr UplinkId kB = 1;

const PacketTime kT0 = PacketTime(seconds(1'346'305'200));  // 2012-08-30T05:40:00Z

MacAddress mac(const char* text) {
  MacAddress m;
  EXPECT_TRUE(MacAddress::parse(text, m)) << text;
  return m;
}

const MacAddress kVm = mac("00:50:56:00:00:01");
const MacAddress kOther = mac("00:50:56:00:00:02");
const MacAddress kNlb = mac("02:01:0a:00:14:64");

class RecordingSink : public EventSink {
 public:
  void on_event(const Event& e) override { events.push_back(e); }
  std::vector<Event> events;
  std::vector<Event> of(EventKind kind) const {
    std::vector<Event> out;
    for (const Event& e : events)
      if (e.kind == kind) out.push_back(e);
    return out;
  }
};

// A small fluent way to feed frames: at(t).on(uplink).frame(mac) / .rarp(mac) / .garp(...).
class Feed {
 public:
  explicit Feed(Tracker& tracker) : tracker_(tracker) {}
  void frame(PacketTime t, UplinkId uplink, MacAddress src, VlanId vlan = 0) {
    Observation o;
    o.time = t;
    o.uplink = uplink;
    o.source = src;
    o.vlan = vlan;
    tracker_.observe(o);
  }
  void notify(PacketTime t, UplinkId uplink, MacAddress src, Notification kind, MacAddress announced,
              VlanId vlan = 0) {
    Observation o;
    o.time = t;
    o.uplink = uplink;
    o.source = src;
    o.vlan = vlan;
    o.notification = kind;
    o.notified = announced;
    tracker_.observe(o);
  }
  // The VMware pattern: the RARP is the station's own first frame on the new uplink.
  void rarp(PacketTime t, UplinkId uplink, MacAddress m, VlanId vlan = 0) {
    notify(t, uplink, m, Notification::rarp, m, vlan);
  }

 private:
  Tracker& tracker_;
};

struct Fixture {
  explicit Fixture(TrackerConfig c = {}) : tracker(c, sink), feed(tracker) {}
  RecordingSink sink;
  Tracker tracker;
  Feed feed;
};

TEST(Tracker, LearnsAStationFromItsFirstFrameWithoutAnyEvent) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.tracker.finish();
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.tracker.stats().stations, 1U);
  EXPECT_EQ(f.tracker.stats().stations_learned, 1U);
}

TEST(Tracker, ReportsSilentMoveWhenNoNotificationFollowsWithinWindow) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0 + seconds(10), kB, kVm);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  const Event& e = f.sink.events[0];
  EXPECT_EQ(e.kind, EventKind::silent_move);
  EXPECT_EQ(e.time, kT0 + seconds(10));
  EXPECT_EQ(e.station.mac, kVm);
  EXPECT_EQ(e.station.vlan, 0);
  EXPECT_EQ(e.from, kA);
  EXPECT_EQ(e.to, kB);
  EXPECT_EQ(e.last_seen_on_from, kT0);
  EXPECT_EQ(f.tracker.stats().silent_moves, 1U);
}

TEST(Tracker, ReportsAnnouncedMoveWhenRarpIsTheFirstFrameOnTheNewUplink) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.rarp(kT0 + seconds(5), kB, kVm);
  f.feed.frame(kT0 + seconds(5) + milliseconds(3), kB, kVm);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::announced_move);
  EXPECT_EQ(f.sink.events[0].notification, Notification::rarp);
  EXPECT_EQ(f.sink.events[0].notification_time, kT0 + seconds(5));
}

TEST(Tracker, AnnouncesMoveWhenNotificationArrivesAtTheLastInstantOfTheWindowAfter) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0 + seconds(1), kB, kVm);
  f.feed.notify(kT0 + seconds(3), kB, kVm, Notification::garp, kVm);  // exactly +2 s
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::announced_move);
  EXPECT_EQ(f.sink.events[0].notification, Notification::garp);
  EXPECT_EQ(f.sink.events[0].time, kT0 + seconds(1));  // the move, not the notification
}

TEST(Tracker, ReportsSilentMoveWhenNotificationArrivesJustAfterTheWindow) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0 + seconds(1), kB, kVm);
  f.feed.notify(kT0 + seconds(3) + nanoseconds(1), kB, kVm, Notification::garp, kVm);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::silent_move);
}

TEST(Tracker, AnnouncesMoveWhenNotificationFromAnotherSenderPrecedesItWithinWindowBefore) {
  // An unsolicited NA whose target link-layer option names the station, sent from another MAC
  // (a bond's active slave), arrives on B exactly 1 s before the station's first frame there.
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0, kB, kOther);
  f.feed.notify(kT0 + seconds(4), kB, kOther, Notification::unsolicited_na, kVm);
  f.feed.frame(kT0 + seconds(5), kB, kVm);
  f.tracker.finish();
  auto moves = f.sink.of(EventKind::announced_move);
  ASSERT_EQ(f.sink.events.size(), 1U);
  ASSERT_EQ(moves.size(), 1U);
  EXPECT_EQ(moves[0].notification, Notification::unsolicited_na);
}

TEST(Tracker, ReportsSilentMoveWhenTheEarlierNotificationIsOlderThanTheWindowBefore) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0, kB, kOther);
  f.feed.notify(kT0 + seconds(4) - nanoseconds(1), kB, kOther, Notification::unsolicited_na, kVm);
  f.feed.frame(kT0 + seconds(5), kB, kVm);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::silent_move);
}

TEST(Tracker, NotificationSeenOnlyOnTheOldUplinkDoesNotAnnounceTheMove) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.notify(kT0 + seconds(1), kA, kVm, Notification::garp, kVm);
  f.feed.frame(kT0 + seconds(2), kB, kVm);
  f.feed.notify(kT0 + seconds(2) + milliseconds(5), kA, kOther, Notification::garp, kVm);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::silent_move);
}

TEST(Tracker, NotificationOnTheRightUplinkButAnotherVlanDoesNotAnnounceTheMove) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm, 30);
  f.feed.notify(kT0 + seconds(1), kB, kVm, Notification::garp, kVm, 31);
  f.feed.frame(kT0 + seconds(1), kB, kVm, 30);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::silent_move);
  EXPECT_EQ(f.sink.events[0].station.vlan, 30);
}

TEST(Tracker, OneNotificationAnnouncesOnlyOneMove) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.notify(kT0 + milliseconds(100), kB, kOther, Notification::unsolicited_na, kVm);
  f.feed.frame(kT0 + milliseconds(200), kB, kVm);  // announced
  f.feed.frame(kT0 + milliseconds(300), kA, kVm);  // back: silent
  f.feed.frame(kT0 + milliseconds(400), kB, kVm);  // again: the old NA is used up
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 3U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::announced_move);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::silent_move);
  EXPECT_EQ(f.sink.events[2].kind, EventKind::silent_move);
}

TEST(Tracker, DecidesASilentMoveOnlyAfterTheWindowHasPassedInPacketTime) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0 + seconds(1), kB, kVm);
  f.tracker.advance(kT0 + seconds(3));  // move + 2 s: a notification may still come
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.tracker.stats().pending_moves, 1U);
  f.tracker.advance(kT0 + seconds(5) + nanoseconds(1));
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::silent_move);
  EXPECT_EQ(f.tracker.stats().pending_moves, 0U);
}

TEST(Tracker, FinishDecidesMovesWhoseWindowIsStillOpen) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0 + seconds(1), kB, kVm);
  EXPECT_TRUE(f.sink.events.empty());
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::silent_move);
}

TEST(Tracker, DeliversEventsInPacketTimeOrderEvenWhenDecidedOutOfOrder) {
  // The silent move at t+1 is decided at t+3; the announced move at t+2 is decided at once.
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0, kA, kOther);
  f.feed.frame(kT0 + seconds(1), kB, kVm);
  f.feed.rarp(kT0 + seconds(2), kB, kOther);
  f.feed.frame(kT0 + seconds(10), kB, kOther);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::silent_move);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::announced_move);
}

TEST(Tracker, TreatsTheSameMacOnTwoVlansAsTwoStationsAndNoMove) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm, 10);
  f.feed.frame(kT0 + seconds(1), kB, kVm, 20);
  f.feed.frame(kT0 + seconds(2), kA, kVm, 10);
  f.feed.frame(kT0 + seconds(3), kB, kVm, 20);
  f.tracker.finish();
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.tracker.stats().stations, 2U);
}

TEST(Tracker, NeverLearnsGroupOrAllZeroSourceAddresses) {
  Fixture f;
  f.feed.frame(kT0, kA, mac("01:00:5e:00:00:01"));
  f.feed.frame(kT0, kA, mac("ff:ff:ff:ff:ff:ff"));
  f.feed.frame(kT0, kA, mac("00:00:00:00:00:00"));
  f.feed.frame(kT0 + seconds(1), kB, mac("01:00:5e:00:00:01"));
  f.tracker.finish();
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.tracker.stats().stations, 0U);
  EXPECT_EQ(f.tracker.stats().ignored_sources, 4U);
}

TEST(Tracker, TreatsAFailoverAndFailbackAsTwoMovesNotAFlap) {
  Fixture f;
  f.feed.frame(kT0, kA, kNlb);
  f.feed.frame(kT0 + seconds(1), kB, kNlb);
  f.feed.frame(kT0 + seconds(2), kA, kNlb);
  f.tracker.finish();
  EXPECT_EQ(f.sink.of(EventKind::silent_move).size(), 2U);
  EXPECT_TRUE(f.sink.of(EventKind::flap).empty());
}

TEST(Tracker, ReportsOneFlapAndDampsAStationBouncingEveryHalfSecond) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0, kA, kOther);
  for (int i = 1; i <= 40; ++i) f.feed.frame(kT0 + milliseconds(500 * i), i % 2 ? kB : kA, kVm);
  f.feed.frame(kT0 + seconds(21), kA, kOther);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U) << "no silent_move per bounce";
  const Event& e = f.sink.events[0];
  EXPECT_EQ(e.kind, EventKind::flap);
  EXPECT_EQ(e.time, kT0 + milliseconds(2000));  // the fourth move
  EXPECT_EQ(e.moves_in_window, 4U);
  EXPECT_EQ(f.tracker.stats().flaps, 1U);
  EXPECT_EQ(f.tracker.stats().damped_moves, 36U);
  EXPECT_EQ(f.tracker.stats().pending_moves, 0U);
}

TEST(Tracker, ReportsMovesWhoseWindowClosedBeforeTheStationStartedFlapping) {
  Fixture f;  // bounces every 3 s: moves at 3, 6, 9 are decided before the 4th at 12
  f.feed.frame(kT0, kA, kVm);
  for (int i = 1; i <= 4; ++i) f.feed.frame(kT0 + seconds(3 * i), i % 2 ? kB : kA, kVm);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 4U);
  EXPECT_EQ(f.sink.of(EventKind::silent_move).size(), 3U);
  EXPECT_EQ(f.sink.events.back().kind, EventKind::flap);
}

TEST(Tracker, CountsFlapMovesInASlidingWindowNotAChain) {
  Fixture f;  // moves 4 s apart: never 4 within 10 s
  f.feed.frame(kT0, kA, kVm);
  for (int i = 1; i <= 8; ++i) f.feed.frame(kT0 + seconds(4 * i), i % 2 ? kB : kA, kVm);
  f.tracker.finish();
  EXPECT_TRUE(f.sink.of(EventKind::flap).empty());
  EXPECT_EQ(f.sink.of(EventKind::silent_move).size(), 8U);
}

TEST(Tracker, ReportsMovesAgainOnceAFlappingStationHasBeenStillForTheDampingTime) {
  TrackerConfig c;
  c.flap_damping = seconds(30);
  Fixture f(c);
  f.feed.frame(kT0, kA, kVm);
  for (int i = 1; i <= 6; ++i) f.feed.frame(kT0 + milliseconds(500 * i), i % 2 ? kB : kA, kVm);
  // Last bounce at +3 s (on A). Keep talking on A, then move at +34 s: damping has ended.
  for (int s = 4; s <= 33; ++s) f.feed.frame(kT0 + seconds(s), kA, kVm);
  f.feed.frame(kT0 + seconds(34), kB, kVm);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::flap);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::silent_move);
  EXPECT_EQ(f.sink.events[1].time, kT0 + seconds(34));
}

TEST(Tracker, DoesNotReportAStationThatReappearsElsewhereAfterAgingOut) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0 + seconds(301), kB, kVm);
  f.tracker.finish();
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.tracker.stats().stations_aged, 1U);
  EXPECT_EQ(f.tracker.stats().stations, 1U);
}

TEST(Tracker, ForgetsIdleStationsWhenThePacketClockPassesTheIdleTimeout) {
  TrackerConfig c;
  c.idle_timeout = seconds(60);
  c.max_entries = 1000;
  Fixture f(c);
  for (int i = 0; i < 100; ++i) f.feed.frame(kT0, kA, MacAddress::from_u64(0x005056000100ULL + i));
  f.feed.frame(kT0, kA, kVm);
  for (int s = 1; s <= 120; ++s) f.feed.frame(kT0 + seconds(s), kA, kVm);
  EXPECT_EQ(f.tracker.stats().stations, 1U);
  EXPECT_EQ(f.tracker.stats().stations_aged, 100U);
  int seen = 0;
  f.tracker.for_each_station([&](const StationView& v) {
    ++seen;
    EXPECT_EQ(v.key.mac, kVm);
    EXPECT_EQ(v.frames, 121U);
  });
  EXPECT_EQ(seen, 1);
}

TEST(Tracker, AgesStationsAcrossALargeTableOneSliceAtATime) {
  TrackerConfig c;
  c.idle_timeout = seconds(60);
  c.max_entries = 200'000;  // many sweep slices
  Fixture f(c);
  for (int i = 0; i < 500; ++i) f.feed.frame(kT0, kA, MacAddress::from_u64(0x005056100000ULL + i * 7919));
  for (int s = 1; s <= 90; ++s) f.feed.frame(kT0 + seconds(s), kA, kVm);
  EXPECT_EQ(f.tracker.stats().stations_aged, 500U);
  EXPECT_EQ(f.tracker.stats().stations, 1U);
}

TEST(Tracker, SparseTimestampsDoNotMakeEveryFrameScanTheWholeTable) {
  // Frames an hour apart: each one may advance the sweep by one slice only, so this stays fast
  // even with the default million-entry table (a full scan per frame would take minutes).
  Fixture f;
  for (int i = 0; i < 300; ++i) f.feed.frame(kT0 + std::chrono::hours(i), kA, kVm);
  EXPECT_EQ(f.tracker.stats().stations, 1U);
}

TEST(Tracker, RefusesNewStationsAtTheCapReportsTableFullOnceAndStillCatchesMoves) {
  TrackerConfig c;
  c.max_entries = 10;
  Fixture f(c);
  f.feed.frame(kT0, kA, kVm);
  for (int i = 0; i < 50; ++i) f.feed.frame(kT0 + milliseconds(i), kA, MacAddress::from_u64(0x02AA00000000ULL + i));
  EXPECT_EQ(f.tracker.stats().stations, 10U);
  EXPECT_EQ(f.tracker.stats().stations_refused, 41U);
  f.feed.frame(kT0 + seconds(1), kB, kVm);  // the long-lived station is still there
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::table_full);
  EXPECT_EQ(f.sink.events[0].table_entries, 10U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::silent_move);
  EXPECT_EQ(f.sink.events[1].station.mac, kVm);
}

TEST(Tracker, CatchesAMoveOfARestoredStationWithoutReportingItAsNew) {
  Fixture f;
  StationView saved;
  saved.key = StationKey{0, kNlb};
  saved.uplink = kA;
  saved.first_seen = kT0 - seconds(100);
  saved.last_seen = kT0 - seconds(10);
  saved.frames = 1234;
  ASSERT_TRUE(f.tracker.restore(saved));
  f.feed.frame(kT0, kB, kNlb);  // it moved while camwatch was down
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::silent_move);
  EXPECT_EQ(f.sink.events[0].last_seen_on_from, kT0 - seconds(10));
  EXPECT_EQ(f.tracker.stats().stations_restored, 1U);
  EXPECT_EQ(f.tracker.stats().stations_learned, 0U);
}

TEST(Tracker, ReportsUplinkDownAndUpAndAttributesTheMovesThatFollowToTheFailedUplink) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0, kA, kNlb);
  f.tracker.uplink_state(kA, false, kT0 + seconds(1));
  f.feed.rarp(kT0 + seconds(2), kB, kVm);
  f.feed.frame(kT0 + seconds(3), kB, kNlb);
  f.tracker.uplink_state(kA, true, kT0 + seconds(100));
  f.feed.frame(kT0 + seconds(101), kA, kNlb);  // failback: A is up, no failure to attribute
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 5U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::uplink_down);
  EXPECT_EQ(f.sink.events[0].to, kA);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::announced_move);
  EXPECT_EQ(f.sink.events[1].failed_uplink, kA);
  EXPECT_EQ(f.sink.events[2].kind, EventKind::silent_move);
  EXPECT_EQ(f.sink.events[2].failed_uplink, kA);
  EXPECT_EQ(f.sink.events[3].kind, EventKind::uplink_up);
  EXPECT_EQ(f.sink.events[4].kind, EventKind::silent_move);
  EXPECT_EQ(f.sink.events[4].failed_uplink, kNoUplink);
}

TEST(Tracker, KeepsItsTableWhenReconfiguredWithNewWindows) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  TrackerConfig c;
  c.notify_window_after = seconds(5);
  EXPECT_TRUE(f.tracker.reconfigure(c));
  f.feed.frame(kT0 + seconds(1), kB, kVm);
  f.feed.notify(kT0 + seconds(5), kB, kVm, Notification::garp, kVm);  // +4 s: inside the new window
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::announced_move);
  EXPECT_EQ(f.tracker.stats().stations, 1U);
}

TEST(Tracker, StillDecidesAMoveThatWasPendingWhenTheWindowWasLengthened) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0 + seconds(1), kB, kVm);  // pending under the 2 s window
  TrackerConfig c;
  c.notify_window_after = seconds(5);
  ASSERT_TRUE(f.tracker.reconfigure(c));
  f.tracker.advance(kT0 + seconds(4));
  EXPECT_EQ(f.tracker.stats().pending_moves, 0U) << "decided at its own deadline, not stranded";
  EXPECT_EQ(f.tracker.stats().silent_moves, 1U);
  f.tracker.advance(kT0 + seconds(7));  // held as long as the new window, for ordering
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::silent_move);
}

TEST(Tracker, KeepsPacketTimeOrderWhenTheWindowIsShortenedWithMovesPending) {
  TrackerConfig c;
  c.notify_window_after = seconds(10);
  Fixture f(c);
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0, kA, kOther);
  f.feed.frame(kT0 + seconds(1), kB, kVm);  // decided at +11 s
  c.notify_window_after = seconds(1);
  ASSERT_TRUE(f.tracker.reconfigure(c));
  f.feed.frame(kT0 + seconds(2), kB, kOther);  // decided at +3 s
  f.tracker.advance(kT0 + seconds(20));
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[0].station.mac, kVm);
  EXPECT_EQ(f.sink.events[1].station.mac, kOther);
}

TEST(Tracker, ForgetsTheStationsOfARemovedUplinkSoTheyAreNotReportedAsMoves) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0, kA, kNlb);
  f.feed.frame(kT0, kB, kOther);
  EXPECT_EQ(f.tracker.forget_uplink(kA), 2U);
  f.feed.frame(kT0 + seconds(1), kB, kVm);
  f.tracker.finish();
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.tracker.stats().stations, 2U);
}

TEST(Tracker, IgnoresFramesWithImpossibleTimestampsInsteadOfOverflowing) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(PacketTime(std::chrono::nanoseconds(9'000'000'000'000'000'000LL)), kB, kVm);
  f.feed.frame(PacketTime(std::chrono::nanoseconds(-5)), kB, kVm);
  f.tracker.finish();
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.tracker.stats().ignored_sources, 2U);
}

TEST(Tracker, RefusesToResizeItsTableWhenReconfigured) {
  Fixture f;
  TrackerConfig c;
  c.max_entries = 5;
  c.flap_moves = 9;
  EXPECT_FALSE(f.tracker.reconfigure(c));
  EXPECT_EQ(f.tracker.config().flap_moves, 4U) << "nothing applied";
  c.max_entries = f.tracker.config().max_entries;
  c.flap_moves = 1;
  EXPECT_THROW(f.tracker.reconfigure(c), std::invalid_argument);
}

TEST(Tracker, CountsNotificationsByKindAndNlbHeartbeats) {
  Fixture f;
  f.feed.rarp(kT0, kA, kVm);
  f.feed.notify(kT0, kA, kOther, Notification::garp, kOther);
  f.feed.notify(kT0, kA, kOther, Notification::unsolicited_na, kOther);
  Observation hb;
  hb.time = kT0;
  hb.uplink = kA;
  hb.source = kNlb;
  hb.flags = static_cast<std::uint8_t>(ObservationFlag::nlb_heartbeat);
  f.tracker.observe(hb);
  const auto& s = f.tracker.stats();
  EXPECT_EQ(s.notifications[static_cast<int>(Notification::rarp)], 1U);
  EXPECT_EQ(s.notifications[static_cast<int>(Notification::garp)], 1U);
  EXPECT_EQ(s.notifications[static_cast<int>(Notification::unsolicited_na)], 1U);
  EXPECT_EQ(s.nlb_heartbeats, 1U);
}

TEST(Tracker, RejectsConfigurationsItCannotHonour) {
  RecordingSink sink;
  TrackerConfig c;
  c.flap_moves = 1;
  EXPECT_THROW(Tracker(c, sink), std::invalid_argument);
  c = {};
  c.max_entries = 0;
  EXPECT_THROW(Tracker(c, sink), std::invalid_argument);
}

std::vector<std::string> run_random_trace(std::uint32_t seed, std::size_t max_entries) {
  TrackerConfig c;
  c.max_entries = max_entries;
  c.idle_timeout = seconds(20);
  Fixture f(c);
  std::mt19937 rng(seed);
  PacketTime t = kT0;
  for (int i = 0; i < 20000; ++i) {
    t += microseconds(rng() % 20000);
    Observation o;
    o.time = t;
    o.uplink = static_cast<UplinkId>(rng() % 3);
    o.source = MacAddress::from_u64(0x005056000000ULL + rng() % 300);
    o.vlan = static_cast<VlanId>(rng() % 2);
    if (rng() % 50 == 0) {
      o.notification = static_cast<Notification>(1 + rng() % 3);
      o.notified = MacAddress::from_u64(0x005056000000ULL + rng() % 300);
    }
    f.tracker.observe(o);
  }
  f.tracker.finish();
  std::vector<std::string> out;
  PacketTime last{};
  for (const Event& e : f.sink.events) {
    EXPECT_GE(e.time, last) << "events must come in packet-time order";
    last = e.time;
    out.push_back(std::string(to_string(e.kind)) + e.station.mac.to_string() + std::to_string(e.time.time_since_epoch().count()));
  }
  EXPECT_EQ(f.tracker.stats().pending_moves, 0U);
  EXPECT_LE(f.tracker.stats().stations, max_entries);
  return out;
}

TEST(Tracker, GivesTheSameEventsForTheSameFramesEveryRun) {
  auto first = run_random_trace(7, 1000);
  auto second = run_random_trace(7, 1000);
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, second);
}

TEST(Tracker, StaysWithinItsCapAndOrderUnderRandomTraffic) {
  for (std::uint32_t seed = 1; seed <= 5; ++seed) run_random_trace(seed, 64);
}

}  // namespace
}  // namespace camwatch::cam
