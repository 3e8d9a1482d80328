#include "cam/tracker.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "station_table.h"  // cam/src: the slot layout is part of the memory budget

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

// Failover stories are kept apart: the move tests check `events` exactly, and a scenario whose
// old uplink falls silent after a move is also (correctly) a one-station failover story.
class RecordingSink : public EventSink {
 public:
  void on_event(const Event& e) override {
    ASSERT_TRUE(e.time >= last_time) << "events must come in packet-time order";
    last_time = e.time;
    (e.kind == EventKind::failover ? stories : events).push_back(e);
  }
  PacketTime last_time{};
  std::vector<Event> events;
  std::vector<Event> stories;
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
  // A Windows NLB heartbeat (ethertype 0x886F) sent by `m`.
  void heartbeat(PacketTime t, UplinkId uplink, MacAddress m, VlanId vlan = 0) {
    Observation o;
    o.time = t;
    o.uplink = uplink;
    o.source = m;
    o.vlan = vlan;
    o.flags = static_cast<std::uint8_t>(ObservationFlag::nlb_heartbeat);
    tracker_.observe(o);
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

std::vector<StationView> all_stations(const Tracker& tracker) {
  std::vector<StationView> out;
  tracker.for_each_station([&](const StationView& v) { out.push_back(v); });
  return out;
}

// The station (vlan, m), or a view with kNoUplink when the table does not hold it.
StationView station(const Tracker& tracker, MacAddress m, VlanId vlan = 0) {
  StationView found;
  tracker.for_each_station([&](const StationView& v) {
    if (v.key == StationKey{vlan, m}) found = v;
  });
  return found;
}

// The gauge must equal what the table holds, whatever happened to it.
void expect_nlb_gauge_exact(const Tracker& tracker) {
  std::uint64_t flagged = 0;
  for (const StationView& v : all_stations(tracker)) flagged += v.nlb_host ? 1 : 0;
  EXPECT_EQ(tracker.stats().nlb_hosts, flagged);
}

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
    EXPECT_EQ(v.first_seen, kT0);
    EXPECT_EQ(v.last_seen, kT0 + seconds(120));
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
  c.probation = seconds(0);  // every station established at once: a full table has nothing to give up
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
  saved.moves = 3;
  ASSERT_TRUE(f.tracker.restore(saved));
  f.feed.frame(kT0, kB, kNlb);  // it moved while camwatch was down
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::silent_move);
  EXPECT_EQ(f.sink.events[0].last_seen_on_from, kT0 - seconds(10));
  const StationView v = station(f.tracker, kNlb);
  EXPECT_EQ(v.moves, 4U) << "the restored count goes on";
  EXPECT_EQ(v.last_move, kT0);
  EXPECT_EQ(v.first_seen, kT0 - seconds(100));
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

// ---- what the table shows per station (`camwatch table`) ----

TEST(Tracker, SlotStaysThirtyTwoBytesWithTheDisplayFields) {
  static_assert(sizeof(detail::Slot) == 32);
  EXPECT_EQ(sizeof(detail::Slot), 32U);
  // The fields the brief fixes, in this order: nothing was widened behind the assert's back.
  EXPECT_EQ(offsetof(detail::Slot, last_seen_ns), 8U);
  EXPECT_EQ(offsetof(detail::Slot, first_seen_s), 16U);
  EXPECT_EQ(offsetof(detail::Slot, last_move_s), 20U);
  EXPECT_EQ(offsetof(detail::Slot, notify_s), 24U);
  EXPECT_EQ(offsetof(detail::Slot, uplink), 28U);
  EXPECT_EQ(offsetof(detail::Slot, flags), 30U);
  EXPECT_EQ(offsetof(detail::Slot, moves), 31U);
  // <= 64 bytes per station at 1M stations, with the table's headroom (60 at load 8/15).
  EXPECT_LE(detail::StationTable::capacity_for(1'000'000) * sizeof(detail::Slot), 64U * 1'000'000);
  // Every notification kind fits the two flag bits and leaves the other flags alone.
  for (int k = 0; k < kNotificationKinds; ++k) {
    const auto kind = static_cast<Notification>(k);
    const std::uint8_t others = detail::kSlotHasMobility | detail::kSlotNlbHost;
    const std::uint8_t flags = detail::with_slot_notification(others, kind);
    EXPECT_EQ(detail::slot_notification(flags), kind);
    EXPECT_EQ(flags & others, others);
    EXPECT_EQ(detail::slot_notification(detail::with_slot_notification(flags, Notification::none)), Notification::none);
  }
}

TEST(Tracker, ShowsTheLastMoveLongAfterTheFlapWindowAndTheMoveBookkeepingAreGone) {
  TrackerConfig c;
  c.max_entries = 1000;  // one sweep slice: the mobility records are collected within seconds
  Fixture f(c);
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0 + milliseconds(5250), kB, kVm);
  f.feed.frame(kT0 + seconds(9), kA, kVm);  // and back
  // Talk on A for 250 s: far past flap_window (10 s), inside idle_timeout (300 s), and past
  // several sweep passes (one every 37.5 s), each of which drops mobility records gone quiet.
  for (int s = 10; s <= 260; s += 2) f.feed.frame(kT0 + seconds(s), kA, kVm);
  f.tracker.finish();
  ASSERT_EQ(f.sink.of(EventKind::silent_move).size(), 2U);
  const StationView v = station(f.tracker, kVm);
  EXPECT_EQ(v.uplink, kA);
  EXPECT_EQ(v.moves, 2U);
  EXPECT_EQ(v.last_move, kT0 + seconds(9));
  EXPECT_EQ(v.first_seen, kT0);
  EXPECT_EQ(v.last_seen, kT0 + seconds(260));
  EXPECT_EQ(v.notification, Notification::none);
  EXPECT_EQ(v.last_notification, PacketTime{});
}

TEST(Tracker, ShowsLastMoveWithSecondPrecisionAndNeverForAStationThatDidNotMove) {
  Fixture f;
  f.feed.frame(kT0 + milliseconds(400), kA, kVm);
  f.feed.frame(kT0, kA, kOther);
  f.feed.frame(kT0 + milliseconds(1999), kB, kVm);
  const StationView moved = station(f.tracker, kVm);
  EXPECT_EQ(moved.first_seen, kT0) << "first_seen is whole seconds";
  EXPECT_EQ(moved.last_seen, kT0 + milliseconds(1999)) << "last_seen keeps its nanoseconds";
  EXPECT_EQ(moved.last_move, kT0 + seconds(1));
  const StationView still = station(f.tracker, kOther);
  EXPECT_EQ(still.moves, 0U);
  EXPECT_EQ(still.last_move, PacketTime{});
}

TEST(Tracker, ShowsTheLastMoveOfAFlappingStationIncludingDampedMoves) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  for (int i = 1; i <= 12; ++i) f.feed.frame(kT0 + seconds(i), i % 2 ? kB : kA, kVm);
  f.tracker.finish();
  ASSERT_EQ(f.sink.of(EventKind::flap).size(), 1U);
  EXPECT_EQ(f.tracker.stats().damped_moves, 8U);
  const StationView v = station(f.tracker, kVm);
  EXPECT_EQ(v.moves, 12U);
  EXPECT_EQ(v.last_move, kT0 + seconds(12)) << "the last move was damped, and still shows";
}

TEST(Tracker, ForgetsTheLastMoveWhenAStationAgesOutAndIsLearnedAgain) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0 + seconds(1), kB, kVm);
  f.feed.notify(kT0 + seconds(2), kB, kVm, Notification::garp, kVm);
  f.feed.frame(kT0 + seconds(400), kA, kVm);  // idle 399 s: a new station
  const StationView v = station(f.tracker, kVm);
  EXPECT_EQ(v.first_seen, kT0 + seconds(400));
  EXPECT_EQ(v.moves, 0U);
  EXPECT_EQ(v.last_move, PacketTime{});
  EXPECT_EQ(v.notification, Notification::none);
  EXPECT_EQ(v.last_notification, PacketTime{});
}

TEST(Tracker, ShowsANotificationTheStationSentOnItsOwnUplink) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.notify(kT0 + milliseconds(1250), kA, kVm, Notification::garp, kVm);
  f.tracker.finish();
  EXPECT_TRUE(f.sink.events.empty()) << "a notification where the station already is announces nothing";
  const StationView v = station(f.tracker, kVm);
  EXPECT_EQ(v.notification, Notification::garp);
  EXPECT_EQ(v.last_notification, kT0 + seconds(1));
  EXPECT_EQ(v.uplink, kA);
  EXPECT_EQ(v.moves, 0U);
}

TEST(Tracker, ShowsANotificationOnAnotherUplinkOnTheAnnouncedStationNotTheSender) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm);
  f.feed.frame(kT0, kB, kOther);
  // kOther (a bond's active slave) announces kVm on B; kVm itself has not moved (yet).
  f.feed.notify(kT0 + seconds(2), kB, kOther, Notification::unsolicited_na, kVm);
  StationView vm = station(f.tracker, kVm);
  EXPECT_EQ(vm.notification, Notification::unsolicited_na);
  EXPECT_EQ(vm.last_notification, kT0 + seconds(2));
  EXPECT_EQ(vm.uplink, kA);
  const StationView sender = station(f.tracker, kOther);
  EXPECT_EQ(sender.notification, Notification::none);
  EXPECT_EQ(sender.last_notification, PacketTime{});

  // The move that follows is still announced by it, exactly as before.
  f.feed.frame(kT0 + seconds(2) + milliseconds(500), kB, kVm);
  // A later notification replaces the shown one; an older one arriving late does not.
  f.feed.rarp(kT0 + seconds(30), kB, kVm);
  f.feed.notify(kT0 + seconds(20), kB, kOther, Notification::garp, kVm);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::announced_move);
  EXPECT_EQ(f.sink.events[0].notification, Notification::unsolicited_na);
  vm = station(f.tracker, kVm);
  EXPECT_EQ(vm.notification, Notification::rarp);
  EXPECT_EQ(vm.last_notification, kT0 + seconds(30));
  EXPECT_EQ(vm.last_move, kT0 + seconds(2));
}

TEST(Tracker, ShowsTheRarpOfAStationWhoseFirstFrameIsThatRarp) {
  Fixture f;
  f.feed.rarp(kT0 + milliseconds(700), kA, kVm, 12);
  f.tracker.finish();
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.tracker.stats().stations_learned, 1U);
  const StationView v = station(f.tracker, kVm, 12);
  EXPECT_EQ(v.uplink, kA);
  EXPECT_EQ(v.notification, Notification::rarp);
  EXPECT_EQ(v.last_notification, kT0);
  EXPECT_EQ(v.first_seen, kT0);
}

TEST(Tracker, ShowsNoNotificationForAStationNotInTheTableOrOnAnotherVlan) {
  Fixture f;
  f.feed.frame(kT0, kA, kVm, 30);
  f.feed.notify(kT0 + seconds(1), kB, kOther, Notification::garp, kNlb);  // kNlb is unknown
  f.feed.notify(kT0 + seconds(1), kB, kVm, Notification::garp, kVm, 31);  // kVm on VLAN 31
  EXPECT_EQ(station(f.tracker, kNlb).uplink, kNoUplink) << "a notification does not learn the station it names";
  EXPECT_EQ(station(f.tracker, kVm, 30).notification, Notification::none);
  EXPECT_EQ(station(f.tracker, kVm, 31).notification, Notification::garp);
  EXPECT_EQ(station(f.tracker, kOther).notification, Notification::none);
  EXPECT_EQ(f.tracker.stats().stations, 3U);
}

TEST(Tracker, SaturatesDisplaySecondsInsteadOfWrapping) {
  // 4.5e9 s is in 2112: later than a u32 of seconds can hold, earlier than the tracker's limit.
  const PacketTime late = PacketTime(seconds(4'500'000'000LL));
  const PacketTime u32_max = PacketTime(seconds(std::numeric_limits<std::uint32_t>::max()));
  Fixture f;
  f.feed.frame(late, kA, kVm);
  f.feed.rarp(late + seconds(1), kB, kVm);
  const StationView v = station(f.tracker, kVm);
  EXPECT_EQ(v.first_seen, u32_max);
  EXPECT_EQ(v.last_move, u32_max);
  EXPECT_EQ(v.last_notification, u32_max);
  EXPECT_EQ(v.last_seen, late + seconds(1));

  // In 1970's first second a move or notification still shows (as 1 s), never as "none".
  Fixture early;
  early.feed.frame(PacketTime(milliseconds(100)), kA, kVm);
  early.feed.rarp(PacketTime(milliseconds(200)), kB, kVm);
  const StationView e = station(early.tracker, kVm);
  EXPECT_EQ(e.first_seen, PacketTime{});
  EXPECT_EQ(e.last_move, PacketTime(seconds(1)));
  EXPECT_EQ(e.notification, Notification::rarp);
  EXPECT_EQ(e.last_notification, PacketTime(seconds(1)));
}

TEST(Tracker, FlagsNlbHostsAndKeepsTheGaugeExactAsTheyMoveAndAgeOut) {
  TrackerConfig c;
  c.idle_timeout = seconds(60);
  c.max_entries = 100;  // one sweep slice; a sweep every 7.5 s of packet time, when a frame comes
  Fixture f(c);
  f.feed.heartbeat(kT0, kA, kNlb);  // starts the sweep schedule: next sweep at +7.5 s
  f.feed.heartbeat(kT0 + seconds(1), kA, kNlb);
  f.feed.frame(kT0 + seconds(1), kA, kVm);
  EXPECT_EQ(f.tracker.stats().nlb_heartbeats, 2U);
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 1U) << "one host, however many heartbeats";
  EXPECT_TRUE(station(f.tracker, kNlb).nlb_host);
  EXPECT_FALSE(station(f.tracker, kVm).nlb_host);

  f.feed.frame(kT0 + seconds(2), kB, kNlb);  // moves: still the same NLB host
  EXPECT_TRUE(station(f.tracker, kNlb).nlb_host);
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 1U);

  // A sweep at +60.5 s finds nobody idle yet; the next is due at +68 s. kNlb's ordinary frame
  // at +63 s (61 s after its last) is therefore aged by the lookup itself and learned anew.
  f.feed.frame(kT0 + milliseconds(60'500), kA, kOther);
  f.feed.frame(kT0 + seconds(63), kB, kNlb);
  EXPECT_EQ(f.tracker.stats().stations_aged, 1U);
  EXPECT_EQ(f.tracker.stats().stations, 3U) << "kVm is idle too, but no sweep has come by: the lazy path ran";
  EXPECT_FALSE(station(f.tracker, kNlb).nlb_host);
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 0U);
  expect_nlb_gauge_exact(f.tracker);

  // The same, re-learned by a heartbeat: flagged again, counted once. (The sweep at +122 s
  // removes kVm and kOther; kNlb, heard at +63 s, is not idle then.)
  f.feed.frame(kT0 + seconds(122), kA, kOther);
  f.feed.heartbeat(kT0 + seconds(124), kB, kNlb);
  EXPECT_EQ(f.tracker.stats().stations_aged, 4U);
  EXPECT_TRUE(station(f.tracker, kNlb).nlb_host);
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 1U);
  expect_nlb_gauge_exact(f.tracker);

  // The sweep removes it when the clock passes its idle_timeout with no frame of its own.
  for (int s = 125; s <= 200; ++s) f.feed.frame(kT0 + seconds(s), kA, kOther);
  EXPECT_EQ(station(f.tracker, kNlb).uplink, kNoUplink);
  EXPECT_EQ(f.tracker.stats().stations, 1U);
  EXPECT_EQ(f.tracker.stats().stations_aged, 5U);
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 0U);
  expect_nlb_gauge_exact(f.tracker);
}

TEST(Tracker, CountsNoNlbHostTheFullTableRefused) {
  TrackerConfig c;
  c.max_entries = 2;
  c.probation = seconds(0);  // kVm is established: the full table refuses kOther
  Fixture f(c);
  f.feed.heartbeat(kT0, kA, kNlb);
  f.feed.frame(kT0, kA, kVm);
  f.feed.heartbeat(kT0 + seconds(1), kA, kOther);  // table full: not learned
  f.feed.heartbeat(kT0 + seconds(2), kA, kOther);
  EXPECT_EQ(f.tracker.stats().stations_refused, 2U);
  EXPECT_EQ(f.tracker.stats().nlb_heartbeats, 3U);
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 1U);
  f.feed.heartbeat(kT0 + seconds(3), kA, kVm);  // a learned station may still become one
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 2U);
  expect_nlb_gauge_exact(f.tracker);
}

TEST(Tracker, CountsStationsOfARemovedUplinkAsEvictedAndUnflagsTheirNlbHosts) {
  Fixture f;
  f.feed.heartbeat(kT0, kA, kNlb);
  f.feed.frame(kT0, kA, kVm);
  f.feed.heartbeat(kT0, kB, kOther);
  ASSERT_EQ(f.tracker.stats().nlb_hosts, 2U);
  EXPECT_EQ(f.tracker.forget_uplink(kA), 2U);
  EXPECT_EQ(f.tracker.stats().stations_evicted, 2U);
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 1U);
  EXPECT_EQ(f.tracker.forget_uplink(kA), 0U);
  EXPECT_EQ(f.tracker.forget_uplink(kB), 1U);
  EXPECT_EQ(f.tracker.stats().stations_evicted, 3U);
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 0U);
  EXPECT_EQ(f.tracker.stats().stations, 0U);
  EXPECT_EQ(f.tracker.stats().stations_aged, 0U) << "evicted is not aged";
}

TEST(Tracker, RestoresEveryDisplayFieldAndKeepsTheNlbGaugeExact) {
  TrackerConfig c;
  c.max_entries = 2;
  Fixture f(c);
  StationView nlb;
  nlb.key = StationKey{7, kNlb};
  nlb.uplink = kB;
  nlb.first_seen = kT0 - seconds(100);
  nlb.last_seen = kT0 - seconds(10) + nanoseconds(5);
  nlb.moves = 300;  // saturates in the slot
  nlb.last_move = kT0 - seconds(50);
  nlb.last_notification = kT0 - seconds(49);
  nlb.notification = Notification::unsolicited_na;
  nlb.nlb_host = true;
  ASSERT_TRUE(f.tracker.restore(nlb));
  StationView vm;
  vm.key = StationKey{0, kVm};
  vm.uplink = kA;
  vm.first_seen = kT0 - seconds(5) + milliseconds(900);
  vm.last_seen = kT0 - seconds(1);
  vm.notification = Notification::garp;  // a kind without a time is no notification
  ASSERT_TRUE(f.tracker.restore(vm));
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 1U);

  StationView other = vm;
  other.key = StationKey{0, kOther};
  other.nlb_host = true;
  EXPECT_FALSE(f.tracker.restore(other)) << "table full";
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 1U);

  const StationView a = station(f.tracker, kNlb, 7);
  EXPECT_EQ(a.uplink, kB);
  EXPECT_EQ(a.first_seen, kT0 - seconds(100));
  EXPECT_EQ(a.last_seen, kT0 - seconds(10) + nanoseconds(5));
  EXPECT_EQ(a.moves, 255U);
  EXPECT_EQ(a.last_move, kT0 - seconds(50));
  EXPECT_EQ(a.last_notification, kT0 - seconds(49));
  EXPECT_EQ(a.notification, Notification::unsolicited_na);
  EXPECT_TRUE(a.nlb_host);
  const StationView b = station(f.tracker, kVm);
  EXPECT_EQ(b.first_seen, kT0 - seconds(5)) << "rounded down to seconds";
  EXPECT_EQ(b.notification, Notification::none);
  EXPECT_EQ(b.last_notification, PacketTime{});
  EXPECT_EQ(b.last_move, PacketTime{});
  EXPECT_FALSE(b.nlb_host);

  // Restoring a station again replaces it, and the gauge follows the flag both ways.
  nlb.nlb_host = false;
  ASSERT_TRUE(f.tracker.restore(nlb));
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 0U);
  vm.nlb_host = true;
  ASSERT_TRUE(f.tracker.restore(vm));
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 1U);
  EXPECT_EQ(f.tracker.stats().stations_restored, 2U);
  expect_nlb_gauge_exact(f.tracker);

  // A restored NLB host that ages out takes its flag with it.
  f.feed.frame(kT0 + seconds(400), kA, kVm);
  EXPECT_FALSE(station(f.tracker, kVm).nlb_host);
  EXPECT_EQ(f.tracker.stats().nlb_hosts, 0U);
}

// ---- a full table under a MAC flood ----

// `n` stations on uplink A, each heard at `t` and again after the probation: established.
std::vector<MacAddress> establish(Feed& feed, PacketTime t, std::size_t n, Duration probation) {
  std::vector<MacAddress> macs;
  for (std::size_t i = 0; i < n; ++i) macs.push_back(MacAddress::from_u64(0x00505600A000ULL + i));
  for (const MacAddress& m : macs) feed.frame(t, kA, m);
  for (const MacAddress& m : macs) feed.frame(t + probation + seconds(1), kA, m);
  return macs;
}

// A macof-style flood: frame i from a new random unicast MAC, one microsecond apart.
struct Flood {
  std::mt19937_64 rng{20121205};
  MacAddress next() { return MacAddress::from_u64((rng() & 0xFEFF'FFFF'FFFFULL) | 0x0200'0000'0000ULL); }
};

TEST(Tracker, AFloodOfRandomMacsNeverPushesOutEstablishedStations) {
  TrackerConfig c;
  c.max_entries = 1000;
  Fixture f(c);
  const std::vector<MacAddress> known = establish(f.feed, kT0, 600, c.probation);
  const PacketTime start = kT0 + c.probation + seconds(2);
  Flood flood;
  for (int i = 0; i < 100'000; ++i) f.feed.frame(start + microseconds(i), kA, flood.next());
  const TrackerStats& s = f.tracker.stats();
  EXPECT_EQ(s.stations, 1000U);
  for (const MacAddress& m : known) EXPECT_EQ(station(f.tracker, m).uplink, kA) << m.to_string();
  // The flood churns through the 400 probationary slots: every flood frame after the table
  // filled is learned in place of an earlier one.
  EXPECT_EQ(s.stations_learned, 600U + 400U + s.stations_replaced);
  EXPECT_EQ(s.stations_replaced, 100'000U - 400U);
  EXPECT_EQ(s.stations_refused, 0U);
  f.tracker.finish();
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::table_full) << "one event per fill";
}

TEST(Tracker, CatchesASilentMoveOfAnEstablishedStationDuringAFlood) {
  TrackerConfig c;
  c.max_entries = 1000;
  Fixture f(c);
  const std::vector<MacAddress> known = establish(f.feed, kT0, 600, c.probation);
  const PacketTime start = kT0 + c.probation + seconds(2);
  Flood flood;
  for (int i = 0; i < 200'000; ++i) {
    const PacketTime t = start + microseconds(i);
    f.feed.frame(t, kA, flood.next());
    if (i == 100'000) f.feed.frame(t, kB, known[123]);  // moved, no notification
  }
  f.tracker.finish();
  const std::vector<Event> silent = f.sink.of(EventKind::silent_move);
  ASSERT_EQ(silent.size(), 1U);
  EXPECT_EQ(silent[0].station.mac, known[123]);
  EXPECT_EQ(silent[0].from, kA);
  EXPECT_EQ(silent[0].to, kB);
}

TEST(Tracker, LearnsARealNewStationDuringAFloodAndCatchesItsMoveLater) {
  TrackerConfig c;
  c.max_entries = 1000;
  Fixture f(c);
  establish(f.feed, kT0, 600, c.probation);
  const PacketTime start = kT0 + c.probation + seconds(2);
  const MacAddress newcomer = mac("00:50:56:12:34:56");
  Flood flood;
  // 30 s of flood at 100k frames/s; the newcomer talks every 1 ms (every 100 flood frames),
  // well within the ~400 flood frames a heard-once slot lasts here.
  for (int i = 0; i < 3'000'000; ++i) {
    const PacketTime t = start + microseconds(10 * i);
    f.feed.frame(t, kA, flood.next());
    if (i % 100 == 50) f.feed.frame(t, kA, newcomer);
  }
  const StationView v = station(f.tracker, newcomer);
  ASSERT_EQ(v.uplink, kA) << "learned during the flood";
  EXPECT_EQ(v.first_seen, PacketTime(std::chrono::duration_cast<seconds>((start + microseconds(500)).time_since_epoch())))
      << "kept from its first frame on: never displaced by the flood";
  // Heard over more than the probation: established, its silent move is caught like any other.
  f.feed.frame(start + seconds(31), kB, newcomer);
  f.tracker.finish();
  const std::vector<Event> silent = f.sink.of(EventKind::silent_move);
  ASSERT_EQ(silent.size(), 1U);
  EXPECT_EQ(silent[0].station.mac, newcomer);
}

TEST(Tracker, AFullTableReclaimsAgedOutStationsBeforeTheSweepReachesThem) {
  TrackerConfig c;
  c.max_entries = 200'000;  // 46 sweep slices: the first frames after a pause sweep 4 of them each
  c.probation = seconds(0);  // everything established: only aging can make room
  Fixture f(c);
  for (std::uint64_t i = 0; i < c.max_entries; ++i) f.feed.frame(kT0, kA, MacAddress::from_u64(0x00505A000000ULL + i));
  ASSERT_EQ(f.tracker.stats().stations, c.max_entries);
  // 400 s later every station is idle past 300 s; the sweep has not been through the table.
  for (std::uint64_t i = 0; i < 20; ++i) f.feed.frame(kT0 + seconds(400), kB, MacAddress::from_u64(0x00505B000000ULL + i));
  EXPECT_EQ(f.tracker.stats().stations_refused, 0U);
  EXPECT_EQ(f.tracker.stats().stations_replaced, 0U) << "aged out, not replaced";
  EXPECT_EQ(station(f.tracker, MacAddress::from_u64(0x00505B000000ULL)).uplink, kB);
}

enum class Feeding : std::uint8_t { one_by_one, batches };

std::vector<std::string> run_random_trace(std::uint32_t seed, std::size_t max_entries,
                                          Feeding feeding = Feeding::one_by_one, Duration probation = seconds(10)) {
  TrackerConfig c;
  c.max_entries = max_entries;
  c.idle_timeout = seconds(20);
  c.probation = probation;
  c.hash_seed = 0x5eed;  // runs compared with each other share the table's layout
  Fixture f(c);
  std::mt19937 rng(seed);
  std::mt19937 batch_rng(seed + 1000);  // batch sizes: their own stream, the trace stays as it was
  std::vector<Observation> batch;
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
    // Every 7th MAC is an NLB host sending a heartbeat now and then (no extra draws from rng:
    // the traces stay what they were).
    if (o.source.to_u64() % 7 == 0 && i % 5 == 0) o.flags = static_cast<std::uint8_t>(ObservationFlag::nlb_heartbeat);
    if (feeding == Feeding::one_by_one) {
      f.tracker.observe(o);
      continue;
    }
    batch.push_back(o);
    if (batch_rng() % 40 == 0) {
      f.tracker.observe(batch);
      batch.clear();
    }
  }
  f.tracker.observe(batch);
  f.tracker.finish();
  // The display fields stay consistent through aging, refusals and moves.
  expect_nlb_gauge_exact(f.tracker);
  for (const StationView& v : all_stations(f.tracker)) {
    EXPECT_EQ(v.moves > 0, v.last_move != PacketTime{}) << v.key.mac.to_string();
    EXPECT_EQ(v.notification != Notification::none, v.last_notification != PacketTime{}) << v.key.mac.to_string();
    EXPECT_LE(v.first_seen, v.last_seen);
    EXPECT_LE(v.last_move, v.last_seen);
  }
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

TEST(Tracker, GivesTheSameEventsInBatchesAsOneByOne) {
  for (std::uint32_t seed = 1; seed <= 3; ++seed) {
    for (std::size_t cap : {std::size_t{64}, std::size_t{1000}}) {
      for (Duration probation : {Duration(seconds(0)), Duration(seconds(2))}) {
        const auto one = run_random_trace(seed, cap, Feeding::one_by_one, probation);
        EXPECT_FALSE(one.empty());
        EXPECT_EQ(one, run_random_trace(seed, cap, Feeding::batches, probation)) << seed << " " << cap;
      }
    }
  }
}

TEST(Tracker, StaysWithinItsCapAndOrderUnderRandomTraffic) {
  for (std::uint32_t seed = 1; seed <= 5; ++seed) run_random_trace(seed, 64);
}

}  // namespace
}  // namespace camwatch::cam
