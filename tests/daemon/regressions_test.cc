// Regressions found by a second review of the configuration, the version 3 state file and `camwatch table`: each test is a
// defect that was fixed (the comment above it says what went wrong).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "cam/analyzer.h"
#include "daemon/config.h"
#include "daemon/state_file.h"
#include "daemon/table_view.h"

namespace camwatch::daemon {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kT0ns = 1'346'305'200LL * 1'000'000'000LL;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/camwatch-review-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    path_ = made != nullptr ? made : "/tmp";
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Little-endian bytes as docs/STATE_FILE.md lays them out, with the CRC-32 at the end.
class Bytes {
 public:
  Bytes& raw(const std::string& t) {
    b_.insert(b_.end(), t.begin(), t.end());
    return *this;
  }
  Bytes& le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  Bytes& u8(std::uint8_t v) { return le(v, 1); }
  Bytes& u16(std::uint16_t v) { return le(v, 2); }
  Bytes& u32(std::uint32_t v) { return le(v, 4); }
  Bytes& u64(std::uint64_t v) { return le(v, 8); }
  Bytes& i64(std::int64_t v) { return le(static_cast<std::uint64_t>(v), 8); }
  Bytes& v3_header(const std::vector<std::string>& names) {
    raw("CAMWSTAT").u32(3).i64(kT0ns).u32(static_cast<std::uint32_t>(names.size()));
    for (const std::string& n : names) u16(static_cast<std::uint16_t>(n.size())).raw(n);
    return *this;
  }
  // Story header (88 bytes).
  Bytes& story(std::uint16_t members, std::int64_t started, std::int64_t ended, std::int64_t closed,
               std::int64_t last_frame, std::uint32_t moved, std::uint32_t silent, std::int64_t longest_blackout) {
    u16(0).u16(1).u8(1).u8(0).u16(members);
    i64(started).i64(ended).i64(closed).i64(0).i64(last_frame).i64(0);
    u32(moved).u32(0).u32(silent).u32(0).u32(0).u32(0);
    return i64(longest_blackout);
  }
  // Silent-station record (40 bytes).
  Bytes& member(std::uint64_t key, std::int64_t moved, std::int64_t last_seen_on_from) {
    u64(key).u16(1).u8(0).u8(0).u8(0).u8(0).u16(0).u32(0).u32(0);
    return i64(moved).i64(last_seen_on_from);
  }
  std::string with_crc() const {
    std::uint32_t c = 0xFFFF'FFFFU;
    for (std::uint8_t x : b_) {
      c ^= x;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB8'8320U & (0U - (c & 1U)));
    }
    c = ~c;
    std::string out(b_.begin(), b_.end());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(static_cast<std::uint8_t>(c >> (8 * i))));
    return out;
  }

 private:
  std::vector<std::uint8_t> b_;
};

std::string load_error(const std::string& path) {
  try {
    load_state(path);
  } catch (const StateFileError& e) {
    return e.what();
  }
  return "";
}

// ---- 8: a configuration load_config() accepts that the analyses refuse ----------------
//
// [bindings] idle_timeout and flip_flop_memory have no upper bound in load_config() (config.cc:
// {1s, nullopt} / {0s, nullopt}), but BindingTable refuses durations over 10 years with
// std::invalid_argument. check-config says "valid"; `replay`/`run` then exit 1 with
// "camwatch: error: bindings durations must be between 0 and 10 years" (no file:line:key, not
// exit 6); and on SIGHUP, Daemon::reload() calls analyzer_.reconfigure() outside its try block:
// the tracker half is applied, the exception leaves the main loop and the daemon exits without
// saving its state.
TEST(ConfigLoad, EveryConfigurationLoadConfigAcceptsIsOneTheAnalysesAccept) {
  TempDir dir;
  for (const char* line : {"idle_timeout = \"100000h\"", "flip_flop_memory = \"100000h\""}) {
    SCOPED_TRACE(line);
    const std::string path = dir.file("camwatch.toml");
    write_text(path, std::string("[[uplink]]\nname = \"A\"\ninterface = \"lo\"\n\n[bindings]\n") + line + "\n");
    Config config;
    try {
      config = load_config(path);
    } catch (const ConfigError& e) {
      SUCCEED() << "refused with file:line:key: " << e.what();
      continue;
    }
    struct NullSink : cam::EventSink {
      void on_event(const cam::Event&) override {}
    } sink;
    EXPECT_NO_THROW({ cam::Analyzer analyzer(analyzer_config(config, {"A"}), sink); });
    cam::Analyzer running(analyzer_config(Config{}, {"A"}), sink);
    EXPECT_NO_THROW(running.reconfigure(analyzer_config(config, {"A"}))) << "a SIGHUP with this file ends the daemon";
  }
}

// ---- 9: version 3 stories are not checked for impossible times -------------------------
//
// read_sections() takes a story's six times, its longest blackout and its members' times as
// they come. Extreme values reach FailoverStation::blackout() (moved - last_seen_on_from) and
// describe_story()'s ended - started, which overflow int64 (undefined behaviour; in practice
// "moved within -0.0 s", "dark -0.000 s" in `camwatch table`). Station and binding times are
// kept within 1970..2116 by the tracker's and the table's restore(); stories get no such check.
TEST(StateFile, LoadStateRefusesStoriesWithImpossibleTimes) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  write_text(path, Bytes()
                       .v3_header({"A", "B"})
                       .u64(0)  // stations
                       .u64(0)  // bindings
                       .u32(1)  // stories
                       .story(1, kMin, kMax, kT0ns, kT0ns, 1, 1, kMin)
                       .member(0x0050'5600'0001ULL, kMax, kMin)
                       .with_crc());
  EXPECT_NE(load_error(path), "") << "a story from 1677 to 2262 with a blackout of -292 years was accepted";
}

// ---- 10: a story whose silent members were not kept --------------------------------
//
// A story keeps its first kMaxStoryStations members and the file the first 256 silent ones, so
// a saved story can have silent > 0 and no silent member listed (M = 0 is valid). The failover
// event then says "silent_stations_omitted", but `camwatch table` prints "3 SILENT" with no list
// and no "... and 3 more" (story_text.cc: the line needs listed > 0), and `table --failovers
// --json` has neither the list nor silent_stations_omitted.
TEST(TableView, TableTellsSilentStationsAStoryDidNotKeep) {
  TempDir dir;
  const std::string path = dir.file("cam.state");
  write_text(path, Bytes()
                       .v3_header({"A", "B"})
                       .u64(0)
                       .u64(0)
                       .u32(1)
                       .story(0, kT0ns, kT0ns + 1'000'000'000LL, kT0ns + 11'000'000'000LL, kT0ns - 1'000'000'000LL, 5000,
                              3, 1'000'000'000LL)
                       .with_crc());
  SavedState state;
  ASSERT_NO_THROW(state = load_state(path));
  TableOptions text;
  text.view = TableView::failovers;
  const std::string out = format_table(state, text, nullptr);
  EXPECT_NE(out.find("3 more"), std::string::npos) << out;
  TableOptions json = text;
  json.json = true;
  const std::string lines = format_table(state, json, nullptr);
  EXPECT_NE(lines.find("\"silent_stations_omitted\":3"), std::string::npos) << lines;
}

}  // namespace
}  // namespace camwatch::daemon
