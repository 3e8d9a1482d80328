#include "daemon/live_daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "cam/tracker.h"
#include "capture/link_monitor.h"
#include "capture/live_capture.h"
#include "daemon/cli.h"
#include "daemon/merger.h"
#include "daemon/state_file.h"
#include "daemon/vendor_file.h"
#include "daemon/table_memory.h"
#include "daemon/version.h"
#include "exporters/json_event_writer.h"
#include "exporters/metrics.h"
#include "exporters/story_text.h"
#include "control_socket.h"
#include "logging.h"
#include "privileges.h"

namespace camwatch::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

// The uplink names of a configuration in id order, as the daemon numbers them at start.
std::vector<std::string> config_names(const Config& c) {
  std::vector<std::string> names;
  for (const UplinkConfig& u : c.uplinks) names.push_back(u.name);
  return names;
}

// Kernel packet timestamps are CLOCK_REALTIME; the hold-back cutoff must be on the same clock.
cam::PacketTime realtime_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return cam::PacketTime(seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

cam::AnalyzerConfig with_huge_pages(cam::AnalyzerConfig c) {
  c.tracker.table_memory = &huge_page_table_memory();
  c.bindings.table_memory = &huge_page_table_memory();
  return c;
}

capture::Direction to_capture(CaptureDirection d) {
  switch (d) {
    case CaptureDirection::in: return capture::Direction::in;
    case CaptureDirection::out: return capture::Direction::out;
    case CaptureDirection::inout: return capture::Direction::inout;
  }
  return capture::Direction::in;
}

class StartupPermissionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The events file: appended, one write per event; "-" is stdout. Reopened on SIGHUP.
// Opened non-blocking: the tracker loop must never wait for a reader (a FIFO whose reader
// stopped reading would otherwise stall detection, metrics and the watchdog). A write the output
// refuses waits in the writer's backlog instead. Regular files ignore the flag; stdout is left
// as it is, since it is shared with stderr (the journal under systemd).
class EventOutput {
 public:
  explicit EventOutput(std::string path) : path_(std::move(path)) { fd_ = open_fd(path_); }
  ~EventOutput() { close_fd(fd_); }
  EventOutput(const EventOutput&) = delete;
  EventOutput& operator=(const EventOutput&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // Opens `path` (the same one for logrotate, or a new one after a reload) and swaps it in.
  // On failure the old descriptor stays in use and the error is returned.
  std::optional<std::string> reopen(const std::string& path) {
    try {
      int fd = open_fd(path);
      close_fd(fd_);
      fd_ = fd;
      path_ = path;
      return std::nullopt;
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  }

 private:
  static int open_fd(const std::string& path) {
    if (path == "-") return STDOUT_FILENO;
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0640);
    if (fd < 0) throw std::runtime_error(path + ": cannot open the events file: " + std::strerror(errno));
    return fd;
  }
  static void close_fd(int fd) {
    if (fd >= 0 && fd != STDOUT_FILENO) ::close(fd);
  }
  std::string path_;
  int fd_ = -1;
};

// Forwards events to the JSON writer and logs the alerts, rate-limited (counters never are).
class DaemonSink final : public cam::EventSink {
 public:
  DaemonSink(exporters::JsonEventWriter& writer, const std::vector<std::string>& names)
      : writer_(writer), names_(names) {}

  void on_event(const cam::Event& e) override {
    moves_.on_event(e);
    writer_.on_event(e);  // a failure is held and reported by the loop (Daemon::check_event_output)
    switch (e.kind) {
      case cam::EventKind::silent_move:
        log_limited(spdlog::level::warn,
                    "silent move: " + e.station.mac.to_string() + " vlan " + std::to_string(e.station.vlan) + " " +
                        name(e.from) + " -> " + name(e.to) + " with no RARP, gratuitous ARP or unsolicited NA" +
                        (e.failed_uplink != cam::kNoUplink ? " (after " + name(e.failed_uplink) + " went down)" : ""));
        break;
      case cam::EventKind::flap:
        log_limited(spdlog::level::warn, "flapping: " + e.station.mac.to_string() + " vlan " +
                                             std::to_string(e.station.vlan) + " between " + name(e.from) + " and " +
                                             name(e.to) + "; further moves damped");
        break;
      case cam::EventKind::table_full:
        log_limited(spdlog::level::err, "CAM table full (" + std::to_string(e.table_entries) +
                                            " stations): new stations are not learned; raise [cam] max_entries?");
        break;
      case cam::EventKind::uplink_down:
        spdlog::warn("uplink {} is down", name(e.to));
        break;
      case cam::EventKind::uplink_up:
        spdlog::info("uplink {} is up", name(e.to));
        break;
      case cam::EventKind::nlb_unicast_host:
        log_limited(spdlog::level::warn,
                    "Windows NLB host in unicast mode: " + e.station.mac.to_string() + " vlan " +
                        std::to_string(e.station.vlan) + (e.nlb_host_id != 0 ? " host " + std::to_string(e.nlb_host_id) : "") +
                        (e.nlb_cluster_ip != 0 ? " of cluster " + cam::IpAddress::v4(e.nlb_cluster_ip).to_string() : "") +
                        " on " + name(e.to) + ": it will never announce a move, a team failover leaves it dark");
        break;
      case cam::EventKind::failover:
        if (e.story) {
          for (const std::string& line : exporters::describe_story(*e.story, names_, 5)) log_limited(spdlog::level::warn, line);
        }
        break;
      case cam::EventKind::new_binding:
        spdlog::debug("new binding: {} is {} vlan {} on {} ({})", e.ip.to_string(), e.station.mac.to_string(),
                      e.station.vlan, name(e.to), cam::to_string(e.claim));
        break;
      case cam::EventKind::changed_mac:
      case cam::EventKind::flip_flop:
        log_limited(spdlog::level::warn, std::string(e.kind == cam::EventKind::flip_flop ? "flip flop: " : "changed MAC: ") +
                                             e.ip.to_string() + " vlan " + std::to_string(e.station.vlan) + " now " +
                                             e.station.mac.to_string() + ", was " + e.other_mac.to_string() + " (" +
                                             cam::to_string(e.claim) + " on " + name(e.to) + ")");
        break;
      case cam::EventKind::ip_conflict:
        log_limited(spdlog::level::warn, "IP conflict: " + e.ip.to_string() + " vlan " + std::to_string(e.station.vlan) +
                                             " claimed by " + e.station.mac.to_string() + " and " +
                                             e.other_mac.to_string() + " (" + cam::to_string(e.claim) + " on " +
                                             name(e.to) + ")");
        break;
      case cam::EventKind::announced_move:
        spdlog::debug("announced move: {} vlan {} {} -> {} ({})", e.station.mac.to_string(), e.station.vlan,
                      name(e.from), name(e.to), cam::to_string(e.notification));
        break;
    }
  }

  // Per uplink pair and per kind, for the metrics.
  const exporters::MoveCounters& moves() const { return moves_; }
  void add_uplinks(std::size_t count) { moves_.resize(count); }

 private:
  std::string name(cam::UplinkId id) const { return id < names_.size() ? names_[id] : "?"; }

  // At most kBurst lines per kPeriod; the number held back is said once the period ends.
  void log_limited(spdlog::level::level_enum level, const std::string& line) {
    const auto now = SteadyClock::now();
    if (now - window_start_ >= kPeriod) {
      if (suppressed_ > 0) spdlog::warn("{} more alert lines were not logged (they are all in the events file)", suppressed_);
      window_start_ = now;
      in_window_ = 0;
      suppressed_ = 0;
    }
    if (in_window_ < kBurst) {
      ++in_window_;
      spdlog::log(level, "{}", line);
    } else {
      ++suppressed_;
    }
  }

  static constexpr int kBurst = 20;
  static constexpr auto kPeriod = seconds(10);
  exporters::JsonEventWriter& writer_;
  const std::vector<std::string>& names_;
  exporters::MoveCounters moves_;
  SteadyClock::time_point window_start_{};
  int in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

void add(capture::LiveCaptureStats& to, const capture::LiveCaptureStats& from) {
  to.frames += from.frames;
  to.bytes += from.bytes;
  to.malformed += from.malformed;
  to.truncated += from.truncated;
  to.filtered += from.filtered;
  to.ring_writes += from.ring_writes;
  to.ring_drops += from.ring_drops;
  to.kernel_drops += from.kernel_drops;
  to.interface_drops += from.interface_drops;
  to.nlb_heartbeats += from.nlb_heartbeats;
  for (int i = 0; i < cam::kNotificationKinds; ++i) to.notifications[i] += from.notifications[i];
}

void add(capture::MirrorCounters& to, const capture::MirrorCounters& from) {
  to.frames += from.frames;
  to.bytes += from.bytes;
  to.malformed += from.malformed;
  to.truncated += from.truncated;
  to.fragments += from.fragments;
  to.not_mirrored += from.not_mirrored;
  to.not_ethernet += from.not_ethernet;
  for (int i = 0; i < capture::kMirrorEncapKinds; ++i) to.mirrored[i] += from.mirrored[i];
  to.switch_truncated += from.switch_truncated;
  to.unmapped += from.unmapped;
}

// One capture thread: a LiveCapture and the ring it fills, which is one source of the merger.
struct Worker {
  ObservationMerger::SourceId source = 0;
  std::unique_ptr<capture::RecentlySeenFilter> filter;  // its capture's; null for a collector
  std::unique_ptr<capture::LiveCapture> capture;
  std::thread thread;
  std::atomic<bool> finished{false};
};

// One interface, captured by one thread or by several in a PACKET_FANOUT group: opened,
// restarted and stopped as one unit, so that the group never runs with a member missing (its
// frames would be lost to the kernel's hash) or with two groups at once (seen twice).
struct CaptureGroup {
  std::vector<ObservationMerger::SourceId> sources;  // a ring per thread, kept across restarts
  std::vector<std::unique_ptr<Worker>> workers;       // running captures; empty when not capturing
  SteadyClock::time_point retry_at{};
  std::string waiting_reason;  // why it is not capturing, logged once per reason
  bool ever_opened = false;
  std::uint64_t restarts = 0;
  capture::LiveCaptureStats earlier;        // totals of the captures that ended (restarts)
  std::vector<std::uint64_t> thread_frames;  // frames per thread of the captures that ended

  bool capturing() const { return !workers.empty(); }
  bool any_finished() const {
    return std::any_of(workers.begin(), workers.end(),
                       [](const auto& w) { return w->finished.load(std::memory_order_acquire); });
  }
  capture::LiveCaptureStats totals() const {
    capture::LiveCaptureStats t = earlier;
    for (const auto& w : workers) add(t, w->capture->stats());
    return t;
  }
  // "1200 + 980 + 1310": frames per thread since start, for the stop line.
  std::string frames_per_thread() const {
    std::vector<std::uint64_t> n = thread_frames;
    n.resize(std::max(n.size(), workers.size()));
    for (std::size_t k = 0; k < workers.size(); ++k) n[k] += workers[k]->capture->stats().frames;
    std::string out;
    for (const std::uint64_t f : n) out += (out.empty() ? "" : " + ") + std::to_string(f);
    return out;
  }
};

struct Uplink {
  cam::UplinkId id = 0;
  UplinkConfig config;
  bool configured = true;  // false once a reload removed it (its id stays reserved)
  bool link_up = true;
  CaptureGroup group;                     // its own interface; idle when a collector feeds it
  capture::LiveCaptureStats fed_earlier;  // frames collectors decapsulated for it, captures that ended
};

struct Collector {
  CollectorConfig config;
  bool configured = true;
  bool link_up = true;
  CaptureGroup group;
  std::shared_ptr<const capture::MirrorRouting> routing;  // the running captures' session map
  capture::MirrorCounters earlier_mirror;                 // of the captures that ended
  std::vector<capture::MirrorSessionKey> logged_unmapped;  // sessions logged (since the last reload)
};

struct LinkEvent {
  cam::PacketTime time;
  cam::UplinkId uplink;
  bool up;
};

class Daemon {
 public:
  Daemon(Config config, std::string config_path)
      : config_(std::move(config)),
        config_path_(std::move(config_path)),
        events_(config_.events_path),
        vendors_(load_vendor_db()),
        writer_(events_.fd(), {}, config_.tracker, kEventBacklog),
        sink_(writer_, names_),
        analyzer_(with_huge_pages(analyzer_config(config_, config_names(config_))), sink_),
        tracker_(analyzer_.tracker()),
        merger_(static_cast<std::size_t>(config_.capture.ring_entries)),
        ring_entries_(static_cast<std::size_t>(config_.capture.ring_entries)) {}

  ~Daemon() {
    // Also on an exception: no capture thread may outlive its Worker (std::terminate).
    for_each_group([](CaptureGroup& g) {
      for (auto& w : g.workers) w->capture->stop();
    });
    for_each_group([](CaptureGroup& g) {
      for (auto& w : g.workers) {
        if (w->thread.joinable()) w->thread.join();
      }
    });
    if (signal_fd_ >= 0) ::close(signal_fd_);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int run() {
    block_signals();
    writer_.set_vendors(&vendors_);
    metrics_auth_ = metrics_auth(config_);  // before dropping privileges: the file may be root's
    for (const UplinkConfig& u : config_.uplinks) add_uplink(u);
    for (const CollectorConfig& c : config_.collectors) add_collector(c);
    writer_.set_uplink_names(names_);
    load_state();
    try {
      link_monitor_ = std::make_unique<capture::LinkMonitor>();
    } catch (const std::exception& e) {
      spdlog::warn("link state monitoring unavailable ({}); captures are retried every few seconds instead", e.what());
    }

    // Open every capture while still privileged, then drop privileges, then start threads:
    // capabilities are per thread, so the drop must come before any thread exists.
    for (auto& u : uplinks_) {
      if (!u->config.fed_by_collector()) open_uplink(*u, /*at_startup=*/true);
    }
    for (auto& c : collectors_) open_collector(*c, /*at_startup=*/true);
    if (!config_.user.empty() && geteuid() == 0) {
      // What root created must stay writable after the drop (SIGHUP reopens the events file).
      const std::string socket_dir =
          config_.control_socket.empty() ? "" : std::filesystem::path(config_.control_socket).parent_path().string();
      hand_over_to_user(config_.user, events_.fd() == STDOUT_FILENO ? -1 : events_.fd(), socket_dir);
      drop_privileges(config_.user);
      spdlog::info("running as user {} with CAP_NET_RAW only", config_.user);
    }
    // The HTTP server starts threads, so it comes after the drop; a port it cannot bind is a
    // start-up failure, as for any exporter: a sensor nobody can scrape is not running.
    health_.start_time_s = wall_seconds();
    health_.last_config_success_s = health_.start_time_s;
    if (!config_.metrics_listen.empty()) {
      metrics_ = std::make_unique<exporters::MetricsServer>(config_.metrics_listen, metrics_auth_);
      publish_metrics();
      spdlog::info("metrics on http://{}/metrics{}", config_.metrics_listen, metrics_auth_ ? " (basic auth)" : "");
    }
    open_control_socket();
    for (auto& u : uplinks_) {
      if (u->group.capturing()) spawn(u->group, "uplink " + u->config.name, u->config.interface);
    }
    for (auto& c : collectors_) {
      if (c->group.capturing()) spawn(c->group, "collector " + c->config.name, c->config.interface);
    }
    report_initial_link_states();

    sd_notify(0, "READY=1");
    spdlog::info("camwatch {} started: {} uplinks{}, events to {}", kVersion, uplinks_.size(),
                 collectors_.empty() ? std::string()
                                     : ", " + std::to_string(collectors_.size()) +
                                           (collectors_.size() == 1 ? " collector" : " collectors"),
                 events_.path());
    std::uint64_t watchdog_usec = 0;
    if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;

    auto next_save = SteadyClock::now() + config_.state_save_interval;
    auto next_publish = SteadyClock::now();
    auto next_status = SteadyClock::now();
    auto next_watchdog = SteadyClock::now();
    auto next_event_retry = SteadyClock::now();
    while (!stopping_) {
      wait_for_work();
      handle_links();
      supervise_captures();
      log_unmapped_sessions();
      check_clock_step();
      feed_tracker(realtime_now() - config_.capture.merge_holdback);
      const auto now = SteadyClock::now();
      if (now >= next_save) {
        save_state();
        next_save = now + config_.state_save_interval;
      }
      if (writer_.backlog() > 0 && now >= next_event_retry) {
        const std::uint64_t written = writer_.events_written();
        writer_.retry();
        // Progress (a reader draining a FIFO takes a pipe-full at a time): again on the next
        // tick. None (a full disk): in a second.
        next_event_retry = writer_.events_written() != written ? now : now + seconds(1);
      }
      check_event_output(now);
      if (watchdog_usec != 0 && now >= next_watchdog) {
        sd_notify(0, "WATCHDOG=1");
        next_watchdog = now + std::chrono::microseconds(watchdog_usec / 2);
      }
      if (control_) control_->serve_pending([&](std::string_view request) { return answer_control(request); });
      if (metrics_ && now >= next_publish) {
        publish_metrics();
        next_publish = now + kMetricsInterval;
      }
      if (now >= next_status) {
        notify_status();
        next_status = now + seconds(5);
      }
      if (reload_requested_) {
        reload_requested_ = false;
        reload();
      }
    }

    sd_notify(0, "STOPPING=1");
    spdlog::info("stopping: draining captures and saving the table");
    for_each_group([](CaptureGroup& g) {
      for (auto& w : g.workers) w->capture->stop();  // all drain at once, then join one by one
    });
    for_each_group([&](CaptureGroup& g) { join_and_pull(g); });
    log_unmapped_sessions();
    // Every ring emptied, not just what fits in staging once.
    for (;;) {
      feed_tracker(cam::PacketTime::max());
      std::size_t left = 0;
      for (const auto& ring : rings_) left += ring->size();
      if (left == 0) break;
    }
    for (auto& u : uplinks_) {
      if (!u->configured) continue;
      if (u->config.fed_by_collector()) {
        const capture::LiveCaptureStats t = fed_totals(*u);
        spdlog::info("uplink {}: {} frames from collectors, {} malformed", u->config.name, t.frames, t.malformed);
        continue;
      }
      const capture::LiveCaptureStats t = u->group.totals();
      spdlog::info("uplink {}: {} frames, {} malformed, {} kernel drops, {} interface drops, {} ring drops, "
                   "{} filtered, {} ring writes{}",
                   u->config.name, t.frames, t.malformed, t.kernel_drops, t.interface_drops, t.ring_drops, t.filtered,
                   t.ring_writes, threads_note(u->group));
    }
    for (auto& c : collectors_) {
      if (!c->configured) continue;
      const capture::MirrorCounters m = mirror_totals(*c);
      const capture::LiveCaptureStats t = c->group.totals();
      std::uint64_t mirrored = 0;
      for (const std::uint64_t n : m.mirrored) mirrored += n;
      spdlog::info("collector {}: {} frames: {} mapped, {} unmapped, {} not mirrored, {} fragments, {} malformed; {} kernel "
                   "drops, {} interface drops, {} ring drops{}",
                   c->config.name, m.frames, mirrored - m.unmapped, m.unmapped, m.not_mirrored, m.fragments, m.malformed,
                   t.kernel_drops, t.interface_drops, t.ring_drops, threads_note(c->group));
    }
    analyzer_.finish();
    if (!writer_.retry()) {
      spdlog::error("events file {}: {} events could not be written ({}) and are lost; the log and the metrics counted them",
                    events_.path(), writer_.backlog(), std::strerror(writer_.last_errno()));
    }
    // The last save is always reported: the periodic ones log only every tenth failure.
    std::string saved = "saved";
    try {
      save_state_file();
    } catch (const StateFileError& e) {
      spdlog::error("saving the table failed: {}; the next start loads the last good save", e.what());
      saved = "NOT saved";
    }
    const cam::TrackerStats& s = tracker_.stats();
    spdlog::info("stopped: {} stations {}; this run learned {} new stations, saw {} silent and {} announced moves",
                 s.stations, saved, s.stations_learned, s.silent_moves, s.announced_moves);
    return kExitOk;
  }

 private:
  // ---- uplinks, collectors and their captures ----

  template <typename Fn>
  void for_each_group(Fn&& fn) {
    for (auto& u : uplinks_) fn(u->group);
    for (auto& c : collectors_) fn(c->group);
  }

  Uplink* find_uplink(const std::string& name) {
    for (auto& u : uplinks_)
      if (u->config.name == name) return u.get();
    return nullptr;
  }

  Collector* find_collector(const std::string& name) {
    for (auto& c : collectors_)
      if (c->config.name == name) return c.get();
    return nullptr;
  }

  void add_uplink(const UplinkConfig& c) {
    if (Uplink* existing = find_uplink(c.name)) {  // re-added after a removal: same id
      existing->config = c;
      existing->configured = true;
      return;
    }
    auto u = std::make_unique<Uplink>();
    u->id = static_cast<cam::UplinkId>(uplinks_.size());
    u->config = c;
    names_.push_back(c.name);
    uplinks_.push_back(std::move(u));
    sink_.add_uplinks(uplinks_.size());
  }

  void add_collector(const CollectorConfig& c) {
    if (Collector* existing = find_collector(c.name)) {
      existing->config = c;
      existing->configured = true;
      return;
    }
    auto collector = std::make_unique<Collector>();
    collector->config = c;
    collectors_.push_back(std::move(collector));
  }

  // Rings are made once per source and kept (their capacity is fixed at start: ring_entries):
  // a group that restarts, even with more threads, reuses its own.
  void reserve_sources(CaptureGroup& g, int threads) {
    while (g.sources.size() < static_cast<std::size_t>(threads)) {
      g.sources.push_back(static_cast<ObservationMerger::SourceId>(rings_.size()));
      rings_.push_back(std::make_unique<capture::SpscRing<cam::Observation>>(ring_entries_));
      ring_peaks_.push_back(0);
    }
  }

  capture::LiveCaptureOptions capture_options(const std::string& interface) const {
    capture::LiveCaptureOptions o;
    o.interface = interface;
    o.snaplen = config_.capture.snaplen;
    o.buffer_bytes = static_cast<int>(config_.capture.buffer_bytes);
    // The kernel hands a partly filled block over after poll_timeout: keep it well inside the
    // merge hold-back so a quiet uplink's frames are not released after newer ones.
    o.poll_timeout = std::clamp(std::chrono::duration_cast<milliseconds>(config_.capture.merge_holdback) / 3,
                                milliseconds(1), milliseconds(100));
    return o;
  }

  // Opens `threads` captures of one interface, joined in a PACKET_FANOUT group when more than
  // one: all of them or none (a failure closes the ones already open, and the group is retried).
  bool open_group(CaptureGroup& g, const std::string& label, capture::LiveCaptureOptions o, int threads,
                  cam::UplinkId uplink, bool at_startup) {
    reserve_sources(g, threads);
    std::vector<std::unique_ptr<Worker>> workers;
    try {
      o.fanout = threads > 1 ? capture::FanoutMode::create : capture::FanoutMode::none;
      for (int k = 0; k < threads; ++k) {
        auto w = std::make_unique<Worker>();
        w->source = g.sources[static_cast<std::size_t>(k)];
        // The recently-seen filter is per capture thread (its records are the thread's own); a
        // collector has none (its ring carries many uplinks).
        if (!o.mirror) w->filter = std::make_unique<capture::RecentlySeenFilter>(config_.capture.refresh);
        w->capture = std::make_unique<capture::LiveCapture>(o, uplink, *rings_[w->source], w->filter.get());
        if (k == 0 && threads > 1) {
          o.fanout = capture::FanoutMode::join;
          o.fanout_group = w->capture->fanout_group();
        }
        workers.push_back(std::move(w));
      }
    } catch (const capture::LiveCaptureError& e) {
      if (e.kind() == capture::LiveCaptureErrorKind::permission && at_startup) throw StartupPermissionError(e.what());
      if (g.waiting_reason != e.what()) {
        spdlog::warn("{}: not capturing: {}; retrying until the interface is back", label, e.what());
        g.waiting_reason = e.what();
      }
      g.retry_at = SteadyClock::now() + seconds(2);
      return false;
    }
    g.workers = std::move(workers);
    g.waiting_reason.clear();
    if (g.ever_opened) ++g.restarts;
    g.ever_opened = true;
    return true;
  }

  bool open_uplink(Uplink& u, bool at_startup) {
    capture::LiveCaptureOptions o = capture_options(u.config.interface);
    o.direction = to_capture(u.config.direction);
    o.promiscuous = u.config.promiscuous;
    return open_group(u.group, "uplink " + u.config.name, o, capture_threads(u.config.threads, config_.capture), u.id,
                      at_startup);
  }

  // The session map of every configured uplink a collector feeds, to the uplinks' ids.
  std::shared_ptr<const capture::MirrorRouting> make_routing() const {
    auto routing = std::make_shared<capture::MirrorRouting>();
    std::vector<capture::MirrorSessionMap::Entry> entries;
    for (const auto& u : uplinks_) {
      if (!u->configured || !u->config.mirror) continue;
      entries.push_back({*u->config.mirror, static_cast<cam::UplinkId>(routing->uplinks.size())});
      routing->uplinks.push_back(u->id);
    }
    routing->sessions = capture::MirrorSessionMap(std::move(entries));  // the config refused duplicates
    return routing;
  }

  bool open_collector(Collector& c, bool at_startup) {
    capture::LiveCaptureOptions o = capture_options(c.config.interface);
    o.direction = capture::Direction::in;
    o.promiscuous = c.config.promiscuous;
    // The mirrored frame comes after up to ~120 bytes of encapsulation (outer tags, IPv6 with
    // extension headers, GRE with every option, ERSPAN III with its subheader).
    o.snaplen = std::min(o.snaplen + kCollectorSnaplenHeadroom, 65535);
    c.routing = make_routing();
    o.mirror = c.routing;
    return open_group(c.group, "collector " + c.config.name, o, capture_threads(c.config.threads, config_.capture),
                      cam::kNoUplink, at_startup);
  }

  void spawn(CaptureGroup& g, const std::string& label, const std::string& interface) {
    for (auto& w : g.workers) {
      Worker* p = w.get();
      p->finished.store(false, std::memory_order_relaxed);
      p->thread = std::thread([p] {
        p->capture->run();
        p->finished.store(true, std::memory_order_release);
      });
    }
    if (g.workers.size() == 1) {
      spdlog::info("{}: capturing on {}", label, interface);
    } else {
      spdlog::info("{}: capturing on {} with {} threads (PACKET_FANOUT group {})", label, interface, g.workers.size(),
                   g.workers.front()->capture->fanout_group());
    }
  }

  // Stops every thread of the group (all first, so they drain at once), joins them and keeps
  // what they captured. The captures stay for retire_*() to count.
  void join_and_pull(CaptureGroup& g) {
    for (auto& w : g.workers) w->capture->stop();
    for (auto& w : g.workers) {
      if (w->thread.joinable()) w->thread.join();
      merger_.pull(w->source, *rings_[w->source]);
    }
  }

  void retire_group(CaptureGroup& g) {
    g.earlier = g.totals();
    g.thread_frames.resize(std::max(g.thread_frames.size(), g.workers.size()));
    for (std::size_t k = 0; k < g.workers.size(); ++k) g.thread_frames[k] += g.workers[k]->capture->stats().frames;
    g.workers.clear();
  }

  void retire_collector(Collector& c) {
    drain_unmapped(c);
    for (auto& w : c.group.workers) {
      add(c.earlier_mirror, w->capture->mirror_stats());
      for (std::size_t i = 0; c.routing && i < c.routing->uplinks.size(); ++i) {
        add(uplinks_[c.routing->uplinks[i]]->fed_earlier, w->capture->uplink_stats(i));
      }
    }
    retire_group(c.group);
    c.routing.reset();
  }

  void stop_uplink(Uplink& u) {
    join_and_pull(u.group);
    retire_group(u.group);
  }

  void stop_collector(Collector& c) {
    join_and_pull(c.group);
    retire_collector(c);
  }

  // The uplink's frames decapsulated by the collectors, those that ended included.
  capture::LiveCaptureStats fed_totals(const Uplink& u) const {
    capture::LiveCaptureStats t = u.fed_earlier;
    for (const auto& c : collectors_) {
      for (std::size_t i = 0; c->routing && i < c->routing->uplinks.size(); ++i) {
        if (c->routing->uplinks[i] != u.id) continue;
        for (const auto& w : c->group.workers) add(t, w->capture->uplink_stats(i));
      }
    }
    return t;
  }

  static capture::MirrorCounters mirror_totals(const Collector& c) {
    capture::MirrorCounters m = c.earlier_mirror;
    for (const auto& w : c.group.workers) add(m, w->capture->mirror_stats());
    return m;
  }

  static std::string threads_note(const CaptureGroup& g) {
    if (g.sources.size() <= 1) return "";
    return " (" + std::to_string(g.sources.size()) + " threads: " + g.frames_per_thread() + " frames)";
  }

  void supervise_captures() {
    const auto now = SteadyClock::now();
    for (auto& up : uplinks_) {
      Uplink& u = *up;
      if (u.group.capturing() && u.group.any_finished()) {
        const std::string why = first_error(u.group);
        stop_uplink(u);  // the whole group: its other threads alone would miss the hash's share
        spdlog::warn("uplink {}: capture on {} ended: {}", u.config.name, u.config.interface,
                     why.empty() ? "interface gone" : why);
        u.group.retry_at = now + seconds(1);
        if (u.link_up) queue_link(u, false);
      }
      if (!u.group.capturing() && u.configured && !u.config.fed_by_collector() && now >= u.group.retry_at) {
        if (open_uplink(u, false)) {
          spawn(u.group, "uplink " + u.config.name, u.config.interface);
          refresh_link(u);
        }
      }
    }
    for (auto& cp : collectors_) {
      Collector& c = *cp;
      if (c.group.capturing() && c.group.any_finished()) {
        const std::string why = first_error(c.group);
        stop_collector(c);
        spdlog::warn("collector {}: capture on {} ended: {}", c.config.name, c.config.interface,
                     why.empty() ? "interface gone" : why);
        c.group.retry_at = now + seconds(1);
        c.link_up = false;
      }
      if (!c.group.capturing() && c.configured && now >= c.group.retry_at) {
        if (open_collector(c, false)) {
          spawn(c.group, "collector " + c.config.name, c.config.interface);
          refresh_link(c);
        }
      }
    }
  }

  static std::string first_error(const CaptureGroup& g) {
    for (const auto& w : g.workers) {
      if (w->finished.load(std::memory_order_acquire)) return w->capture->error();
    }
    return "";
  }

  // The first frame of each session no uplink maps, logged once per collector and session (the
  // frames are counted in camwatch_collector_frames_total{result="unmapped"}).
  void log_unmapped_sessions() {
    for (auto& c : collectors_) drain_unmapped(*c);
  }

  void drain_unmapped(Collector& c) {
    for (auto& w : c.group.workers) {
      capture::MirrorSessionKey keys[16];
      for (std::size_t n; (n = w->capture->take_unmapped_sessions(keys, std::size(keys))) > 0;) {
        for (std::size_t i = 0; i < n; ++i) log_unmapped(c, keys[i]);
      }
    }
  }

  void log_unmapped(Collector& c, const capture::MirrorSessionKey& first_frame) {
    capture::MirrorSessionKey session = first_frame;
    session.has_index = false;
    session.index = 0;
    if (std::find(c.logged_unmapped.begin(), c.logged_unmapped.end(), session) != c.logged_unmapped.end()) return;
    c.logged_unmapped.push_back(session);
    std::string hint;
    switch (session.kind) {
      case capture::MirrorSessionKey::Kind::erspan_session: hint = "erspan_session = " + std::to_string(session.id); break;
      case capture::MirrorSessionKey::Kind::gre_key: hint = "gre_key = " + std::to_string(session.id); break;
      case capture::MirrorSessionKey::Kind::unkeyed_gre: hint = "gre_key = \"none\""; break;
    }
    spdlog::warn("collector {}: frames of {} map to no uplink (the first: {}); they are counted, not learned. To "
                 "watch that port, add {} to an [[uplink]]",
                 c.config.name, session.to_string(), first_frame.to_string(), hint);
  }

  // ---- link state ----

  void queue_link(Uplink& u, bool up) {
    u.link_up = up;
    link_events_.push_back(LinkEvent{realtime_now(), u.id, up});
  }

  std::optional<bool> query_link(const std::string& interface, const std::string& label) {
    if (!link_monitor_) return std::nullopt;
    try {
      return link_monitor_->query(interface).state == capture::LinkState::up;
    } catch (const std::exception& e) {
      spdlog::debug("{}: link state query failed: {}", label, e.what());
      return std::nullopt;
    }
  }

  // The kernel's word on the uplink's link: an interface can be opened (administratively up)
  // and still have no carrier. Without a link monitor an open capture counts as up.
  void refresh_link(Uplink& u) {
    const bool up = query_link(u.config.interface, "uplink " + u.config.name).value_or(u.group.capturing());
    if (up != u.link_up) queue_link(u, up);
  }

  // A collector's link is logged and exported, but never told to the analysis as its uplinks'
  // link: the mirrored switch ports may well be up while the collector is not.
  void refresh_link(Collector& c) {
    set_collector_link(c, query_link(c.config.interface, "collector " + c.config.name).value_or(c.group.capturing()));
  }

  void set_collector_link(Collector& c, bool up) {
    if (up == c.link_up) return;
    c.link_up = up;
    if (up) {
      spdlog::info("collector {} is up", c.config.name);
    } else {
      spdlog::warn("collector {} is down: its uplinks are not seen until it returns", c.config.name);
    }
  }

  void report_initial_link_states() {
    for (auto& u : uplinks_) {
      if (!u->config.fed_by_collector()) refresh_link(*u);
    }
    for (auto& c : collectors_) refresh_link(*c);
  }

  void handle_links() {
    if (!link_monitor_) return;
    link_monitor_->drain([&](const capture::LinkChange& change) {
      const bool up = change.state == capture::LinkState::up;
      for (auto& u : uplinks_) {
        if (!u->configured || u->config.fed_by_collector() || u->config.interface != change.interface) continue;
        if (up != u->link_up) queue_link(*u, up);
        if (up && !u->group.capturing()) u->group.retry_at = SteadyClock::now();  // reopen at once
      }
      for (auto& c : collectors_) {
        if (!c->configured || c->config.interface != change.interface) continue;
        set_collector_link(*c, up);
        if (up && !c->group.capturing()) c->group.retry_at = SteadyClock::now();
      }
    });
  }

  // ---- the tracker ----

  void feed_tracker(cam::PacketTime cutoff) {
    for (std::size_t s = 0; s < rings_.size(); ++s) {
      ring_peaks_[s] = std::max(ring_peaks_[s], rings_[s]->size());
      merger_.pull(static_cast<ObservationMerger::SourceId>(s), *rings_[s]);
    }
    for (std::size_t s = 0; s < rings_.size(); ++s) {
      cutoff = merger_.limit_cutoff(static_cast<ObservationMerger::SourceId>(s), *rings_[s], cutoff);
    }
    auto observe = [&](const cam::Observation& o) { analyzer_.observe(o); };
    while (!link_events_.empty() && link_events_.front().time <= cutoff) {
      const LinkEvent e = link_events_.front();
      link_events_.pop_front();
      merger_.release(e.time, observe);
      analyzer_.uplink_state(e.uplink, e.up, e.time);
    }
    merger_.release(cutoff, observe);
    if (cutoff != cam::PacketTime::max()) analyzer_.advance(cutoff);
  }

  // Frames carry CLOCK_REALTIME stamps. If the system clock is stepped back (NTP at boot), the
  // frames staged before the step look newer than the cutoff and would hold every later frame
  // behind them until the clock caught up: release them at once and say so.
  void check_clock_step() {
    const auto offset = realtime_now().time_since_epoch() - SteadyClock::now().time_since_epoch();
    if (have_clock_offset_ && offset < clock_offset_ - seconds(1)) {
      spdlog::warn("the system clock went back by {:.3f} s: releasing staged frames now; decisions wait for packet "
                   "time to pass its previous high",
                   std::chrono::duration<double>(clock_offset_ - offset).count());
      feed_tracker(cam::PacketTime::max());
    }
    clock_offset_ = offset;
    have_clock_offset_ = true;
  }

  // ---- state ----

  void load_state() {
    const std::vector<std::string> stale = remove_stale_temporaries(config_.state_path);
    if (!stale.empty()) {
      spdlog::warn("removed {} temporary files of saves that were interrupted (crash or SIGKILL), e.g. {}", stale.size(),
                   stale.front());
    }
    try {
      SavedState saved = daemon::load_state(config_.state_path);
      std::size_t bindings = 0;
      const std::size_t restored = restore_into(saved, analyzer_, names_, &bindings);
      if (!saved.stations.empty() || !saved.bindings.empty()) {
        spdlog::info("restored {} of {} stations and {} of {} address bindings from {}", restored, saved.stations.size(),
                     bindings, saved.bindings.size(), config_.state_path);
      }
    } catch (const StateFileError& e) {
      try {
        const std::string aside = move_aside(config_.state_path);
        spdlog::error("state file unusable ({}); moved aside to {}, starting with an empty table", e.what(), aside);
      } catch (const StateFileError& e2) {
        spdlog::error("state file unusable ({}) and could not be moved aside ({}); starting empty", e.what(), e2.what());
      }
    }
  }

  void save_state() {
    try {
      save_state_file();
      state_failures_in_row_ = 0;
      ++health_.state_saves_ok;
      health_.last_state_save_s = wall_seconds();
    } catch (const StateFileError& e) {
      ++health_.state_saves_failed;
      // Logged the first time and then every tenth failure: a full disk must not flood the log.
      if (state_failures_in_row_++ % 10 == 0) spdlog::error("saving the table failed: {}", e.what());
    }
  }
  void save_state_file() { daemon::save_state(config_.state_path, analyzer_, names_); }

  // ---- the events file ----

  // Says when the events file starts refusing events (full disk, permissions, a FIFO nobody
  // reads), reminds once a minute while it does, and says when it takes them again. Counters
  // (camwatch_event_write_errors_total, camwatch_event_backlog, camwatch_events_dropped_total)
  // have every detail; the log only these few lines, however many events fail.
  void check_event_output(SteadyClock::time_point now) {
    const bool failing = writer_.backlog() > 0;
    if (failing && !events_failing_) {
      events_failing_ = true;
      events_failure_start_ = {writer_.events_written(), writer_.events_dropped()};
      next_events_reminder_ = now + kEventsReminder;
      spdlog::error("events file {}: write failed: {}; holding up to {} events in memory and retrying every second",
                    events_.path(), std::strerror(writer_.last_errno()), kEventBacklog);
    } else if (failing && now >= next_events_reminder_) {
      next_events_reminder_ = now + kEventsReminder;
      spdlog::error("events file {}: still failing ({}): {} events held, {} dropped since it failed", events_.path(),
                    std::strerror(writer_.last_errno()), writer_.backlog(),
                    writer_.events_dropped() - events_failure_start_.dropped);
    } else if (!failing && events_failing_) {
      events_failing_ = false;
      spdlog::warn("events file {}: writable again; {} held events written, {} dropped while it failed", events_.path(),
                   writer_.events_written() - events_failure_start_.written,
                   writer_.events_dropped() - events_failure_start_.dropped);
    }
  }

  // ---- signals, reload, status ----

  void block_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    // Blocked before any thread starts, so every thread inherits the mask and only the
    // signalfd sees them.
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // A reader of `events.path = "-"` going away must not kill the daemon before it saves.
    std::signal(SIGPIPE, SIG_IGN);
    signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd_ < 0) throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
  }

  void wait_for_work() {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {link_monitor_ ? link_monitor_->fd() : -1, POLLIN, 0}};
    ::poll(fds, 2, 10);  // also the tick that moves the hold-back cutoff on
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (info.ssi_signo == SIGHUP) {
        reload_requested_ = true;
      } else {
        spdlog::info("received {}", info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        stopping_ = true;
      }
    }
  }

  void reload() {
    sd_notify(0, "RELOADING=1");
    Config next;
    std::optional<exporters::BasicAuth> next_auth;
    try {
      next = load_config(config_path_);
      check_runnable(next, config_path_);
      next_auth = metrics_auth(next);
    } catch (const std::exception& e) {
      spdlog::error("reload failed, keeping the running configuration: {}", e.what());
      ++health_.reloads_failed;
      health_.last_reload_ok = false;
      reopen_events(config_.events_path);
      sd_notify(0, "READY=1");
      return;
    }
    set_log_level(next.log_level);

    // Uplinks: removed ones stop and their stations are forgotten, changed ones restart (all of
    // them when [capture] settings changed), new ones start. Reopened captures use `next`.
    const CaptureConfig& a = config_.capture;
    const CaptureConfig& b = next.capture;
    const bool capture_changed = a.snaplen != b.snaplen || a.buffer_bytes != b.buffer_bytes ||
                                 a.merge_holdback != b.merge_holdback ||
                                 a.threads_per_interface != b.threads_per_interface;
    if (a.ring_entries != b.ring_entries) spdlog::warn("[capture] ring_entries changed: takes effect after a restart");
    next.capture.ring_entries = a.ring_entries;
    // The collectors' session map changes with any uplink fed by one: they restart with the new map.
    const auto mirrored = [](const std::vector<UplinkConfig>& uplinks) {
      std::vector<std::pair<std::string, capture::MirrorSessionKey>> out;
      for (const UplinkConfig& u : uplinks) {
        if (u.mirror) out.emplace_back(u.name, *u.mirror);
      }
      return out;
    };
    const bool routing_changed = mirrored(config_.uplinks) != mirrored(next.uplinks);
    // Collectors first: a stopped collector hands over the frames it captured for its uplinks
    // before any of those uplinks is forgotten below.
    for (auto& c : collectors_) {
      const auto it = std::find_if(next.collectors.begin(), next.collectors.end(),
                                   [&](const CollectorConfig& n) { return n.name == c->config.name; });
      if (it == next.collectors.end()) {
        if (c->configured) {
          stop_collector(*c);
          spdlog::info("collector {} removed", c->config.name);
        }
        c->configured = false;
      } else if (!(*it == c->config) || !c->configured || capture_changed || routing_changed) {
        stop_collector(*c);
        c->config = *it;
        c->configured = true;
        c->group.retry_at = SteadyClock::now();
      }
      c->logged_unmapped.clear();  // a session still unmapped is named again
    }
    if (a.refresh != b.refresh) spdlog::warn("[capture] refresh changed: takes effect after a restart");
    next.capture.refresh = a.refresh;
    for (auto& u : uplinks_) {
      const auto it = std::find_if(next.uplinks.begin(), next.uplinks.end(),
                                   [&](const UplinkConfig& c) { return c.name == u->config.name; });
      if (it == next.uplinks.end()) {
        if (u->configured) {
          stop_uplink(*u);
          // Its stations are forgotten, as a restart without it would: otherwise renaming an
          // uplink would report every station behind it as moving to the new name.
          feed_tracker(realtime_now() - config_.capture.merge_holdback);
          const std::uint64_t n = tracker_.forget_uplink(u->id);
          spdlog::info("uplink {} removed; its {} stations forgotten", u->config.name, n);
        }
        u->configured = false;
      } else if (!(*it == u->config) || !u->configured || capture_changed) {
        stop_uplink(*u);
        u->config = *it;
        u->configured = true;
        u->group.retry_at = SteadyClock::now();
      }
    }
    for (const UplinkConfig& c : next.uplinks) {
      if (find_uplink(c.name) == nullptr) {
        add_uplink(c);
        uplinks_.back()->group.retry_at = SteadyClock::now();
        spdlog::info("uplink {} added", c.name);
      }
    }
    for (const CollectorConfig& c : next.collectors) {
      if (find_collector(c.name) == nullptr) {
        add_collector(c);
        collectors_.back()->group.retry_at = SteadyClock::now();
        spdlog::info("collector {} added", c.name);
      }
    }
    // The analyses after the uplinks: both-ways mirrors are found by the names of the ids. The
    // loader's ranges keep every value acceptable to them; should one not be, the analyses keep
    // what they ran with (an exception here would end the daemon without saving).
    try {
      if (!analyzer_.reconfigure(with_huge_pages(analyzer_config(next, names_)))) {
        spdlog::warn("[cam] or [bindings] max_entries changed: takes effect after a restart; other settings applied");
        next.tracker.max_entries = config_.tracker.max_entries;
        next.bindings.max_entries = config_.bindings.max_entries;
        analyzer_.reconfigure(with_huge_pages(analyzer_config(next, names_)));
      }
    } catch (const std::exception& e) {
      spdlog::error("reload: the detection settings were refused ({}); the previous ones stay in force", e.what());
      ++health_.reloads_failed;
      health_.last_reload_ok = false;
    }
    writer_.set_uplink_names(names_);
    writer_.set_config(tracker_.config());
    reopen_events(next.events_path);
    const Config previous = config_;
    config_ = next;
    config_.tracker = tracker_.config();
    if (previous.state_path != config_.state_path) spdlog::info("state file is now {}", config_.state_path);
    const bool auth_changed = next_auth.has_value() != metrics_auth_.has_value() ||
                              (next_auth && (next_auth->username != metrics_auth_->username ||
                                             next_auth->password != metrics_auth_->password));
    metrics_auth_ = std::move(next_auth);
    if (previous.metrics_listen != config_.metrics_listen || auth_changed) restart_metrics(previous.metrics_listen);
    if (previous.control_socket != config_.control_socket) {
      control_.reset();
      open_control_socket();
    }
    ++health_.reloads_ok;
    health_.last_reload_ok = true;
    health_.last_config_success_s = wall_seconds();
    spdlog::info("configuration reloaded from {}", config_path_);
    sd_notify(0, "READY=1");
  }

  void reopen_events(const std::string& path) {
    if (auto err = events_.reopen(path)) {
      spdlog::error("cannot reopen the events file, still writing to {}: {}", events_.path(), *err);
    } else {
      writer_.set_fd(events_.fd());
    }
  }

  // ---- metrics ----

  static std::optional<exporters::BasicAuth> metrics_auth(const Config& c) {
    if (c.metrics_auth_username.empty()) return std::nullopt;
    return exporters::BasicAuth{c.metrics_auth_username,
                                read_secret_file(c.metrics_auth_password_file, "metrics.basic_auth_password_file")};
  }

  static double wall_seconds() { return std::chrono::duration<double>(realtime_now().time_since_epoch()).count(); }

  void publish_metrics() {
    exporters::MetricsSnapshot m;
    m.update_time_s = wall_seconds();
    m.version = kVersion;
    m.libpcap_version = libpcap_version_;
    // An uplink fed by collectors is seen while one of them has carrier / captures.
    const bool a_collector_is_up = std::any_of(collectors_.begin(), collectors_.end(),
                                               [](const auto& c) { return c->configured && c->link_up; });
    const bool a_collector_captures = std::any_of(collectors_.begin(), collectors_.end(),
                                                  [](const auto& c) { return c->configured && c->group.capturing(); });
    for (auto& u : uplinks_) {
      if (!u->configured) continue;
      const bool fed = u->config.fed_by_collector();
      const capture::LiveCaptureStats t = fed ? fed_totals(*u) : u->group.totals();
      exporters::UplinkMetrics x;
      x.name = u->config.name;
      x.link_up = fed ? a_collector_is_up : u->link_up;
      x.capture_up = fed ? a_collector_captures : u->group.capturing();
      x.frames = t.frames;
      x.bytes = t.bytes;
      x.kernel_drops = t.kernel_drops;
      x.interface_drops = t.interface_drops;
      x.ring_drops = t.ring_drops;
      x.filtered = t.filtered;
      x.ring_fill_ratio = fed ? 0.0 : fill_ratio(u->group);
      x.malformed = t.malformed;
      x.truncated = t.truncated;
      std::copy(std::begin(t.notifications), std::end(t.notifications), std::begin(x.notifications));
      x.nlb_heartbeats = t.nlb_heartbeats;
      x.capture_restarts = u->group.restarts;
      m.uplinks.push_back(std::move(x));
      m.uplink_ids.push_back(u->id);
    }
    for (auto& c : collectors_) {
      if (!c->configured) continue;
      const capture::MirrorCounters mirror = mirror_totals(*c);
      const capture::LiveCaptureStats t = c->group.totals();
      exporters::CollectorMetrics x;
      x.name = c->config.name;
      x.link_up = c->link_up;
      x.capture_up = c->group.capturing();
      x.bytes = mirror.bytes;
      std::uint64_t mirrored = 0;
      for (int e = 0; e < exporters::CollectorMetrics::kEncaps; ++e) {
        // capture::MirrorEncap: none first, then the four encapsulations in the exporter's order.
        x.mirrored[e] = mirror.mirrored[e + 1];
        mirrored += x.mirrored[e];
      }
      x.unmapped = mirror.unmapped;
      x.mapped = mirrored - mirror.unmapped;
      x.not_mirrored = mirror.not_mirrored;
      x.fragments = mirror.fragments;
      x.not_ethernet = mirror.not_ethernet;
      x.truncated = mirror.truncated;
      x.malformed = mirror.malformed;
      x.switch_truncated = mirror.switch_truncated;
      x.kernel_drops = t.kernel_drops;
      x.interface_drops = t.interface_drops;
      x.ring_drops = t.ring_drops;
      x.ring_fill_ratio = fill_ratio(c->group);
      x.capture_restarts = c->group.restarts;
      m.collectors.push_back(std::move(x));
    }
    std::fill(ring_peaks_.begin(), ring_peaks_.end(), 0);
    m.moves = sink_.moves();
    m.tracker = tracker_.stats();
    m.max_entries = tracker_.config().max_entries;
    m.nlb = analyzer_.nlb().stats();
    m.bindings_enabled = analyzer_.bindings_enabled();
    m.bindings = analyzer_.bindings().stats();
    m.bindings_max_entries = analyzer_.bindings().config().max_entries;
    m.packet_clock_s = std::chrono::duration<double>(tracker_.clock().time_since_epoch()).count();
    m.health = health_;
    m.health.event_write_errors = writer_.write_failures();
    m.health.event_backlog = writer_.backlog();
    m.health.events_dropped = writer_.events_dropped();
    metrics_->publish(std::move(m));
  }

  // A reload changed [metrics] listen: serve on the new address, or keep the old one if the
  // new one cannot be bound.
  void restart_metrics(const std::string& previous) {
    if (config_.metrics_listen.empty()) {
      metrics_.reset();
      spdlog::info("metrics endpoint closed ([metrics] listen is empty)");
      return;
    }
    try {
      metrics_.reset();  // the old address may be the new one's port on another host address
      metrics_ = std::make_unique<exporters::MetricsServer>(config_.metrics_listen, metrics_auth_);
      publish_metrics();
      spdlog::info("metrics now on http://{}/metrics", config_.metrics_listen);
    } catch (const exporters::MetricsError& e) {
      spdlog::error("{}; metrics stay on {}", e.what(), previous.empty() ? "nothing" : previous);
      config_.metrics_listen = previous;
      if (!previous.empty()) {
        try {
          metrics_ = std::make_unique<exporters::MetricsServer>(previous, metrics_auth_);
        } catch (const exporters::MetricsError& e2) {
          spdlog::error("{}; no metrics endpoint until the next reload", e2.what());
          config_.metrics_listen.clear();
        }
      }
    }
  }

  // ---- control socket (`camwatch table`) ----

  // Not fatal: the daemon's job is detection; the table is a convenience on top.
  void open_control_socket() {
    if (config_.control_socket.empty()) return;
    try {
      control_ = std::make_unique<ControlServer>(config_.control_socket);
    } catch (const ControlSocketError& e) {
      spdlog::warn("{}; `camwatch table` cannot reach this daemon", e.what());
    }
  }

  // Runs on the tracker loop, the only thread that may read the table. 1M stations take
  // about 40 ms to serialise; the capture rings absorb that pause.
  std::string answer_control(std::string_view request) {
    if (request == "table") return serialize_state(analyzer_, names_);
    throw std::runtime_error("unknown request '" + std::string(request.substr(0, 40)) + "'");
  }

  // The fullest of the group's rings since the last snapshot, 0 to 1.
  double fill_ratio(const CaptureGroup& g) const {
    double fullest = 0;
    for (const ObservationMerger::SourceId source : g.sources) {
      const std::size_t peak = std::max(ring_peaks_[source], rings_[source]->size());
      fullest = std::max(fullest, static_cast<double>(peak) / static_cast<double>(rings_[source]->capacity()));
    }
    return fullest;
  }

  void notify_status() {
    std::size_t capturing = 0, configured = 0;
    const bool a_collector_captures =
        std::any_of(collectors_.begin(), collectors_.end(), [](const auto& c) { return c->group.capturing(); });
    for (auto& u : uplinks_) {
      configured += u->configured ? 1 : 0;
      capturing += (u->config.fed_by_collector() ? a_collector_captures : u->group.capturing()) ? 1 : 0;
    }
    const cam::TrackerStats& s = tracker_.stats();
    const std::string status = "STATUS=" + std::to_string(capturing) + "/" + std::to_string(configured) +
                               " uplinks capturing, " + std::to_string(s.stations) + " stations, " +
                               std::to_string(s.silent_moves) + " silent and " + std::to_string(s.announced_moves) +
                               " announced moves, " + std::to_string(s.observations) + " frames";
    sd_notify(0, status.c_str());
  }

  Config config_;
  std::string config_path_;
  std::vector<std::string> names_;  // uplink id -> name, only ever appended to
  EventOutput events_;
  const cam::VendorDb vendors_;  // vendor names for events (Debian's ieee-data, read once at start)
  exporters::JsonEventWriter writer_;
  DaemonSink sink_;
  cam::Analyzer analyzer_;
  cam::Tracker& tracker_;  // analyzer_'s: the table, its stats and its configuration
  ObservationMerger merger_;
  const std::size_t ring_entries_;  // [capture] ring_entries at start: rings are made once
  // One ring per capture thread, by merger source id; kept for the life of the process.
  std::vector<std::unique_ptr<capture::SpscRing<cam::Observation>>> rings_;
  std::vector<std::size_t> ring_peaks_;  // fullest each ring was seen since the last snapshot
  std::vector<std::unique_ptr<Uplink>> uplinks_;  // by uplink id
  std::vector<std::unique_ptr<Collector>> collectors_;
  std::unique_ptr<capture::LinkMonitor> link_monitor_;
  std::deque<LinkEvent> link_events_;
  int signal_fd_ = -1;
  std::chrono::nanoseconds clock_offset_{};  // realtime - steady, to notice clock steps
  bool have_clock_offset_ = false;
  bool stopping_ = false;
  bool reload_requested_ = false;
  unsigned state_failures_in_row_ = 0;
  // Events the events file refused wait in memory (in order) up to this many, about 3 MB.
  static constexpr std::size_t kEventBacklog = 10'000;
  static constexpr auto kEventsReminder = seconds(60);
  bool events_failing_ = false;
  struct {
    std::uint64_t written = 0, dropped = 0;
  } events_failure_start_;
  SteadyClock::time_point next_events_reminder_{};
  static constexpr auto kMetricsInterval = milliseconds(100);
  static constexpr int kCollectorSnaplenHeadroom = 128;
  std::unique_ptr<exporters::MetricsServer> metrics_;  // null when [metrics] listen is empty
  std::unique_ptr<ControlServer> control_;              // null when off or it could not be opened
  exporters::DaemonHealth health_;
  std::optional<exporters::BasicAuth> metrics_auth_;
  const std::string libpcap_version_ = capture::libpcap_version();
};

}  // namespace

int run_daemon(const Config& config, const std::string& config_path) {
  setup_logging(config.log_level);
  check_runnable(config, config_path);
  try {
    Daemon daemon(config, config_path);
    return daemon.run();
  } catch (const StartupPermissionError& e) {
    std::fprintf(stderr, "camwatch: error: %s\n", e.what());
    return kExitPrivilege;
  } catch (const PrivilegeError& e) {
    std::fprintf(stderr, "camwatch: error: %s\n", e.what());
    return kExitFailure;
  } catch (const exporters::MetricsError& e) {
    std::fprintf(stderr, "camwatch: error: %s\n", e.what());
    return kExitFailure;
  }
}

}  // namespace camwatch::daemon
