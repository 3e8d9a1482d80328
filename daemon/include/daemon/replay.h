// Replay: capture files in, tracker decisions out — `camwatch replay`.
//
// Each input is one uplink's capture file (--uplink), or a collector's capture (--collector) of
// ERSPAN / GRE mirrors of many uplinks. Frames of all files are merged by packet timestamp (ties
// keep the order the inputs were given in; within a file, its own order), decoded, passed
// through the uplink's recently-seen filter (an uplink's own file: a live collector has none)
// and fed to one cam::Analyzer, exactly as the live daemon feeds it, so a replay gives the
// events the daemon would have given.
//
// Collector captures. Each frame is decapsulated (capture/mirror_decap.h) and its session looked
// up in `sessions`, the mappings of the configuration's uplinks fed by a collector, exactly as a
// live collector does: with mappings, a frame of a session none of them takes is counted (per
// session, in CollectorReplayStats::unmapped) and never learned, so a replay with the daemon's
// configuration gives the daemon's events. Without any mapping (no --config, or none of its
// uplinks is fed by a collector) the replay is an investigation: every session becomes an uplink
// of its own, named erspan-<session> (types II and III, whatever their indexes), gre-<key> (type
// I and TEB with a key) or gre (without), in the order their first frames come, marked
// `invented` in the stats; `on_uplinks_named` hears of each before its first frame is decided.
//
// Uplink ids: the --uplink inputs in order, then the mapped uplinks in `sessions` order (a name
// given both ways is one uplink), then the invented ones.
//
// Reproducibility: a replay fixes the hash seeds of the analyzer's tables when `config` leaves
// them random (0), so the same files always give the same events, even at the tables' caps
// (where the layout decides which probationary entry makes room). The live daemon keeps them
// random: a file replayed offline cannot adapt its MACs to the seed, live traffic could.
//
// A damaged file (truncated, corrupt record) ends that input at the damage; the other files are
// read to their end, every event found is delivered, and the result carries the error. Files
// that cannot be opened at all make run_replay() throw before anything is read.
//
// Thread-safety: none; run_replay() runs on the calling thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cam/analyzer.h"
#include "cam/event.h"
#include "cam/tracker.h"
#include "capture/frame_decoder.h"
#include "capture/mirror_decap.h"
#include "capture/mirror_session_map.h"
#include "capture/recent_filter.h"

namespace camwatch::daemon {

struct ReplayInput {
  std::string uplink;  // --uplink: the user's name for it; empty for a collector capture
  std::string path;
  bool collector = false;  // --collector: mirrors of many uplinks, mapped by session
};

// A mirror session the configuration maps to an uplink.
struct ReplaySession {
  std::string uplink;
  capture::MirrorSessionKey key;
};

struct UplinkReplayStats {
  std::string uplink;
  std::string path;                // the --uplink file; empty for an uplink fed by collector captures
  std::string format;              // "pcap (microseconds, little-endian)", "pcapng", ...
  capture::DecodeCounters decode;  // frames, malformed, notifications, ...
  std::uint64_t forwarded = 0;     // observations the recently-seen filter passed to the analyzer
  std::uint64_t filtered = 0;      // ... and held back
  cam::PacketTime first_frame{};
  cam::PacketTime last_frame{};
  std::string error;  // non-empty when the file was damaged: what and where
  std::optional<capture::MirrorSessionKey> session;  // fed by collector captures: its session
  bool invented = false;                             // named by the replay, not the configuration
};

struct CollectorReplayStats {
  std::string path;
  std::string format;
  capture::MirrorCounters mirror;  // every frame by what it held
  cam::PacketTime first_frame{};
  cam::PacketTime last_frame{};
  std::string error;
  // Sessions of mirrored frames no mapping took (ERSPAN sessions without their index), with
  // their frame counts, in the order of their first frames. Empty when the replay invents uplinks.
  std::vector<std::pair<capture::MirrorSessionKey, std::uint64_t>> unmapped;
};

struct ReplayProgress {
  std::uint64_t frames = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_total = 0;
};

struct ReplayResult {
  std::vector<UplinkReplayStats> uplinks;          // by uplink id
  std::vector<CollectorReplayStats> collectors;    // the --collector inputs, in order
  cam::TrackerStats tracker;
  cam::NlbStats nlb;
  std::chrono::nanoseconds elapsed{};  // wall time, for the summary only
  bool ok() const {
    for (const auto& u : uplinks)
      if (!u.error.empty()) return false;
    for (const auto& c : collectors)
      if (!c.error.empty()) return false;
    return true;
  }
};

// The hash seed of a replay's station and binding tables (see "Reproducibility" above).
inline constexpr std::uint64_t kReplayHashSeed = 0x63616d7761746368ULL;  // "camwatch"

struct ReplayOptions {
  // Each --uplink file's frames go through a capture::RecentlySeenFilter with this refresh, as
  // the live capture thread's do ([capture] refresh), so that a replay gives the live daemon's
  // events. (A collector's frames are not filtered, live or replayed.)
  cam::Duration refresh = capture::RecentlySeenFilter::kDefaultRefresh;
};

// Opens every input (throws capture::CaptureFileError naming the file), replays them into an
// analyzer built from `config` that delivers events to `sink`, and returns the tallies.
// `sessions` maps the collector captures' sessions (see above). `progress`, when set, is called
// every few hundred thousand frames; `at_end`, when set, sees the analyzer after the last
// decision (to save the learned table, list the NLB hosts); `on_uplinks_named`, when set, gets
// the names of all uplinks by id before the replay starts and again whenever one is invented.
ReplayResult run_replay(const std::vector<ReplayInput>& inputs, const std::vector<ReplaySession>& sessions,
                        const cam::AnalyzerConfig& config, cam::EventSink& sink,
                        const std::function<void(const ReplayProgress&)>& progress = {},
                        const std::function<void(const cam::Analyzer&)>& at_end = {},
                        const std::function<void(const std::vector<std::string>&)>& on_uplinks_named = {},
                        const ReplayOptions& options = {});

}  // namespace camwatch::daemon
