#include "capture/mirror_session_map.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capture/mirror_decap.h"

namespace camwatch::capture {
namespace {

using Key = MirrorSessionKey;

// A decapsulated frame as decapsulate_mirror() would report it; the map only reads these fields.
MirroredFrame erspan_frame(MirrorEncap encap, std::uint16_t session, bool has_index = false,
                           std::uint32_t index = 0) {
  MirroredFrame m;
  m.status = DecodeStatus::ok;
  m.encap = encap;
  m.session = session;
  m.has_index = has_index;
  m.index = index;
  return m;
}

MirroredFrame gre_frame(MirrorEncap encap, bool has_key, std::uint32_t key = 0) {
  MirroredFrame m;
  m.status = DecodeStatus::ok;
  m.encap = encap;
  m.has_key = has_key;
  m.gre_key = key;
  return m;
}

std::string build_error(std::vector<MirrorSessionMap::Entry> entries) {
  try {
    MirrorSessionMap map(std::move(entries));
  } catch (const MirrorSessionMapError& e) {
    return e.what();
  }
  return "";
}

TEST(MirrorSessionMap, FindsUplinkOfErspanSessionOfTypeIIAndIII) {
  const MirrorSessionMap map({{Key::erspan(10), 0}, {Key::erspan(11), 1}});
  EXPECT_EQ(map.size(), 2U);
  EXPECT_EQ(map.find(erspan_frame(MirrorEncap::erspan_ii, 10, true, 5)), 0);
  EXPECT_EQ(map.find(erspan_frame(MirrorEncap::erspan_iii, 10)), 0);
  EXPECT_EQ(map.find(erspan_frame(MirrorEncap::erspan_iii, 11, true, 7)), 1);
  EXPECT_EQ(map.find(erspan_frame(MirrorEncap::erspan_ii, 12, true, 0)), cam::kNoUplink);
}

TEST(MirrorSessionMap, PrefersSessionAndIndexMappingOverSessionOnly) {
  // Given in either order, the narrower entry wins for its index.
  for (bool narrow_first : {true, false}) {
    std::vector<MirrorSessionMap::Entry> entries = {{Key::erspan(10), 0}, {Key::erspan(10, 3), 1}};
    if (narrow_first) std::swap(entries[0], entries[1]);
    const MirrorSessionMap map(entries);
    EXPECT_EQ(map.find(erspan_frame(MirrorEncap::erspan_ii, 10, true, 3)), 1);
    EXPECT_EQ(map.find(erspan_frame(MirrorEncap::erspan_ii, 10, true, 4)), 0);  // falls back to the session
    EXPECT_EQ(map.find(erspan_frame(MirrorEncap::erspan_iii, 10)), 0);          // no port id: session only
  }
}

TEST(MirrorSessionMap, FindsNothingForUnmappedIndexWithoutSessionOnlyEntry) {
  const MirrorSessionMap map({{Key::erspan(10, 3), 1}, {Key::erspan(10, 4), 2}});
  EXPECT_EQ(map.find(erspan_frame(MirrorEncap::erspan_ii, 10, true, 4)), 2);
  EXPECT_EQ(map.find(erspan_frame(MirrorEncap::erspan_ii, 10, true, 5)), cam::kNoUplink);
  EXPECT_EQ(map.find(erspan_frame(MirrorEncap::erspan_iii, 10)), cam::kNoUplink);
}

TEST(MirrorSessionMap, MapsTypeIAndTebByGreKeyOrAsUnkeyed) {
  const MirrorSessionMap map({{Key::gre(0x02000000), 3}, {Key::gre(0), 4}, {Key::unkeyed(), 5}});
  EXPECT_EQ(map.find(gre_frame(MirrorEncap::gre_teb, true, 0x02000000)), 3);
  EXPECT_EQ(map.find(gre_frame(MirrorEncap::gre_teb, true, 0)), 4);  // key 0 is a key
  EXPECT_EQ(map.find(gre_frame(MirrorEncap::erspan_i, true, 0)), 4);
  EXPECT_EQ(map.find(gre_frame(MirrorEncap::gre_teb, false)), 5);
  EXPECT_EQ(map.find(gre_frame(MirrorEncap::erspan_i, false)), 5);
  EXPECT_EQ(map.find(gre_frame(MirrorEncap::gre_teb, true, 7)), cam::kNoUplink);
}

TEST(MirrorSessionMap, NeverMixesSessionIdsWithGreKeys) {
  const MirrorSessionMap map({{Key::erspan(7), 1}, {Key::gre(9), 2}});
  // A type II frame with a GRE key 9 is looked up by its session; a TEB frame never by session.
  MirroredFrame ii = erspan_frame(MirrorEncap::erspan_ii, 8, true, 0);
  ii.has_key = true;
  ii.gre_key = 9;
  EXPECT_EQ(map.find(ii), cam::kNoUplink);
  MirroredFrame teb = gre_frame(MirrorEncap::gre_teb, true, 7);
  teb.session = 7;
  EXPECT_EQ(map.find(teb), cam::kNoUplink);
}

TEST(MirrorSessionMap, FindsNothingForFramesWithoutMirroredEthernet) {
  const MirrorSessionMap map({{Key::erspan(0), 0}, {Key::unkeyed(), 1}});
  MirroredFrame none;
  none.status = DecodeStatus::ok;
  EXPECT_EQ(map.find(none), cam::kNoUplink);
  MirroredFrame ip_frame = erspan_frame(MirrorEncap::erspan_iii, 0);
  ip_frame.frame_type = 2;
  EXPECT_EQ(map.find(ip_frame), cam::kNoUplink);
  MirroredFrame cut = erspan_frame(MirrorEncap::erspan_ii, 0);
  cut.status = DecodeStatus::truncated;
  EXPECT_EQ(map.find(cut), cam::kNoUplink);
  EXPECT_EQ(MirrorSessionMap().find(erspan_frame(MirrorEncap::erspan_ii, 0)), cam::kNoUplink);
}

TEST(MirrorSessionMap, RefusesDuplicateMappingAtBuildTime) {
  EXPECT_EQ(build_error({{Key::erspan(10), 0}, {Key::erspan(11), 1}, {Key::erspan(10), 2}}),
            "mirror session ERSPAN session 10 is mapped twice: to uplink 0 and to uplink 2");
  EXPECT_EQ(build_error({{Key::erspan(10, 3), 1}, {Key::erspan(10, 3), 1}}),
            "mirror session ERSPAN session 10 index 3 is mapped twice: to uplink 1 and to uplink 1");
  EXPECT_EQ(build_error({{Key::gre(0x02000000), 4}, {Key::gre(0x02000000), 5}}),
            "mirror session GRE key 33554432 (0x02000000) is mapped twice: to uplink 4 and to uplink 5");
  EXPECT_EQ(build_error({{Key::unkeyed(), 4}, {Key::unkeyed(), 5}}),
            "mirror session unkeyed GRE is mapped twice: to uplink 4 and to uplink 5");
  // The exception carries what a config loader needs to name the uplinks itself.
  try {
    MirrorSessionMap map({{Key::erspan(3), 7}, {Key::erspan(3), 2}});
    FAIL() << "no exception";
  } catch (const MirrorSessionMapError& e) {
    EXPECT_EQ(e.key, Key::erspan(3));
    EXPECT_EQ(e.first_uplink, 7);
    EXPECT_EQ(e.second_uplink, 2);
  }
  // A session-only and a session+index entry for the same session are not duplicates.
  EXPECT_EQ(build_error({{Key::erspan(10), 0}, {Key::erspan(10, 0), 1}}), "");
}

TEST(MirrorSessionMap, RefusesImpossibleEntriesAtBuildTime) {
  EXPECT_EQ(build_error({{Key::erspan(1024), 0}}),
            "ERSPAN session ID 1024 (for uplink 0) is out of range: session IDs are 0..1023");
  EXPECT_EQ(build_error({{Key::erspan(1023), 0}}), "");
  EXPECT_EQ(build_error({{Key::erspan(1), cam::kNoUplink}}), "mirror session ERSPAN session 1 has no uplink");
  Key keyed_with_index = Key::gre(5);
  keyed_with_index.has_index = true;
  EXPECT_EQ(build_error({{keyed_with_index, 0}}),
            "GRE key 5 (0x00000005) (for uplink 0) cannot have an index: only ERSPAN types II and III carry one");
}

TEST(MirrorSessionMap, DerivesExactKeyOfAFrame) {
  EXPECT_EQ(Key::of(erspan_frame(MirrorEncap::erspan_ii, 10, true, 0)), Key::erspan(10, 0));
  EXPECT_EQ(Key::of(erspan_frame(MirrorEncap::erspan_iii, 10)), Key::erspan(10));
  EXPECT_EQ(Key::of(gre_frame(MirrorEncap::gre_teb, true, 3)), Key::gre(3));
  EXPECT_EQ(Key::of(gre_frame(MirrorEncap::erspan_i, false)), Key::unkeyed());
  EXPECT_EQ(Key::erspan(10, 3).to_string(), "ERSPAN session 10 index 3");
}

TEST(MirrorSessionMap, FindsEveryOneOfManyEntries) {
  std::vector<MirrorSessionMap::Entry> entries;
  for (std::uint16_t s = 0; s < 1024; s += 3) entries.push_back({Key::erspan(s), static_cast<cam::UplinkId>(s)});
  for (std::uint32_t k = 0; k < 300; ++k) entries.push_back({Key::gre(k * 7919), static_cast<cam::UplinkId>(2000 + k)});
  const MirrorSessionMap map(entries);
  for (std::uint16_t s = 0; s < 1024; ++s) {
    EXPECT_EQ(map.find(erspan_frame(MirrorEncap::erspan_ii, s, true, s)), s % 3 == 0 ? s : cam::kNoUplink);
  }
  for (std::uint32_t k = 0; k < 300; ++k) {
    EXPECT_EQ(map.find(gre_frame(MirrorEncap::gre_teb, true, k * 7919)), 2000 + k);
    EXPECT_EQ(map.find(gre_frame(MirrorEncap::gre_teb, true, k * 7919 + 1)), cam::kNoUplink);
  }
}

}  // namespace
}  // namespace camwatch::capture
