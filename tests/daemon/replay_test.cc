#include "daemon/replay.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testsupport/frame_builder.h"
#include "testsupport/temp_dir.h"

namespace camwatch::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testsupport::FrameBuilder;
using testsupport::ipv4;
using testsupport::mac;

const cam::PacketTime kT0 = testsupport::at_seconds(1'346'305'200);

class Recorder : public cam::EventSink {
 public:
  void on_event(const cam::Event& e) override {
    if (e.kind != cam::EventKind::failover) events.push_back(e);
  }
  std::vector<cam::Event> events;
};

testsupport::Bytes udp_from(cam::MacAddress source) {
  return FrameBuilder().source(source).udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 1000, 53, 20).build();
}

// A station talking every 10 ms on uplink a for 3 s, then on b: a silent move at kT0 + 3 s.
struct MoveFiles {
  testsupport::TempDir dir{"replay"};
  std::string a = dir.path() + "/a.pcap", b = dir.path() + "/b.pcap";
  cam::MacAddress vm = mac("00:50:56:00:00:01");
  MoveFiles() {
    testsupport::PcapWriter wa(a), wb(b);
    for (int ms = 0; ms < 3000; ms += 10) wa.write(kT0 + milliseconds(ms) + std::chrono::microseconds(123), udp_from(vm));
    for (int ms = 3000; ms < 4000; ms += 10) wb.write(kT0 + milliseconds(ms), udp_from(vm));
  }
};

ReplayResult replay(const MoveFiles& f, cam::Duration refresh, Recorder& sink) {
  ReplayOptions options;
  options.refresh = refresh;
  return run_replay({{"a", f.a}, {"b", f.b}}, {}, cam::AnalyzerConfig{}, sink, {}, {}, {}, options);
}

TEST(Replay, RunsEachFileThroughTheRecentlySeenFilterAndStillFindsTheMoveAtItsFrame) {
  MoveFiles files;
  Recorder unfiltered, filtered;
  const ReplayResult all = replay(files, cam::Duration::zero(), unfiltered);
  const ReplayResult some = replay(files, seconds(1), filtered);
  EXPECT_EQ(all.uplinks[0].forwarded, 300U);
  EXPECT_EQ(all.uplinks[0].filtered, 0U);
  EXPECT_EQ(some.uplinks[0].forwarded + some.uplinks[0].filtered, 300U);
  EXPECT_EQ(some.uplinks[0].forwarded, 30U) << "one frame per 100 ms uplink tick";
  EXPECT_EQ(some.uplinks[0].decode.frames, 300U) << "every frame is still decoded and counted";
  ASSERT_EQ(unfiltered.events.size(), 1U);
  ASSERT_EQ(filtered.events.size(), 1U);
  const cam::Event& exact = unfiltered.events[0];
  const cam::Event& coarse = filtered.events[0];
  EXPECT_EQ(coarse.kind, cam::EventKind::silent_move);
  EXPECT_EQ(coarse.time, exact.time) << "the first frame on the new uplink is a first sighting";
  EXPECT_EQ(exact.last_seen_on_from, kT0 + milliseconds(2990) + std::chrono::microseconds(123));
  EXPECT_LE(coarse.last_seen_on_from, exact.last_seen_on_from);
  EXPECT_GT(coarse.last_seen_on_from, exact.last_seen_on_from - seconds(1)) << "early by less than the refresh";
}

TEST(Replay, MergesFilesInRunsAndKeepsCommandLineOrderOnEqualTimes) {
  testsupport::TempDir dir("replay");
  const std::string a = dir.path() + "/a.pcap", b = dir.path() + "/b.pcap";
  const cam::MacAddress vm = mac("00:50:56:00:00:01");
  {
    testsupport::PcapWriter wa(a), wb(b);
    // vm on a at 0..9 s; at 10 s the same frame time on both files: a's goes first, so vm
    // moves to b at 10 s (the tie), and back to a at 11 s.
    for (int s = 0; s <= 10; ++s) wa.write(kT0 + seconds(s), udp_from(vm));
    wb.write(kT0 + seconds(10), udp_from(vm));
    wa.write(kT0 + seconds(11), udp_from(vm));
  }
  Recorder sink;
  ReplayOptions options;
  options.refresh = cam::Duration::zero();
  run_replay({{"a", a}, {"b", b}}, {}, cam::AnalyzerConfig{}, sink, {}, {}, {}, options);
  ASSERT_EQ(sink.events.size(), 2U);
  EXPECT_EQ(sink.events[0].time, kT0 + seconds(10));
  EXPECT_EQ(sink.events[0].from, 0);
  EXPECT_EQ(sink.events[0].to, 1);
  EXPECT_EQ(sink.events[1].time, kT0 + seconds(11));
  EXPECT_EQ(sink.events[1].to, 0);
}

}  // namespace
}  // namespace camwatch::daemon
