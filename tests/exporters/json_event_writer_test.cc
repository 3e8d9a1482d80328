#include "exporters/json_event_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

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

}  // namespace
}  // namespace camwatch::exporters
