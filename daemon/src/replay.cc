#include "daemon/replay.h"

#include <algorithm>
#include <deque>
#include <map>
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
  std::size_t order = 0;                      // command-line position: ties go to the earlier input
  cam::UplinkId id = 0;                       // an --uplink input's uplink
  UplinkReplayStats* stats = nullptr;         // an --uplink input
  CollectorReplayStats* collector = nullptr;  // a --collector input
  std::uint64_t frames_read = 0;
  std::unique_ptr<capture::RecentlySeenFilter> filter;  // an --uplink input's, as its capture thread's

  std::string& error() { return collector != nullptr ? collector->error : stats->error; }

  // True with a frame at frames[next], reading the next batch when this one is used up; false
  // at the end of the file or at damage (recorded in the stats).
  bool fill() {
    if (next < count) return true;
    next = 0;
    count = ended ? 0 : file->next_batch(frames);
    if (count != 0) return true;
    if (!ended) {
      ended = true;
      error() = file->error();
    }
    return false;
  }
  cam::PacketTime front_time() const { return frames[next].time; }
};

// The session a frame stands for when every session is an uplink of its own: ERSPAN sessions
// whole (their indexes are ports of one session, which a configuration may tell apart).
capture::MirrorSessionKey session_of(const capture::MirroredFrame& m) {
  capture::MirrorSessionKey key = capture::MirrorSessionKey::of(m);
  key.has_index = false;
  key.index = 0;
  return key;
}

std::string invented_name(const capture::MirrorSessionKey& key) {
  switch (key.kind) {
    case capture::MirrorSessionKey::Kind::erspan_session: return "erspan-" + std::to_string(key.id);
    case capture::MirrorSessionKey::Kind::gre_key: return "gre-" + std::to_string(key.id);
    case capture::MirrorSessionKey::Kind::unkeyed_gre: break;
  }
  return "gre";
}

class Replayer {
 public:
  Replayer(const cam::AnalyzerConfig& config, cam::EventSink& sink, std::deque<UplinkReplayStats>& uplinks,
           capture::MirrorSessionMap sessions, bool invent,
           const std::function<void(const std::vector<std::string>&)>& on_uplinks_named)
      : analyzer_(config, sink),
        uplinks_(uplinks),
        sessions_(std::move(sessions)),
        invent_(invent),
        on_uplinks_named_(on_uplinks_named) {}

  // Decodes and counts source's frames [next, end) into the pending batch of observations,
  // which goes to the analyzer whenever it is full.
  void decode(Source& s, std::size_t end) {
    if (s.collector != nullptr) {
      for (; s.next < end; ++s.next) decode_mirrored(s, s.frames[s.next]);
      return;
    }
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

  void announce_names() const {
    if (!on_uplinks_named_) return;
    std::vector<std::string> names;
    for (const UplinkReplayStats& u : uplinks_) names.push_back(u.uplink);
    on_uplinks_named_(names);
  }

 private:
  // A collector's frame, as a live collector takes it: decapsulate, find the session's uplink,
  // decode the mirrored frame for that uplink (no filter: a live collector has none).
  void decode_mirrored(Source& s, const capture::RawFrame& raw) {
    CollectorReplayStats& c = *s.collector;
    if (s.frames_read++ == 0) c.first_frame = raw.time;
    c.last_frame = raw.time;
    const capture::MirroredFrame m = capture::decapsulate_mirror(raw.data, raw.wire_length);
    c.mirror.count(m, raw.wire_length);
    if (!m.has_inner_ethernet()) return;
    const cam::UplinkId id = invent_ ? invented_uplink(m) : sessions_.find(m);
    if (id == cam::kNoUplink) {
      ++c.mirror.unmapped;
      count_unmapped(c, session_of(m));
      return;
    }
    UplinkReplayStats& st = uplinks_[id];
    if (st.decode.frames == 0) st.first_frame = raw.time;
    st.last_frame = raw.time;
    if (!capture::to_observation(raw.time, m.inner, m.inner_wire_length, id, st.decode, pending_[pending_size_])) return;
    ++st.forwarded;
    if (++pending_size_ == kBatch) flush();
  }

  cam::UplinkId invented_uplink(const capture::MirroredFrame& m) {
    const capture::MirrorSessionKey key = session_of(m);
    if (last_invented_ != invented_.end() && last_invented_->first == key) return last_invented_->second;
    auto it = invented_.find(key);
    if (it == invented_.end()) {
      if (uplinks_.size() >= cam::kNoUplink) return cam::kNoUplink;  // ids run out: unmapped
      UplinkReplayStats st;
      st.uplink = unique_name(invented_name(key));
      st.session = key;
      st.invented = true;
      uplinks_.push_back(std::move(st));
      it = invented_.emplace(key, static_cast<cam::UplinkId>(uplinks_.size() - 1)).first;
      announce_names();
    }
    last_invented_ = it;
    return it->second;
  }

  // "erspan-7", or "erspan-7.2" when an --uplink or the configuration already has that name.
  std::string unique_name(const std::string& wanted) const {
    const auto taken = [&](const std::string& name) {
      for (const UplinkReplayStats& u : uplinks_)
        if (u.uplink == name) return true;
      return false;
    };
    std::string name = wanted;
    for (int n = 2; taken(name); ++n) name = wanted + "." + std::to_string(n);
    return name;
  }

  static void count_unmapped(CollectorReplayStats& c, const capture::MirrorSessionKey& key) {
    for (auto& [k, frames] : c.unmapped) {
      if (k == key) {
        ++frames;
        return;
      }
    }
    c.unmapped.emplace_back(key, 1);
  }

  cam::Analyzer analyzer_;
  std::vector<cam::Observation> pending_ = std::vector<cam::Observation>(kBatch);
  std::size_t pending_size_ = 0;
  std::deque<UplinkReplayStats>& uplinks_;  // a deque: sources point into it while it grows
  capture::MirrorSessionMap sessions_;
  bool invent_;
  std::map<capture::MirrorSessionKey, cam::UplinkId> invented_;
  std::map<capture::MirrorSessionKey, cam::UplinkId>::const_iterator last_invented_ = invented_.end();
  const std::function<void(const std::vector<std::string>&)>& on_uplinks_named_;
};

constexpr std::uint64_t kProgressEvery = 1U << 18;

}  // namespace

ReplayResult run_replay(const std::vector<ReplayInput>& inputs, const std::vector<ReplaySession>& sessions,
                        const cam::AnalyzerConfig& config, cam::EventSink& sink,
                        const std::function<void(const ReplayProgress&)>& progress,
                        const std::function<void(const cam::Analyzer&)>& at_end,
                        const std::function<void(const std::vector<std::string>&)>& on_uplinks_named,
                        const ReplayOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  ReplayResult result;
  std::deque<UplinkReplayStats> uplinks;
  std::deque<CollectorReplayStats> collectors;
  std::vector<Source> sources(inputs.size());
  ReplayProgress prog;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Source& s = sources[i];
    s.order = i;
    s.file = capture::CaptureFile::open(inputs[i].path);  // throws, naming the file
    prog.bytes_total += s.file->size_bytes();
    if (inputs[i].collector) {
      CollectorReplayStats& c = collectors.emplace_back();
      c.path = inputs[i].path;
      c.format = s.file->format();
      s.collector = &c;
    } else {
      UplinkReplayStats& st = uplinks.emplace_back();
      st.uplink = inputs[i].uplink;
      st.path = inputs[i].path;
      st.format = s.file->format();
      s.id = static_cast<cam::UplinkId>(uplinks.size() - 1);
      s.stats = &st;
      s.filter = std::make_unique<capture::RecentlySeenFilter>(options.refresh);
    }
  }
  // The configuration's sessions: their uplinks after the --uplink ones, one id per name.
  std::vector<capture::MirrorSessionMap::Entry> entries;
  for (const ReplaySession& session : sessions) {
    cam::UplinkId id = cam::kNoUplink;
    for (std::size_t u = 0; u < uplinks.size(); ++u) {
      if (uplinks[u].uplink == session.uplink) id = static_cast<cam::UplinkId>(u);
    }
    if (id == cam::kNoUplink) {
      UplinkReplayStats& st = uplinks.emplace_back();
      st.uplink = session.uplink;
      st.session = session.key;
      id = static_cast<cam::UplinkId>(uplinks.size() - 1);
    }
    entries.push_back({session.key, id});
  }

  cam::AnalyzerConfig analysis = config;
  if (analysis.tracker.table_memory == nullptr) analysis.tracker.table_memory = &huge_page_table_memory();
  if (analysis.bindings.table_memory == nullptr) analysis.bindings.table_memory = &huge_page_table_memory();
  // Reproducible: the same files give the same events, at the tables' caps too.
  if (analysis.tracker.hash_seed == 0) analysis.tracker.hash_seed = kReplayHashSeed;
  if (analysis.bindings.hash_seed == 0) analysis.bindings.hash_seed = kReplayHashSeed;
  Replayer replayer(analysis, sink, uplinks, capture::MirrorSessionMap(std::move(entries)), sessions.empty(),
                    on_uplinks_named);
  replayer.announce_names();
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
    // One input: no merge, whole batches.
    Source& s = sources[0];
    while (s.fill()) {
      const std::size_t n = s.count - s.next;
      replayer.decode(s, s.count);
      count(n);
    }
  } else {
    for (;;) {
      // Few inputs: a linear scan beats a heap. Strict '<' keeps command-line order on ties.
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
        const bool ties_first = best->order < other->order;
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
    if (s.filter == nullptr) continue;
    s.stats->forwarded = s.filter->forwarded();
    s.stats->filtered = s.filter->filtered();
  }
  replayer.analyzer().finish();
  if (at_end) at_end(replayer.analyzer());
  report();
  result.uplinks.assign(std::make_move_iterator(uplinks.begin()), std::make_move_iterator(uplinks.end()));
  result.collectors.assign(std::make_move_iterator(collectors.begin()), std::make_move_iterator(collectors.end()));
  result.tracker = replayer.analyzer().tracker().stats();
  result.nlb = replayer.analyzer().nlb().stats();
  result.elapsed = std::chrono::steady_clock::now() - started;
  return result;
}

}  // namespace camwatch::daemon
