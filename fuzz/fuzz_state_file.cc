// fuzz_state_file: load_state() on arbitrary file contents, then restore_into() a small analyzer
// (stations into its tracker, bindings into its binding table, failover stories), and a save of
// what was restored must load back.
//
// Every input is loaded twice: as it is, and with its last 4 bytes replaced by the CRC-32 of the
// bytes before them (docs/STATE_FILE.md). Without the second load nearly every mutation would
// stop at the checksum and the record and name checks behind it would go untested.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cam/analyzer.h"
#include "cam/tracker.h"
#include "daemon/state_file.h"
#include "fuzz_input_file.h"

namespace {

using namespace camwatch;

class NullSink final : public cam::EventSink {
 public:
  void on_event(const cam::Event&) override {}
};

// Bitwise CRC-32 (zlib's): slow, but independent of the code under test.
std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xFFFF'FFFFU;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB8'8320U & (0U - (crc & 1U)));
  }
  return crc ^ 0xFFFF'FFFFU;
}

void load_and_restore(fuzz::FuzzInputFile& file, const std::uint8_t* data, std::size_t size) {
  daemon::SavedState state;
  try {
    state = daemon::load_state(file.write(data, size));
  } catch (const daemon::StateFileError&) {
    return;
  }
  cam::AnalyzerConfig config;
  config.tracker.max_entries = 1000;
  config.bindings.max_entries = 1000;
  NullSink sink;
  cam::Analyzer analyzer(config, sink);
  const cam::Tracker& tracker = analyzer.tracker();
  // Two names a hand-written seed uses, and one that is never saved: some stations map, some not.
  static const std::vector<std::string> uplink_names = {"vmnic2", "vmnic3", "other"};
  std::size_t bindings = 0;
  const std::size_t restored = daemon::restore_into(state, analyzer, uplink_names, &bindings);
  if (restored > state.stations.size() || restored > config.tracker.max_entries) __builtin_trap();
  if (bindings > state.bindings.size() || bindings > config.bindings.max_entries) __builtin_trap();
  if (analyzer.recent_stories().size() > cam::kRecentStories) __builtin_trap();
  // What was restored saves and loads back (the bytes serialize_state() would send as the table).
  try {
    const daemon::SavedState again = daemon::parse_state(daemon::serialize_state(analyzer, uplink_names), "fuzz");
    if (again.stations.size() != tracker.stats().stations || again.bindings.size() != analyzer.bindings().stats().bindings) {
      __builtin_trap();
    }
  } catch (const daemon::StateFileError&) {
    __builtin_trap();
  }
  // The NLB gauge must match the flags of what the table holds, whatever the file said.
  std::uint64_t flagged = 0;
  tracker.for_each_station([&](const cam::StationView& v) { flagged += v.nlb_host ? 1 : 0; });
  if (tracker.stats().nlb_hosts != flagged || flagged > tracker.stats().stations) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::FuzzInputFile file("camwatch-fuzz-state");
  load_and_restore(file, data, size);
  if (size < 4) return 0;
  std::vector<std::uint8_t> fixed(data, data + size);
  const std::uint32_t crc = crc32(fixed.data(), size - 4);
  for (std::size_t i = 0; i < 4; ++i) fixed[size - 4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  load_and_restore(file, fixed.data(), fixed.size());
  return 0;
}
