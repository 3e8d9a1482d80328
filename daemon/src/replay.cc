#include "daemon/replay.h"

#include <deque>
#include <map>
#include <memory>

#include "capture/capture_file.h"

namespace camwatch::daemon {
namespace {

struct Source {
  std::unique_ptr<capture::CaptureFile> file;
  capture::RawFrame frame;
  bool has_frame = false;
  cam::UplinkId id = 0;
  UplinkReplayStats* stats = nullptr;         // an --uplink input
  CollectorReplayStats* collector = nullptr;  // a --collector input
  std::uint64_t frames = 0;

  std::string& error() { return collector != nullptr ? collector->error : stats->error; }

  // Reads the next frame; false at the end of the file or at damage (recorded in the stats).
  bool advance() {
    switch (file->next(frame)) {
      case capture::ReadStatus::frame:
        has_frame = true;
        return true;
      case capture::ReadStatus::end:
        break;
      case capture::ReadStatus::error:
        error() = file->error();
        break;
    }
    has_frame = false;
    return false;
  }
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

  // The per-frame path: decode, count, and hand the tracker one fixed-size observation.
  void feed(Source& s) {
    if (s.collector != nullptr) {
      feed_mirrored(s);
      return;
    }
    const capture::RawFrame& raw = s.frame;
    UplinkReplayStats& st = *s.stats;
    if (s.frames++ == 0) st.first_frame = raw.time;
    st.last_frame = raw.time;
    cam::Observation o;
    if (!capture::to_observation(raw.time, raw.data, raw.wire_length, s.id, st.decode, o)) return;
    analyzer_.observe(o);
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
  // decode the mirrored frame for that uplink.
  void feed_mirrored(Source& s) {
    const capture::RawFrame& raw = s.frame;
    CollectorReplayStats& c = *s.collector;
    if (s.frames++ == 0) c.first_frame = raw.time;
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
    cam::Observation o;
    if (!capture::to_observation(raw.time, m.inner, m.inner_wire_length, id, st.decode, o)) return;
    analyzer_.observe(o);
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
                        const std::function<void(const std::vector<std::string>&)>& on_uplinks_named) {
  const auto started = std::chrono::steady_clock::now();
  ReplayResult result;
  std::deque<UplinkReplayStats> uplinks;
  std::deque<CollectorReplayStats> collectors;
  std::vector<Source> sources(inputs.size());
  ReplayProgress prog;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Source& s = sources[i];
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

  Replayer replayer(config, sink, uplinks, capture::MirrorSessionMap(std::move(entries)), sessions.empty(),
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

  if (sources.size() == 1) {
    // One input: no merge, the tightest loop.
    Source& s = sources[0];
    while (s.advance()) {
      replayer.feed(s);
      if ((++frames & (kProgressEvery - 1)) == 0) report();
    }
  } else {
    for (Source& s : sources) s.advance();
    for (;;) {
      // Few inputs: a linear scan beats a heap. Strict '<' keeps command-line order on ties.
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
  result.uplinks.assign(std::make_move_iterator(uplinks.begin()), std::make_move_iterator(uplinks.end()));
  result.collectors.assign(std::make_move_iterator(collectors.begin()), std::make_move_iterator(collectors.end()));
  result.tracker = replayer.analyzer().tracker().stats();
  result.nlb = replayer.analyzer().nlb().stats();
  result.elapsed = std::chrono::steady_clock::now() - started;
  return result;
}

}  // namespace camwatch::daemon
