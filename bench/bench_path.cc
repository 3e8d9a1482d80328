// camwatch-bench-path: the replay per-frame path in isolation, for callgrind and for timing.
//
//   camwatch-bench-path [--max-entries N] [--probation S] [--refresh MS] [--reps N] FILE
//
// Three phases over one capture file, each measured on its own:
//   1. read:   CaptureFile::next() over every record (the reader alone, nothing kept), then
//      read_batch: the same with next_batch() in batches of 512;
//   2. load:   every frame copied into one heap buffer (not measured: setup);
//   3. decode+track: the frames in memory, exactly as `camwatch replay` takes them
//      (daemon/src/replay.cc, Replayer::decode): batches of 512, each frame through
//      capture::to_observation() into an array, the array through the uplink's
//      RecentlySeenFilter (--refresh, default replay's 1 s; 0: off), then what passed to
//      Analyzer::observe(span). Analyzer::finish() is not part of it (end of input, not per frame).
// Under `valgrind --tool=callgrind --collect-atstart=no` each measured phase is collected alone
// and dumped under its own name (client requests: CALLGRIND_TOGGLE_COLLECT, CALLGRIND_DUMP_STATS_AT),
// so instructions per frame are the dump's Ir over the frame count; bench/callgrind_path.sh does
// that. Outside valgrind the requests are no-ops and the program times the phases itself.
//
// Also reported: heap allocations (global operator new calls) inside the decode+track loop after
// the first pass over the frames (--reps 2 or more: the steady state), and the tracker's resident
// memory: RssAnon growth of the process across constructing and feeding the Tracker, read from
// /proc/self/status (the frames are in the heap before that, so they are not counted).
//
// Output: one "key value" per line (machine-read by the bench scripts).
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "cam/analyzer.h"
#include "cam/tracker.h"
#include "capture/capture_file.h"
#include "capture/frame_decoder.h"
#include "capture/recent_filter.h"
#include "daemon/table_memory.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define CAMWATCH_HAVE_CALLGRIND 1
#else
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(name)
#define CAMWATCH_HAVE_CALLGRIND 0
#endif

namespace {

// Every global operator new bumps this; the steady loop must leave it unchanged.
std::atomic<std::uint64_t> g_allocations{0};

}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace camwatch;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "camwatch-bench-path: error: %s\n", what.c_str());
  std::exit(1);
}

[[noreturn]] void usage(int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: camwatch-bench-path [--max-entries N] [--probation S] [--refresh MS] [--reps N] FILE\n"
               "  runs camwatch replay's per-frame path (decode + track) over FILE held in memory;\n"
               "  under valgrind --tool=callgrind --collect-atstart=no only the measured loops count\n"
               "  --max-entries N  the tracker's table cap (default 1000000, as camwatch replay)\n"
               "  --probation S    [cam] probation in seconds (default 10; 0: a full table refuses)\n"
               "  --refresh MS     [capture] refresh in milliseconds (default 1000; 0: no filter)\n"
               "  --reps N         passes of decode + track over the frames (default 1); allocations\n"
               "                   are counted in passes 2..N (the steady state)\n");
  std::exit(code);
}

std::uint64_t parse_count(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v == 0) {
    std::fprintf(stderr, "camwatch-bench-path: error: %s needs a positive integer, got '%s'\n", flag, text);
    usage(2);
  }
  return v;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// "RssAnon:   1234 kB" from /proc/self/status, in bytes; 0 when unreadable.
std::uint64_t rss_anon_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "RssAnon:") {
      std::uint64_t kib = 0;
      status >> kib;
      return kib * 1024;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0;
}

// Frames per next_batch() and observations per Analyzer::observe(): replay's and LiveCapture's
// batch size.
constexpr std::size_t kReadBatch = 512;

// One batch decoded as Replayer::decode does it (out of line so that callgrind's split can tell
// decoding from tracking): returns the observations written.
[[gnu::noinline]] std::size_t decode_batch(const capture::RawFrame* frames, std::size_t n,
                                           capture::DecodeCounters& counters, cam::Observation* out) {
  return capture::to_observations(frames, n, 0, counters, out);
}

// The filter's part, out of line for the same reason.
[[gnu::noinline]] std::size_t filter_batch(capture::RecentlySeenFilter& filter, cam::Observation* out, std::size_t n) {
  return filter.pass_batch(out, n);
}

class NullSink final : public cam::EventSink {
 public:
  void on_event(const cam::Event&) override { ++events; }
  std::uint64_t events = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t max_entries = cam::TrackerConfig{}.max_entries;
  std::uint64_t reps = 1;
  cam::Duration probation = cam::TrackerConfig{}.probation;
  cam::Duration refresh = capture::RecentlySeenFilter::kDefaultRefresh;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* flag) {
      if (i + 1 >= argc) usage(2);
      return parse_count(flag, argv[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      usage(0);
    } else if (arg == "--max-entries") {
      max_entries = value("--max-entries");
    } else if (arg == "--reps") {
      reps = value("--reps");
    } else if (arg == "--refresh") {
      if (i + 1 >= argc) usage(2);
      refresh = std::chrono::milliseconds(std::strtoll(argv[++i], nullptr, 10));
    } else if (arg == "--probation") {
      if (i + 1 >= argc) usage(2);
      probation = std::chrono::seconds(std::strtoll(argv[++i], nullptr, 10));
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "camwatch-bench-path: error: unknown option %s\n", arg.c_str());
      usage(2);
    } else if (path.empty()) {
      path = arg;
    } else {
      usage(2);
    }
  }
  if (path.empty()) usage(2);

  // 1. The reader alone: next() per record, then next_batch() in batches of kReadBatch.
  std::uint64_t frames = 0;
  std::uint64_t bytes_total = 0;
  double read_s = 0;
  double read_batch_s = 0;
  try {
    auto file = capture::CaptureFile::open(path);
    capture::RawFrame raw;
    double t0 = cpu_seconds();
    CALLGRIND_TOGGLE_COLLECT;
    while (file->next(raw) == capture::ReadStatus::frame) {
      ++frames;
      bytes_total += raw.data.size();
    }
    CALLGRIND_TOGGLE_COLLECT;
    read_s = cpu_seconds() - t0;
    CALLGRIND_DUMP_STATS_AT("read");
    if (!file->error().empty()) die(path + ": " + file->error());

    file = capture::CaptureFile::open(path);
    std::vector<capture::RawFrame> batch(kReadBatch);
    std::uint64_t batched_frames = 0;
    std::uint64_t batched_bytes = 0;
    t0 = cpu_seconds();
    CALLGRIND_TOGGLE_COLLECT;
    for (std::size_t n; (n = file->next_batch(batch)) != 0;) {
      for (std::size_t i = 0; i < n; ++i) batched_bytes += batch[i].data.size();
      batched_frames += n;
    }
    CALLGRIND_TOGGLE_COLLECT;
    read_batch_s = cpu_seconds() - t0;
    CALLGRIND_DUMP_STATS_AT("read_batch");
    if (batched_frames != frames || batched_bytes != bytes_total) die(path + ": next_batch() disagrees with next()");
  } catch (const capture::CaptureFileError& e) {
    die(e.what());
  }
  if (frames == 0) die(path + ": no frames");

  // 2. Into memory: one byte buffer, frames in file order.
  std::vector<std::uint8_t> bytes;
  std::vector<capture::RawFrame> index;
  bytes.reserve(bytes_total);
  index.reserve(frames);
  {
    auto file = capture::CaptureFile::open(path);
    capture::RawFrame raw;
    while (file->next(raw) == capture::ReadStatus::frame) {
      capture::RawFrame kept = raw;
      kept.data = std::span<const std::uint8_t>(bytes.data() + bytes.size(), raw.data.size());  // reserved: stays put
      bytes.insert(bytes.end(), raw.data.begin(), raw.data.end());
      index.push_back(kept);
    }
  }

  // 3. decode + track, the replay loop's body.
  NullSink sink;
  cam::AnalyzerConfig config;
  config.tracker.max_entries = max_entries;
  config.tracker.probation = probation;
  config.tracker.table_memory = &daemon::huge_page_table_memory();  // as run_replay()
  config.bindings.table_memory = &daemon::huge_page_table_memory();
  const std::uint64_t rss_before = rss_anon_bytes();
  cam::Analyzer analyzer(config, sink);
  capture::DecodeCounters counters;
  std::vector<cam::Observation> observations(kReadBatch);
  capture::RecentlySeenFilter filter(refresh);
  double track_s = 0;
  std::uint64_t steady_allocations = 0;
  // Later passes shift packet time past the first so the tracker sees one long, ordered capture.
  const cam::Duration span = index.back().time - index.front().time + std::chrono::seconds(1);
  for (std::uint64_t rep = 0; rep < reps; ++rep) {
    if (rep != 0) {
      for (capture::RawFrame& f : index) f.time += span;
    }
    const std::uint64_t allocations_before = g_allocations.load(std::memory_order_relaxed);
    const double t0 = cpu_seconds();
    CALLGRIND_TOGGLE_COLLECT;
    for (std::size_t i = 0; i < index.size(); i += kReadBatch) {
      const std::size_t n = std::min(kReadBatch, index.size() - i);
      std::size_t k = decode_batch(index.data() + i, n, counters, observations.data());
      if (refresh != cam::Duration::zero()) k = filter_batch(filter, observations.data(), k);
      analyzer.observe(std::span<const cam::Observation>(observations.data(), k));
    }
    CALLGRIND_TOGGLE_COLLECT;
    track_s += cpu_seconds() - t0;
    if (rep != 0) steady_allocations += g_allocations.load(std::memory_order_relaxed) - allocations_before;
  }
  CALLGRIND_DUMP_STATS_AT("decode+track");
  const std::uint64_t rss_after = rss_anon_bytes();
  analyzer.finish();
  const cam::Tracker& tracker = analyzer.tracker();

  const cam::TrackerStats& st = tracker.stats();
  const double n = static_cast<double>(frames);
  const double passes = static_cast<double>(reps);
  std::printf("file %s\n", path.c_str());
  std::printf("frames %llu\n", static_cast<unsigned long long>(frames));
  std::printf("reps %llu\n", static_cast<unsigned long long>(reps));
  std::printf("callgrind_requests %s\n", CAMWATCH_HAVE_CALLGRIND ? "yes" : "no");
  std::printf("read_cpu_s %.4f\n", read_s);
  std::printf("read_ns_per_frame %.2f\n", read_s * 1e9 / n);
  std::printf("read_batch_cpu_s %.4f\n", read_batch_s);
  std::printf("read_batch_ns_per_frame %.2f\n", read_batch_s * 1e9 / n);
  std::printf("track_cpu_s %.4f\n", track_s);
  std::printf("track_ns_per_frame %.2f\n", track_s * 1e9 / (n * passes));
  std::printf("track_mframes_per_s %.2f\n", n * passes / track_s / 1e6);
  std::printf("steady_allocations %llu\n", static_cast<unsigned long long>(steady_allocations));
  std::printf("refresh_ms %lld\n", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(refresh).count()));
  std::printf("forwarded %llu\n", static_cast<unsigned long long>(refresh != cam::Duration::zero() ? filter.forwarded() : frames * reps));
  std::printf("malformed %llu\n", static_cast<unsigned long long>(counters.malformed));
  std::printf("stations %llu\n", static_cast<unsigned long long>(st.stations));
  std::printf("stations_refused %llu\n", static_cast<unsigned long long>(st.stations_refused));
  std::printf("stations_replaced %llu\n", static_cast<unsigned long long>(st.stations_replaced));
  std::printf("max_entries %llu\n", static_cast<unsigned long long>(max_entries));
  std::printf("events %llu\n", static_cast<unsigned long long>(sink.events));
  std::printf("tracker_rss_bytes %llu\n",
              static_cast<unsigned long long>(rss_after > rss_before ? rss_after - rss_before : 0));
  std::printf("tracker_rss_bytes_per_cap_entry %.1f\n",
              static_cast<double>(rss_after > rss_before ? rss_after - rss_before : 0) / static_cast<double>(max_entries));
  return 0;
}
