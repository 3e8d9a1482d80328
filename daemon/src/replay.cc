#include "daemon/replay.h"

#include <memory>

#include "capture/capture_file.h"

namespace camwatch::daemon {
namespace {

struct Source {
  std::unique_ptr<capture::CaptureFile> file;
  capture::RawFrame frame;
  bool has_frame = false;
  cam::UplinkId id = 0;
  UplinkReplayStats* stats = nullptr;
  std::uint64_t frames = 0;

  // Reads the next frame; false at the end of the file or at damage (recorded in stats).
  bool advance() {
    switch (file->next(frame)) {
      case capture::ReadStatus::frame:
        has_frame = true;
        return true;
      case capture::ReadStatus::end:
        break;
      case capture::ReadStatus::error:
        stats->error = file->error();
        break;
    }
    has_frame = false;
    return false;
  }
};

class Replayer {
 public:
  Replayer(const cam::AnalyzerConfig& config, cam::EventSink& sink) : analyzer_(config, sink) {}

  // The per-frame path: decode, count, and hand the tracker one fixed-size observation.
  void feed(Source& s) {
    const capture::RawFrame& raw = s.frame;
    UplinkReplayStats& st = *s.stats;
    if (s.frames++ == 0) st.first_frame = raw.time;
    st.last_frame = raw.time;
    cam::Observation o;
    if (!capture::to_observation(raw.time, raw.data, raw.wire_length, s.id, st.decode, o)) return;
    analyzer_.observe(o);
  }

  cam::Analyzer& analyzer() { return analyzer_; }

 private:
  cam::Analyzer analyzer_;
};

constexpr std::uint64_t kProgressEvery = 1U << 18;

}  // namespace

ReplayResult run_replay(const std::vector<ReplayInput>& inputs, const cam::AnalyzerConfig& config,
                        cam::EventSink& sink, const std::function<void(const ReplayProgress&)>& progress,
                        const std::function<void(const cam::Analyzer&)>& at_end) {
  const auto started = std::chrono::steady_clock::now();
  ReplayResult result;
  result.uplinks.resize(inputs.size());
  std::vector<Source> sources(inputs.size());
  ReplayProgress prog;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    UplinkReplayStats& st = result.uplinks[i];
    st.uplink = inputs[i].uplink;
    st.path = inputs[i].path;
    sources[i].file = capture::CaptureFile::open(inputs[i].path);  // throws, naming the file
    sources[i].id = static_cast<cam::UplinkId>(i);
    sources[i].stats = &st;
    st.format = sources[i].file->format();
    prog.bytes_total += sources[i].file->size_bytes();
  }

  Replayer replayer(config, sink);
  std::uint64_t frames = 0;
  auto report = [&] {
    if (!progress) return;
    prog.frames = frames;
    prog.bytes_read = 0;
    for (const Source& s : sources) prog.bytes_read += s.file->position_bytes();
    progress(prog);
  };

  if (sources.size() == 1) {
    // One uplink: no merge, the tightest loop.
    Source& s = sources[0];
    while (s.advance()) {
      replayer.feed(s);
      if ((++frames & (kProgressEvery - 1)) == 0) report();
    }
  } else {
    for (Source& s : sources) s.advance();
    for (;;) {
      // Few uplinks: a linear scan beats a heap. Strict '<' keeps command-line order on ties.
      Source* next = nullptr;
      for (Source& s : sources) {
        if (s.has_frame && (next == nullptr || s.frame.time < next->frame.time)) next = &s;
      }
      if (next == nullptr) break;
      replayer.feed(*next);
      next->advance();
      if ((++frames & (kProgressEvery - 1)) == 0) report();
    }
  }
  replayer.analyzer().finish();
  if (at_end) at_end(replayer.analyzer());
  report();
  result.tracker = replayer.analyzer().tracker().stats();
  result.nlb = replayer.analyzer().nlb().stats();
  result.elapsed = std::chrono::steady_clock::now() - started;
  return result;
}

}  // namespace camwatch::daemon
