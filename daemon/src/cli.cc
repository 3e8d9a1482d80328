#include "daemon/cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "capture/capture_file.h"
#include "daemon/config.h"
#include "daemon/live_daemon.h"
#include "daemon/replay.h"
#include "daemon/state_file.h"
#include "daemon/table_view.h"
#include "daemon/vendor_file.h"
#include "control_socket.h"
#include "logging.h"
#include "daemon/version.h"
#include "exporters/json_event_writer.h"
#include "exporters/story_text.h"

namespace camwatch::daemon {
namespace {

// Thrown for command-line mistakes; caught once in run_cli() and mapped to exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown for runtime failures (exit 1) that are not a damaged capture.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr const char* kUsage =
    "usage: camwatch <command> [options]\n"
    "\n"
    "Catches silent MAC moves: stations that change switch uplink without sending the RARP,\n"
    "gratuitous ARP or unsolicited neighbour advertisement that makes the switch re-learn them.\n"
    "\n"
    "commands:\n"
    "  run           [--config PATH]   run the capture daemon (what systemd starts)\n"
    "  replay        --uplink NAME=FILE [--uplink NAME=FILE ...] [--collector FILE ...]\n"
    "                [--config PATH] [--events PATH] [--table PATH]\n"
    "                                  replay one capture file per uplink (and captures of\n"
    "                                  ERSPAN/GRE collectors), write events\n"
    "  check-config  [--config PATH]   validate a configuration file and exit\n"
    "  table         [--json] [--sort KEY] [--uplink NAME] [--vlan N] [--moved] [--limit N]\n"
    "                [--bindings | --failovers] [--config PATH | --socket PATH | --state FILE]\n"
    "                                  show the learned table of the running daemon (or of a\n"
    "                                  state file): stations, uplink, vendor, first/last seen,\n"
    "                                  moves, last notification, then the latest failovers;\n"
    "                                  --bindings: the IP-MAC address bindings instead;\n"
    "                                  --failovers: every saved failover story; KEY: last-move\n"
    "                                  (default), last-seen, first-seen, mac, vlan, uplink\n"
    "\n"
    "options:\n"
    "  --config PATH   configuration file (default /etc/camwatch/camwatch.toml for run and\n"
    "                  check-config; replay uses built-in defaults unless given)\n"
    "  --uplink NAME=FILE\n"
    "                  a pcap or pcapng file holding the frames the switch received on the\n"
    "                  uplink NAME; repeat once per uplink; files are merged by timestamp\n"
    "  --collector FILE\n"
    "                  a capture of ERSPAN (type I, II, III) or GRE (0x6558) mirrors of many\n"
    "                  uplinks, mapped to them by the --config's erspan_session / gre_key;\n"
    "                  without such mappings each session replays as an uplink of its own\n"
    "                  (erspan-<session>, gre-<key>, gre); repeatable\n"
    "  --events PATH   where replay writes JSON Lines events; '-' or omitted: stdout\n"
    "  --table PATH    replay also saves the learned table there (state file format):\n"
    "                  read it with 'camwatch table --state PATH'\n"
    "  -h, --help      show this help and exit\n"
    "  -V, --version   show the version and exit\n"
    "\n"
    "exit codes: 0 ok, 1 runtime failure (unreadable or corrupt input), 2 usage error,\n"
    "            4 missing privilege, 6 invalid configuration\n";

// Under systemd the line goes to the journal with error priority ("<3>", which journald strips).
void error_line(const std::string& message) {
  std::fprintf(stderr, "%scamwatch: error: %s\n", stderr_is_journal() ? "<3>" : "", message.c_str());
}

// "1,234,567": counts people read at a glance.
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count != 0 && count % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return out;
}

struct Args {
  std::vector<std::string> items;
  std::size_t pos = 0;

  bool done() const { return pos >= items.size(); }
  const std::string& peek() const { return items[pos]; }
  // Accepts "--opt VALUE" and "--opt=VALUE". Returns false if the current item is not --opt.
  bool take(const char* opt, std::string& value) {
    const std::string& cur = items[pos];
    const std::size_t len = std::strlen(opt);
    if (cur == opt) {
      if (pos + 1 >= items.size()) throw UsageError(std::string(opt) + " needs a value");
      value = items[pos + 1];
      pos += 2;
      return true;
    }
    if (cur.size() > len && cur.compare(0, len, opt) == 0 && cur[len] == '=') {
      value = cur.substr(len + 1);
      ++pos;
      return true;
    }
    return false;
  }
};

bool is_help(const std::string& a) { return a == "-h" || a == "--help"; }

// ---- replay ----------------------------------------------------------------------------------

// Passes events on to the JSON writer and keeps what the summary shows.
class SummarySink final : public cam::EventSink {
 public:
  explicit SummarySink(cam::EventSink& next) : next_(next) {}
  void on_event(const cam::Event& e) override {
    if (e.kind == cam::EventKind::silent_move || e.kind == cam::EventKind::flap) alerts_.push_back(e);
    if (e.kind == cam::EventKind::failover && e.story && stories_.size() < kStoriesKept) stories_.push_back(e.story);
    next_.on_event(e);
  }
  const std::vector<cam::Event>& alerts() const { return alerts_; }
  const std::vector<std::shared_ptr<const cam::FailoverStory>>& stories() const { return stories_; }

 private:
  static constexpr std::size_t kStoriesKept = 100;
  cam::EventSink& next_;
  std::vector<cam::Event> alerts_;
  std::vector<std::shared_ptr<const cam::FailoverStory>> stories_;
};

std::string clock_of_day(cam::PacketTime t) {
  std::string full = cam::format_rfc3339_micros(t);  // 2012-08-30T05:42:07.559886Z
  return full.substr(0, 10) + " " + full.substr(11, 8);
}

double seconds_of(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// ", 05:40:00 to 05:52:39 UTC" (the date too when the two days differ).
std::string time_span(cam::PacketTime first_frame, cam::PacketTime last_frame) {
  const std::string first = clock_of_day(first_frame), last = clock_of_day(last_frame);
  const bool same_day = first.compare(0, 10, last, 0, 10) == 0;
  return ", " + first + " to " + (same_day ? last.substr(11) : last) + " UTC";
}

// What a collector capture held, the decapsulated frames by encapsulation first.
std::string collector_breakdown(const capture::MirrorCounters& m) {
  std::string out;
  const auto add = [&](const char* what, std::uint64_t n) {
    if (n == 0) return;
    if (!out.empty()) out += ", ";
    out += std::string(what) + " " + grouped(n);
  };
  for (int e = 1; e < capture::kMirrorEncapKinds; ++e) {
    add(capture::to_string(static_cast<capture::MirrorEncap>(e)), m.mirrored[e]);
  }
  add("not mirrored", m.not_mirrored);
  add("not Ethernet", m.not_ethernet);
  add("fragments", m.fragments);
  add("cut by the snaplen", m.truncated);
  add("malformed", m.malformed);
  add("cut by the switch", m.switch_truncated);
  return out.empty() ? "nothing" : out;
}

// How the configuration would map the session: the key to add to an [[uplink]].
std::string mapping_hint(const capture::MirrorSessionKey& key) {
  switch (key.kind) {
    case capture::MirrorSessionKey::Kind::erspan_session: return "erspan_session = " + std::to_string(key.id);
    case capture::MirrorSessionKey::Kind::gre_key: return "gre_key = " + std::to_string(key.id);
    case capture::MirrorSessionKey::Kind::unkeyed_gre: break;
  }
  return "gre_key = \"none\"";
}

void print_summary(const ReplayResult& r, const SummarySink& summary, const std::vector<std::string>& names,
                   const std::vector<cam::NlbHost>& nlb_hosts, const std::string& events_target,
                   std::uint64_t events_written) {
  std::uint64_t frames = 0, malformed = 0, truncated = 0;
  for (const auto& u : r.uplinks) {
    if (!u.path.empty()) frames += u.decode.frames;  // collector frames are counted as received below
    malformed += u.decode.malformed;
    truncated += u.decode.truncated;
  }
  for (const auto& c : r.collectors) frames += c.mirror.frames;
  const double secs = seconds_of(r.elapsed);
  std::fprintf(stderr, "camwatch: replayed %s frames from %zu uplink%s", grouped(frames).c_str(), r.uplinks.size(),
               r.uplinks.size() == 1 ? "" : "s");
  if (!r.collectors.empty()) {
    std::fprintf(stderr, " (%zu collector capture%s)", r.collectors.size(), r.collectors.size() == 1 ? "" : "s");
  }
  std::fprintf(stderr, " in %.2f s", secs);
  if (secs > 0 && frames >= 100'000) {
    std::fprintf(stderr, " (%.1f M frames/s)", static_cast<double>(frames) / secs / 1e6);
  }
  std::fputc('\n', stderr);
  for (const auto& u : r.uplinks) {
    std::fprintf(stderr, "  uplink %-10s %s frames", u.uplink.c_str(), grouped(u.decode.frames).c_str());
    if (u.decode.frames > 0) std::fputs(time_span(u.first_frame, u.last_frame).c_str(), stderr);
    if (!u.path.empty()) {
      std::fprintf(stderr, "  [%s: %s]%s\n", u.path.c_str(), u.format.c_str(), u.error.empty() ? "" : "  DAMAGED");
    } else if (u.session) {
      std::fprintf(stderr, "  [%s%s]\n", u.session->to_string().c_str(),
                   u.invented ? ", named by the replay: no --config maps it" : " of the collector captures");
    } else {
      std::fputc('\n', stderr);
    }
  }
  for (const auto& c : r.collectors) {
    std::fprintf(stderr, "  collector  %s frames", grouped(c.mirror.frames).c_str());
    if (c.mirror.frames > 0) std::fputs(time_span(c.first_frame, c.last_frame).c_str(), stderr);
    std::fprintf(stderr, "  [%s: %s]%s\n", c.path.c_str(), c.format.c_str(), c.error.empty() ? "" : "  DAMAGED");
    std::fprintf(stderr, "             %s\n", collector_breakdown(c.mirror).c_str());
    for (const auto& [key, n] : c.unmapped) {
      std::fprintf(stderr, "             %s: %s frames not replayed, no uplink maps it (%s in an [[uplink]])\n",
                   key.to_string().c_str(), grouped(n).c_str(), mapping_hint(key).c_str());
    }
  }
  const cam::TrackerStats& t = r.tracker;
  std::fprintf(stderr, "  stations       %s in the table (%s learned, %s aged out, %s refused at the cap)\n",
               grouped(t.stations).c_str(), grouped(t.stations_learned).c_str(), grouped(t.stations_aged).c_str(),
               grouped(t.stations_refused).c_str());
  if (t.stations_replaced != 0) {
    std::fprintf(stderr, "  full table     %s probationary stations gave their places to new ones\n",
                 grouped(t.stations_replaced).c_str());
  }
  std::uint64_t forwarded = 0, filtered = 0;
  for (const auto& u : r.uplinks) {
    forwarded += u.forwarded;
    filtered += u.filtered;
  }
  if (filtered != 0) {
    std::fprintf(stderr, "  filter         %s of %s decoded frames went on to the analysis (recently-seen filter)\n",
                 grouped(forwarded).c_str(), grouped(forwarded + filtered).c_str());
  }
  std::fprintf(stderr, "  moves          %s silent, %s announced, %s flaps (%s damped moves)\n",
               grouped(t.silent_moves).c_str(), grouped(t.announced_moves).c_str(), grouped(t.flaps).c_str(),
               grouped(t.damped_moves).c_str());
  std::fprintf(stderr, "  notifications  rarp %s, garp %s, unsolicited_na %s; NLB heartbeats %s\n",
               grouped(t.notifications[static_cast<int>(cam::Notification::rarp)]).c_str(),
               grouped(t.notifications[static_cast<int>(cam::Notification::garp)]).c_str(),
               grouped(t.notifications[static_cast<int>(cam::Notification::unsolicited_na)]).c_str(),
               grouped(t.nlb_heartbeats).c_str());
  std::fprintf(stderr, "  frames         %s malformed (skipped), %s cut short by the snaplen, %s from group/zero MACs\n",
               grouped(malformed).c_str(), grouped(truncated).c_str(), grouped(t.ignored_sources).c_str());
  std::fprintf(stderr, "  events         %s written to %s\n", grouped(events_written).c_str(), events_target.c_str());

  // What a person needs before the next outage: hosts that will never announce a move.
  std::vector<const cam::NlbHost*> unicast;
  for (const cam::NlbHost& h : nlb_hosts) {
    if (h.mode == cam::NlbMode::unicast || h.mode == cam::NlbMode::unicast_unmasked) unicast.push_back(&h);
  }
  if (!unicast.empty()) {
    std::fprintf(stderr,
                 "RISK: %zu Windows NLB host%s in unicast mode: %s never announce a move, so a team failover\n"
                 "      leaves %s dark until %s transmit on the new uplink.\n",
                 unicast.size(), unicast.size() == 1 ? "" : "s", unicast.size() == 1 ? "it will" : "they will",
                 unicast.size() == 1 ? "it" : "them", unicast.size() == 1 ? "it happens to" : "they happen to");
    for (const cam::NlbHost* h : unicast) std::fprintf(stderr, "  %s\n", exporters::describe_nlb_host(*h, names).c_str());
  }
  for (const auto& story : summary.stories()) {
    for (const std::string& line : exporters::describe_story(*story, names)) std::fprintf(stderr, "%s\n", line.c_str());
  }

  const auto& alerts = summary.alerts();
  if (!alerts.empty()) {
    if (t.silent_moves > 0) {
      std::fprintf(stderr,
                   "ALERT: %s silent move%s: stations changed uplink without a RARP, gratuitous ARP or\n"
                   "       unsolicited NA, so the switch kept sending their traffic to the old uplink\n"
                   "       until they happened to transmit on the new one.\n",
                   grouped(t.silent_moves).c_str(), t.silent_moves == 1 ? "" : "s");
    }
    if (t.flaps > 0) {
      std::fprintf(stderr, "ALERT: %s flapping station%s: moving back and forth between uplinks (a loop?).\n",
                   grouped(t.flaps).c_str(), t.flaps == 1 ? "" : "s");
    }
    constexpr std::size_t kShown = 20;
    for (std::size_t i = 0; i < alerts.size() && i < kShown; ++i) {
      const cam::Event& e = alerts[i];
      const char* from = e.from < names.size() ? names[e.from].c_str() : "?";
      const char* to = e.to < names.size() ? names[e.to].c_str() : "?";
      std::fprintf(stderr, "  %s  %-11s %s  vlan %-4u %s -> %s", cam::format_rfc3339_micros(e.time).c_str(),
                   cam::to_string(e.kind), e.station.mac.to_string().c_str(), e.station.vlan, from, to);
      if (e.kind == cam::EventKind::silent_move) {
        std::fprintf(stderr, "  (unheard for %.3f s)\n", seconds_of(e.time - e.last_seen_on_from));
      } else {
        std::fprintf(stderr, "  (%u moves, now damped)\n", e.moves_in_window);
      }
    }
    if (alerts.size() > kShown) std::fprintf(stderr, "  ... and %zu more in the events\n", alerts.size() - kShown);
  }
}

int cmd_replay(Args& args) {
  std::vector<ReplayInput> inputs;
  std::string config_path, events_path = "-", table_path, table_error, value;
  bool have_config = false;
  while (!args.done()) {
    if (is_help(args.peek())) {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
    if (args.take("--uplink", value)) {
      auto eq = value.find('=');
      if (eq == std::string::npos) throw UsageError("--uplink takes NAME=FILE, got '" + value + "'");
      ReplayInput in{value.substr(0, eq), value.substr(eq + 1)};
      if (!is_valid_uplink_name(in.uplink)) {
        throw UsageError("uplink name '" + in.uplink + "' must be 1-32 characters of A-Z a-z 0-9 _ - .");
      }
      if (in.path.empty()) throw UsageError("--uplink " + in.uplink + "= needs a file");
      for (const auto& other : inputs) {
        if (other.uplink == in.uplink) throw UsageError("uplink '" + in.uplink + "' is given twice");
      }
      inputs.push_back(std::move(in));
    } else if (args.take("--collector", value)) {
      if (value.empty()) throw UsageError("--collector needs a file");
      inputs.push_back(ReplayInput{"", value, true});
    } else if (args.take("--config", value)) {
      config_path = value;
      have_config = true;
    } else if (args.take("--events", value)) {
      if (value.empty()) throw UsageError("--events needs a path, or '-' for stdout");
      events_path = value;
    } else if (args.take("--table", value)) {
      if (value.empty()) throw UsageError("--table needs a path");
      table_path = value;
    } else {
      throw UsageError("replay: unknown argument '" + args.peek() + "'");
    }
  }
  if (inputs.empty()) throw UsageError("replay needs at least one --uplink NAME=FILE or --collector FILE");
  if (inputs.size() > cam::kNoUplink) throw UsageError("too many uplinks");

  cam::AnalyzerConfig analysis;
  std::vector<ReplaySession> sessions;  // the collector captures' mappings
  ReplayOptions replay_options;
  if (have_config) {
    const Config config = load_config(config_path);
    for (const UplinkConfig& u : config.uplinks) {
      if (u.mirror) sessions.push_back(ReplaySession{u.name, *u.mirror});
    }
    // The uplink ids run_replay() gives (the --uplink inputs, then the configuration's
    // session-fed uplinks): the configuration's both-ways mirrors are found by those names.
    std::vector<std::string> ids;
    for (const auto& in : inputs) {
      if (!in.collector) ids.push_back(in.uplink);
    }
    for (const ReplaySession& session : sessions) {
      if (std::find(ids.begin(), ids.end(), session.uplink) == ids.end()) ids.push_back(session.uplink);
    }
    analysis = analyzer_config(config, ids);
    replay_options.refresh = config.capture.refresh;  // the live capture's filter
  }
  const cam::TrackerConfig& tracker_config = analysis.tracker;

  int fd = STDOUT_FILENO;
  std::string events_target = "stdout";
  if (events_path != "-") {
    fd = ::open(events_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) throw RuntimeError(events_path + ": cannot write events: " + std::strerror(errno));
    events_target = events_path;
  }
  std::vector<std::string> names;  // by uplink id; run_replay() says them, collectors' sessions included
  exporters::JsonEventWriter writer(fd, names, tracker_config);
  // Debian's ieee-data (none installed: no vendor key), read at the first event.
  std::optional<cam::VendorDb> vendors;
  writer.set_vendor_loader([&vendors] { return &vendors.emplace(load_vendor_db()); });
  auto named = [&](const std::vector<std::string>& all) {
    names = all;
    writer.set_uplink_names(names);
  };
  SummarySink summary(writer);

  // A progress line only for a person watching a terminal; never in logs or pipes.
  const bool show_progress = isatty(STDERR_FILENO) == 1;
  bool progress_shown = false;
  auto last_report = std::chrono::steady_clock::now();
  auto progress = [&](const ReplayProgress& p) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_report < std::chrono::milliseconds(500)) return;
    last_report = now;
    double pct = p.bytes_total > 0 ? 100.0 * static_cast<double>(p.bytes_read) / static_cast<double>(p.bytes_total) : 0;
    std::fprintf(stderr, "\rcamwatch: replaying... %5.1f%%  %s frames", pct, grouped(p.frames).c_str());
    progress_shown = true;
  };

  ReplayResult result;
  std::vector<cam::NlbHost> nlb_hosts;
  try {
    auto at_end = [&](const cam::Analyzer& analyzer) {
      analyzer.nlb().for_each_host([&](const cam::NlbHost& h) { nlb_hosts.push_back(h); });
      std::sort(nlb_hosts.begin(), nlb_hosts.end(), [](const cam::NlbHost& a, const cam::NlbHost& b) {
        return std::tie(a.cluster_ip, a.host_id, a.first_seen) < std::tie(b.cluster_ip, b.host_id, b.first_seen);
      });
      if (table_path.empty()) return;
      try {
        save_state(table_path, analyzer, names);
      } catch (const StateFileError& e) {
        table_error = e.what();
      }
    };
    result = run_replay(inputs, sessions, analysis, summary,
                        show_progress ? std::function<void(const ReplayProgress&)>(progress) : nullptr, at_end, named,
                        replay_options);
  } catch (...) {
    if (fd != STDOUT_FILENO) ::close(fd);
    throw;
  }
  if (progress_shown) std::fputs("\r\033[K", stderr);
  if (fd != STDOUT_FILENO && ::close(fd) != 0) {
    error_line(events_path + ": closing the events file failed: " + std::strerror(errno));
    return kExitFailure;
  }

  print_summary(result, summary, names, nlb_hosts, events_target, writer.events_written());
  int code = kExitOk;
  if (!table_error.empty()) {
    error_line(table_error);
    code = kExitFailure;
  } else if (!table_path.empty()) {
    std::fprintf(stderr, "  table          %s stations saved to %s (camwatch table --state %s)\n",
                 grouped(result.tracker.stations).c_str(), table_path.c_str(), table_path.c_str());
  }
  if (writer.write_failures() > 0) {
    error_line(events_target + ": " + grouped(writer.write_failures()) + " events could not be written: " +
               std::strerror(writer.last_errno()));
    code = kExitFailure;
  }
  for (const auto& u : result.uplinks) {
    if (u.error.empty()) continue;
    error_line(u.path + ": " + u.error + " (" + grouped(u.decode.frames) +
               " frames before the damage were replayed and their events written)");
    code = kExitFailure;
  }
  for (const auto& c : result.collectors) {
    if (c.error.empty()) continue;
    error_line(c.path + ": " + c.error + " (" + grouped(c.mirror.frames) +
               " frames before the damage were replayed and their events written)");
    code = kExitFailure;
  }
  return code;
}

// ---- check-config and run --------------------------------------------------------------------

std::string parse_config_only(Args& args, const char* command) {
  std::string path = kDefaultConfigPath, value;
  while (!args.done()) {
    if (args.take("--config", value)) {
      path = value;
    } else {
      throw UsageError(std::string(command) + ": unknown argument '" + args.peek() + "'");
    }
  }
  return path;
}

const char* direction_name(CaptureDirection d) {
  switch (d) {
    case CaptureDirection::in: return "in";
    case CaptureDirection::out: return "out";
    case CaptureDirection::inout: return "inout";
  }
  return "in";
}

int cmd_check_config(Args& args) {
  if (!args.done() && is_help(args.peek())) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const std::string path = parse_config_only(args, "check-config");
  Config c = load_config(path);
  if (!c.metrics_auth_password_file.empty()) read_secret_file(c.metrics_auth_password_file, "metrics.basic_auth_password_file");
  std::printf("%s: valid\n", path.c_str());
  std::printf("  uplinks: %zu\n", c.uplinks.size());
  for (const auto& u : c.uplinks) {
    if (u.mirror) {
      std::printf("    %s fed by %s\n", u.name.c_str(), u.mirror->to_string().c_str());
      continue;
    }
    const int threads = capture_threads(u.threads, c.capture);
    std::printf("    %s on %s (direction %s%s", u.name.c_str(), u.interface.c_str(), direction_name(u.direction),
                u.promiscuous ? ", promiscuous" : "");
    if (threads > 1) std::printf(", %d capture threads", threads);
    std::printf(")\n");
  }
  if (!c.collectors.empty()) {
    std::printf("  collectors: %zu\n", c.collectors.size());
    for (const auto& k : c.collectors) {
      const int threads = capture_threads(k.threads, c.capture);
      std::printf("    %s on %s (%s%s)\n", k.name.c_str(), k.interface.c_str(),
                  k.promiscuous ? "promiscuous, " : "",
                  (std::to_string(threads) + (threads == 1 ? " capture thread" : " capture threads")).c_str());
    }
  }
  try {
    if (!c.uplinks.empty()) check_runnable(c, path);
  } catch (const ConfigError& e) {
    std::printf("  note: 'camwatch run' refuses this file: %s\n", e.what());
  }
  std::printf("  events: %s\n  metrics: %s%s\n  state: %s\n", c.events_path.c_str(),
              c.metrics_listen.empty() ? "off" : c.metrics_listen.c_str(),
              c.metrics_auth_username.empty() ? "" : (" (basic auth, user " + c.metrics_auth_username + ")").c_str(),
              c.state_path.c_str());
  const cam::TrackerConfig& t = c.tracker;
  std::printf("  detection: notify window %gs before to %gs after; flap at %u moves in %gs, damped %gs\n",
              seconds_of(t.notify_window_before), seconds_of(t.notify_window_after), t.flap_moves,
              seconds_of(t.flap_window), seconds_of(t.flap_damping));
  std::printf("  cam: max_entries %s, idle_timeout %gs\n", grouped(t.max_entries).c_str(), seconds_of(t.idle_timeout));
  return kExitOk;
}

// ---- table -----------------------------------------------------------------------------------

int cmd_table(Args& args) {
  TableOptions options;
  std::string config_path, socket_path, state_path, value;
  bool config_given = false;
  while (!args.done()) {
    if (is_help(args.peek())) {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
    if (args.peek() == "--json") {
      options.json = true;
      ++args.pos;
    } else if (args.peek() == "--moved") {
      options.moved_only = true;
      ++args.pos;
    } else if (args.peek() == "--bindings" || args.peek() == "--failovers") {
      const TableView view = args.peek() == "--bindings" ? TableView::bindings : TableView::failovers;
      if (options.view != TableView::stations && options.view != view) {
        throw UsageError("table: --bindings and --failovers show different things; give one");
      }
      options.view = view;
      ++args.pos;
    } else if (args.take("--sort", value)) {
      const auto sort = parse_table_sort(value);
      if (!sort) throw UsageError("--sort: expected last-move, last-seen, first-seen, mac, vlan or uplink, got '" + value + "'");
      options.sort = *sort;
    } else if (args.take("--uplink", value)) {
      if (!is_valid_uplink_name(value)) throw UsageError("--uplink: not an uplink name: '" + value + "'");
      options.uplink = value;
    } else if (args.take("--vlan", value)) {
      char* end = nullptr;
      const unsigned long v = std::strtoul(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v > 4095 || value[0] == '-') throw UsageError("--vlan: expected 0 to 4095, got '" + value + "'");
      options.vlan = static_cast<std::uint16_t>(v);
    } else if (args.take("--limit", value)) {
      char* end = nullptr;
      const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || value[0] == '-') throw UsageError("--limit: expected a number of rows, got '" + value + "'");
      options.limit = static_cast<std::size_t>(v);
    } else if (args.take("--config", value)) {
      config_path = value;
      config_given = true;
    } else if (args.take("--socket", value)) {
      socket_path = value;
    } else if (args.take("--state", value)) {
      state_path = value;
    } else {
      throw UsageError("table: unknown argument '" + args.peek() + "'");
    }
  }
  if (!state_path.empty() && (!socket_path.empty() || config_given)) {
    throw UsageError("table: --state reads a file; it does not go with --socket or --config");
  }

  SavedState state;
  if (!state_path.empty()) {
    if (!std::filesystem::exists(state_path)) throw RuntimeError(state_path + ": no such state file");
    try {
      state = load_state(state_path);
    } catch (const StateFileError& e) {
      throw RuntimeError(e.what());
    }
  } else {
    if (socket_path.empty()) {
      // The daemon's own config says where its socket is; without one, the default place.
      if (!config_given) config_path = kDefaultConfigPath;
      if (config_given || std::filesystem::exists(config_path)) {
        socket_path = load_config(config_path).control_socket;
        if (socket_path.empty()) throw RuntimeError(config_path + ": [daemon] control_socket is off (\"\"); use --state FILE");
      } else {
        socket_path = Config{}.control_socket;
      }
    }
    try {
      state = parse_state(control_request(socket_path, "table"), "the table from " + socket_path);
    } catch (const ControlSocketError& e) {
      throw RuntimeError(e.what());
    } catch (const StateFileError& e) {
      throw RuntimeError(e.what());
    }
  }
  const cam::VendorDb vendors = load_vendor_db();
  const std::string text = format_table(state, options, &vendors);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

int cmd_run(Args& args) {
  if (!args.done() && is_help(args.peek())) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const std::string path = parse_config_only(args, "run");
  return run_daemon(load_config(path), path);
}

}  // namespace

int run_cli(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) args.items.emplace_back(argv[i]);
  try {
    if (args.done()) throw UsageError("no command given (try 'camwatch --help')");
    const std::string command = args.items[args.pos++];
    if (is_help(command) || command == "help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
    if (command == "-V" || command == "--version") {
      std::printf("camwatch %s\n", kVersion);
      return kExitOk;
    }
    if (command == "replay") return cmd_replay(args);
    if (command == "check-config") return cmd_check_config(args);
    if (command == "run") return cmd_run(args);
    if (command == "table") return cmd_table(args);
    throw UsageError("unknown command '" + command + "' (try 'camwatch --help')");
  } catch (const UsageError& e) {
    error_line(e.what());
    return kExitUsage;
  } catch (const ConfigError& e) {
    error_line(e.what());
    return kExitConfig;
  } catch (const capture::CaptureFileError& e) {
    error_line(e.what());
    return kExitFailure;
  } catch (const RuntimeError& e) {
    error_line(e.what());
    return kExitFailure;
  } catch (const std::bad_alloc&) {
    error_line("out of memory (is [cam] max_entries larger than this machine can hold?)");
    return kExitFailure;
  } catch (const std::exception& e) {
    error_line(e.what());
    return kExitFailure;
  }
}

}  // namespace camwatch::daemon
