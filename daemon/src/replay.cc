#include "daemon/replay.h"

#include <algorithm>
#include <memory>
#include <span>
#include <vector>

#include "capture/capture_file.h"
#include "daemon/table_memory.h"

namespace camwatch::daemon {
namespace {

// Frames per read and observations per analyzer call, as LiveCapture's pcap_dispatch batch: the
// reader hands out a buffer's worth of records per virtual call, and the analyzer's batch path
// prefetches table slots ahead (one frame per call: 41 instructions per record through next()
// and no prefetch; docs/PERFORMANCE.md has the gain).
constexpr std::size_t kBatch = 512;

// One input file and the batch of frames read from it but not yet decoded.
struct Source {
  std::unique_ptr<capture::CaptureFile> file;
  std::vector<capture::RawFrame> frames = std::vector<capture::RawFrame>(kBatch);
  std::size_t next = 0;   // first frame of the batch not decoded yet
  std::size_t count = 0;  // frames in the batch
  bool ended = false;
  cam::UplinkId id = 0;
  UplinkReplayStats* stats = nullptr;
  std::uint64_t frames_read = 0;
  std::unique_ptr<capture::RecentlySeenFilter> filter;

  // True with a frame at frames[next], reading the next batch when this one is used up; false
  // at the end of the file or at damage (recorded in stats).
  bool fill() {
    if (next < count) return true;
    next = 0;
    count = ended ? 0 : file->next_batch(frames);
    if (count != 0) return true;
    if (!ended) {
      ended = true;
      stats->error = file->error();
    }
    return false;
  }
  cam::PacketTime front_time() const { return frames[next].time; }
};

class Replayer {
 public:
  Replayer(const cam::AnalyzerConfig& config, cam::EventSink& sink) : analyzer_(config, sink) {}

  // The per-frame path: decode and count each of source's frames [next, end) into the pending
  // batch of observations, which goes to the analyzer whenever it is full.
  void decode(Source& s, std::size_t end) {
    UplinkReplayStats& st = *s.stats;
    if (s.frames_read == 0) st.first_frame = s.frames[s.next].time;
    s.frames_read += end - s.next;
    st.last_frame = s.frames[end - 1].time;
    while (s.next < end) {
      const std::size_t n = std::min(end - s.next, kBatch - pending_size_);
      cam::Observation* const decoded = pending_.data() + pending_size_;
      const std::size_t k = capture::to_observations(s.frames.data() + s.next, n, s.id, st.decode, decoded);
      // The live capture thread's filter, in place: what it holds back never reaches the ring.
      pending_size_ += s.filter->pass_batch(decoded, k);
      s.next += n;
      if (pending_size_ == kBatch) flush();
    }
  }

  void flush() {
    analyzer_.observe(std::span<const cam::Observation>(pending_.data(), pending_size_));
    pending_size_ = 0;
  }

  cam::Analyzer& analyzer() { return analyzer_; }

 private:
  cam::Analyzer analyzer_;
  std::vector<cam::Observation> pending_ = std::vector<cam::Observation>(kBatch);
  std::size_t pending_size_ = 0;
};

constexpr std::uint64_t kProgressEvery = 1U << 18;

}  // namespace

ReplayResult run_replay(const std::vector<ReplayInput>& inputs, const cam::AnalyzerConfig& config,
                        cam::EventSink& sink, const std::function<void(const ReplayProgress&)>& progress,
                        const std::function<void(const cam::Analyzer&)>& at_end, const ReplayOptions& options) {
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
    sources[i].filter = std::make_unique<capture::RecentlySeenFilter>(options.refresh);
    st.format = sources[i].file->format();
    prog.bytes_total += sources[i].file->size_bytes();
  }

  cam::AnalyzerConfig analysis = config;
  if (analysis.tracker.table_memory == nullptr) analysis.tracker.table_memory = &huge_page_table_memory();
  Replayer replayer(analysis, sink);
  std::uint64_t frames = 0;
  auto report = [&] {
    if (!progress) return;
    prog.frames = frames;
    prog.bytes_read = 0;
    for (const Source& s : sources) prog.bytes_read += s.file->position_bytes();
    progress(prog);
  };
  // Called after each run of frames: a report each time the count passes a multiple of
  // kProgressEvery.
  auto count = [&](std::size_t n) {
    const std::uint64_t before = frames;
    frames += n;
    if (before / kProgressEvery != frames / kProgressEvery) report();
  };

  if (sources.size() == 1) {
    // One uplink: no merge, whole batches.
    Source& s = sources[0];
    while (s.fill()) {
      const std::size_t n = s.count - s.next;
      replayer.decode(s, s.count);
      count(n);
    }
  } else {
    for (;;) {
      // Few uplinks: a linear scan beats a heap. Strict '<' keeps command-line order on ties.
      Source* best = nullptr;
      for (Source& s : sources) {
        if (s.fill() && (best == nullptr || s.front_time() < best->front_time())) best = &s;
      }
      if (best == nullptr) break;
      // The earliest frame of the others: best's frames go first while they are before it (on
      // a tie, while best comes first on the command line).
      const Source* other = nullptr;
      for (const Source& s : sources) {
        if (&s == best || s.next == s.count) continue;
        if (other == nullptr || s.front_time() < other->front_time()) other = &s;
      }
      std::size_t end = best->next + 1;
      if (other == nullptr) {
        end = best->count;
      } else {
        const cam::PacketTime limit = other->front_time();
        const bool ties_first = best->id < other->id;
        while (end < best->count && (best->frames[end].time < limit || (ties_first && best->frames[end].time == limit))) {
          ++end;
        }
      }
      const std::size_t n = end - best->next;
      replayer.decode(*best, end);
      count(n);
    }
  }
  replayer.flush();
  for (Source& s : sources) {
    s.stats->forwarded = s.filter->forwarded();
    s.stats->filtered = s.filter->filtered();
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
