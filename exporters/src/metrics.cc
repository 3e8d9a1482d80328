#include "exporters/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

namespace camwatch::exporters {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// ---- MoveCounters ----

void MoveCounters::resize(std::size_t count) {
  if (count <= n_) return;
  auto grow = [&](std::vector<std::uint64_t>& m) {
    std::vector<std::uint64_t> next(count * count, 0);
    for (std::size_t f = 0; f < n_; ++f)
      for (std::size_t t = 0; t < n_; ++t) next[f * count + t] = m[f * n_ + t];
    m = std::move(next);
  };
  grow(silent_);
  grow(announced_);
  grow(flaps_);
  failovers_.resize(count * kCauses, 0);  // row = from uplink: growing keeps the rows in place
  n_ = count;
}

void MoveCounters::bump(std::vector<std::uint64_t>& m, cam::UplinkId from, cam::UplinkId to) {
  if (from == cam::kNoUplink || to == cam::kNoUplink) return;
  const std::size_t need = std::max<std::size_t>(from, to) + 1U;
  if (need > n_) resize(need);
  ++m[from * n_ + to];
}

void MoveCounters::on_event(const cam::Event& e) {
  const auto k = static_cast<int>(e.kind);
  if (k >= 0 && k < cam::kEventKinds) ++events_[k];
  switch (e.kind) {
    case cam::EventKind::silent_move:
      bump(silent_, e.from, e.to);
      last_silent_ = std::max(last_silent_, e.time);
      break;
    case cam::EventKind::announced_move: bump(announced_, e.from, e.to); break;
    case cam::EventKind::flap: bump(flaps_, e.from, e.to); break;
    case cam::EventKind::failover:
      if (e.story && e.story->from != cam::kNoUplink) {
        if (e.story->from >= n_) resize(e.story->from + 1U);
        ++failovers_[e.story->from * kCauses + static_cast<std::size_t>(e.story->cause)];
        last_failover_ = std::max(last_failover_, e.time);
      }
      break;
    default: break;
  }
}

// ---- rendering ----

namespace {

double seconds_of(cam::PacketTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

class Families {
 public:
  MetricFamily& family(std::string name, std::string help, MetricType type) {
    out_.push_back(MetricFamily{std::move(name), std::move(help), type, {}});
    return out_.back();
  }
  void counter(std::string name, std::string help, double value) {
    family(std::move(name), std::move(help), MetricType::Counter).metric.push_back(counter_sample({}, value));
  }
  void gauge(std::string name, std::string help, double value) {
    family(std::move(name), std::move(help), MetricType::Gauge).metric.push_back(gauge_sample({}, value));
  }
  static ClientMetric counter_sample(std::vector<ClientMetric::Label> labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    return m;
  }
  static ClientMetric gauge_sample(std::vector<ClientMetric::Label> labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    return m;
  }
  std::vector<MetricFamily> take() { return std::move(out_); }

 private:
  std::vector<MetricFamily> out_;
};

// One family with a sample per uplink.
template <typename Get>
void per_uplink(Families& f, const MetricsSnapshot& s, const char* name, const char* help, MetricType type, Get get) {
  MetricFamily& fam = f.family(name, help, type);
  for (const UplinkMetrics& u : s.uplinks) {
    const double v = static_cast<double>(get(u));
    fam.metric.push_back(type == MetricType::Counter ? Families::counter_sample({{"uplink", u.name}}, v)
                                                     : Families::gauge_sample({{"uplink", u.name}}, v));
  }
}

template <typename Get>
void per_pair(Families& f, const MetricsSnapshot& s, const char* name, const char* help, Get get) {
  MetricFamily& fam = f.family(name, help, MetricType::Counter);
  for (std::size_t i = 0; i < s.uplinks.size(); ++i) {
    for (std::size_t j = 0; j < s.uplinks.size(); ++j) {
      if (i == j) continue;
      const double v = static_cast<double>(get(s.uplink_ids[i], s.uplink_ids[j]));
      fam.metric.push_back(Families::counter_sample({{"from", s.uplinks[i].name}, {"to", s.uplinks[j].name}}, v));
    }
  }
}

// The standard process_* metrics (as the Go and Python clients export them), from /proc/self.
void process_metrics(Families& f) {
  std::ifstream stat_file("/proc/self/stat");
  std::string stat;  // one line
  std::getline(stat_file, stat);
  // Fields after the parenthesised command name (which may itself hold spaces or parentheses).
  const auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(stat.substr(close + 2));
    std::vector<std::string> field;
    for (std::string w; in >> w;) field.push_back(w);
    // field[0] is stat field 3 (state): utime is field 14 -> index 11, stime 12, starttime 19,
    // vsize 20, rss 21 (pages).
    if (field.size() > 21) {
      const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
      const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
      const double utime = std::stod(field[11]), stime = std::stod(field[12]);
      f.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", (utime + stime) / tick);
      f.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", std::stod(field[20]));
      f.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", std::stod(field[21]) * page);
      double boot = 0;
      std::ifstream sys_stat("/proc/stat");
      for (std::string line; std::getline(sys_stat, line);) {
        if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
      }
      if (boot > 0) {
        f.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                boot + std::stod(field[19]) / tick);
      }
    }
  }
  double fds = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++fds;
    }
    ::closedir(d);
    f.gauge("process_open_fds", "Number of open file descriptors.", fds - 1);  // minus the one reading it
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    f.gauge("process_max_fds", "Maximum number of open file descriptors.", static_cast<double>(lim.rlim_cur));
  }
}

}  // namespace

std::vector<MetricFamily> render_metrics(const MetricsSnapshot& s, bool with_process) {
  Families f;
  const auto counter = MetricType::Counter;
  const auto gauge = MetricType::Gauge;

  {
    MetricFamily& info = f.family("camwatch_build_info", "Always 1; the camwatch version and the libpcap it runs with.", gauge);
    info.metric.push_back(Families::gauge_sample({{"libpcap", s.libpcap_version}, {"version", s.version}}, 1));
  }
  f.gauge("camwatch_start_time_seconds", "When the daemon started, Unix seconds.", s.health.start_time_s);
  f.gauge("camwatch_last_update_timestamp_seconds",
          "Wall time the tracker loop published these values; stops moving when the loop is stuck.", s.update_time_s);

  // Per uplink: capture.
  per_uplink(f, s, "camwatch_frames_total", "Frames captured on the uplink.", counter, [](const UplinkMetrics& u) { return u.frames; });
  per_uplink(f, s, "camwatch_bytes_total", "Wire bytes of the frames captured on the uplink.", counter,
             [](const UplinkMetrics& u) { return u.bytes; });
  per_uplink(f, s, "camwatch_capture_dropped_frames_total", "Frames the kernel dropped before camwatch read them (pcap_stats ps_drop).",
             counter, [](const UplinkMetrics& u) { return u.kernel_drops; });
  per_uplink(f, s, "camwatch_capture_interface_dropped_frames_total",
             "Frames the interface or its driver dropped (pcap_stats ps_ifdrop).", counter,
             [](const UplinkMetrics& u) { return u.interface_drops; });
  per_uplink(f, s, "camwatch_ring_dropped_frames_total", "Decoded frames lost because the capture-to-tracker ring was full.",
             counter, [](const UplinkMetrics& u) { return u.ring_drops; });
  per_uplink(f, s, "camwatch_filtered_frames_total",
             "Decoded frames the recently-seen filter kept from the tracker: repeats of a station within [capture] refresh.",
             counter, [](const UplinkMetrics& u) { return u.filtered; });
  per_uplink(f, s, "camwatch_ring_fill_ratio", "How full the capture-to-tracker ring is, 0 to 1.", gauge,
             [](const UplinkMetrics& u) { return u.ring_fill_ratio; });
  per_uplink(f, s, "camwatch_malformed_frames_total", "Frames that could not be decoded (counted and skipped).", counter,
             [](const UplinkMetrics& u) { return u.malformed; });
  per_uplink(f, s, "camwatch_truncated_frames_total", "Frames cut by the snapshot length after their source was known.", counter,
             [](const UplinkMetrics& u) { return u.truncated; });
  {
    MetricFamily& fam = f.family("camwatch_notifications_total",
                                 "Notification frames (RARP, gratuitous ARP, unsolicited NA) decoded on the uplink.", counter);
    for (const UplinkMetrics& u : s.uplinks) {
      for (int k = 1; k < cam::kNotificationKinds; ++k) {
        fam.metric.push_back(Families::counter_sample(
            {{"kind", cam::to_string(static_cast<cam::Notification>(k))}, {"uplink", u.name}},
            static_cast<double>(u.notifications[k])));
      }
    }
  }
  per_uplink(f, s, "camwatch_nlb_heartbeats_total", "Windows NLB heartbeat frames (ethertype 0x886F).", counter,
             [](const UplinkMetrics& u) { return u.nlb_heartbeats; });
  per_uplink(f, s, "camwatch_uplink_up", "1 when the uplink's interface has carrier, 0 when it is down or missing.", gauge,
             [](const UplinkMetrics& u) { return u.link_up ? 1 : 0; });
  per_uplink(f, s, "camwatch_capture_up", "1 while a capture is open on the uplink's interface.", gauge,
             [](const UplinkMetrics& u) { return u.capture_up ? 1 : 0; });
  per_uplink(f, s, "camwatch_capture_restarts_total", "Captures reopened after the interface went away or the capture failed.",
             counter, [](const UplinkMetrics& u) { return u.capture_restarts; });

  // Per collector (ERSPAN / GRE mirrors).
  {
    MetricFamily& fam = f.family("camwatch_collector_frames_total",
                                 "Frames received on the collector interface, by what became of them.", counter);
    for (const CollectorMetrics& c : s.collectors) {
      const std::pair<const char*, std::uint64_t> results[] = {
          {"fragment", c.fragments},     {"malformed", c.malformed},       {"mapped", c.mapped},
          {"not_ethernet", c.not_ethernet}, {"not_mirrored", c.not_mirrored}, {"truncated", c.truncated},
          {"unmapped", c.unmapped}};
      for (const auto& [result, n] : results) {
        fam.metric.push_back(
            Families::counter_sample({{"collector", c.name}, {"result", result}}, static_cast<double>(n)));
      }
    }
  }
  {
    MetricFamily& fam = f.family("camwatch_collector_mirrored_frames_total",
                                 "Mirrored Ethernet frames decapsulated on the collector (mapped or not), by encapsulation.",
                                 counter);
    for (const CollectorMetrics& c : s.collectors) {
      for (int e = 0; e < CollectorMetrics::kEncaps; ++e) {
        fam.metric.push_back(Families::counter_sample({{"collector", c.name}, {"encap", CollectorMetrics::kEncapNames[e]}},
                                                      static_cast<double>(c.mirrored[e])));
      }
    }
  }
  const auto per_collector = [&](const char* name, const char* help, MetricType type, auto get) {
    MetricFamily& fam = f.family(name, help, type);
    for (const CollectorMetrics& c : s.collectors) {
      const double v = static_cast<double>(get(c));
      fam.metric.push_back(type == MetricType::Counter ? Families::counter_sample({{"collector", c.name}}, v)
                                                       : Families::gauge_sample({{"collector", c.name}}, v));
    }
  };
  per_collector("camwatch_collector_bytes_total", "Wire bytes of the frames received on the collector.", counter,
                [](const CollectorMetrics& c) { return c.bytes; });
  per_collector("camwatch_collector_switch_truncated_frames_total",
                "Mirrored frames the switch cut to fit the mirror's MTU (ERSPAN T bit).", counter,
                [](const CollectorMetrics& c) { return c.switch_truncated; });
  {
    MetricFamily& fam = f.family("camwatch_collector_dropped_frames_total",
                                 "Frames of the collector lost before decapsulation: by the kernel (pcap_stats ps_drop), the "
                                 "interface (ps_ifdrop) or the full capture-to-tracker ring.",
                                 counter);
    for (const CollectorMetrics& c : s.collectors) {
      const std::pair<const char*, std::uint64_t> wheres[] = {
          {"interface", c.interface_drops}, {"kernel", c.kernel_drops}, {"ring", c.ring_drops}};
      for (const auto& [where, n] : wheres) {
        fam.metric.push_back(
            Families::counter_sample({{"collector", c.name}, {"where", where}}, static_cast<double>(n)));
      }
    }
  }
  per_collector("camwatch_collector_ring_fill_ratio", "How full the collector's fullest capture-to-tracker ring is, 0 to 1.",
                gauge, [](const CollectorMetrics& c) { return c.ring_fill_ratio; });
  per_collector("camwatch_collector_up", "1 when the collector's interface has carrier, 0 when it is down or missing.", gauge,
                [](const CollectorMetrics& c) { return c.link_up ? 1 : 0; });
  per_collector("camwatch_collector_capture_up", "1 while a capture is open on the collector's interface.", gauge,
                [](const CollectorMetrics& c) { return c.capture_up ? 1 : 0; });
  per_collector("camwatch_collector_capture_restarts_total",
                "Collector captures reopened after the interface went away or the capture failed.", counter,
                [](const CollectorMetrics& c) { return c.capture_restarts; });

  // Moves.
  per_pair(f, s, "camwatch_silent_moves_total",
           "Stations that moved between uplinks with no RARP, gratuitous ARP or unsolicited NA on the new one.",
           [&](cam::UplinkId a, cam::UplinkId b) { return s.moves.silent(a, b); });
  per_pair(f, s, "camwatch_announced_moves_total", "Stations that moved between uplinks and announced it.",
           [&](cam::UplinkId a, cam::UplinkId b) { return s.moves.announced(a, b); });
  per_pair(f, s, "camwatch_flaps_total", "Stations found flapping; from and to are the uplinks of the move that made it a flap.",
           [&](cam::UplinkId a, cam::UplinkId b) { return s.moves.flaps(a, b); });
  {
    const cam::PacketTime last = s.moves.last_silent_move();
    f.gauge("camwatch_last_silent_move_timestamp_seconds", "Packet time of the latest silent move, Unix seconds; 0 when none.",
            last == cam::PacketTime{} ? 0.0 : seconds_of(last));
  }

  {
    // Every configured uplink and cause from the start at 0, as for the moves.
    MetricFamily& fam = f.family("camwatch_failovers_total",
                                 "Failover stories: groups of moves away from `uplink` (cam/failover.h), by cause.", counter);
    for (std::size_t i = 0; i < s.uplinks.size(); ++i) {
      for (std::size_t c = 0; c < MoveCounters::kCauses; ++c) {
        const auto cause = static_cast<cam::FailoverCause>(c);
        fam.metric.push_back(Families::counter_sample({{"cause", cam::to_string(cause)}, {"uplink", s.uplinks[i].name}},
                                                      static_cast<double>(s.moves.failovers(s.uplink_ids[i], cause))));
      }
    }
    const cam::PacketTime last = s.moves.last_failover();
    f.gauge("camwatch_last_failover_timestamp_seconds", "Packet time the latest failover story closed, Unix seconds; 0 when none.",
            last == cam::PacketTime{} ? 0.0 : seconds_of(last));
  }

  // Windows NLB inventory.
  f.gauge("camwatch_nlb_unicast_hosts",
          "Windows NLB hosts in unicast mode heard within the last hour: they never announce a move.",
          static_cast<double>(s.nlb.unicast_hosts));
  f.gauge("camwatch_nlb_clusters", "Windows NLB clusters (VLAN, cluster IP) heard within the last hour.",
          static_cast<double>(s.nlb.clusters));

  // Address bindings.
  if (s.bindings_enabled) {
    const cam::BindingStats& b = s.bindings;
    f.gauge("camwatch_bindings", "IP-to-MAC bindings held.", static_cast<double>(b.bindings));
    f.gauge("camwatch_bindings_max_entries", "The bindings table's cap, [bindings] max_entries.",
            static_cast<double>(s.bindings_max_entries));
    f.gauge("camwatch_bindings_probationary", "Bindings still in probation (the first to make room when full).",
            static_cast<double>(b.probationary));
    f.counter("camwatch_bindings_learned_total", "Bindings added.", static_cast<double>(b.bindings_learned));
    f.counter("camwatch_bindings_aged_total", "Bindings forgotten after [bindings] idle_timeout.", static_cast<double>(b.bindings_aged));
    f.counter("camwatch_bindings_evicted_total", "Probationary bindings that made room for a new one at the cap.",
              static_cast<double>(b.bindings_evicted));
    f.counter("camwatch_bindings_refused_total", "Claims of new bindings not learned: table full of established ones.",
              static_cast<double>(b.bindings_refused));
    {
      MetricFamily& fam = f.family("camwatch_binding_claims_total", "ARP and neighbour-discovery claims seen, by kind.", counter);
      for (int k = 1; k < cam::kClaimKinds; ++k) {
        fam.metric.push_back(Families::counter_sample({{"claim", cam::to_string(static_cast<cam::ClaimKind>(k))}},
                                                      static_cast<double>(b.claims[k])));
      }
    }
    {
      MetricFamily& fam = f.family("camwatch_binding_claims_ignored_total", "Claims not used for a binding, by reason.", counter);
      const std::pair<const char*, std::uint64_t> reasons[] = {
          {"address", b.ignored_addresses}, {"mac", b.ignored_macs}, {"policy", b.ignored_by_policy},
          {"stale", b.stale_claims},        {"time", b.ignored_times}};
      for (const auto& [reason, n] : reasons) {
        fam.metric.push_back(Families::counter_sample({{"reason", reason}}, static_cast<double>(n)));
      }
    }
    {
      MetricFamily& fam = f.family("camwatch_binding_events_suppressed_total",
                                   "Binding events decided but not written (per-binding rate limit, new_binding budget).",
                                   counter);
      for (cam::EventKind kind : {cam::EventKind::new_binding, cam::EventKind::changed_mac, cam::EventKind::flip_flop,
                                  cam::EventKind::ip_conflict}) {
        fam.metric.push_back(Families::counter_sample(
            {{"event", cam::to_string(kind)}}, static_cast<double>(b.events_suppressed[static_cast<int>(kind)])));
      }
    }
    f.counter("camwatch_binding_probes_total", "ARP probes and IPv6 duplicate-address-detection solicitations seen.",
              static_cast<double>(b.probes));
    f.counter("camwatch_binding_probe_conflicts_total", "Probes answered by another owner of the address (DAD collisions).",
              static_cast<double>(b.probe_conflicts));
  }

  // The table.
  const cam::TrackerStats& t = s.tracker;
  f.gauge("camwatch_cam_entries", "Stations in the learned table.", static_cast<double>(t.stations));
  f.gauge("camwatch_cam_max_entries", "The table's cap, [cam] max_entries.", static_cast<double>(s.max_entries));
  f.counter("camwatch_stations_learned_total", "Stations added to the table.", static_cast<double>(t.stations_learned));
  f.counter("camwatch_stations_aged_total", "Stations forgotten after idle_timeout without a frame.", static_cast<double>(t.stations_aged));
  f.counter("camwatch_stations_evicted_total", "Stations forgotten because a reload removed their uplink.",
            static_cast<double>(t.stations_evicted));
  f.counter("camwatch_table_full_frames_total",
            "Frames of new stations not learned because the table was full of established stations.",
            static_cast<double>(t.stations_refused));
  f.counter("camwatch_stations_replaced_total",
            "Probationary stations (heard only briefly, never moved or announced) a full table gave up for new ones.",
            static_cast<double>(t.stations_replaced));
  f.counter("camwatch_damped_moves_total", "Moves of flapping stations counted but not reported one by one.",
            static_cast<double>(t.damped_moves));
  f.counter("camwatch_late_events_total",
            "Events decided by a frame older than events already written: written with the latest time instead.",
            static_cast<double>(t.late_events));
  f.counter("camwatch_both_ways_suppressed_moves_total",
            "Moves not made: the station showed on both sides of mirror = \"both\" uplinks.",
            static_cast<double>(t.both_ways_suppressed));
  f.gauge("camwatch_pending_moves", "Moves waiting for their notify window to close.", static_cast<double>(t.pending_moves));
  f.gauge("camwatch_nlb_hosts", "Stations in the table that sent Windows NLB heartbeats.", static_cast<double>(t.nlb_hosts));
  f.counter("camwatch_tracker_frames_total", "Frames the tracker has processed, all uplinks.", static_cast<double>(t.observations));
  f.gauge("camwatch_packet_clock_timestamp_seconds", "The tracker's packet clock, Unix seconds.", s.packet_clock_s);
  {
    MetricFamily& fam = f.family("camwatch_events_total", "Events written, by kind.", counter);
    for (int k = 0; k < cam::kEventKinds; ++k) {
      const auto kind = static_cast<cam::EventKind>(k);
      fam.metric.push_back(Families::counter_sample({{"event", cam::to_string(kind)}}, static_cast<double>(s.moves.events(kind))));
    }
  }
  f.counter("camwatch_event_write_errors_total",
            "Events the events file refused when they happened (held for a retry, or dropped).",
            static_cast<double>(s.health.event_write_errors));
  f.gauge("camwatch_event_backlog", "Events held in memory until the events file takes them again.",
          static_cast<double>(s.health.event_backlog));
  f.counter("camwatch_events_dropped_total", "Events lost because the events file refused them and the backlog was full.",
            static_cast<double>(s.health.events_dropped));

  // The daemon.
  const DaemonHealth& h = s.health;
  f.gauge("camwatch_config_last_reload_successful", "1 when the last configuration reload applied, 0 when it failed.",
          h.last_reload_ok ? 1 : 0);
  f.gauge("camwatch_config_last_reload_success_timestamp_seconds", "When the configuration was last loaded successfully.",
          h.last_config_success_s);
  {
    MetricFamily& fam = f.family("camwatch_config_reloads_total", "Configuration reloads (SIGHUP), by result.", counter);
    fam.metric.push_back(Families::counter_sample({{"result", "failure"}}, static_cast<double>(h.reloads_failed)));
    fam.metric.push_back(Families::counter_sample({{"result", "success"}}, static_cast<double>(h.reloads_ok)));
  }
  {
    MetricFamily& fam = f.family("camwatch_state_saves_total", "Saves of the learned table to the state file, by result.", counter);
    fam.metric.push_back(Families::counter_sample({{"result", "failure"}}, static_cast<double>(h.state_saves_failed)));
    fam.metric.push_back(Families::counter_sample({{"result", "success"}}, static_cast<double>(h.state_saves_ok)));
  }
  f.gauge("camwatch_state_last_save_success_timestamp_seconds", "When the table was last saved; 0 before the first save.",
          h.last_state_save_s);

  if (with_process) process_metrics(f);
  return f.take();
}

std::string render_metrics_text(const MetricsSnapshot& snapshot, bool with_process) {
  return prometheus::TextSerializer().Serialize(render_metrics(snapshot, with_process));
}

// ---- the server ----

class MetricsServer::Collector final : public prometheus::Collectable {
 public:
  std::vector<MetricFamily> Collect() const override {
    std::shared_ptr<const MetricsSnapshot> s;
    {
      std::lock_guard lock(mutex_);
      s = snapshot_;
    }
    // Rendering happens outside the lock: the tracker loop's publish() never waits for it.
    return render_metrics(*s, true);
  }
  void publish(std::shared_ptr<const MetricsSnapshot> s) {
    std::lock_guard lock(mutex_);
    snapshot_.swap(s);
    // The previous snapshot is freed here or by the scrape still rendering it.
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const MetricsSnapshot> snapshot_ = std::make_shared<MetricsSnapshot>();
};

namespace {
// civetweb takes numeric addresses only.
std::string civetweb_address(const std::string& listen) {
  constexpr std::string_view localhost = "localhost:";
  if (listen.starts_with(localhost)) return "127.0.0.1:" + listen.substr(localhost.size());
  return listen;
}
}  // namespace

struct MetricsServer::ExposerHolder {
  std::unique_ptr<prometheus::Exposer> exposer;
};

namespace {
// Compares without an early exit, so the time taken does not tell how much of a guess was right.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < b.size(); ++i) diff |= static_cast<unsigned char>(b[i] ^ (i < a.size() ? a[i] : 0));
  return diff == 0;
}
}  // namespace

MetricsServer::MetricsServer(const std::string& listen, std::optional<BasicAuth> auth)
    : listen_(listen), collector_(std::make_shared<Collector>()), exposer_(std::make_unique<ExposerHolder>()) {
  try {
    // civetweb options: two worker threads (a scrape and a stray client), bounded request time,
    // keep-alive, and TCP_NODELAY: without it the body waits for the delayed ACK of the
    // headers (Nagle), 40 ms per scrape.
    exposer_->exposer = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", civetweb_address(listen), "num_threads", "2", "request_timeout_ms", "10000",
        "enable_keep_alive", "yes", "tcp_nodelay", "1"});
  } catch (const std::exception& e) {
    throw MetricsError("cannot serve metrics on " + listen + " (address in use, or not an address of this host?): " +
                       e.what());
  }
  if (auth) {
    exposer_->exposer->RegisterAuth(
        [expected = std::move(*auth)](const std::string& user, const std::string& password) {
          // Both compared, always: no early return on a wrong user name.
          const bool user_ok = same_secret(user, expected.username);
          const bool password_ok = same_secret(password, expected.password);
          return user_ok && password_ok;
        },
        "camwatch");
  }
  exposer_->exposer->RegisterCollectable(collector_);
}

MetricsServer::~MetricsServer() {
  // Stop the HTTP threads before the collector goes away.
  exposer_->exposer.reset();
}

void MetricsServer::publish(MetricsSnapshot snapshot) {
  collector_->publish(std::make_shared<const MetricsSnapshot>(std::move(snapshot)));
}

int MetricsServer::port() const {
  const std::vector<int> ports = exposer_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace camwatch::exporters
