// Replay: capture files in, tracker decisions out — `camwatch replay`.
//
// Each input is one uplink's capture file. Frames of all files are merged by packet timestamp
// (ties keep the order the inputs were given in), decoded, passed through the uplink's
// recently-seen filter and fed to one cam::Analyzer, exactly as the live daemon feeds it, so a
// replay gives the events the daemon would have given.
//
// A damaged file (truncated, corrupt record) ends that uplink's input at the damage; the other
// files are read to their end, every event found is delivered, and the result carries the
// error. Files that cannot be opened at all make run_replay() throw before anything is read.
//
// Thread-safety: none; run_replay() runs on the calling thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cam/analyzer.h"
#include "cam/event.h"
#include "cam/tracker.h"
#include "capture/frame_decoder.h"
#include "capture/recent_filter.h"

namespace camwatch::daemon {

struct ReplayInput {
  std::string uplink;  // the user's name for it
  std::string path;
};

struct UplinkReplayStats {
  std::string uplink;
  std::string path;
  std::string format;              // "pcap (microseconds, little-endian)", "pcapng", ...
  capture::DecodeCounters decode;  // frames, malformed, notifications, ...
  std::uint64_t forwarded = 0;     // observations the recently-seen filter passed to the analyzer
  std::uint64_t filtered = 0;      // ... and held back
  cam::PacketTime first_frame{};
  cam::PacketTime last_frame{};
  std::string error;  // non-empty when the file was damaged: what and where
};

struct ReplayProgress {
  std::uint64_t frames = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_total = 0;
};

struct ReplayResult {
  std::vector<UplinkReplayStats> uplinks;
  cam::TrackerStats tracker;
  cam::NlbStats nlb;
  std::chrono::nanoseconds elapsed{};  // wall time, for the summary only
  bool ok() const {
    for (const auto& u : uplinks)
      if (!u.error.empty()) return false;
    return true;
  }
};

struct ReplayOptions {
  // Each file's frames go through a capture::RecentlySeenFilter with this refresh, as the live
  // capture thread's do ([capture] refresh), so that a replay gives the live daemon's events.
  cam::Duration refresh = capture::RecentlySeenFilter::kDefaultRefresh;
};

// Opens every input (throws capture::CaptureFileError naming the file), replays them into an
// analyzer built from `config` that delivers events to `sink`, and returns the tallies.
// `progress`, when set, is called every few hundred thousand frames; `at_end`, when set, sees
// the analyzer after the last decision (to save the learned table, list the NLB hosts).
ReplayResult run_replay(const std::vector<ReplayInput>& inputs, const cam::AnalyzerConfig& config,
                        cam::EventSink& sink, const std::function<void(const ReplayProgress&)>& progress = {},
                        const std::function<void(const cam::Analyzer&)>& at_end = {},
                        const ReplayOptions& options = {});

}  // namespace camwatch::daemon
