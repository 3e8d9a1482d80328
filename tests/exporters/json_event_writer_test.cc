#include "exporters/json_event_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "cam/failover.h"
#include "testsupport/scoped_mount.h"
#include "testsupport/temp_dir.h"

namespace camwatch::exporters {
namespace {

using std::chrono::microseconds;
using std::chrono::seconds;

cam::PacketTime at(std::int64_t s, std::int64_t us = 0) { return cam::PacketTime(seconds(s) + microseconds(us)); }

const std::vector<std::string> kNames = {"vmnic2", "vmnic3"};

cam::Event silent_move() {
  cam::Event e;
  e.kind = cam::EventKind::silent_move;
  e.time = at(1346305327, 559886);
  e.station = cam::StationKey{0, cam::MacAddress::from_u64(0x02010A001464ULL)};
  e.from = 0;
  e.to = 1;
  e.last_seen_on_from = at(1346305326, 1);
  return e;
}

TEST(JsonEvent, WritesTheSpecKeysForASilentMove) {
  EXPECT_EQ(format_event_json(silent_move(), kNames, {}),
            R"({"event":"silent_move","time":"2012-08-30T05:42:07.559886Z","mac":"02:01:0a:00:14:64","vlan":0,)"
            R"("from":"vmnic2","to":"vmnic3","last_seen_on_from":"2012-08-30T05:42:06.000001Z"})");
}

TEST(JsonEvent, AddsNotificationKindAndTimeToAnAnnouncedMove) {
  cam::Event e = silent_move();
  e.kind = cam::EventKind::announced_move;
  e.station.vlan = 30;
  e.notification = cam::Notification::unsolicited_na;
  e.notification_time = at(1346305327, 600000);
  std::string json = format_event_json(e, kNames, {});
  EXPECT_NE(json.find(R"("event":"announced_move")"), std::string::npos);
  EXPECT_NE(json.find(R"("vlan":30)"), std::string::npos);
  EXPECT_NE(json.find(R"("notification":"unsolicited_na","notification_time":"2012-08-30T05:42:07.600000Z")"),
            std::string::npos);
}

TEST(JsonEvent, DescribesAFlapWithItsMoveCountAndWindows) {
  cam::Event e = silent_move();
  e.kind = cam::EventKind::flap;
  e.moves_in_window = 4;
  std::string json = format_event_json(e, kNames, {});
  EXPECT_NE(json.find(R"("moves":4,"window_seconds":10,"damped_seconds":60})"), std::string::npos) << json;
}

TEST(JsonEvent, AddsTheNlbIdentityOfAnNlbHostsMove) {
  cam::Event e = silent_move();
  e.nlb_mode = cam::NlbMode::unicast;
  e.nlb_host_id = 1;
  e.nlb_cluster_ip = 0x0A001464;
  e.nlb_dedicated_ip = 0x0A00140B;
  const std::string json = format_event_json(e, kNames, {});
  EXPECT_NE(json.find(R"("nlb_mode":"unicast","nlb_cluster":"10.0.20.100","nlb_host":1,"nlb_dedicated_ip":"10.0.20.11"})"),
            std::string::npos)
      << json;
}

TEST(JsonEvent, WritesAnNlbUnicastHostWithItsUplink) {
  cam::Event e = silent_move();
  e.kind = cam::EventKind::nlb_unicast_host;
  e.to = 0;
  e.nlb_mode = cam::NlbMode::unicast_unmasked;
  e.nlb_cluster_ip = 0x0A001464;
  const std::string json = format_event_json(e, kNames, {});
  EXPECT_NE(json.find(R"("event":"nlb_unicast_host")"), std::string::npos);
  EXPECT_NE(json.find(R"("vlan":0,"uplink":"vmnic2","nlb_mode":"unicast_unmasked","nlb_cluster":"10.0.20.100"})"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find("\"from\""), std::string::npos);
}

TEST(JsonEvent, WritesTheAddressOldMacClaimAndSuppressedCountOfABindingEvent) {
  cam::Event e = silent_move();
  e.kind = cam::EventKind::changed_mac;
  e.station.mac = cam::MacAddress::from_u64(0x00005E000102ULL);
  e.to = 1;
  ASSERT_TRUE(cam::IpAddress::parse("2001:db8::1", e.ip));
  e.other_mac = cam::MacAddress::from_u64(0x00005E000101ULL);
  e.claim = cam::ClaimKind::nd_unsolicited_advertisement;
  e.suppressed = 3;
  std::string json = format_event_json(e, kNames, {});
  EXPECT_NE(json.find(R"("mac":"00:00:5e:00:01:02","vlan":0,"ip":"2001:db8::1","old_mac":"00:00:5e:00:01:01",)"
                      R"("uplink":"vmnic3","claim":"nd_unsolicited_advertisement","suppressed":3})"),
            std::string::npos)
      << json;
  e.kind = cam::EventKind::ip_conflict;
  json = format_event_json(e, kNames, {});
  EXPECT_NE(json.find(R"("other_mac":"00:00:5e:00:01:01")"), std::string::npos) << json;
  e.kind = cam::EventKind::new_binding;
  json = format_event_json(e, kNames, {});
  EXPECT_EQ(json.find("_mac\":"), std::string::npos) << "a new binding has no other MAC: " << json;
}

TEST(JsonEvent, TellsAFailoverStoryWithEverySilentStationsBlackout) {
  auto story = std::make_shared<cam::FailoverStory>();
  story->from = 0;
  story->to = 1;
  story->cause = cam::FailoverCause::traffic_stopped;
  story->started = at(1346305327, 380203);
  story->ended = at(1346305327, 913207);
  story->last_frame_on_from = at(1346305326, 913207);
  story->moved = 8;
  story->announced = 6;
  story->silent = 2;
  story->longest_blackout = seconds(1);
  for (std::uint64_t host : {1, 2}) {
    cam::FailoverStation m;
    m.station = cam::StationKey{0, cam::MacAddress::from_u64(0x02000A001464ULL | host << 32)};
    m.to = 1;
    m.moved = at(1346305327, 559886);
    m.last_seen_on_from = at(1346305326, 559886);
    m.outcome = cam::EventKind::silent_move;
    story->stations.push_back(m);
  }
  cam::FailoverStation announced;
  announced.outcome = cam::EventKind::announced_move;
  story->stations.push_back(announced);
  cam::Event e;
  e.kind = cam::EventKind::failover;
  e.time = at(1346305337, 913207);
  e.from = 0;
  e.to = 1;
  e.story = story;
  const std::string json = format_event_json(e, kNames, {});
  EXPECT_EQ(json,
            R"({"event":"failover","time":"2012-08-30T05:42:17.913207Z","mac":"00:00:00:00:00:00","vlan":0,)"
            R"("from":"vmnic2","to":"vmnic3","cause":"traffic_stopped","started":"2012-08-30T05:42:07.380203Z",)"
            R"("ended":"2012-08-30T05:42:07.913207Z","last_frame_on_from":"2012-08-30T05:42:06.913207Z","stations":8,)"
            R"("announced":6,"silent":2,"flapping":0,"nlb_hosts":0,"longest_blackout_seconds":1.000000,)"
            R"("silent_stations":[{"mac":"02:01:0a:00:14:64","vlan":0,"to":"vmnic3","moved":"2012-08-30T05:42:07.559886Z",)"
            R"("blackout_seconds":1.000000},{"mac":"02:02:0a:00:14:64","vlan":0,"to":"vmnic3",)"
            R"("moved":"2012-08-30T05:42:07.559886Z","blackout_seconds":1.000000}]})");
}

TEST(JsonEvent, AddsTheVendorOfAStationWhoseMacPrefixIsRegistered) {
  cam::VendorDb vendors;
  vendors.add_csv("Registry,Assignment,Organization Name,Organization Address\nMA-L,005056,\"VMware, Inc.\",Palo Alto\n");
  cam::Event e = silent_move();
  e.station.mac = cam::MacAddress::from_u64(0x005056AABBCCULL);
  EXPECT_NE(format_event_json(e, kNames, {}, &vendors).find(R"(,"vendor":"VMware, Inc.")"), std::string::npos);
  e.station.mac = cam::MacAddress::from_u64(0x02010A001464ULL);  // locally administered: no vendor
  EXPECT_EQ(format_event_json(e, kNames, {}, &vendors).find("vendor"), std::string::npos);
  cam::Event down;
  down.kind = cam::EventKind::uplink_down;
  EXPECT_EQ(format_event_json(down, kNames, {}, &vendors).find("vendor"), std::string::npos);
}

TEST(JsonEvent, NamesTheUplinkOfALinkEventAndTheFailedUplinkOfAMove) {
  cam::Event down;
  down.kind = cam::EventKind::uplink_down;
  down.time = at(1346305327);
  down.to = 0;
  EXPECT_EQ(format_event_json(down, kNames, {}),
            R"({"event":"uplink_down","time":"2012-08-30T05:42:07.000000Z","mac":"00:00:00:00:00:00","vlan":0,)"
            R"("uplink":"vmnic2"})");
  cam::Event move = silent_move();
  move.failed_uplink = 0;
  EXPECT_NE(format_event_json(move, kNames, {}).find(R"("failed_uplink":"vmnic2")"), std::string::npos);
}

TEST(JsonEvent, EscapesUplinkNamesSoTheLineIsAlwaysValidJson) {
  std::vector<std::string> names = {"a\"b", "c\\d\n"};
  std::string json = format_event_json(silent_move(), names, {});
  EXPECT_NE(json.find(R"("from":"a\"b","to":"c\\d\u000a")"), std::string::npos) << json;
}

TEST(JsonEvent, FormatsTimesBeforeTheEpochAndWholeSecondsWithSixDigits) {
  EXPECT_EQ(cam::format_rfc3339_micros(at(0)), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(cam::format_rfc3339_micros(cam::PacketTime(std::chrono::nanoseconds(-1))),
            "1969-12-31T23:59:59.999999Z");
}

TEST(JsonEventWriter, WritesOneLinePerEventToItsDescriptor) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  JsonEventWriter writer(fds[1], kNames, {});
  writer.on_event(silent_move());
  writer.on_event(silent_move());
  close(fds[1]);
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  std::string line = format_event_json(silent_move(), kNames, {}) + "\n";
  EXPECT_EQ(got, line + line);
  EXPECT_EQ(writer.events_written(), 2U);
  EXPECT_EQ(writer.write_failures(), 0U);
}

TEST(JsonEventWriter, LoadsTheVendorDbAtTheFirstEventOnlyAndNamesTheVendor) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  JsonEventWriter writer(fds[1], kNames, {});
  cam::VendorDb vendors;
  int loads = 0;
  writer.set_vendor_loader([&] {
    ++loads;
    vendors.add_csv("Registry,Assignment,Organization Name,Organization Address\nMA-L,005056,\"VMware, Inc.\",Palo Alto\n");
    return &vendors;
  });
  EXPECT_EQ(loads, 0) << "nothing is read before an event needs it";
  cam::Event e = silent_move();
  e.station.mac = cam::MacAddress::from_u64(0x005056AB0001ULL);
  writer.on_event(e);
  writer.on_event(e);
  close(fds[1]);
  EXPECT_EQ(loads, 1);
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  const std::string line = format_event_json(e, kNames, {}, &vendors) + "\n";
  EXPECT_NE(line.find(R"("vendor":"VMware, Inc.")"), std::string::npos);
  EXPECT_EQ(got, line + line);
}

TEST(JsonEventWriter, CountsAFailedWriteInsteadOfThrowing) {
  int fd = open("/dev/full", O_WRONLY);
  if (fd < 0) GTEST_SKIP() << "/dev/full is not available here";
  JsonEventWriter writer(fd, kNames, {});
  writer.on_event(silent_move());
  close(fd);
  EXPECT_EQ(writer.events_written(), 0U);
  EXPECT_EQ(writer.write_failures(), 1U);
  EXPECT_EQ(writer.last_errno(), ENOSPC);
}

// ---- a failing output: nothing half-written, nothing lost while the backlog has room ----

cam::Event nth_move(int i) {
  cam::Event e = silent_move();
  e.time = at(1346305327 + i);
  e.station.mac = cam::MacAddress::from_u64(0x020000000000ULL + static_cast<std::uint64_t>(i));
  return e;
}

std::string nth_line(int i) { return format_event_json(nth_move(i), kNames, {}) + "\n"; }

// A non-blocking pipe of one page, filled up: writes fail with EAGAIN until it is read.
struct FullPipe {
  int read_fd = -1, write_fd = -1;
  std::size_t filler = 0;
  FullPipe() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK) != 0) return;
    read_fd = fds[0];
    write_fd = fds[1];
    ::fcntl(write_fd, F_SETPIPE_SZ, 4096);
    const std::string block(512, 'x');
    for (ssize_t n; (n = ::write(write_fd, block.data(), block.size())) > 0;) filler += static_cast<std::size_t>(n);
  }
  ~FullPipe() {
    if (read_fd >= 0) ::close(read_fd);
    if (write_fd >= 0) ::close(write_fd);
  }
  std::string read_all() {
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = ::read(read_fd, buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    return got;
  }
};

TEST(JsonEventWriter, HoldsEventsTheOutputRefusesAndWritesThemInOrderOnceItTakesThem) {
  FullPipe pipe;
  ASSERT_GE(pipe.write_fd, 0);
  JsonEventWriter writer(pipe.write_fd, kNames, {}, 10);
  for (int i = 0; i < 3; ++i) writer.on_event(nth_move(i));
  EXPECT_EQ(writer.events_written(), 0U);
  EXPECT_EQ(writer.write_failures(), 3U);
  EXPECT_EQ(writer.backlog(), 3U);
  EXPECT_EQ(writer.events_dropped(), 0U);
  EXPECT_EQ(writer.last_errno(), EAGAIN);
  EXPECT_FALSE(writer.retry()) << "the pipe is still full";

  EXPECT_EQ(pipe.read_all().size(), pipe.filler);  // the reader catches up
  EXPECT_TRUE(writer.retry());
  writer.on_event(nth_move(3));
  EXPECT_EQ(pipe.read_all(), nth_line(0) + nth_line(1) + nth_line(2) + nth_line(3));
  EXPECT_EQ(writer.events_written(), 4U);
  EXPECT_EQ(writer.backlog(), 0U);
}

TEST(JsonEventWriter, ANewEventWaitsBehindHeldOnesAndFlushesThemWhenTheOutputRecovers) {
  FullPipe pipe;
  ASSERT_GE(pipe.write_fd, 0);
  JsonEventWriter writer(pipe.write_fd, kNames, {}, 10);
  writer.on_event(nth_move(0));
  pipe.read_all();
  writer.on_event(nth_move(1));  // no retry() in between: the new event pushes the old one out first
  EXPECT_EQ(pipe.read_all(), nth_line(0) + nth_line(1));
  EXPECT_EQ(writer.write_failures(), 1U);
}

TEST(JsonEventWriter, DropsAndCountsEventsBeyondTheBacklogLimit) {
  const int fd = ::open("/dev/full", O_WRONLY);
  if (fd < 0) GTEST_SKIP() << "/dev/full is not available here";
  JsonEventWriter writer(fd, kNames, {}, 2);
  for (int i = 0; i < 5; ++i) writer.on_event(nth_move(i));
  ::close(fd);
  EXPECT_EQ(writer.write_failures(), 5U);
  EXPECT_EQ(writer.backlog(), 2U);
  EXPECT_EQ(writer.events_dropped(), 3U);
}

TEST(JsonEventWriter, WithoutABacklogAFailedEventIsDroppedAtOnce) {
  const int fd = ::open("/dev/full", O_WRONLY);
  if (fd < 0) GTEST_SKIP() << "/dev/full is not available here";
  JsonEventWriter writer(fd, kNames, {});
  writer.on_event(nth_move(0));
  ::close(fd);
  EXPECT_EQ(writer.backlog(), 0U);
  EXPECT_EQ(writer.events_dropped(), 1U);
}

std::string file_text(const std::string& path) {
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return text;
}

// A real full disk: tmpfs takes a line up to its last free page and refuses the rest (a short
// write, then ENOSPC). The writer must cut that half line off again, and once space is freed
// the file must hold every event, in order.
TEST(JsonEventWriter, NeverLeavesHalfALineOnAFullDiskAndCatchesUpWhenSpaceReturns) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  testsupport::TempDir dir("writer");
  std::string why;
  const auto disk = testsupport::ScopedMount::tmpfs(dir.path(), "size=8k,mode=0700", why);  // two pages
  if (!disk) GTEST_SKIP() << why;
  dir.write("filler", std::string(4096, 'f'));  // one page taken: the events get the other
  const std::string path = dir.file("events.jsonl");
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  ASSERT_GE(fd, 0);
  JsonEventWriter writer(fd, kNames, {}, 100);

  int sent = 0;
  while (writer.write_failures() < 3 && sent < 200) writer.on_event(nth_move(sent++));
  ASSERT_EQ(writer.write_failures(), 3U) << "the disk never filled up";
  EXPECT_EQ(writer.last_errno(), ENOSPC);
  const std::string partial = file_text(path);
  ASSERT_LT(partial.size(), 4096U);
  EXPECT_NE(4096 % nth_line(0).size(), 0U) << "pick a line length that does not divide the page";
  std::string expected;
  for (int i = 0; i < static_cast<int>(writer.events_written()); ++i) expected += nth_line(i);
  EXPECT_EQ(partial, expected) << "whole lines only, nothing after the last one";

  ASSERT_EQ(::unlink(dir.file("filler").c_str()), 0);
  EXPECT_TRUE(writer.retry());
  writer.on_event(nth_move(sent++));
  ::close(fd);
  expected.clear();
  for (int i = 0; i < sent; ++i) expected += nth_line(i);
  EXPECT_EQ(file_text(path), expected);
  EXPECT_EQ(writer.events_written(), static_cast<std::uint64_t>(sent));
  EXPECT_EQ(writer.events_dropped(), 0U);
}

// stdout redirected with `>` has no O_APPEND: taking a line back must also move the offset back,
// or the next line would land after a hole of zero bytes.
TEST(JsonEventWriter, TakesAHalfLineBackAlsoWithoutOAppend) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  testsupport::TempDir dir("writer");
  std::string why;
  const auto disk = testsupport::ScopedMount::tmpfs(dir.path(), "size=8k,mode=0700", why);
  if (!disk) GTEST_SKIP() << why;
  dir.write("filler", std::string(4096, 'f'));
  const std::string path = dir.file("events.jsonl");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  ASSERT_GE(fd, 0);
  JsonEventWriter writer(fd, kNames, {}, 100);
  int sent = 0;
  while (writer.write_failures() == 0 && sent < 200) writer.on_event(nth_move(sent++));
  ASSERT_EQ(::unlink(dir.file("filler").c_str()), 0);
  writer.on_event(nth_move(sent++));
  ::close(fd);
  std::string expected;
  for (int i = 0; i < sent; ++i) expected += nth_line(i);
  EXPECT_EQ(file_text(path), expected);
}

}  // namespace
}  // namespace camwatch::exporters
