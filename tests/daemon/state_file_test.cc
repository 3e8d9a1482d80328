#include "daemon/state_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "testsupport/scoped_mount.h"
#include "testsupport/temp_dir.h"
#include "cam/event.h"
#include "cam/tracker.h"

namespace camwatch::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const cam::PacketTime kT0 = cam::PacketTime(seconds(1'346'305'200));  // 2012-08-30T05:40:00Z

// ---- fixtures: directories, files, trackers ----

using testsupport::ScopedMount;
using testsupport::TempDir;

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// load_state()'s message, or "" when it did not throw StateFileError.
std::string load_error(const std::string& path) {
  try {
    load_state(path);
  } catch (const StateFileError& e) {
    return e.what();
  }
  return "";
}

class NullSink : public cam::EventSink {
 public:
  void on_event(const cam::Event&) override {}
};

// Moves only: failover stories (a one-station move off a silent uplink is one) are cam's tests'.
class RecordingSink : public cam::EventSink {
 public:
  void on_event(const cam::Event& e) override {
    if (e.kind != cam::EventKind::failover) events.push_back(e);
  }
  std::vector<cam::Event> events;
};

cam::MacAddress mac(const char* text) {
  cam::MacAddress m;
  EXPECT_TRUE(cam::MacAddress::parse(text, m)) << text;
  return m;
}

// Locally administered unicast MACs 02:00:xx:xx:xx:xx, one per index.
cam::MacAddress nth_mac(std::uint64_t i) { return cam::MacAddress::from_u64(0x0200'0000'0000ULL | i); }

cam::TrackerConfig config_for(std::uint64_t max_entries) {
  cam::TrackerConfig c;
  c.max_entries = max_entries;
  return c;
}

void see(cam::Tracker& tracker, cam::PacketTime t, cam::UplinkId uplink, cam::MacAddress source, cam::VlanId vlan = 0) {
  cam::Observation o;
  o.time = t;
  o.uplink = uplink;
  o.source = source;
  o.vlan = vlan;
  tracker.observe(o);
}

// A notification frame from `source` announcing `announced`.
void announce(cam::Tracker& tracker, cam::PacketTime t, cam::UplinkId uplink, cam::MacAddress source,
              cam::Notification kind, cam::MacAddress announced, cam::VlanId vlan = 0) {
  cam::Observation o;
  o.time = t;
  o.uplink = uplink;
  o.source = source;
  o.vlan = vlan;
  o.notification = kind;
  o.notified = announced;
  tracker.observe(o);
}

void heartbeat(cam::Tracker& tracker, cam::PacketTime t, cam::UplinkId uplink, cam::MacAddress source, cam::VlanId vlan = 0) {
  cam::Observation o;
  o.time = t;
  o.uplink = uplink;
  o.source = source;
  o.vlan = vlan;
  o.flags = static_cast<std::uint8_t>(cam::ObservationFlag::nlb_heartbeat);
  tracker.observe(o);
}

std::uint32_t unix_seconds_of(cam::PacketTime t) {
  return static_cast<std::uint32_t>(std::chrono::floor<seconds>(t).time_since_epoch().count());
}

// Every station, sorted by key so that two trackers compare element by element.
std::vector<cam::StationView> stations_of(const cam::Tracker& tracker) {
  std::vector<cam::StationView> out;
  tracker.for_each_station([&](const cam::StationView& v) { out.push_back(v); });
  std::sort(out.begin(), out.end(),
            [](const cam::StationView& a, const cam::StationView& b) { return a.key.packed() < b.key.packed(); });
  return out;
}

// Every field of a station view: a version 2 file carries them all.
void expect_same_stations(const std::vector<cam::StationView>& actual, const std::vector<cam::StationView>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    SCOPED_TRACE("station " + expected[i].key.mac.to_string() + " vlan " + std::to_string(expected[i].key.vlan));
    EXPECT_EQ(actual[i].key, expected[i].key);
    EXPECT_EQ(actual[i].uplink, expected[i].uplink);
    EXPECT_EQ(actual[i].first_seen, expected[i].first_seen);
    EXPECT_EQ(actual[i].last_seen, expected[i].last_seen);
    EXPECT_EQ(actual[i].moves, expected[i].moves);
    EXPECT_EQ(actual[i].last_move, expected[i].last_move);
    EXPECT_EQ(actual[i].last_notification, expected[i].last_notification);
    EXPECT_EQ(actual[i].notification, expected[i].notification);
    EXPECT_EQ(actual[i].nlb_host, expected[i].nlb_host);
  }
}

// A small tracker: three stations on two uplinks ("A", "B").
struct SmallTable {
  NullSink sink;
  cam::Tracker tracker{config_for(16), sink};
  std::vector<std::string> names{"A", "B"};
  SmallTable() {
    see(tracker, kT0, 0, mac("00:50:56:00:00:01"));
    see(tracker, kT0 + seconds(1), 1, mac("00:50:56:00:00:02"), 10);
    see(tracker, kT0 + seconds(2), 0, mac("00:50:56:00:00:03"), 20);
  }
};

// ---- hand-built files, from docs/STATE_FILE.md and nothing else ----

// The bitwise definition of CRC-32 (IEEE), independent of the table-driven one under test.
std::uint32_t reference_crc32(const std::vector<std::uint8_t>& bytes) {
  std::uint32_t c = 0xFFFF'FFFFU;
  for (std::uint8_t b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB8'8320U & (0U - (c & 1U)));
  }
  return ~c;
}

class FileBuilder {
 public:
  FileBuilder& raw(const std::string& text) {
    bytes_.insert(bytes_.end(), text.begin(), text.end());
    return *this;
  }
  FileBuilder& u16(std::uint16_t v) { return le(v, 2); }
  FileBuilder& u32(std::uint32_t v) { return le(v, 4); }
  FileBuilder& u64(std::uint64_t v) { return le(v, 8); }
  FileBuilder& i64(std::int64_t v) { return le(static_cast<std::uint64_t>(v), 8); }
  FileBuilder& name(const std::string& text) { return u16(static_cast<std::uint16_t>(text.size())).raw(text); }
  FileBuilder& u8(std::uint8_t v) { return le(v, 1); }
  FileBuilder& header(std::int64_t saved_at_ns, const std::vector<std::string>& names, std::uint32_t version = 2) {
    raw("CAMWSTAT").u32(version).i64(saved_at_ns).u32(static_cast<std::uint32_t>(names.size()));
    for (const std::string& n : names) name(n);
    return *this;
  }
  // A version 2 record.
  FileBuilder& record(std::uint64_t packed_key, std::uint16_t uplink, std::uint8_t flags, std::uint8_t kind,
                      std::uint32_t moves, std::int64_t last_seen_ns, std::uint32_t first_seen_s,
                      std::uint32_t last_move_s, std::uint32_t notify_s, std::uint32_t reserved = 0) {
    return u64(packed_key).u16(uplink).u8(flags).u8(kind).u32(moves).i64(last_seen_ns).u32(first_seen_s).u32(last_move_s)
        .u32(notify_s).u32(reserved);
  }
  // A version 1 record.
  FileBuilder& record_v1(std::uint64_t packed_key, std::uint16_t uplink, std::uint32_t frames, std::int64_t first_ns,
                         std::int64_t last_ns, std::uint32_t moves) {
    return u64(packed_key).u16(uplink).u16(0).u32(frames).i64(first_ns).i64(last_ns).u32(moves).u32(0);
  }
  // The bytes so far followed by their CRC-32.
  std::vector<std::uint8_t> with_crc() const {
    std::vector<std::uint8_t> out = bytes_;
    const std::uint32_t crc = reference_crc32(out);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
    return out;
  }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  FileBuilder& le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::vector<std::uint8_t> bytes_;
};

constexpr std::uint64_t kKeyVlan10 = (10ULL << 48) | 0x0050'5600'0001ULL;

// ---- round trip and restore ----

TEST(StateFile, RoundTripsEveryStationAcrossVlansAndUplinks) {
  TempDir dir;
  NullSink sink;
  cam::Tracker original(config_for(1000), sink);
  constexpr cam::VlanId kVlans[] = {0, 100, 4094};
  for (std::uint64_t i = 0; i < 300; ++i) {  // 100 MACs, each on three VLANs: 300 stations
    const cam::VlanId vlan = kVlans[i / 100];
    const auto uplink = static_cast<cam::UplinkId>(i % 4);
    for (std::uint64_t frame = 0; frame <= i % 5; ++frame) {
      see(original, kT0 + milliseconds(i + frame), uplink, nth_mac(i % 100), vlan);
    }
  }
  // Two stations move (one twice), so moves and later uplinks are carried too; some are NLB
  // hosts and some were announced (every kind), so every field is carried.
  see(original, kT0 + seconds(1), 3, nth_mac(0), 0);
  see(original, kT0 + seconds(10), 2, nth_mac(0), 0);
  see(original, kT0 + seconds(11), 0, nth_mac(1), 100);
  // (Station i is MAC i % 100 on uplink i % 4: these frames come where the stations are.)
  heartbeat(original, kT0 + seconds(12), 2, nth_mac(2), 0);
  heartbeat(original, kT0 + seconds(12), 3, nth_mac(3), 4094);
  announce(original, kT0 + seconds(13), 1, nth_mac(5), cam::Notification::rarp, nth_mac(5), 0);
  announce(original, kT0 + seconds(14), 3, nth_mac(7), cam::Notification::garp, nth_mac(6), 100);  // on another uplink
  announce(original, kT0 + seconds(15), 3, nth_mac(3), cam::Notification::unsolicited_na, nth_mac(3), 4094);
  const std::vector<std::string> names{"vmnic2", "vmnic3", "eth0", "team-β"};
  save_state(dir.file("cam.state"), original, names);

  const SavedState state = load_state(dir.file("cam.state"));
  EXPECT_EQ(state.saved_at, original.clock());
  EXPECT_EQ(state.stations.size(), 300U);

  NullSink sink2;
  cam::Tracker restored(config_for(1000), sink2);
  EXPECT_EQ(restore_into(state, restored, names), 300U);
  const std::vector<cam::StationView> before = stations_of(original);
  EXPECT_EQ(std::count_if(before.begin(), before.end(), [](const cam::StationView& v) { return v.moves > 0; }), 2);
  EXPECT_EQ(std::count_if(before.begin(), before.end(), [](const cam::StationView& v) { return v.nlb_host; }), 2);
  EXPECT_EQ(std::count_if(before.begin(), before.end(),
                          [](const cam::StationView& v) { return v.notification != cam::Notification::none; }),
            3);
  expect_same_stations(stations_of(restored), before);
  EXPECT_EQ(restored.stats().stations_restored, 300U);
  EXPECT_EQ(restored.stats().stations_learned, 0U);
  EXPECT_EQ(restored.stats().nlb_hosts, 2U);
}

TEST(StateFile, RestoreMapsUplinksByNameWhenTheConfiguredOrderChanges) {
  TempDir dir;
  NullSink sink;
  cam::Tracker original(config_for(16), sink);
  see(original, kT0, 0, nth_mac(1));  // on "A"
  see(original, kT0, 1, nth_mac(2));  // on "B"
  see(original, kT0, 2, nth_mac(3));  // on "C"
  save_state(dir.file("cam.state"), original, {"A", "B", "C"});

  NullSink sink2;
  cam::Tracker restored(config_for(16), sink2);
  // "B" is gone, "new" was added, and the order changed.
  EXPECT_EQ(restore_into(load_state(dir.file("cam.state")), restored, {"C", "new", "A"}), 2U);
  const std::vector<cam::StationView> views = stations_of(restored);
  ASSERT_EQ(views.size(), 2U);
  EXPECT_EQ(views[0].key.mac, nth_mac(1));
  EXPECT_EQ(views[0].uplink, 2);  // "A" is configured third now
  EXPECT_EQ(views[1].key.mac, nth_mac(3));
  EXPECT_EQ(views[1].uplink, 0);  // "C" is configured first now
}

TEST(StateFile, RestoreDropsStationsOfUplinksNoLongerConfigured) {
  TempDir dir;
  SmallTable small;
  save_state(dir.file("cam.state"), small.tracker, small.names);
  NullSink sink;
  cam::Tracker restored(config_for(16), sink);
  EXPECT_EQ(restore_into(load_state(dir.file("cam.state")), restored, {"X", "Y"}), 0U);
  EXPECT_EQ(restored.stats().stations, 0U);
}

TEST(StateFile, RestoreCountsOnlyStationsTheTrackerHasRoomFor) {
  TempDir dir;
  SmallTable small;
  save_state(dir.file("cam.state"), small.tracker, small.names);
  NullSink sink;
  cam::Tracker restored(config_for(2), sink);
  EXPECT_EQ(restore_into(load_state(dir.file("cam.state")), restored, small.names), 2U);
}

TEST(StateFile, RestoredStationThatMovesRaisesSilentMoveAndIsNotLearnedAnew) {
  TempDir dir;
  NullSink sink;
  cam::Tracker before_restart(config_for(16), sink);
  const cam::MacAddress vm = mac("00:50:56:aa:bb:cc");
  see(before_restart, kT0 - seconds(10), 0, vm, 7);  // on "vmnic2"
  save_state(dir.file("cam.state"), before_restart, {"vmnic2", "vmnic3"});

  RecordingSink events;
  cam::Tracker after_restart(config_for(16), events);
  // The restarted daemon lists its uplinks in the other order.
  const std::vector<std::string> names{"vmnic3", "vmnic2"};
  ASSERT_EQ(restore_into(load_state(dir.file("cam.state")), after_restart, names), 1U);
  see(after_restart, kT0, 0, vm, 7);  // first frame after the restart, on "vmnic3": it moved
  see(after_restart, kT0 + seconds(1), 0, vm, 7);
  after_restart.finish();

  ASSERT_EQ(events.events.size(), 1U);
  const cam::Event& e = events.events[0];
  EXPECT_EQ(e.kind, cam::EventKind::silent_move);
  EXPECT_EQ(e.station, (cam::StationKey{7, vm}));
  EXPECT_EQ(names[e.from], "vmnic2");
  EXPECT_EQ(names[e.to], "vmnic3");
  EXPECT_EQ(e.last_seen_on_from, kT0 - seconds(10));
  EXPECT_EQ(after_restart.stats().stations_learned, 0U);
  EXPECT_EQ(after_restart.stats().stations_restored, 1U);
}

// ---- the byte format ----

TEST(StateFile, SavesTheDocumentedLittleEndianLayoutByteForByte) {
  TempDir dir;
  NullSink sink;
  cam::Tracker tracker(config_for(16), sink);
  see(tracker, kT0, 1, mac("00:50:56:00:00:01"), 10);
  see(tracker, kT0 + milliseconds(1500), 1, mac("00:50:56:00:00:01"), 10);
  save_state(dir.file("cam.state"), tracker, {"A", "vmnic3"});

  const std::uint32_t s0 = unix_seconds_of(kT0);
  const std::int64_t t1 = (kT0 + milliseconds(1500)).time_since_epoch().count();
  const std::vector<std::uint8_t> expected = FileBuilder()
                                                .header(t1, {"A", "vmnic3"}, 3)
                                                .u64(1)
                                                .record(kKeyVlan10, 1, 0, 0, 0, t1, s0, 0, 0)
                                                .u64(0)  // no bindings (a bare tracker was saved)
                                                .u32(0)  // no stories
                                                .with_crc();
  EXPECT_EQ(read_bytes(dir.file("cam.state")), expected);
  EXPECT_EQ(expected.size(), 24U + (2 + 1) + (2 + 6) + 8 + 40 + 8 + 4 + 4);
}

TEST(StateFile, SavesTheDisplayFieldsAtTheirDocumentedOffsets) {
  TempDir dir;
  NullSink sink;
  cam::Tracker tracker(config_for(16), sink);
  const cam::MacAddress vm = mac("00:50:56:00:00:01");
  heartbeat(tracker, kT0, 0, vm, 10);                                               // an NLB host on A
  announce(tracker, kT0 + milliseconds(2300), 1, vm, cam::Notification::rarp, vm, 10);  // moves to B, announced
  save_state(dir.file("cam.state"), tracker, {"A", "B"});

  const std::uint32_t s0 = unix_seconds_of(kT0);
  const std::int64_t t1 = (kT0 + milliseconds(2300)).time_since_epoch().count();
  const std::vector<std::uint8_t> expected =
      FileBuilder().header(t1, {"A", "B"}, 3).u64(1).record(kKeyVlan10, 1, 0x01, 1, 1, t1, s0, s0 + 2, s0 + 2).u64(0).u32(0).with_crc();
  EXPECT_EQ(read_bytes(dir.file("cam.state")), expected);
}

TEST(StateFile, LoadsAFileBuiltFromTheDocumentation) {
  TempDir dir;
  write_bytes(dir.file("cam.state"), FileBuilder()
                                          .header(-5, {"A", "B"})
                                          .u64(3)
                                          .record(kKeyVlan10, 1, 0x01, 3, 300, 9, 7, 0xFFFF'FFFFU, 8)
                                          .record(0x0050'5600'0002ULL, 0, 0, 0, 0, 3, 3, 0, 0)
                                          .record(0x0050'5600'0003ULL, 0, 0, 1, 1, 1, 1, 1, 1)
                                          .with_crc());
  const SavedState state = load_state(dir.file("cam.state"));
  EXPECT_EQ(state.saved_at.time_since_epoch().count(), -5);
  ASSERT_EQ(state.stations.size(), 3U);
  const SavedStation& s = state.stations[0];
  EXPECT_EQ(s.key, (cam::StationKey{10, mac("00:50:56:00:00:01")}));
  EXPECT_EQ(s.uplink, "B");
  EXPECT_TRUE(s.nlb_host);
  EXPECT_EQ(s.notification, cam::Notification::unsolicited_na);
  EXPECT_EQ(s.moves, 300U);
  EXPECT_EQ(s.last_seen.time_since_epoch().count(), 9);
  EXPECT_EQ(s.first_seen, cam::PacketTime(seconds(7)));
  EXPECT_EQ(s.last_move, cam::PacketTime(seconds(0xFFFF'FFFFLL)));
  EXPECT_EQ(s.last_notification, cam::PacketTime(seconds(8)));
  const SavedStation& quiet = state.stations[1];
  EXPECT_EQ(quiet.key, (cam::StationKey{0, mac("00:50:56:00:00:02")}));
  EXPECT_EQ(quiet.uplink, "A");
  EXPECT_FALSE(quiet.nlb_host);
  EXPECT_EQ(quiet.notification, cam::Notification::none);
  EXPECT_EQ(quiet.last_notification, cam::PacketTime{});
  EXPECT_EQ(quiet.last_move, cam::PacketTime{});
  EXPECT_EQ(state.stations[2].notification, cam::Notification::rarp);
}

TEST(StateFile, StillLoadsAVersion1FileIgnoringFramesWithEmptyDisplayFields) {
  TempDir dir;
  write_bytes(dir.file("cam.state"), FileBuilder()
                                          .header(-5, {"A", "B"}, 1)
                                          .u64(2)
                                          .record_v1(kKeyVlan10, 1, 0xFFFF'FFFFU, -7, 9, 300)
                                          .record_v1(0x0050'5600'0002ULL, 0, 1, 3, 3, 0)
                                          .with_crc());
  const SavedState state = load_state(dir.file("cam.state"));
  EXPECT_EQ(state.saved_at.time_since_epoch().count(), -5);
  ASSERT_EQ(state.stations.size(), 2U);
  const SavedStation& s = state.stations[0];
  EXPECT_EQ(s.key, (cam::StationKey{10, mac("00:50:56:00:00:01")}));
  EXPECT_EQ(s.uplink, "B");
  EXPECT_EQ(s.first_seen.time_since_epoch().count(), -7);
  EXPECT_EQ(s.last_seen.time_since_epoch().count(), 9);
  EXPECT_EQ(s.moves, 300U);
  EXPECT_EQ(s.last_move, cam::PacketTime{});
  EXPECT_EQ(s.last_notification, cam::PacketTime{});
  EXPECT_EQ(s.notification, cam::Notification::none);
  EXPECT_FALSE(s.nlb_host);
  EXPECT_EQ(state.stations[1].key, (cam::StationKey{0, mac("00:50:56:00:00:02")}));
  EXPECT_EQ(state.stations[1].uplink, "A");
}

TEST(StateFile, UpgradesAVersion1TableThroughRestoreAndTheNextSave) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  const std::int64_t first = (kT0 - seconds(100) + milliseconds(250)).time_since_epoch().count();
  const std::int64_t last = (kT0 - seconds(10) + milliseconds(1)).time_since_epoch().count();
  write_bytes(path, FileBuilder()
                        .header(last, {"vmnic2", "vmnic3"}, 1)
                        .u64(2)
                        .record_v1(kKeyVlan10, 1, 1234, first, last, 2)
                        .record_v1(0x0050'5600'0002ULL, 0, 1, first, first, 0)
                        .with_crc());
  NullSink sink;
  cam::Tracker tracker(config_for(16), sink);
  ASSERT_EQ(restore_into(load_state(path), tracker, {"vmnic2", "vmnic3"}), 2U);
  const std::vector<cam::StationView> views = stations_of(tracker);
  ASSERT_EQ(views.size(), 2U);
  EXPECT_EQ(views[1].key, (cam::StationKey{10, mac("00:50:56:00:00:01")}));
  EXPECT_EQ(views[1].uplink, 1);
  EXPECT_EQ(views[1].first_seen, kT0 - seconds(100)) << "whole seconds in the table";
  EXPECT_EQ(views[1].last_seen, kT0 - seconds(10) + milliseconds(1));
  EXPECT_EQ(views[1].moves, 2U);
  EXPECT_EQ(views[1].last_move, cam::PacketTime{}) << "a version 1 file has no move times";
  EXPECT_FALSE(views[1].nlb_host);

  save_state(path, tracker, {"vmnic2", "vmnic3"});
  const std::vector<std::uint8_t> bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 12U);
  EXPECT_EQ(bytes[8], 3) << "the next save writes version 3";
  NullSink sink2;
  cam::Tracker again(config_for(16), sink2);
  ASSERT_EQ(restore_into(load_state(path), again, {"vmnic2", "vmnic3"}), 2U);
  expect_same_stations(stations_of(again), views);
}

TEST(StateFile, RoundTripsEveryDisplayFieldOfVersion2) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  NullSink sink;
  cam::Tracker original(config_for(16), sink);
  const cam::MacAddress nlb = mac("02:01:0a:00:14:64"), vm = mac("00:50:56:00:00:01"), bond = mac("00:50:56:00:00:02");
  heartbeat(original, kT0 + milliseconds(100), 0, nlb, 5);
  see(original, kT0 + seconds(3), 1, nlb, 5);  // a silent move of an NLB host
  see(original, kT0, 0, vm);
  see(original, kT0, 1, bond);
  announce(original, kT0 + seconds(7), 1, bond, cam::Notification::unsolicited_na, vm);  // vm announced on B
  see(original, kT0 + seconds(8), 1, vm);                                                 // and moves there
  announce(original, kT0 + seconds(9), 1, bond, cam::Notification::garp, bond);           // bond's own GARP
  save_state(path, original, {"A", "B"});

  const SavedState state = load_state(path);
  ASSERT_EQ(state.stations.size(), 3U);
  std::vector<SavedStation> saved = state.stations;
  std::sort(saved.begin(), saved.end(), [](const SavedStation& a, const SavedStation& b) { return a.key.packed() < b.key.packed(); });
  const SavedStation& s_vm = saved[0];
  EXPECT_EQ(s_vm.key, (cam::StationKey{0, vm}));
  EXPECT_EQ(s_vm.uplink, "B");
  EXPECT_EQ(s_vm.first_seen, kT0);
  EXPECT_EQ(s_vm.last_seen, kT0 + seconds(8));
  EXPECT_EQ(s_vm.moves, 1U);
  EXPECT_EQ(s_vm.last_move, kT0 + seconds(8));
  EXPECT_EQ(s_vm.notification, cam::Notification::unsolicited_na);
  EXPECT_EQ(s_vm.last_notification, kT0 + seconds(7));
  EXPECT_FALSE(s_vm.nlb_host);
  const SavedStation& s_bond = saved[1];
  EXPECT_EQ(s_bond.key, (cam::StationKey{0, bond}));
  EXPECT_EQ(s_bond.moves, 0U);
  EXPECT_EQ(s_bond.last_move, cam::PacketTime{});
  EXPECT_EQ(s_bond.notification, cam::Notification::garp);
  EXPECT_EQ(s_bond.last_notification, kT0 + seconds(9));
  const SavedStation& s_nlb = saved[2];
  EXPECT_EQ(s_nlb.key, (cam::StationKey{5, nlb}));
  EXPECT_EQ(s_nlb.uplink, "B");
  EXPECT_EQ(s_nlb.first_seen, kT0);
  EXPECT_EQ(s_nlb.last_seen, kT0 + seconds(3));
  EXPECT_EQ(s_nlb.moves, 1U);
  EXPECT_EQ(s_nlb.last_move, kT0 + seconds(3));
  EXPECT_EQ(s_nlb.notification, cam::Notification::none);
  EXPECT_TRUE(s_nlb.nlb_host);

  NullSink sink2;
  cam::Tracker restored(config_for(16), sink2);
  ASSERT_EQ(restore_into(state, restored, {"B", "A"}), 3U);  // another order: uplinks by name
  std::vector<cam::StationView> expected = stations_of(original);
  for (cam::StationView& v : expected) v.uplink = v.uplink == 0 ? 1 : 0;
  expect_same_stations(stations_of(restored), expected);
  EXPECT_EQ(restored.stats().nlb_hosts, 1U);
  EXPECT_EQ(restored.stats().nlb_hosts, original.stats().nlb_hosts);
}

TEST(StateFile, ChecksumIsIeeeCrc32OfAllPrecedingBytes) {
  // The reference implementation first proves itself on the standard check value.
  const std::string check = "123456789";
  EXPECT_EQ(reference_crc32(std::vector<std::uint8_t>(check.begin(), check.end())), 0xCBF4'3926U);

  TempDir dir;
  NullSink sink;
  cam::Tracker tracker(config_for(2000), sink);
  for (std::uint64_t i = 0; i < 1000; ++i) see(tracker, kT0 + milliseconds(i), static_cast<cam::UplinkId>(i % 2), nth_mac(i));
  save_state(dir.file("cam.state"), tracker, {"A", "B"});
  std::vector<std::uint8_t> bytes = read_bytes(dir.file("cam.state"));
  ASSERT_GT(bytes.size(), 4U);
  const std::uint32_t stored = bytes[bytes.size() - 4] | (bytes[bytes.size() - 3] << 8) |
                               (bytes[bytes.size() - 2] << 16) | (static_cast<std::uint32_t>(bytes[bytes.size() - 1]) << 24);
  bytes.resize(bytes.size() - 4);
  EXPECT_EQ(stored, reference_crc32(bytes));
}

TEST(StateFile, MissingFileLoadsAsEmptyState) {
  TempDir dir;
  const SavedState state = load_state(dir.file("never-saved.state"));
  EXPECT_TRUE(state.stations.empty());
  EXPECT_EQ(state.saved_at, cam::PacketTime{});
}

TEST(StateFile, EmptyTrackerRoundTripsToEmptyState) {
  TempDir dir;
  NullSink sink;
  cam::Tracker empty(config_for(4), sink);
  save_state(dir.file("cam.state"), empty, {});
  EXPECT_TRUE(load_state(dir.file("cam.state")).stations.empty());
}

// ---- damaged and hostile files ----

TEST(StateFile, RejectsEveryTruncationOfAValidFile) {
  TempDir dir;
  SmallTable small;
  save_state(dir.file("valid.state"), small.tracker, small.names);
  const std::vector<std::uint8_t> valid = read_bytes(dir.file("valid.state"));
  const std::string path = dir.file("cut.state");
  for (std::size_t length = 0; length < valid.size(); ++length) {
    write_bytes(path, std::vector<std::uint8_t>(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(length)));
    EXPECT_THAT(load_error(path), StartsWith(path + ": ")) << "prefix of " << length << " bytes";
  }
}

TEST(StateFile, RejectsEverySingleByteFlip) {
  TempDir dir;
  SmallTable small;
  save_state(dir.file("valid.state"), small.tracker, small.names);
  const std::vector<std::uint8_t> valid = read_bytes(dir.file("valid.state"));
  const std::string path = dir.file("flipped.state");
  std::vector<std::string> accepted;
  for (std::size_t at = 0; at < valid.size(); ++at) {
    for (unsigned mask : {0x01U, 0x02U, 0x04U, 0x08U, 0x10U, 0x20U, 0x40U, 0x80U, 0xFFU}) {
      std::vector<std::uint8_t> damaged = valid;
      damaged[at] = static_cast<std::uint8_t>(damaged[at] ^ mask);
      write_bytes(path, damaged);
      if (load_error(path).empty()) accepted.push_back("byte " + std::to_string(at) + " ^ " + std::to_string(mask));
    }
  }
  EXPECT_TRUE(accepted.empty()) << accepted.size() << " damaged files loaded, first: " << accepted.front();
}

TEST(StateFile, ReportsADamagedRecordAsAChecksumMismatch) {
  TempDir dir;
  SmallTable small;
  save_state(dir.file("cam.state"), small.tracker, small.names);
  std::vector<std::uint8_t> bytes = read_bytes(dir.file("cam.state"));
  bytes[bytes.size() - 4 - 40 + 8] ^= 0x80;  // last record's uplink index: now out of range
  write_bytes(dir.file("cam.state"), bytes);
  const std::string error = load_error(dir.file("cam.state"));
  EXPECT_THAT(error, HasSubstr("checksum mismatch"));
  EXPECT_THAT(error, HasSubstr(", at byte " + std::to_string(bytes.size() - 4)));
}

TEST(StateFile, RejectsHugeStationCountsWithoutAllocatingForThem) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  // The count is at byte 24 + 3 = 27. A reserve() for the claimed count would abort under ASan
  // or exhaust memory; the count must be refused by comparing it with the file size first.
  for (std::uint64_t count : {0xFFFF'FFFF'FFFF'FFFFULL, 0x0666'6666'6666'6667ULL /* x40 wraps to 24 */,
                              100'000'001ULL, 100'000'000ULL, 2ULL}) {
    write_bytes(path, FileBuilder().header(0, {"A"}).u64(count).record(kKeyVlan10, 0, 0, 0, 0, 0, 0, 0, 0).with_crc());
    const std::string error = load_error(path);
    EXPECT_THAT(error, HasSubstr("station count " + std::to_string(count))) << error;
    EXPECT_THAT(error, HasSubstr(", at byte 27")) << error;
  }
}

TEST(StateFile, RejectsHugeUplinkCountsWithoutAllocatingForThem) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  for (std::uint32_t count : {0xFFFF'FFFFU, 0x1'0000U, 1000U}) {
    write_bytes(path, FileBuilder().raw("CAMWSTAT").u32(1).i64(0).u32(count).name("A").u64(0).with_crc());
    EXPECT_THAT(load_error(path), HasSubstr("uplink count " + std::to_string(count)));
  }
}

TEST(StateFile, RejectsWrongMagic) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  FileBuilder file;
  file.raw("CAMWSTAX").u32(1).i64(0).u32(0).u64(0);
  write_bytes(path, file.with_crc());
  EXPECT_EQ(load_error(path), path + ": not a camwatch state file (bad magic), at byte 0");
}

TEST(StateFile, RejectsUnknownVersions) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  for (std::uint32_t version : {0U, 4U, 0x0100'0000U, 0x0200'0000U}) {
    write_bytes(path, FileBuilder().raw("CAMWSTAT").u32(version).i64(0).u32(0).u64(0).with_crc());
    EXPECT_EQ(load_error(path), path + ": unsupported version " + std::to_string(version) +
                                    " (this camwatch reads versions 1 to 3), at byte 8");
  }
  for (std::uint32_t version : {1U, 2U}) {
    write_bytes(path, FileBuilder().raw("CAMWSTAT").u32(version).i64(0).u32(0).u64(0).with_crc());
    EXPECT_EQ(load_error(path), "") << "version " << version;
  }
  write_bytes(path, FileBuilder().raw("CAMWSTAT").u32(3).i64(0).u32(0).u64(0).u64(0).u32(0).with_crc());
  EXPECT_EQ(load_error(path), "") << "version 3";
}

TEST(StateFile, RejectsInvalidUplinkNamesEvenWithAValidChecksum) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  const struct {
    std::string name;
    const char* problem;
  } cases[] = {
      {"", "has length 0"},
      {std::string(33, 'a'), "has length 33"},
      {"bad\x01name", "contains a control character"},
      {"x\xC0\x80", "is not valid UTF-8"},          // overlong NUL
      {"\xED\xA0\x80", "is not valid UTF-8"},       // UTF-16 surrogate
      {"ab\xE2\x82", "is not valid UTF-8"},         // cut sequence
      {"\xF4\x90\x80\x80", "is not valid UTF-8"},   // above U+10FFFF
  };
  for (const auto& c : cases) {
    write_bytes(path, FileBuilder().raw("CAMWSTAT").u32(1).i64(0).u32(1).name(c.name).u64(0).with_crc());
    EXPECT_THAT(load_error(path), HasSubstr(c.problem)) << c.name;
  }
  write_bytes(path, FileBuilder().header(0, {"A", "A"}).u64(0).with_crc());
  EXPECT_THAT(load_error(path), HasSubstr("uplink name \"A\" appears twice"));
  write_bytes(path, FileBuilder().header(0, {"eth0", "vmnic-ü", "€uro"}).u64(0).with_crc());
  EXPECT_EQ(load_error(path), "");
}

TEST(StateFile, RejectsImpossibleRecordsEvenWithAValidChecksum) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  // Record 0 starts at 24 + 3 + 3 + 8 = 38.
  write_bytes(path, FileBuilder().header(0, {"A", "B"}).u64(1).record(kKeyVlan10, 2, 0, 0, 0, 0, 0, 0, 0).with_crc());
  EXPECT_EQ(load_error(path), path + ": station 0 has uplink index 2 but the file names 2 uplinks, at byte 46");
  write_bytes(path, FileBuilder().header(0, {"A"}).u64(1).record(0x0100'5e00'0001ULL, 0, 0, 0, 0, 0, 0, 0, 0).with_crc());
  EXPECT_THAT(load_error(path), HasSubstr("impossible key 0x000001005e000001"));  // a group MAC
  write_bytes(path, FileBuilder().header(0, {"A"}).u64(1).record((1ULL << 60) | 0x0050'5600'0001ULL, 0, 0, 0, 0, 0, 0, 0, 0).with_crc());
  EXPECT_THAT(load_error(path), HasSubstr("impossible key"));  // bits above the VLAN

  // Version 2 fields, with the byte of the field at fault (record 0 starts at byte 35 here).
  const struct {
    std::uint8_t flags, kind;
    std::uint32_t notify_s, reserved;
    const char* error;
  } cases[] = {
      {0x02, 0, 0, 0, "station 0 has unknown flag bits, at byte 45"},
      {0x80, 0, 0, 0, "station 0 has unknown flag bits, at byte 45"},
      {0, 4, 5, 0, "station 0 has an unknown notification kind, at byte 46"},
      {0, 0xFF, 5, 0, "station 0 has an unknown notification kind, at byte 46"},
      {0, 2, 0, 0, "station 0 has a notification kind without a time or a time without a kind, at byte 46"},
      {0, 0, 5, 0, "station 0 has a notification kind without a time or a time without a kind, at byte 46"},
      {0, 0, 0, 1, "station 0 has non-zero reserved bytes, at byte 71"},
  };
  for (const auto& c : cases) {
    write_bytes(path, FileBuilder().header(0, {"A"}).u64(1).record(kKeyVlan10, 0, c.flags, c.kind, 0, 0, 0, 0, c.notify_s, c.reserved).with_crc());
    EXPECT_EQ(load_error(path), path + ": " + c.error);
  }

  // Version 1 records: the reserved bytes at 10 and 36 of the record.
  write_bytes(path, FileBuilder().header(0, {"A"}, 1).u64(1).u64(kKeyVlan10).u16(0).u16(1).u32(1).i64(0).i64(0).u32(0).u32(0).with_crc());
  EXPECT_EQ(load_error(path), path + ": station 0 has non-zero reserved bytes, at byte 35");
  write_bytes(path, FileBuilder().header(0, {"A"}, 1).u64(1).u64(kKeyVlan10).u16(0).u16(0).u32(1).i64(0).i64(0).u32(0).u32(7).with_crc());
  EXPECT_THAT(load_error(path), HasSubstr("reserved"));
  write_bytes(path, FileBuilder().header(0, {"A", "B"}, 1).u64(1).record_v1(kKeyVlan10, 2, 1, 0, 0, 0).with_crc());
  EXPECT_EQ(load_error(path), path + ": station 0 has uplink index 2 but the file names 2 uplinks, at byte 46");
}

TEST(StateFile, RejectsEmptyFilesAndDirectories) {
  TempDir dir;
  write_bytes(dir.file("empty.state"), {});
  EXPECT_EQ(load_error(dir.file("empty.state")), dir.file("empty.state") + ": empty file, at byte 0");
  EXPECT_EQ(load_error(dir.path()), dir.path() + ": not a regular file");
}

// ---- atomic saves ----

TEST(StateFile, SaveReplacesThePreviousFileWithMode0600AndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  SmallTable small;
  save_state(path, small.tracker, small.names);
  see(small.tracker, kT0 + seconds(3), 1, nth_mac(99));
  save_state(path, small.tracker, small.names);
  EXPECT_EQ(load_state(path).stations.size(), 4U);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"cam.state"});
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
}

TEST(StateFile, FailedSaveInReadOnlyDirectoryKeepsTheOldFileAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  SmallTable small;
  save_state(path, small.tracker, small.names);
  const std::vector<std::uint8_t> old = read_bytes(path);

  std::unique_ptr<ScopedMount> read_only;
  if (::geteuid() == 0) {
    // Root ignores directory permissions; a read-only bind mount stops it.
    std::string why;
    read_only = ScopedMount::read_only_bind(dir.path(), why);
    if (!read_only) GTEST_SKIP() << "running as root and cannot make a read-only mount: " << why;
  } else {
    ASSERT_EQ(::chmod(dir.path().c_str(), 0500), 0);
  }
  see(small.tracker, kT0 + seconds(3), 1, nth_mac(99));
  try {
    save_state(path, small.tracker, small.names);
    ADD_FAILURE() << "save into a read-only directory succeeded";
  } catch (const StateFileError& e) {
    EXPECT_THAT(e.what(), StartsWith(path + ": cannot create " + path + ".tmp-"));
    EXPECT_THAT(e.what(), HasSubstr(::geteuid() == 0 ? "Read-only file system" : "Permission denied"));
  }
  read_only.reset();
  ::chmod(dir.path().c_str(), 0700);
  EXPECT_EQ(read_bytes(path), old);
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"cam.state"});
}

TEST(StateFile, FailedSaveOnAFullDiskKeepsTheOldFileAndLeavesNoTemporary) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  TempDir dir;
  const std::string disk = dir.file("tiny");
  ASSERT_EQ(::mkdir(disk.c_str(), 0700), 0);
  std::string why;
  const auto mounted = ScopedMount::tmpfs(disk, "size=64k,mode=0700", why);
  if (!mounted) GTEST_SKIP() << why;

  const std::string path = disk + "/cam.state";
  SmallTable small;
  save_state(path, small.tracker, small.names);
  const std::vector<std::uint8_t> old = read_bytes(path);

  NullSink sink;
  cam::Tracker big(config_for(20'000), sink);  // 10,000 stations: 400 KB, the disk holds 64 KB
  for (std::uint64_t i = 0; i < 10'000; ++i) see(big, kT0, 0, nth_mac(i));
  try {
    save_state(path, big, small.names);
    ADD_FAILURE() << "save onto a full disk succeeded";
  } catch (const StateFileError& e) {
    EXPECT_THAT(e.what(), StartsWith(path + ": cannot write " + path + ".tmp-"));
    EXPECT_THAT(e.what(), HasSubstr("No space left on device"));
  }
  EXPECT_EQ(read_bytes(path), old);
  EXPECT_EQ(entries(disk), std::vector<std::string>{"cam.state"});
}

// A save killed with SIGKILL leaves its temporary file; the next start removes it, and only it.
TEST(StateFile, StartRemovesTemporariesOfSavesThatDiedAndNothingElse) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  SmallTable small;
  save_state(path, small.tracker, small.names);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // a pid that no longer runs
  const std::string dead = path + ".tmp-" + std::to_string(child) + "-3";
  const std::string mine = path + ".tmp-" + std::to_string(::getpid()) + "-0";  // a reused pid
  const std::string alive = path + ".tmp-1-0";  // init runs: its file is not ours to remove
  for (const std::string& name : {dead, mine, alive, path + ".tmp-x-1", path + ".tmp-12", dir.file("other.tmp-1-1"),
                                  path + ".corrupt-5"}) {
    write_bytes(name, {1, 2, 3});
  }
  std::vector<std::string> removed = remove_stale_temporaries(path);
  std::sort(removed.begin(), removed.end());
  std::vector<std::string> expected = {dead, mine};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(removed, expected);
  EXPECT_EQ(entries(dir.path()), (std::vector<std::string>{"cam.state", "cam.state.corrupt-5", "cam.state.tmp-1-0",
                                                            "cam.state.tmp-12", "cam.state.tmp-x-1", "other.tmp-1-1"}));
  EXPECT_EQ(load_state(path).stations.size(), 3U);
  EXPECT_TRUE(remove_stale_temporaries(dir.file("missing-dir/cam.state")).empty());
}

TEST(StateFile, SaveIntoAMissingDirectoryNamesThePath) {
  TempDir dir;
  const std::string path = dir.file("no-such-dir/cam.state");
  SmallTable small;
  try {
    save_state(path, small.tracker, small.names);
    ADD_FAILURE() << "save into a missing directory succeeded";
  } catch (const StateFileError& e) {
    EXPECT_THAT(e.what(), StartsWith(path + ": "));
    EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
  }
}

TEST(StateFile, SaveRefusesUplinkNamesItCouldNotLoadBack) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  SmallTable small;
  EXPECT_THROW(save_state(path, small.tracker, {"A", "A"}), StateFileError);
  EXPECT_THROW(save_state(path, small.tracker, {"A", ""}), StateFileError);
  EXPECT_THROW(save_state(path, small.tracker, {"A", std::string(33, 'b')}), StateFileError);
  EXPECT_THROW(save_state(path, small.tracker, {"A", "tab\there"}), StateFileError);
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(StateFile, SaveRefusesAStationOnAnUplinkWithoutAName) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  SmallTable small;  // stations on uplinks 0 and 1
  try {
    save_state(path, small.tracker, {"A"});
    ADD_FAILURE() << "saved a station of an unnamed uplink";
  } catch (const StateFileError& e) {
    EXPECT_THAT(e.what(), HasSubstr("uplink id 1, which has no name"));
  }
  EXPECT_TRUE(entries(dir.path()).empty());
}

// ---- move_aside ----

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(StateFile, MoveAsideRenamesToCorruptWithUnixSeconds) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  write_bytes(path, {1, 2, 3});
  const std::int64_t before = unix_seconds();
  const std::string moved = move_aside(path);
  const std::int64_t after = unix_seconds();

  ASSERT_THAT(moved, StartsWith(path + ".corrupt-"));
  const std::int64_t stamp = std::stoll(moved.substr(path.size() + 9));
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, after);
  EXPECT_EQ(moved, path + ".corrupt-" + std::to_string(stamp));
  EXPECT_EQ(read_bytes(moved), (std::vector<std::uint8_t>{1, 2, 3}));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(StateFile, MoveAsideNumbersTheNameWhenItIsTaken) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  const std::int64_t before = unix_seconds();
  // Earlier damaged files of this second and the next two: whichever second it is, -1 is taken.
  for (std::int64_t s = before; s <= before + 2; ++s) {
    write_bytes(path + ".corrupt-" + std::to_string(s), {0});
    write_bytes(path + ".corrupt-" + std::to_string(s) + "-1", {1});
  }
  write_bytes(path, {9});
  const std::string moved = move_aside(path);
  const std::int64_t after = unix_seconds();
  ASSERT_LE(after, before + 2) << "the clock jumped; the names prepared above no longer collide";
  bool matched = false;
  for (std::int64_t s = before; s <= after; ++s) matched = matched || moved == path + ".corrupt-" + std::to_string(s) + "-2";
  EXPECT_TRUE(matched) << moved;
  EXPECT_EQ(read_bytes(moved), (std::vector<std::uint8_t>{9}));
  EXPECT_EQ(read_bytes(path + ".corrupt-" + std::to_string(before)), (std::vector<std::uint8_t>{0}));
}

TEST(StateFile, MoveAsideOfAMissingFileThrowsNamingIt) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  try {
    move_aside(path);
    ADD_FAILURE() << "moved a missing file aside";
  } catch (const StateFileError& e) {
    EXPECT_THAT(e.what(), StartsWith(path + ": cannot move aside to " + path + ".corrupt-"));
    EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
  }
}

// ---- scale ----

TEST(StateFile, SavesAndLoadsOneMillionStations) {
  constexpr std::uint64_t kStations = 1'000'000;
  TempDir dir;
  const std::string path = dir.file("cam.state");
  const std::vector<std::string> names{"vmnic2", "vmnic3", "vmnic4", "vmnic5"};
  NullSink sink;
  cam::Tracker original(config_for(1'100'000), sink);
  for (std::uint64_t i = 0; i < kStations; ++i) {
    see(original, kT0 + milliseconds(i / 1000), static_cast<cam::UplinkId>(i % 4), nth_mac(i / 4095),
        static_cast<cam::VlanId>(i % 4095));
  }
  ASSERT_EQ(original.stats().stations, kStations);

  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  save_state(path, original, names);
  const auto t1 = Clock::now();
  const SavedState state = load_state(path);
  const auto t2 = Clock::now();
  NullSink sink2;
  cam::Tracker restored(config_for(1'100'000), sink2);
  const std::size_t count = restore_into(state, restored, names);
  const auto t3 = Clock::now();

  const auto ms = [](Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); };
  std::cout << "[ info     ] 1M stations, " << std::filesystem::file_size(path) << " bytes: save " << ms(t1 - t0)
            << " ms, load " << ms(t2 - t1) << " ms, restore " << ms(t3 - t2) << " ms\n";
  EXPECT_EQ(std::filesystem::file_size(path), 24U + 4 * (2 + 6) + 8 + kStations * 40 + 8 + 4 + 4);
  EXPECT_EQ(count, kStations);
  expect_same_stations(stations_of(restored), stations_of(original));
}

}  // namespace
}  // namespace camwatch::daemon

// ---- version 3: address bindings and failover stories ----

namespace camwatch::daemon {
namespace {

cam::Observation claim_of(cam::PacketTime t, cam::UplinkId uplink, cam::MacAddress m, const char* ip,
                          cam::ClaimKind kind = cam::ClaimKind::arp_request) {
  cam::Observation o;
  o.time = t;
  o.uplink = uplink;
  o.source = m;
  o.claim = kind;
  o.claim_mac = m;
  EXPECT_TRUE(cam::IpAddress::parse(ip, o.claim_ip)) << ip;
  return o;
}

// An analyzer that has learned two bindings (one changed hands) and told one failover story.
void fill(cam::Analyzer& a) {
  const cam::MacAddress vm = mac("00:50:56:00:00:01"), other = mac("00:50:56:00:00:02"), gone = mac("00:50:56:00:00:03");
  a.observe(claim_of(kT0, 0, vm, "10.0.0.5"));
  a.observe(claim_of(kT0 + seconds(1), 0, gone, "2001:db8::7", cam::ClaimKind::nd_unsolicited_advertisement));
  a.observe(claim_of(kT0 + seconds(30), 1, other, "2001:db8::7", cam::ClaimKind::nd_unsolicited_advertisement));
  for (cam::UplinkId uplink = 0; uplink < 2; ++uplink) {  // three stations leave uplink 0 for 1, and 0 falls silent
    for (int i = 0; i < 3; ++i) {
      cam::Observation o;
      o.time = kT0 + seconds(40 + 5 * uplink) + milliseconds(i);
      o.uplink = uplink;
      o.source = cam::MacAddress::from_u64(0x005056000100ULL + static_cast<std::uint64_t>(i));
      a.observe(o);
    }
  }
  a.finish();
}

TEST(StateFile, RoundTripsBindingsAndFailoverStoriesThroughVersion3) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  NullSink sink;
  cam::AnalyzerConfig config;
  config.tracker = config_for(64);
  cam::Analyzer original(config, sink);
  fill(original);
  ASSERT_EQ(original.recent_stories().size(), 1U);
  save_state(path, original, {"A", "B"});

  const SavedState state = load_state(path);
  EXPECT_EQ(state.uplink_names, (std::vector<std::string>{"A", "B"}));
  ASSERT_EQ(state.bindings.size(), 2U);
  ASSERT_EQ(state.stories.size(), 1U);
  EXPECT_EQ(state.stories[0]->silent, 3U);
  EXPECT_EQ(state.stories[0]->stations.size(), 3U);

  // Restored with the uplinks in the other order: everything follows the names.
  NullSink sink2;
  cam::Analyzer restored(config, sink2);
  std::size_t bindings = 0;
  restore_into(state, restored, {"B", "A"}, &bindings);
  EXPECT_EQ(bindings, 2U);
  std::vector<cam::BindingView> views;
  restored.bindings().for_each_binding([&](const cam::BindingView& v) { views.push_back(v); });
  std::sort(views.begin(), views.end(), [](const auto& x, const auto& y) { return x.ip < y.ip; });
  ASSERT_EQ(views.size(), 2U);
  cam::IpAddress v6;
  ASSERT_TRUE(cam::IpAddress::parse("2001:db8::7", v6));
  const cam::BindingView& moved = views[0].ip == v6 ? views[0] : views[1];
  EXPECT_EQ(moved.mac, mac("00:50:56:00:00:02"));
  EXPECT_EQ(moved.previous_mac, mac("00:50:56:00:00:03"));
  EXPECT_EQ(moved.uplink, 0) << "uplink B is id 0 after the restart";
  EXPECT_EQ(moved.claim, cam::ClaimKind::nd_unsolicited_advertisement);
  ASSERT_EQ(restored.recent_stories().size(), 1U);
  const cam::FailoverStory& st = *restored.recent_stories().front();
  EXPECT_EQ(st.from, 1) << "A is id 1 after the restart";
  EXPECT_EQ(st.to, 0);
  EXPECT_EQ(st.cause, cam::FailoverCause::traffic_stopped);
  EXPECT_EQ(st.stations[0].to, 0);

  // A restored binding is known: its owner claiming again is no new_binding.
  struct Counting : cam::EventSink {
    void on_event(const cam::Event& e) override { kinds.push_back(e.kind); }
    std::vector<cam::EventKind> kinds;
  } events;
  cam::Analyzer again(config, events);
  restore_into(state, again, {"A", "B"});
  again.observe(claim_of(kT0 + seconds(60), 0, mac("00:50:56:00:00:01"), "10.0.0.5"));
  again.finish();
  EXPECT_EQ(std::count(events.kinds.begin(), events.kinds.end(), cam::EventKind::new_binding), 0);
}

TEST(StateFile, NamesDamageInTheVersion3Sections) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  const auto base = [] { return FileBuilder().header(0, {"A"}, 3).u64(0); };
  // A binding count the file cannot hold.
  write_bytes(path, base().u64(1'000'000).u32(0).with_crc());
  EXPECT_THAT(load_error(path), ::testing::HasSubstr("binding count 1000000 cannot fit"));
  // A binding with an unknown claim kind (checksum right: content named as such).
  FileBuilder bad = base().u64(1);
  bad.u16(0).u16(0).u8(99).u8(0).u16(0);
  for (int i = 0; i < 10; ++i) bad.u8(0);
  bad.u8(0xFF).u8(0xFF).u8(10).u8(0).u8(0).u8(5);  // ::ffff:10.0.0.5
  bad.u64(0x0050'5600'0001ULL).u64(0).i64(1).i64(2).u64(0).u32(0);
  write_bytes(path, bad.with_crc());
  EXPECT_THAT(load_error(path), ::testing::HasSubstr("binding 0 has an unknown claim kind"));
  // A story listing more silent stations than it counts.
  FileBuilder story = base().u64(0).u32(1);
  story.u16(0).u16(0).u8(1).u8(0).u16(2);  // from, to, cause, reserved, 2 members
  for (int i = 0; i < 6; ++i) story.i64(0);
  story.u32(2).u32(1).u32(1).u32(0).u32(0).u32(0).i64(0);  // moved 2, announced 1, silent 1
  write_bytes(path, story.with_crc());
  EXPECT_THAT(load_error(path), ::testing::HasSubstr("story 0 lists 2 silent stations"));
  // Bytes after the last story.
  write_bytes(path, base().u64(0).u32(0).u32(7).with_crc());
  EXPECT_THAT(load_error(path), ::testing::HasSubstr("unexpected bytes after the last story"));
}

}  // namespace
}  // namespace camwatch::daemon
