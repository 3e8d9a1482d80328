#include "exporters/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace camwatch::exporters {
namespace {

using std::chrono::seconds;

cam::Event move(cam::EventKind kind, cam::UplinkId from, cam::UplinkId to, std::int64_t at_s) {
  cam::Event e;
  e.kind = kind;
  e.time = cam::PacketTime(seconds(at_s));
  e.station = cam::StationKey{10, cam::MacAddress::from_u64(0x005056010203ULL)};
  e.from = from;
  e.to = to;
  return e;
}

MetricsSnapshot sample_snapshot() {
  MetricsSnapshot s;
  s.update_time_s = 1700000000.5;
  s.version = "1.2.3";
  s.libpcap_version = "1.10.3";
  for (const char* name : {"vmnic2", "vmnic3", "vmnic4"}) {
    UplinkMetrics u;
    u.name = name;
    u.link_up = true;
    u.capture_up = true;
    u.frames = 1000;
    u.notifications[static_cast<int>(cam::Notification::rarp)] = 7;
    s.uplink_ids.push_back(static_cast<cam::UplinkId>(s.uplinks.size()));
    s.uplinks.push_back(u);
  }
  CollectorMetrics c;
  c.name = "erspan0";
  c.link_up = true;
  c.capture_up = true;
  c.mapped = 900;
  c.unmapped = 40;
  c.not_mirrored = 12;
  c.mirrored[1] = 940;
  c.kernel_drops = 3;
  s.collectors.push_back(c);
  s.moves.resize(3);
  s.moves.on_event(move(cam::EventKind::silent_move, 0, 1, 1700000000));
  s.moves.on_event(move(cam::EventKind::silent_move, 0, 1, 1700000002));
  s.moves.on_event(move(cam::EventKind::announced_move, 1, 0, 1700000001));
  s.tracker.stations = 42;
  s.max_entries = 1000;
  cam::Event story;
  story.kind = cam::EventKind::failover;
  story.time = cam::PacketTime(std::chrono::seconds(1700000005));
  auto st = std::make_shared<cam::FailoverStory>();
  st->from = 0;
  st->to = 1;
  st->cause = cam::FailoverCause::traffic_stopped;
  story.story = st;
  s.moves.on_event(story);
  s.nlb.unicast_hosts = 2;
  s.nlb.clusters = 1;
  s.bindings_enabled = true;
  s.bindings.bindings = 17;
  s.bindings.claims[static_cast<int>(cam::ClaimKind::arp_reply)] = 9;
  s.bindings_max_entries = 262144;
  return s;
}

// The value of the sample whose line starts with `series` ("name{labels}").
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  ADD_FAILURE() << "no sample " << series << " in:\n" << text;
  return -1;
}

TEST(RenderMetrics, CountsFailoversPerLeftUplinkAndCauseFromZero) {
  const std::string text = render_metrics_text(sample_snapshot(), false);
  EXPECT_EQ(sample(text, R"(camwatch_failovers_total{cause="traffic_stopped",uplink="vmnic2"})"), 1);
  EXPECT_EQ(sample(text, R"(camwatch_failovers_total{cause="failback",uplink="vmnic3"})"), 0);
  EXPECT_EQ(sample(text, "camwatch_last_failover_timestamp_seconds"), 1700000005);
  EXPECT_EQ(sample(text, "camwatch_nlb_unicast_hosts"), 2);
  EXPECT_EQ(sample(text, "camwatch_bindings"), 17);
  EXPECT_EQ(sample(text, R"(camwatch_binding_claims_total{claim="arp_reply"})"), 9);
  EXPECT_EQ(sample(text, R"(camwatch_binding_claims_total{claim="nd_dad"})"), 0);
}

TEST(RenderMetrics, LeavesTheBindingMetricsOutWhenBindingsAreDisabled) {
  MetricsSnapshot s = sample_snapshot();
  s.bindings_enabled = false;
  EXPECT_EQ(render_metrics_text(s, false).find("camwatch_binding"), std::string::npos);
}

TEST(MoveCounters, CountsPerOrderedPairAndKind) {
  MoveCounters m;
  m.resize(2);
  m.on_event(move(cam::EventKind::silent_move, 0, 1, 10));
  m.on_event(move(cam::EventKind::silent_move, 1, 0, 12));
  m.on_event(move(cam::EventKind::silent_move, 0, 1, 11));
  m.on_event(move(cam::EventKind::flap, 1, 0, 13));
  m.on_event(move(cam::EventKind::announced_move, 0, 1, 14));
  EXPECT_EQ(m.silent(0, 1), 2U);
  EXPECT_EQ(m.silent(1, 0), 1U);
  EXPECT_EQ(m.flaps(1, 0), 1U);
  EXPECT_EQ(m.flaps(0, 1), 0U);
  EXPECT_EQ(m.announced(0, 1), 1U);
  EXPECT_EQ(m.events(cam::EventKind::silent_move), 3U);
  EXPECT_EQ(m.events(cam::EventKind::flap), 1U);
  // The latest in packet time, not the last one given.
  EXPECT_EQ(m.last_silent_move(), cam::PacketTime(seconds(12)));
}

TEST(MoveCounters, GrowingKeepsCountsAndNewUplinksAppearAtZero) {
  MoveCounters m;
  m.resize(2);
  m.on_event(move(cam::EventKind::silent_move, 1, 0, 10));
  m.resize(4);
  EXPECT_EQ(m.uplinks(), 4U);
  EXPECT_EQ(m.silent(1, 0), 1U);
  EXPECT_EQ(m.silent(3, 2), 0U);
  // An event naming an uplink beyond the size grows it rather than being lost.
  m.on_event(move(cam::EventKind::silent_move, 5, 2, 11));
  EXPECT_EQ(m.silent(5, 2), 1U);
  EXPECT_EQ(m.silent(1, 0), 1U);
  // Events without a pair (uplink_down) count only by kind.
  cam::Event down = move(cam::EventKind::uplink_down, cam::kNoUplink, 1, 12);
  m.on_event(down);
  EXPECT_EQ(m.events(cam::EventKind::uplink_down), 1U);
  EXPECT_EQ(m.silent(0, 0), 0U);
}

TEST(RenderMetrics, EveryOrderedPairIsExportedFromTheStart) {
  const std::string text = render_metrics_text(sample_snapshot(), false);
  EXPECT_EQ(sample(text, R"(camwatch_silent_moves_total{from="vmnic2",to="vmnic3"})"), 2);
  EXPECT_EQ(sample(text, R"(camwatch_silent_moves_total{from="vmnic4",to="vmnic2"})"), 0);
  EXPECT_EQ(sample(text, R"(camwatch_announced_moves_total{from="vmnic3",to="vmnic2"})"), 1);
  EXPECT_EQ(sample(text, R"(camwatch_flaps_total{from="vmnic3",to="vmnic4"})"), 0);
  // 3 uplinks: 6 ordered pairs, no pair of an uplink with itself.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n') > 0, true);
  std::regex pair_line(R"(^camwatch_silent_moves_total\{)");
  int pairs = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) pairs += std::regex_search(line, pair_line) ? 1 : 0;
  EXPECT_EQ(pairs, 6);
  EXPECT_EQ(text.find(R"(from="vmnic2",to="vmnic2")"), std::string::npos);
}

TEST(RenderMetrics, ValuesComeFromTheSnapshot) {
  MetricsSnapshot s = sample_snapshot();
  s.uplinks[1].kernel_drops = 5;
  s.uplinks[1].link_up = false;
  s.uplinks[2].ring_fill_ratio = 0.25;
  s.health.reloads_failed = 2;
  s.health.last_reload_ok = false;
  const std::string text = render_metrics_text(s, false);
  EXPECT_EQ(sample(text, R"(camwatch_capture_dropped_frames_total{uplink="vmnic3"})"), 5);
  EXPECT_EQ(sample(text, R"(camwatch_uplink_up{uplink="vmnic3"})"), 0);
  EXPECT_EQ(sample(text, R"(camwatch_uplink_up{uplink="vmnic2"})"), 1);
  EXPECT_EQ(sample(text, R"(camwatch_ring_fill_ratio{uplink="vmnic4"})"), 0.25);
  EXPECT_EQ(sample(text, R"(camwatch_notifications_total{kind="rarp",uplink="vmnic2"})"), 7);
  EXPECT_EQ(sample(text, R"(camwatch_notifications_total{kind="garp",uplink="vmnic2"})"), 0);
  EXPECT_EQ(sample(text, "camwatch_cam_entries"), 42);
  EXPECT_EQ(sample(text, "camwatch_cam_max_entries"), 1000);
  EXPECT_EQ(sample(text, "camwatch_last_silent_move_timestamp_seconds"), 1700000002);
  EXPECT_EQ(sample(text, R"(camwatch_config_reloads_total{result="failure"})"), 2);
  EXPECT_EQ(sample(text, "camwatch_config_last_reload_successful"), 0);
  EXPECT_EQ(sample(text, R"(camwatch_events_total{event="silent_move"})"), 2);
  EXPECT_EQ(sample(text, R"(camwatch_build_info{libpcap="1.10.3",version="1.2.3"})"), 1);
}

TEST(RenderMetrics, CollectorFramesAddUpByResultAndEncapsulation) {
  const std::string text = render_metrics_text(sample_snapshot(), false);
  EXPECT_EQ(sample(text, R"(camwatch_collector_frames_total{collector="erspan0",result="mapped"})"), 900);
  EXPECT_EQ(sample(text, R"(camwatch_collector_frames_total{collector="erspan0",result="unmapped"})"), 40);
  EXPECT_EQ(sample(text, R"(camwatch_collector_frames_total{collector="erspan0",result="fragment"})"), 0)
      << "every result exists from the start";
  EXPECT_EQ(sample(text, R"(camwatch_collector_mirrored_frames_total{collector="erspan0",encap="erspan_ii"})"), 940);
  EXPECT_EQ(sample(text, R"(camwatch_collector_mirrored_frames_total{collector="erspan0",encap="gre_teb"})"), 0);
  EXPECT_EQ(sample(text, R"(camwatch_collector_dropped_frames_total{collector="erspan0",where="kernel"})"), 3);
  EXPECT_EQ(sample(text, R"(camwatch_collector_up{collector="erspan0"})"), 1);
}

TEST(RenderMetrics, NoLabelCarriesAnAddress) {
  const std::string text = render_metrics_text(sample_snapshot(), true);
  // The station of every event is 00:50:56:01:02:03 on VLAN 10: neither may leak into a label.
  EXPECT_EQ(text.find("00:50:56"), std::string::npos);
  const std::set<std::string> allowed = {"uplink", "from",    "to",      "kind",      "event",  "result",
                                         "version", "libpcap", "collector", "encap", "where", "cause",
                                         "claim",  "reason"};
  std::regex label(R"(([a-z_]+)=")");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    for (std::sregex_iterator it(line.begin(), line.end(), label), end; it != end; ++it) {
      EXPECT_TRUE(allowed.count((*it)[1].str())) << line;
    }
  }
}

// docs/METRICS.md and the exposition name the same metrics.
TEST(RenderMetrics, MatchesDocsMetricsMd) {
  std::ifstream doc(std::string(CAMWATCH_SOURCE_DIR) + "/docs/METRICS.md");
  ASSERT_TRUE(doc) << "docs/METRICS.md";
  std::stringstream buf;
  buf << doc.rdbuf();
  const std::string md = buf.str();
  std::set<std::string> documented;
  std::regex name(R"(`((camwatch|process)_[a-z_]+)`)");
  for (std::sregex_iterator it(md.begin(), md.end(), name), end; it != end; ++it) documented.insert((*it)[1].str());

  const std::string text = render_metrics_text(sample_snapshot(), true);
  std::set<std::string> exported;
  std::regex type(R"(^# TYPE ([a-z_]+) )");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, type)) exported.insert(m[1].str());
  }
  for (const std::string& n : exported) EXPECT_TRUE(documented.count(n)) << n << " is exported but not in docs/METRICS.md";
  for (const std::string& n : documented) EXPECT_TRUE(exported.count(n)) << n << " is documented but not exported";
}

TEST(RenderMetrics, ProcessMetricsAreReadFromProc) {
  const std::string text = render_metrics_text(MetricsSnapshot{}, true);
  EXPECT_GT(sample(text, "process_resident_memory_bytes"), 1e5);
  EXPECT_GT(sample(text, "process_open_fds"), 2);
  EXPECT_GT(sample(text, "process_start_time_seconds"), 1e9);
  EXPECT_GE(sample(text, "process_cpu_seconds_total"), 0);
}

// promtool's linter (Debian `prometheus`), when installed: CI installs it.
TEST(RenderMetrics, PassesPromtoolCheckMetrics) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "promtool not installed (Debian prometheus)";
  const auto path = std::filesystem::temp_directory_path() / ("camwatch-metrics-" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream out(path);
    out << render_metrics_text(sample_snapshot(), true);
  }
  const std::string lint = path.string() + ".lint";
  const int rc = std::system(("promtool check metrics < " + path.string() + " > " + lint + " 2>&1").c_str());
  std::ifstream lint_in(lint);
  std::stringstream lint_text;
  lint_text << lint_in.rdbuf();
  EXPECT_EQ(rc, 0) << lint_text.str();
  EXPECT_EQ(lint_text.str(), "") << "promtool check metrics complained";
  std::filesystem::remove(path);
  std::filesystem::remove(lint);
}

// ---- the HTTP server ----

std::string http_get(int port, const std::string& path, const std::string& extra_header = "") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n" + extra_header + "\r\n";
  (void)::write(fd, req.data(), req.size());
  std::string resp;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) resp.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return resp;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(MetricsServer, ServesTheLatestPublishedSnapshot) {
  const int port = free_port();
  MetricsServer server("127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(server.port(), port);
  std::string resp = http_get(port, "/metrics");
  EXPECT_NE(resp.find("200 OK"), std::string::npos) << resp;
  EXPECT_NE(resp.find("camwatch_build_info"), std::string::npos);

  server.publish(sample_snapshot());
  resp = http_get(port, "/metrics");
  EXPECT_NE(resp.find(R"(camwatch_silent_moves_total{from="vmnic2",to="vmnic3"} 2)"), std::string::npos) << resp;
  MetricsSnapshot next = sample_snapshot();
  next.moves.on_event(move(cam::EventKind::silent_move, 0, 1, 1700000009));
  server.publish(std::move(next));
  resp = http_get(port, "/metrics");
  EXPECT_NE(resp.find(R"(camwatch_silent_moves_total{from="vmnic2",to="vmnic3"} 3)"), std::string::npos) << resp;
}

TEST(MetricsServer, BasicAuthAdmitsOnlyTheConfiguredUser) {
  const int port = free_port();
  MetricsServer server("127.0.0.1:" + std::to_string(port), BasicAuth{"prometheus", "s3cret"});
  server.publish(sample_snapshot());
  EXPECT_NE(http_get(port, "/metrics").find("401"), std::string::npos);
  // base64("prometheus:wrong") and base64("other:s3cret")
  EXPECT_NE(http_get(port, "/metrics", "Authorization: Basic cHJvbWV0aGV1czp3cm9uZw==\r\n").find("401"), std::string::npos);
  EXPECT_NE(http_get(port, "/metrics", "Authorization: Basic b3RoZXI6czNjcmV0\r\n").find("401"), std::string::npos);
  // base64("prometheus:s3cret")
  const std::string ok = http_get(port, "/metrics", "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n");
  EXPECT_NE(ok.find("200 OK"), std::string::npos) << ok;
  EXPECT_NE(ok.find("camwatch_silent_moves_total"), std::string::npos);
}

TEST(MetricsServer, LocalhostIsAccepted) {
  const int port = free_port();
  MetricsServer server("localhost:" + std::to_string(port));
  EXPECT_NE(http_get(port, "/metrics").find("camwatch_build_info"), std::string::npos);
}

TEST(MetricsServer, AnAddressInUseIsAClearError) {
  const int port = free_port();
  MetricsServer first("127.0.0.1:" + std::to_string(port));
  try {
    MetricsServer second("127.0.0.1:" + std::to_string(port));
    FAIL() << "a second server bound the same port";
  } catch (const MetricsError& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace camwatch::exporters
