// Failover stories (cam/failover.h): moves away from one uplink grouped into one event.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cam/failover.h"
#include "cam/tracker.h"

namespace camwatch::cam {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr UplinkId kA = 0;
constexpr UplinkId kB = 1;
constexpr UplinkId kC = 2;
const PacketTime kT0 = PacketTime(seconds(1'346'305'200));  // 2012-08-30T05:40:00Z

MacAddress station_mac(unsigned n) { return MacAddress::from_u64(0x005056000000ULL + n); }

class Sink : public EventSink {
 public:
  void on_event(const Event& e) override {
    ASSERT_TRUE(e.time >= last) << "events must come in packet-time order";
    last = e.time;
    if (e.kind == EventKind::failover) stories.push_back(e);
  }
  PacketTime last{};
  std::vector<Event> stories;
};

// Frames are collected, then fed in packet-time order (stable: ties keep the order added), as
// the replay's merge would; link events are interleaved at their time.
struct Scenario {
  explicit Scenario(TrackerConfig c = {}) : tracker(c, sink) {}
  void frame(PacketTime t, UplinkId u, MacAddress m) {
    Observation o;
    o.time = t;
    o.uplink = u;
    o.source = m;
    add(o);
  }
  void rarp(PacketTime t, UplinkId u, MacAddress m) {
    Observation o;
    o.time = t;
    o.uplink = u;
    o.source = m;
    o.notification = Notification::rarp;
    o.notified = m;
    add(o);
  }
  void link_down(PacketTime t, UplinkId u) { inputs.push_back({t, true, u, {}}); }
  // `n` stations chatting on `u` once a second from `from` to `to` (exclusive), first `first`.
  void chat(unsigned first, unsigned n, UplinkId u, PacketTime from, PacketTime to) {
    for (PacketTime t = from; t < to; t += seconds(1))
      for (unsigned i = 0; i < n; ++i) frame(t + milliseconds(i), u, station_mac(first + i));
  }
  void run() {
    std::stable_sort(inputs.begin(), inputs.end(), [](const Input& a, const Input& b) { return a.time < b.time; });
    for (const Input& in : inputs) {
      if (in.link_down) {
        tracker.uplink_state(in.uplink, false, in.time);
      } else {
        tracker.observe(in.obs);
      }
    }
    tracker.finish();
  }

  struct Input {
    PacketTime time;
    bool link_down;
    UplinkId uplink;
    Observation obs;
  };
  void add(const Observation& o) { inputs.push_back({o.time, false, o.uplink, o}); }
  std::vector<Input> inputs;
  Sink sink;
  Tracker tracker;
};

const FailoverStory& story(const Event& e) { return *e.story; }

TEST(Failover, TellsAnUplinkWhoseTrafficStoppedAsOneStoryOfAnnouncedAndSilentMoves) {
  Scenario s;
  s.chat(0, 6, kA, kT0, kT0 + seconds(60));  // six stations on A, silent after 60 s
  s.chat(100, 2, kB, kT0, kT0 + seconds(120));  // B carries other stations throughout
  const PacketTime fail = kT0 + seconds(60) + milliseconds(500);
  for (unsigned i = 0; i < 5; ++i) s.rarp(fail + milliseconds(10 * i), kB, station_mac(i));  // VMs announce
  s.frame(fail + milliseconds(700), kB, station_mac(5));                                     // NLB host does not
  s.chat(0, 6, kB, fail + seconds(1), kT0 + seconds(120));
  s.run();

  ASSERT_EQ(s.sink.stories.size(), 1U);
  const Event& e = s.sink.stories[0];
  EXPECT_EQ(e.from, kA);
  EXPECT_EQ(e.to, kB);
  const FailoverStory& st = story(e);
  EXPECT_EQ(st.cause, FailoverCause::traffic_stopped);
  EXPECT_EQ(st.moved, 6U);
  EXPECT_EQ(st.announced, 5U);
  EXPECT_EQ(st.silent, 1U);
  EXPECT_EQ(st.flapping, 0U);
  EXPECT_EQ(st.started, fail);
  EXPECT_EQ(st.ended, fail + milliseconds(700));
  EXPECT_EQ(e.time, st.ended + seconds(10));  // closed one gap after the last move
  EXPECT_EQ(st.last_frame_on_from, kT0 + seconds(59) + milliseconds(5));
  ASSERT_EQ(st.stations.size(), 6U);
  EXPECT_EQ(st.stations[5].outcome, EventKind::silent_move);
  EXPECT_EQ(st.stations[5].station.mac, station_mac(5));
  EXPECT_EQ(st.stations[5].blackout(), fail + milliseconds(700) - (kT0 + seconds(59) + milliseconds(5)));
  EXPECT_EQ(st.longest_blackout, st.stations[5].blackout());
  EXPECT_EQ(st.stations[0].outcome, EventKind::announced_move);
  EXPECT_EQ(st.stations[0].notification, Notification::rarp);
  EXPECT_EQ(s.tracker.stats().failovers, 1U);
}

TEST(Failover, TellsTheFailbackAsTheReverseOfTheEarlierStory) {
  Scenario s;
  s.chat(0, 4, kA, kT0, kT0 + seconds(30));
  s.chat(100, 1, kB, kT0, kT0 + seconds(200));
  const PacketTime fail = kT0 + seconds(30);
  for (unsigned i = 0; i < 4; ++i) s.rarp(fail + milliseconds(i), kB, station_mac(i));
  s.chat(0, 4, kB, fail + seconds(1), kT0 + seconds(100));
  const PacketTime back = kT0 + seconds(100);
  for (unsigned i = 0; i < 4; ++i) s.rarp(back + milliseconds(i), kA, station_mac(i));
  s.chat(0, 4, kA, back + seconds(1), kT0 + seconds(200));
  s.run();

  ASSERT_EQ(s.sink.stories.size(), 2U);
  EXPECT_EQ(story(s.sink.stories[0]).cause, FailoverCause::traffic_stopped);
  const FailoverStory& fb = story(s.sink.stories[1]);
  EXPECT_EQ(fb.cause, FailoverCause::failback);
  EXPECT_EQ(fb.from, kB);
  EXPECT_EQ(fb.to, kA);
  EXPECT_EQ(fb.failback_of, fail);
  EXPECT_EQ(fb.announced, 4U);
}

TEST(Failover, CallsItAFailbackEvenWhenTheEmptiedUplinkFallsSilent) {
  Scenario s;  // B carries nothing but the moved stations: after the failback it is silent
  s.chat(0, 3, kA, kT0, kT0 + seconds(30));
  for (unsigned i = 0; i < 3; ++i) s.frame(kT0 + seconds(30) + milliseconds(i), kB, station_mac(i));
  s.chat(0, 3, kB, kT0 + seconds(31), kT0 + seconds(90));
  for (unsigned i = 0; i < 3; ++i) s.frame(kT0 + seconds(90) + milliseconds(i), kA, station_mac(i));
  s.chat(0, 3, kA, kT0 + seconds(91), kT0 + seconds(150));
  s.run();
  ASSERT_EQ(s.sink.stories.size(), 2U);
  EXPECT_EQ(story(s.sink.stories[1]).cause, FailoverCause::failback);
  EXPECT_EQ(story(s.sink.stories[1]).silent, 3U);
}

TEST(Failover, AttributesMovesAfterALinkDownToThatLinkEvenWhileItStillDeliversFrames) {
  Scenario s;
  s.chat(0, 3, kA, kT0, kT0 + seconds(20));
  s.chat(50, 2, kA, kT0, kT0 + seconds(60));  // A's other stations keep sending
  s.link_down(kT0 + seconds(20), kA);
  for (unsigned i = 0; i < 3; ++i) s.frame(kT0 + seconds(21) + milliseconds(i), kC, station_mac(i));
  s.run();
  ASSERT_EQ(s.sink.stories.size(), 1U);
  const FailoverStory& st = story(s.sink.stories[0]);
  EXPECT_EQ(st.cause, FailoverCause::link_down);
  EXPECT_EQ(st.link_down_at, kT0 + seconds(20));
  EXPECT_EQ(st.to, kC);
  EXPECT_EQ(st.silent, 3U);
}

TEST(Failover, TellsNoStoryOfAVmotionFromAnUplinkThatKeepsItsTraffic) {
  Scenario s;
  s.chat(0, 5, kA, kT0, kT0 + seconds(60));
  s.frame(kT0 + seconds(10) + milliseconds(500), kB, station_mac(0));  // one VM leaves
  s.chat(0, 1, kB, kT0 + seconds(11), kT0 + seconds(60));
  s.run();
  EXPECT_TRUE(s.sink.stories.empty());
}

TEST(Failover, SplitsMovesFurtherApartThanTheGapIntoSeparateCandidates) {
  TrackerConfig c;
  c.failover.gap = seconds(5);
  Scenario s(c);
  s.chat(0, 2, kA, kT0, kT0 + seconds(10));
  s.frame(kT0 + seconds(10), kB, station_mac(0));
  s.frame(kT0 + seconds(30), kB, station_mac(1));  // 20 s later: a second story
  s.run();
  ASSERT_EQ(s.sink.stories.size(), 2U);
  EXPECT_EQ(story(s.sink.stories[0]).moved, 1U);
  EXPECT_EQ(story(s.sink.stories[1]).moved, 1U);
  EXPECT_EQ(s.sink.stories[0].time, kT0 + seconds(15));
}

TEST(Failover, NeverClosesAStoryBeforeEveryMemberIsDecided) {
  TrackerConfig c;
  c.failover.gap = milliseconds(100);  // shorter than the 2 s notify window: stretched to 3 s
  c.notify_window_after = seconds(2);
  Scenario s(c);
  s.chat(0, 2, kA, kT0, kT0 + seconds(10));
  s.frame(kT0 + seconds(10), kB, station_mac(0));
  s.rarp(kT0 + seconds(11) + milliseconds(900), kB, station_mac(1));
  s.chat(0, 2, kB, kT0 + seconds(12), kT0 + seconds(30));
  s.run();
  ASSERT_EQ(s.sink.stories.size(), 1U);
  const FailoverStory& st = story(s.sink.stories[0]);
  EXPECT_EQ(st.moved, 2U);
  EXPECT_EQ(st.silent + st.announced, 2U);
  EXPECT_EQ(s.sink.stories[0].time, kT0 + seconds(11) + milliseconds(900) + seconds(3));
}

TEST(Failover, CountsAMemberThatStartsFlappingAsFlapping) {
  Scenario s;
  s.chat(0, 2, kA, kT0, kT0 + seconds(10));
  s.chat(100, 1, kB, kT0, kT0 + seconds(60));
  s.frame(kT0 + seconds(10), kB, station_mac(0));
  s.frame(kT0 + seconds(10) + milliseconds(100), kB, station_mac(1));
  // station 1 bounces between B and C: four moves within the flap window
  for (int i = 0; i < 4; ++i)
    s.frame(kT0 + seconds(11) + milliseconds(200 * i), i % 2 == 0 ? kC : kB, station_mac(1));
  s.chat(0, 1, kB, kT0 + seconds(12), kT0 + seconds(60));
  s.run();
  ASSERT_GE(s.sink.stories.size(), 1U);
  const FailoverStory& st = story(s.sink.stories[0]);
  EXPECT_EQ(st.from, kA);
  EXPECT_EQ(st.silent, 1U);
  EXPECT_EQ(st.flapping, 1U);
}

TEST(Failover, FinishClosesAStoryTheInputEndedIn) {
  Scenario s;
  s.chat(0, 3, kA, kT0, kT0 + seconds(10));
  for (unsigned i = 0; i < 3; ++i) s.frame(kT0 + seconds(10) + milliseconds(i), kB, station_mac(i));
  s.run();  // the input ends right after the moves
  ASSERT_EQ(s.sink.stories.size(), 1U);
  EXPECT_EQ(story(s.sink.stories[0]).silent, 3U);
  EXPECT_EQ(s.sink.stories[0].time, kT0 + seconds(10) + milliseconds(2) + seconds(10));
}

TEST(Failover, TellsNoStoriesWhenDisabled) {
  TrackerConfig c;
  c.failover.enabled = false;
  Scenario s(c);
  s.chat(0, 3, kA, kT0, kT0 + seconds(10));
  for (unsigned i = 0; i < 3; ++i) s.frame(kT0 + seconds(10) + milliseconds(i), kB, station_mac(i));
  s.run();
  EXPECT_TRUE(s.sink.stories.empty());
}

TEST(Failover, KeepsTheFirstMembersOfAHugeStoryAndCountsThemAll) {
  Scenario s;
  const unsigned n = static_cast<unsigned>(kMaxStoryStations) + 100;
  for (unsigned i = 0; i < n; ++i) s.frame(kT0 + std::chrono::microseconds(i), kA, station_mac(i));
  const PacketTime fail = kT0 + seconds(5);
  for (unsigned i = 0; i < n; ++i) s.frame(fail + std::chrono::microseconds(i), kB, station_mac(i));
  s.run();
  ASSERT_EQ(s.sink.stories.size(), 1U);
  const FailoverStory& st = story(s.sink.stories[0]);
  EXPECT_EQ(st.moved, n);
  EXPECT_EQ(st.silent, n);
  EXPECT_EQ(st.stations.size(), kMaxStoryStations);
}

}  // namespace
}  // namespace camwatch::cam
