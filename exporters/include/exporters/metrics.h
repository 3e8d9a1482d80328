// Prometheus metrics: what the daemon knows, served at scrape time from a published snapshot.
//
// Theory of operation. The tracker loop owns every number (tracker stats, capture totals it
// sums from the capture threads' atomics, its own health). About ten times a second it fills a
// MetricsSnapshot — plain values, no Prometheus types — and hands it to MetricsServer::publish(),
// which swaps it in under a mutex. A scrape runs on the HTTP server's thread: it copies nothing
// from the capture threads and never waits for the tracker loop, only for that swap, and builds
// the exposition from the snapshot (plus the process's own /proc figures, read then). So a frame
// never costs a Prometheus call, a slow or hammering scraper never slows capture, and a wedged
// tracker loop shows as a stale `camwatch_last_update_timestamp_seconds` while /metrics still
// answers. docs/METRICS.md lists every metric.
//
// MoveCounters turns the event stream into the per-uplink-pair counters: every ordered pair of
// uplinks exists from the start at 0, so Prometheus' increase() sees the first silent move.
//
// Labels carry uplink and collector names and small fixed vocabularies only, never a MAC or an
// IP (SPEC).
//
// Not for: deciding anything, or holding state the tracker does not already hold.
// Thread-safety: MetricsServer::publish() may be called from one thread while scrapes run on
// others; MoveCounters and render_metrics() are plain single-thread code.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cam/bindings.h"
#include "cam/event.h"
#include "cam/failover.h"
#include "cam/nlb.h"
#include "cam/tracker.h"
#include "cam/types.h"

namespace prometheus {
struct MetricFamily;
}

namespace camwatch::exporters {

struct UplinkMetrics {
  std::string name;
  bool link_up = false;
  bool capture_up = false;
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::uint64_t kernel_drops = 0;
  std::uint64_t interface_drops = 0;
  std::uint64_t ring_drops = 0;
  std::uint64_t filtered = 0;  // held back by the recently-seen filter
  double ring_fill_ratio = 0;
  std::uint64_t malformed = 0;
  std::uint64_t truncated = 0;
  std::uint64_t notifications[cam::kNotificationKinds] = {};  // indexed by cam::Notification
  std::uint64_t nlb_heartbeats = 0;
  std::uint64_t capture_restarts = 0;
};

// An ERSPAN / GRE collector interface ([[collector]]): what its frames held, its drops. The
// decoded frames of the uplinks it feeds are counted in their UplinkMetrics.
struct CollectorMetrics {
  // Mirrored-frame encapsulations, in the order of capture::MirrorEncap without `none`.
  static constexpr int kEncaps = 4;
  static constexpr const char* kEncapNames[kEncaps] = {"erspan_i", "erspan_ii", "erspan_iii", "gre_teb"};

  std::string name;
  bool link_up = false;
  bool capture_up = false;
  std::uint64_t bytes = 0;
  // Every frame received in exactly one of these (result="..."):
  std::uint64_t mapped = 0;        // mirrored Ethernet frames handed to an uplink
  std::uint64_t unmapped = 0;      // mirrored frames of a session no uplink maps
  std::uint64_t not_mirrored = 0;  // the interface's own traffic, other GRE
  std::uint64_t fragments = 0;     // fragmented mirrors (not reassembled)
  std::uint64_t not_ethernet = 0;  // ERSPAN type III carrying another frame type
  std::uint64_t truncated = 0;     // cut by the snaplen inside the encapsulation
  std::uint64_t malformed = 0;
  std::uint64_t mirrored[kEncaps] = {};  // mapped + unmapped, by encapsulation
  std::uint64_t switch_truncated = 0;    // ERSPAN T bit: the switch cut the mirrored frame
  std::uint64_t kernel_drops = 0;
  std::uint64_t interface_drops = 0;
  std::uint64_t ring_drops = 0;
  double ring_fill_ratio = 0;
  std::uint64_t capture_restarts = 0;
};

// Per ordered uplink pair counters, and counts of every event kind, fed from the event stream.
class MoveCounters {
 public:
  void on_event(const cam::Event& e);
  // Makes room for uplink ids below `count` (pairs among them start at 0).
  void resize(std::size_t count);

  std::size_t uplinks() const { return n_; }
  std::uint64_t silent(cam::UplinkId from, cam::UplinkId to) const { return at(silent_, from, to); }
  std::uint64_t announced(cam::UplinkId from, cam::UplinkId to) const { return at(announced_, from, to); }
  std::uint64_t flaps(cam::UplinkId from, cam::UplinkId to) const { return at(flaps_, from, to); }
  std::uint64_t events(cam::EventKind kind) const { return events_[static_cast<int>(kind)]; }
  // Packet time of the latest silent move; epoch when none.
  cam::PacketTime last_silent_move() const { return last_silent_; }
  // Failover stories by the uplink the stations left and the cause.
  std::uint64_t failovers(cam::UplinkId from, cam::FailoverCause cause) const {
    return from < n_ ? failovers_[from * kCauses + static_cast<std::size_t>(cause)] : 0;
  }
  cam::PacketTime last_failover() const { return last_failover_; }
  static constexpr std::size_t kCauses = 3;  // cam::FailoverCause values

 private:
  std::uint64_t at(const std::vector<std::uint64_t>& m, cam::UplinkId from, cam::UplinkId to) const {
    return from < n_ && to < n_ ? m[from * n_ + to] : 0;
  }
  void bump(std::vector<std::uint64_t>& m, cam::UplinkId from, cam::UplinkId to);

  std::size_t n_ = 0;
  std::vector<std::uint64_t> silent_, announced_, flaps_;  // n_ x n_, row = from
  std::vector<std::uint64_t> failovers_;                   // n_ x kCauses
  std::uint64_t events_[cam::kEventKinds] = {};
  cam::PacketTime last_silent_{};
  cam::PacketTime last_failover_{};
};

struct DaemonHealth {
  double start_time_s = 0;
  bool last_reload_ok = true;
  double last_config_success_s = 0;  // start, then every successful reload
  std::uint64_t reloads_ok = 0;
  std::uint64_t reloads_failed = 0;
  std::uint64_t state_saves_ok = 0;
  std::uint64_t state_saves_failed = 0;
  double last_state_save_s = 0;  // 0 before the first successful save
  std::uint64_t event_write_errors = 0;  // events the events file refused when they happened
  std::uint64_t event_backlog = 0;       // of those, held in memory for a retry now
  std::uint64_t events_dropped = 0;      // of those, given up (the backlog was full)
};

struct MetricsSnapshot {
  double update_time_s = 0;          // wall clock when the loop filled it
  std::string version;               // camwatch_build_info labels
  std::string libpcap_version;
  std::vector<UplinkMetrics> uplinks;  // configured uplinks only, in id order
  std::vector<cam::UplinkId> uplink_ids;  // parallel to `uplinks`: their ids in `moves`
  std::vector<CollectorMetrics> collectors;  // configured collectors, in configuration order
  MoveCounters moves;
  cam::TrackerStats tracker;
  std::uint64_t max_entries = 0;
  cam::NlbStats nlb;
  bool bindings_enabled = false;
  cam::BindingStats bindings;
  std::uint64_t bindings_max_entries = 0;
  double packet_clock_s = 0;
  DaemonHealth health;
};

// The exposition of `snapshot`, as metric families in a fixed order (tests, promtool, the
// server). `with_process` adds the process_* metrics read from /proc/self now.
std::vector<prometheus::MetricFamily> render_metrics(const MetricsSnapshot& snapshot, bool with_process);

// Prometheus text format 0.0.4 of render_metrics().
std::string render_metrics_text(const MetricsSnapshot& snapshot, bool with_process);

class MetricsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// HTTP basic authentication for /metrics (Prometheus' `basic_auth` scrape option).
struct BasicAuth {
  std::string username;
  std::string password;
};

// The HTTP endpoint: prometheus-cpp's Exposer on `listen` ("HOST:PORT", IPv6 as "[::1]:PORT"),
// serving /metrics from the latest published snapshot; with `auth`, only to that user (others get
// 401; credentials are compared in constant time).
class MetricsServer {
 public:
  // Binds at once; throws MetricsError naming the address when it cannot (in use, no such
  // address, permission).
  explicit MetricsServer(const std::string& listen, std::optional<BasicAuth> auth = std::nullopt);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void publish(MetricsSnapshot snapshot);
  const std::string& listen() const { return listen_; }
  // The port actually bound (useful with port 0 in tests).
  int port() const;

 private:
  class Collector;
  std::string listen_;
  std::shared_ptr<Collector> collector_;
  struct ExposerHolder;
  std::unique_ptr<ExposerHolder> exposer_;
};

}  // namespace camwatch::exporters
