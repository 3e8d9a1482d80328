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
#include "daemon/table_memory.h"
#include "daemon/version.h"
#include "exporters/json_event_writer.h"
#include "exporters/metrics.h"
#include "control_socket.h"
#include "logging.h"
#include "privileges.h"

namespace camwatch::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

// Kernel packet timestamps are CLOCK_REALTIME; the hold-back cutoff must be on the same clock.
cam::PacketTime realtime_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return cam::PacketTime(seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

cam::AnalyzerConfig with_huge_pages(cam::AnalyzerConfig c) {
  c.tracker.table_memory = &huge_page_table_memory();
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
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
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
    writer_.on_event(e);
    if (writer_.write_failures() != reported_failures_) {
      reported_failures_ = writer_.write_failures();
      log_limited(spdlog::level::err, "events file: write failed: " + std::string(std::strerror(writer_.last_errno())));
    }
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
      case cam::EventKind::failover:
      case cam::EventKind::new_binding:
      case cam::EventKind::changed_mac:
      case cam::EventKind::flip_flop:
      case cam::EventKind::ip_conflict:
        break;  // TODO(issue 6): log lines
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
  std::uint64_t reported_failures_ = 0;
  SteadyClock::time_point window_start_{};
  int in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

struct Uplink {
  cam::UplinkId id = 0;
  UplinkConfig config;
  bool configured = true;  // false once a reload removed it (its id stays reserved)
  bool link_up = true;
  std::unique_ptr<capture::SpscRing<cam::Observation>> ring;
  std::unique_ptr<capture::RecentlySeenFilter> filter;  // the capture thread's; kept across reopens
  std::unique_ptr<capture::LiveCapture> capture;
  std::thread thread;
  std::atomic<bool> finished{false};
  capture::LiveCapture::EndReason end_reason = capture::LiveCapture::EndReason::stopped;
  SteadyClock::time_point retry_at{};
  std::string waiting_reason;  // why it is not capturing, logged once per reason
  bool ever_opened = false;
  std::uint64_t capture_restarts = 0;
  std::size_t ring_peak = 0;  // fullest the ring was seen since the last metrics snapshot
  capture::LiveCaptureStats earlier;  // totals of captures that ended (restarts)

  capture::LiveCaptureStats totals() const {
    capture::LiveCaptureStats t = earlier;
    if (capture) {
      const capture::LiveCaptureStats now = capture->stats();
      t.frames += now.frames;
      t.bytes += now.bytes;
      t.malformed += now.malformed;
      t.truncated += now.truncated;
      t.filtered += now.filtered;
      t.ring_writes += now.ring_writes;
      t.ring_drops += now.ring_drops;
      t.kernel_drops += now.kernel_drops;
      t.interface_drops += now.interface_drops;
      t.nlb_heartbeats += now.nlb_heartbeats;
      for (int i = 0; i < cam::kNotificationKinds; ++i) t.notifications[i] += now.notifications[i];
    }
    return t;
  }
  void retire_capture() {
    earlier = totals();
    capture.reset();
  }
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
        writer_(events_.fd(), {}, config_.tracker),
        sink_(writer_, names_),
        analyzer_(with_huge_pages(analyzer_config(config_)), sink_),
        tracker_(analyzer_.tracker()),
        merger_(static_cast<std::size_t>(config_.capture.ring_entries)) {}

  ~Daemon() {
    // Also on an exception: no capture thread may outlive its Uplink (std::terminate).
    for (auto& u : uplinks_) {
      if (u->capture) u->capture->stop();
    }
    for (auto& u : uplinks_) {
      if (u->thread.joinable()) u->thread.join();
    }
    if (signal_fd_ >= 0) ::close(signal_fd_);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int run() {
    block_signals();
    metrics_auth_ = metrics_auth(config_);  // before dropping privileges: the file may be root's
    for (const UplinkConfig& u : config_.uplinks) add_uplink(u);
    writer_.set_uplink_names(names_);
    load_state();
    try {
      link_monitor_ = std::make_unique<capture::LinkMonitor>();
    } catch (const std::exception& e) {
      spdlog::warn("link state monitoring unavailable ({}); captures are retried every few seconds instead", e.what());
    }

    // Open every capture while still privileged, then drop privileges, then start threads:
    // capabilities are per thread, so the drop must come before any thread exists.
    for (auto& u : uplinks_) open_capture(*u, /*at_startup=*/true);
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
      if (u->capture) spawn(*u);
    }
    report_initial_link_states();

    sd_notify(0, "READY=1");
    spdlog::info("camwatch {} started: {} uplinks, events to {}", kVersion, uplinks_.size(), events_.path());
    std::uint64_t watchdog_usec = 0;
    if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;

    auto next_save = SteadyClock::now() + config_.state_save_interval;
    auto next_publish = SteadyClock::now();
    auto next_status = SteadyClock::now();
    auto next_watchdog = SteadyClock::now();
    while (!stopping_) {
      wait_for_work();
      handle_links();
      supervise_captures();
      check_clock_step();
      feed_tracker(realtime_now() - config_.capture.merge_holdback);
      const auto now = SteadyClock::now();
      if (now >= next_save) {
        save_state();
        next_save = now + config_.state_save_interval;
      }
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
    for (auto& u : uplinks_) {
      if (u->capture) u->capture->stop();  // all drain at once, then join one by one
    }
    for (auto& u : uplinks_) stop_capture(*u);
    // Every ring emptied, not just what fits in staging once.
    for (;;) {
      feed_tracker(cam::PacketTime::max());
      std::size_t left = 0;
      for (auto& u : uplinks_) left += u->ring->size();
      if (left == 0) break;
    }
    for (auto& u : uplinks_) {
      const capture::LiveCaptureStats t = u->totals();
      spdlog::info("uplink {}: {} frames, {} malformed, {} kernel drops, {} interface drops, {} ring drops, "
                   "{} filtered, {} ring writes",
                   u->config.name, t.frames, t.malformed, t.kernel_drops, t.interface_drops, t.ring_drops, t.filtered,
                   t.ring_writes);
    }
    analyzer_.finish();
    save_state();
    const cam::TrackerStats& s = tracker_.stats();
    spdlog::info("stopped: {} stations saved; this run learned {} new stations, saw {} silent and {} announced moves",
                 s.stations, s.stations_learned, s.silent_moves, s.announced_moves);
    return kExitOk;
  }

 private:
  // ---- uplinks and captures ----

  Uplink* find_uplink(const std::string& name) {
    for (auto& u : uplinks_)
      if (u->config.name == name) return u.get();
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
    u->ring = std::make_unique<capture::SpscRing<cam::Observation>>(static_cast<std::size_t>(config_.capture.ring_entries));
    u->filter = std::make_unique<capture::RecentlySeenFilter>(config_.capture.refresh);
    names_.push_back(c.name);
    uplinks_.push_back(std::move(u));
    sink_.add_uplinks(uplinks_.size());
  }

  bool open_capture(Uplink& u, bool at_startup) {
    capture::LiveCaptureOptions o;
    o.interface = u.config.interface;
    o.direction = to_capture(u.config.direction);
    o.promiscuous = u.config.promiscuous;
    o.snaplen = config_.capture.snaplen;
    o.buffer_bytes = static_cast<int>(config_.capture.buffer_bytes);
    // The kernel hands a partly filled block over after poll_timeout: keep it well inside the
    // merge hold-back so a quiet uplink's frames are not released after newer ones.
    o.poll_timeout = std::clamp(std::chrono::duration_cast<milliseconds>(config_.capture.merge_holdback) / 3,
                                milliseconds(1), milliseconds(100));
    try {
      u.capture = std::make_unique<capture::LiveCapture>(o, u.id, *u.ring, u.filter.get());
      u.waiting_reason.clear();
      if (u.ever_opened) ++u.capture_restarts;
      u.ever_opened = true;
      return true;
    } catch (const capture::LiveCaptureError& e) {
      if (e.kind() == capture::LiveCaptureErrorKind::permission && at_startup) throw StartupPermissionError(e.what());
      if (u.waiting_reason != e.what()) {
        spdlog::warn("uplink {}: not capturing: {}; retrying until the interface is back", u.config.name, e.what());
        u.waiting_reason = e.what();
      }
      u.retry_at = SteadyClock::now() + seconds(2);
      return false;
    }
  }

  void spawn(Uplink& u) {
    u.finished.store(false, std::memory_order_relaxed);
    Uplink* p = &u;
    u.thread = std::thread([p] {
      p->end_reason = p->capture->run();
      p->finished.store(true, std::memory_order_release);
    });
    spdlog::info("uplink {}: capturing on {}", u.config.name, u.config.interface);
  }

  void stop_capture(Uplink& u) {
    if (!u.capture) return;
    u.capture->stop();
    if (u.thread.joinable()) u.thread.join();
    merger_.pull(u.id, *u.ring);  // keep what it captured
    u.retire_capture();
  }

  void supervise_captures() {
    const auto now = SteadyClock::now();
    for (auto& up : uplinks_) {
      Uplink& u = *up;
      if (u.capture && u.finished.load(std::memory_order_acquire)) {
        const std::string why = u.capture->error();
        if (u.thread.joinable()) u.thread.join();
        merger_.pull(u.id, *u.ring);
        u.retire_capture();
        spdlog::warn("uplink {}: capture on {} ended: {}", u.config.name, u.config.interface,
                     why.empty() ? "interface gone" : why);
        u.retry_at = now + seconds(1);
        if (u.link_up) queue_link(u, false);
      }
      if (!u.capture && u.configured && now >= u.retry_at) {
        if (open_capture(u, false)) {
          spawn(u);
          refresh_link(u);
        }
      }
    }
  }

  // ---- link state ----

  void queue_link(Uplink& u, bool up) {
    u.link_up = up;
    link_events_.push_back(LinkEvent{realtime_now(), u.id, up});
  }

  // The kernel's word on the uplink's link: an interface can be opened (administratively up)
  // and still have no carrier. Without a link monitor an open capture counts as up.
  void refresh_link(Uplink& u) {
    bool up = u.capture != nullptr;
    if (link_monitor_) {
      try {
        up = link_monitor_->query(u.config.interface).state == capture::LinkState::up;
      } catch (const std::exception& e) {
        spdlog::debug("uplink {}: link state query failed: {}", u.config.name, e.what());
      }
    }
    if (up != u.link_up) queue_link(u, up);
  }

  void report_initial_link_states() {
    for (auto& u : uplinks_) refresh_link(*u);
  }

  void handle_links() {
    if (!link_monitor_) return;
    link_monitor_->drain([&](const capture::LinkChange& c) {
      for (auto& u : uplinks_) {
        if (!u->configured || u->config.interface != c.interface) continue;
        const bool up = c.state == capture::LinkState::up;
        if (up != u->link_up) queue_link(*u, up);
        if (up && !u->capture) u->retry_at = SteadyClock::now();  // reopen at once
      }
    });
  }

  // ---- the tracker ----

  void feed_tracker(cam::PacketTime cutoff) {
    for (auto& u : uplinks_) {
      u->ring_peak = std::max(u->ring_peak, u->ring->size());
      merger_.pull(u->id, *u->ring);
    }
    for (auto& u : uplinks_) cutoff = merger_.limit_cutoff(u->id, *u->ring, cutoff);
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
    try {
      SavedState saved = daemon::load_state(config_.state_path);
      const std::size_t restored = restore_into(saved, tracker_, names_);
      if (!saved.stations.empty()) {
        spdlog::info("restored {} of {} stations from {}", restored, saved.stations.size(), config_.state_path);
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
  void save_state_file() { daemon::save_state(config_.state_path, tracker_, names_); }

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
      if (next.uplinks.empty()) throw ConfigError(config_path_ + ": uplink: 'camwatch run' needs at least one [[uplink]]");
      next_auth = metrics_auth(next);
    } catch (const std::exception& e) {
      spdlog::error("reload failed, keeping the running configuration: {}", e.what());
      ++health_.reloads_failed;
      health_.last_reload_ok = false;
      reopen_events(config_.events_path);
      sd_notify(0, "READY=1");
      return;
    }
    if (!analyzer_.reconfigure(analyzer_config(next))) {
      spdlog::warn("[cam] max_entries changed: takes effect after a restart; other settings applied");
      next.tracker.max_entries = config_.tracker.max_entries;
      analyzer_.reconfigure(analyzer_config(next));
    }
    set_log_level(next.log_level);

    // Uplinks: removed ones stop and their stations are forgotten, changed ones restart (all of
    // them when [capture] settings changed), new ones start. Reopened captures use `next`.
    const CaptureConfig& a = config_.capture;
    const CaptureConfig& b = next.capture;
    const bool capture_changed = a.snaplen != b.snaplen || a.buffer_bytes != b.buffer_bytes ||
                                 a.merge_holdback != b.merge_holdback;
    if (a.ring_entries != b.ring_entries) spdlog::warn("[capture] ring_entries changed: takes effect after a restart");
    next.capture.ring_entries = a.ring_entries;
    if (a.refresh != b.refresh) spdlog::warn("[capture] refresh changed: takes effect after a restart");
    next.capture.refresh = a.refresh;
    for (auto& u : uplinks_) {
      const auto it = std::find_if(next.uplinks.begin(), next.uplinks.end(),
                                   [&](const UplinkConfig& c) { return c.name == u->config.name; });
      if (it == next.uplinks.end()) {
        if (u->configured) {
          stop_capture(*u);
          // Its stations are forgotten, as a restart without it would: otherwise renaming an
          // uplink would report every station behind it as moving to the new name.
          feed_tracker(realtime_now() - config_.capture.merge_holdback);
          const std::uint64_t n = tracker_.forget_uplink(u->id);
          spdlog::info("uplink {} removed; its {} stations forgotten", u->config.name, n);
        }
        u->configured = false;
      } else if (!(*it == u->config) || !u->configured || capture_changed) {
        stop_capture(*u);
        u->config = *it;
        u->configured = true;
        u->retry_at = SteadyClock::now();
      }
    }
    for (const UplinkConfig& c : next.uplinks) {
      if (find_uplink(c.name) == nullptr) {
        add_uplink(c);
        uplinks_.back()->retry_at = SteadyClock::now();
        spdlog::info("uplink {} added", c.name);
      }
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
    for (auto& u : uplinks_) {
      if (!u->configured) {
        u->ring_peak = 0;
        continue;
      }
      const capture::LiveCaptureStats t = u->totals();
      exporters::UplinkMetrics x;
      x.name = u->config.name;
      x.link_up = u->link_up;
      x.capture_up = u->capture != nullptr;
      x.frames = t.frames;
      x.bytes = t.bytes;
      x.kernel_drops = t.kernel_drops;
      x.interface_drops = t.interface_drops;
      x.ring_drops = t.ring_drops;
      x.filtered = t.filtered;
      x.ring_fill_ratio = static_cast<double>(std::max(u->ring_peak, u->ring->size())) /
                          static_cast<double>(u->ring->capacity());
      u->ring_peak = 0;
      x.malformed = t.malformed;
      x.truncated = t.truncated;
      std::copy(std::begin(t.notifications), std::end(t.notifications), std::begin(x.notifications));
      x.nlb_heartbeats = t.nlb_heartbeats;
      x.capture_restarts = u->capture_restarts;
      m.uplinks.push_back(std::move(x));
      m.uplink_ids.push_back(u->id);
    }
    m.moves = sink_.moves();
    m.tracker = tracker_.stats();
    m.max_entries = tracker_.config().max_entries;
    m.packet_clock_s = std::chrono::duration<double>(tracker_.clock().time_since_epoch()).count();
    m.health = health_;
    m.health.event_write_errors = writer_.write_failures();
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
    if (request == "table") return serialize_state(tracker_, names_);
    throw std::runtime_error("unknown request '" + std::string(request.substr(0, 40)) + "'");
  }

  void notify_status() {
    std::size_t capturing = 0, configured = 0;
    for (auto& u : uplinks_) {
      configured += u->configured ? 1 : 0;
      capturing += u->capture ? 1 : 0;
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
  exporters::JsonEventWriter writer_;
  DaemonSink sink_;
  cam::Analyzer analyzer_;
  cam::Tracker& tracker_;  // analyzer_'s: the table, its stats and its configuration
  ObservationMerger merger_;
  std::vector<std::unique_ptr<Uplink>> uplinks_;
  std::unique_ptr<capture::LinkMonitor> link_monitor_;
  std::deque<LinkEvent> link_events_;
  int signal_fd_ = -1;
  std::chrono::nanoseconds clock_offset_{};  // realtime - steady, to notice clock steps
  bool have_clock_offset_ = false;
  bool stopping_ = false;
  bool reload_requested_ = false;
  unsigned state_failures_in_row_ = 0;
  static constexpr auto kMetricsInterval = milliseconds(100);
  std::unique_ptr<exporters::MetricsServer> metrics_;  // null when [metrics] listen is empty
  std::unique_ptr<ControlServer> control_;              // null when off or it could not be opened
  exporters::DaemonHealth health_;
  std::optional<exporters::BasicAuth> metrics_auth_;
  const std::string libpcap_version_ = capture::libpcap_version();
};

}  // namespace

int run_daemon(const Config& config, const std::string& config_path) {
  setup_logging(config.log_level);
  if (config.uplinks.empty()) {
    throw ConfigError(config_path + ": uplink: 'camwatch run' needs at least one [[uplink]] (see config/camwatch.toml)");
  }
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
