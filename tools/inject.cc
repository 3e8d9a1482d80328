// camwatch-inject: replays capture files onto network interfaces, one file per interface, as ONE
// stream ordered by packet time and sent from one thread. A test and demo tool, not part of the
// daemon.
//
// Why one thread: camwatch decides on which uplink a station was heard last. Two independent
// replayers (two tcpreplay processes) interleave their frames as the scheduler pleases, so a frame
// can reach uplink B before an earlier one reaches uplink A, and the daemon sees another history
// than the files hold. Here one loop takes the earliest frame across all files (ties: command-line
// order, as `camwatch replay` merges) and has sent it before it looks at the next.
//
// Timing: frame i is due at start + (t_i - t_0) / speed, less what --max-gap cut from the gaps
// before it. We sleep until that absolute CLOCK_MONOTONIC instant, so a late wake-up delays one
// frame and is not added to the next; behind schedule, frames go out without sleeping.
//
// Frames leave through a raw AF_PACKET socket bound to the interface (root or CAP_NET_RAW).
// Protocol 0 on that socket: it never receives, so it costs nothing while capture runs beside it.
#include <net/if.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "capture/capture_file.h"

namespace {

using std::chrono::nanoseconds;
using namespace std::chrono_literals;

constexpr const char* kUsage =
    "usage: camwatch-inject [--speed X | --topspeed] [--max-gap S] IFACE=FILE [IFACE=FILE ...]\n"
    "\n"
    "Sends the frames of one capture file (pcap or pcapng) per interface, merged by packet time into\n"
    "one ordered stream (ties: command-line order) from a single thread, so the order across\n"
    "interfaces is exactly the files' order. For tests and demos on veth pairs; never on live uplinks.\n"
    "\n"
    "options:\n"
    "  --speed X       replay X times faster than recorded (default 1: real time; 0.5: half speed)\n"
    "  --topspeed      send as fast as possible, no delays (order is still kept)\n"
    "  --max-gap S     cap any single gap between frames at S seconds, after scaling by --speed\n"
    "  -h, --help      show this help and exit\n"
    "\n"
    "Frames longer than the interface MTU + 14 (+ 4 if 802.1Q-tagged) are skipped and counted.\n"
    "Needs root or CAP_NET_RAW. A summary goes to stderr at the end.\n"
    "\n"
    "exit codes: 0 all frames sent (or skipped as oversized), 1 error (bad arguments, missing\n"
    "            interface, unreadable or damaged file, no permission, send errors),\n"
    "            128 + signal when interrupted (130 for Ctrl-C, 143 for SIGTERM)\n";

constexpr std::size_t kEthernetHeaderBytes = 14;
constexpr std::size_t kVlanTagBytes = 4;
constexpr std::uint16_t kEtherTypeVlan = 0x8100;

// A full transmit queue (ENOBUFS) drops the frame; resending it keeps the stream whole and in order.
// Give up after this long on one frame and count a send error.
constexpr nanoseconds kBusyRetryPause = 100us;
constexpr int kBusyRetries = 10'000;  // 1 s

// Setup failures: caught once in main(), printed as one line, exit 1.
class InjectError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int signal_number) { g_stop_signal = signal_number; }

bool stop_requested() { return g_stop_signal != 0; }

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Target {
  std::string iface;
  std::string path;
};

enum class Pacing : std::uint8_t { scaled, topspeed };

struct Options {
  Pacing pacing = Pacing::scaled;
  double speed = 1.0;
  std::optional<nanoseconds> max_gap;
  std::vector<Target> targets;
};

struct PortCounters {
  std::uint64_t sent = 0;
  std::uint64_t skipped_oversized = 0;
  std::uint64_t skipped_short = 0;  // shorter than an Ethernet header: not an Ethernet frame
  std::uint64_t send_errors = 0;
  std::uint64_t busy_retries = 0;
  int first_send_errno = 0;
};

// One interface and the file replayed onto it.
struct Port {
  Target target;
  std::unique_ptr<camwatch::capture::CaptureFile> file;
  camwatch::capture::RawFrame frame;
  bool has_frame = false;
  std::string read_error;
  UniqueFd socket;
  std::size_t max_frame_bytes = 0;  // MTU + Ethernet header
  PortCounters counters;

  // Reads the next frame; false at the end of the file or at damage (kept in read_error).
  bool advance() {
    switch (file->next(frame)) {
      case camwatch::capture::ReadStatus::frame:
        has_frame = true;
        return true;
      case camwatch::capture::ReadStatus::end:
        break;
      case camwatch::capture::ReadStatus::error:
        read_error = file->error();
        std::fprintf(stderr, "camwatch-inject: error: %s: %s; no more frames on %s\n", target.path.c_str(),
                     read_error.c_str(), target.iface.c_str());
        break;
    }
    has_frame = false;
    return false;
  }
};

std::string errno_text(int error_number) { return std::strerror(error_number); }

// Parses a finite decimal number ("50", "0.5", "1e2"); nullopt on anything else.
std::optional<double> parse_number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// The value of "--name VALUE" or "--name=VALUE"; advances i past what it consumed.
std::string option_value(int argc, char** argv, int& i, std::string_view name) {
  const std::string_view arg = argv[i];
  if (arg.size() > name.size() && arg[name.size()] == '=') return std::string(arg.substr(name.size() + 1));
  if (i + 1 >= argc) throw InjectError(std::string(name) + " needs a value (see --help)");
  return argv[++i];
}

bool option_matches(std::string_view arg, std::string_view name) {
  return arg == name || (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=');
}

Target parse_target(const std::string& arg) {
  const std::size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size()) {
    throw InjectError("'" + arg + "' is not IFACE=FILE");
  }
  Target t{arg.substr(0, eq), arg.substr(eq + 1)};
  if (t.iface.size() >= IFNAMSIZ) throw InjectError("interface name '" + t.iface + "' is too long");
  return t;
}

// nullopt: --help was printed.
std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  bool speed_given = false;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (options_done || arg.empty() || arg[0] != '-') {
      o.targets.push_back(parse_target(arg));
    } else if (arg == "--") {
      options_done = true;
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return std::nullopt;
    } else if (arg == "--topspeed") {
      o.pacing = Pacing::topspeed;
    } else if (option_matches(arg, "--speed")) {
      const std::string value = option_value(argc, argv, i, "--speed");
      const std::optional<double> speed = parse_number(value);
      if (!speed || *speed <= 0) throw InjectError("--speed needs a number above 0, got '" + value + "'");
      o.speed = *speed;
      speed_given = true;
    } else if (option_matches(arg, "--max-gap")) {
      const std::string value = option_value(argc, argv, i, "--max-gap");
      const std::optional<double> seconds = parse_number(value);
      // The upper bound keeps the nanosecond count far from overflow; nobody waits a year.
      if (!seconds || *seconds < 0 || *seconds > 365.0 * 86400) {
        throw InjectError("--max-gap needs seconds (0 or more), got '" + value + "'");
      }
      o.max_gap = nanoseconds(static_cast<std::int64_t>(std::llround(*seconds * 1e9)));
    } else {
      throw InjectError("unknown option '" + arg + "' (see --help)");
    }
  }
  if (speed_given && o.pacing == Pacing::topspeed) throw InjectError("--speed and --topspeed exclude each other");
  if (o.targets.empty()) throw InjectError("no IFACE=FILE given (see --help)");
  return o;
}

// Resolves the interface, opens and binds its socket, reads its MTU. Throws InjectError.
void open_interface(Port& port) {
  const std::string& name = port.target.iface;
  const unsigned int ifindex = ::if_nametoindex(name.c_str());
  if (ifindex == 0) {
    throw InjectError(name + ": " + (errno == ENODEV ? std::string("no such interface") : errno_text(errno)));
  }

  // Protocol 0: a send-only socket, no frames are queued to it.
  port.socket = UniqueFd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (port.socket.get() < 0) {
    const int e = errno;
    if (e == EPERM || e == EACCES) {
      throw InjectError("cannot open a raw packet socket: " + errno_text(e) + " (needs root or CAP_NET_RAW)");
    }
    throw InjectError("cannot open a raw packet socket: " + errno_text(e));
  }

  ifreq request{};
  std::memcpy(request.ifr_name, name.c_str(), name.size() + 1);  // size < IFNAMSIZ, checked at parse
  if (::ioctl(port.socket.get(), SIOCGIFHWADDR, &request) != 0) {
    throw InjectError(name + ": cannot read the link type: " + errno_text(errno));
  }
  const int link_type = request.ifr_hwaddr.sa_family;
  // Loopback takes Ethernet headers too; anything else (tun, ipip, ...) would misread the frames.
  if (link_type != ARPHRD_ETHER && link_type != ARPHRD_LOOPBACK) {
    throw InjectError(name + ": not an Ethernet interface (ARPHRD " + std::to_string(link_type) + ")");
  }
  if (::ioctl(port.socket.get(), SIOCGIFFLAGS, &request) != 0) {
    throw InjectError(name + ": cannot read the interface flags: " + errno_text(errno));
  }
  const unsigned int flags = static_cast<unsigned short>(request.ifr_flags);
  if ((flags & IFF_UP) == 0) throw InjectError(name + ": interface is down (ip link set " + name + " up)");
  if ((flags & IFF_RUNNING) == 0) {
    std::fprintf(stderr, "camwatch-inject: warning: %s has no carrier; frames may be dropped\n", name.c_str());
  }
  if (::ioctl(port.socket.get(), SIOCGIFMTU, &request) != 0) {
    throw InjectError(name + ": cannot read the MTU: " + errno_text(errno));
  }
  port.max_frame_bytes = static_cast<std::size_t>(request.ifr_mtu) + kEthernetHeaderBytes;

  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = 0;
  address.sll_ifindex = static_cast<int>(ifindex);
  if (::bind(port.socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw InjectError(name + ": cannot bind a packet socket: " + errno_text(errno));
  }
}

nanoseconds monotonic_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::chrono::seconds(ts.tv_sec) + nanoseconds(ts.tv_nsec);
}

// Sleeps until `due` on CLOCK_MONOTONIC. False if a stop signal arrived first.
bool sleep_until(nanoseconds due) {
  const auto whole_seconds = std::chrono::floor<std::chrono::seconds>(due);
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(whole_seconds.count());
  ts.tv_nsec = static_cast<long>((due - whole_seconds).count());
  for (;;) {
    if (stop_requested()) return false;
    const int rc = ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    if (rc == 0) return true;
    if (rc != EINTR) return true;  // EINVAL cannot happen for a normalised timespec; do not hang
  }
}

bool is_vlan_tagged(std::span<const std::uint8_t> frame) {
  return frame.size() >= kEthernetHeaderBytes && ((frame[12] << 8) | frame[13]) == kEtherTypeVlan;
}

// Sends the current frame of `port`. Never throws; outcomes land in the port's counters.
void send_frame(Port& port) {
  const std::span<const std::uint8_t> bytes = port.frame.data;
  PortCounters& c = port.counters;
  if (bytes.size() < kEthernetHeaderBytes) {
    ++c.skipped_short;
    return;
  }
  // The kernel's own limit (packet_snd): MTU + header, 4 more for an 802.1Q tag.
  const std::size_t limit = port.max_frame_bytes + (is_vlan_tagged(bytes) ? kVlanTagBytes : 0);
  if (bytes.size() > limit) {
    ++c.skipped_oversized;
    return;
  }
  int busy_retries_left = kBusyRetries;
  for (;;) {
    if (::send(port.socket.get(), bytes.data(), bytes.size(), 0) >= 0) {
      ++c.sent;
      return;
    }
    const int e = errno;
    if (e == EINTR && !stop_requested()) continue;
    if ((e == ENOBUFS || e == EAGAIN) && busy_retries_left-- > 0 && !stop_requested()) {
      ++c.busy_retries;
      const timespec pause{0, static_cast<long>(kBusyRetryPause.count())};
      ::nanosleep(&pause, nullptr);
      continue;
    }
    ++c.send_errors;
    if (c.first_send_errno == 0) c.first_send_errno = e;
    return;
  }
}

// Turns packet times into due instants: (t - t0) / speed, gaps capped, never going backwards.
class Schedule {
 public:
  Schedule(double speed, std::optional<nanoseconds> max_gap)
      : speed_(speed), max_gap_ns_(max_gap ? static_cast<long double>(max_gap->count()) : -1.0L) {}

  // Offset of the frame stamped `t` from the first frame's due instant.
  nanoseconds offset(camwatch::cam::PacketTime t) {
    if (!started_) {
      started_ = true;
      first_ = latest_ = t;
    }
    // A file whose clock steps back: send at once rather than move the schedule backwards.
    latest_ = std::max(latest_, t);
    // Scaled from the first frame each time, so rounding does not accumulate over millions of frames.
    const long double scaled = static_cast<long double>((latest_ - first_).count()) / speed_;
    if (max_gap_ns_ >= 0) {
      const long double gap = scaled - previous_scaled_;
      if (gap > max_gap_ns_) cut_ += gap - max_gap_ns_;
    }
    previous_scaled_ = scaled;
    // Absurd --speed values (1e-12) would overflow the nanosecond count: wait "forever" instead.
    return nanoseconds(static_cast<std::int64_t>(std::llround(std::min(scaled - cut_, kLongestOffsetNs))));
  }

 private:
  static constexpr long double kLongestOffsetNs = 1e18L;  // 31 years
  long double speed_;
  long double max_gap_ns_;  // negative: no cap
  bool started_ = false;
  camwatch::cam::PacketTime first_{};
  camwatch::cam::PacketTime latest_{};
  long double previous_scaled_ = 0;
  long double cut_ = 0;  // total taken out of capped gaps
};

struct RunResult {
  std::uint64_t frames = 0;  // taken from the files, sent or not
  nanoseconds elapsed{};     // first frame to last send
  nanoseconds scheduled{};   // due offset of the last frame (0 at --topspeed)
  nanoseconds max_late{};    // furthest behind a due instant when about to send
  bool interrupted = false;
};

RunResult run(std::vector<Port>& ports, const Options& options) {
  RunResult r;
  Schedule schedule(options.speed, options.max_gap);
  for (Port& p : ports) p.advance();
  nanoseconds start{};
  for (;;) {
    if (stop_requested()) {
      r.interrupted = true;
      break;
    }
    // A handful of interfaces: a linear scan beats a heap. Strict '<' keeps command-line order on ties.
    Port* next = nullptr;
    for (Port& p : ports) {
      if (p.has_frame && (next == nullptr || p.frame.time < next->frame.time)) next = &p;
    }
    if (next == nullptr) break;

    if (r.frames == 0) start = monotonic_now();
    if (options.pacing == Pacing::scaled) {
      const nanoseconds due = start + schedule.offset(next->frame.time);
      nanoseconds now = monotonic_now();
      // Behind schedule: no sleep call at all (a vDSO clock read is cheaper than a syscall).
      if (now < due) {
        if (!sleep_until(due)) {
          r.interrupted = true;
          break;
        }
        now = monotonic_now();
      }
      r.scheduled = due - start;
      r.max_late = std::max(r.max_late, now - due);
    }
    send_frame(*next);
    ++r.frames;
    next->advance();
  }
  if (r.frames != 0) r.elapsed = monotonic_now() - start;
  return r;
}

double seconds(nanoseconds d) { return std::chrono::duration<double>(d).count(); }

void add_counters(PortCounters& total, const PortCounters& c) {
  total.sent += c.sent;
  total.skipped_oversized += c.skipped_oversized;
  total.skipped_short += c.skipped_short;
  total.send_errors += c.send_errors;
  total.busy_retries += c.busy_retries;
  if (total.first_send_errno == 0) total.first_send_errno = c.first_send_errno;
}

std::string summary_line(const std::vector<Port>& ports, const RunResult& r, const Options& options) {
  // Per interface, in command-line order; an interface named twice is summed.
  std::vector<std::pair<std::string, PortCounters>> per_iface;
  PortCounters all;
  for (const Port& p : ports) {
    auto it = std::find_if(per_iface.begin(), per_iface.end(),
                           [&](const auto& entry) { return entry.first == p.target.iface; });
    if (it == per_iface.end()) it = per_iface.insert(per_iface.end(), {p.target.iface, PortCounters{}});
    add_counters(it->second, p.counters);
    add_counters(all, p.counters);
  }

  std::string line = r.interrupted ? "camwatch-inject: interrupted: " : "camwatch-inject: ";
  char buf[256];
  for (std::size_t i = 0; i < per_iface.size(); ++i) {
    const PortCounters& c = per_iface[i].second;
    std::snprintf(buf, sizeof buf, "%s%s %" PRIu64 " sent", i == 0 ? "" : ", ", per_iface[i].first.c_str(), c.sent);
    line += buf;
    if (c.skipped_oversized != 0) {
      std::snprintf(buf, sizeof buf, " (%" PRIu64 " over MTU skipped)", c.skipped_oversized);
      line += buf;
    }
    if (c.skipped_short != 0) {
      std::snprintf(buf, sizeof buf, " (%" PRIu64 " runts skipped)", c.skipped_short);
      line += buf;
    }
    if (c.send_errors != 0) {
      std::snprintf(buf, sizeof buf, " (%" PRIu64 " send errors, first: %s)", c.send_errors,
                    errno_text(c.first_send_errno).c_str());
      line += buf;
    }
    if (c.busy_retries != 0) {
      std::snprintf(buf, sizeof buf, " (%" PRIu64 " resends on a full queue)", c.busy_retries);
      line += buf;
    }
  }
  const double elapsed_s = seconds(r.elapsed);
  const double rate = elapsed_s > 0 ? static_cast<double>(r.frames) / elapsed_s : 0.0;
  std::snprintf(buf, sizeof buf, "; %" PRIu64 " send errors; %" PRIu64 " frames in %.3f s (%.0f frames/s)",
                all.send_errors, r.frames, elapsed_s, rate);
  line += buf;
  if (options.pacing == Pacing::scaled) {
    std::snprintf(buf, sizeof buf, ", schedule %.3f s at speed %g, at most %.3f ms behind it", seconds(r.scheduled),
                  options.speed, std::chrono::duration<double, std::milli>(r.max_late).count());
    line += buf;
  } else {
    line += ", topspeed";
  }
  return line;
}

void install_stop_handlers() {
  struct sigaction action{};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a blocked send() returns EINTR. SA_RESETHAND: a second Ctrl-C kills at once.
  action.sa_flags = SA_RESETHAND;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

int run_main(int argc, char** argv) {
  const std::optional<Options> options = parse_args(argc, argv);
  if (!options) return 0;

  std::vector<Port> ports(options->targets.size());
  for (std::size_t i = 0; i < ports.size(); ++i) {
    ports[i].target = options->targets[i];
    try {
      ports[i].file = camwatch::capture::CaptureFile::open(ports[i].target.path);
    } catch (const camwatch::capture::CaptureFileError& e) {
      throw InjectError(e.what());
    }
  }
  for (Port& p : ports) open_interface(p);

  install_stop_handlers();
  // The default 50 us timer slack lets every wake-up run late by about that much. With 1 ns, at
  // --speed 100 on veth, the median frame left 20 us after its due instant instead of 70 us.
  if (options->pacing == Pacing::scaled) ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  const RunResult result = run(ports, *options);
  std::fprintf(stderr, "%s\n", summary_line(ports, result, *options).c_str());

  if (result.interrupted) return 128 + static_cast<int>(g_stop_signal);
  bool failed = false;
  for (const Port& p : ports) failed = failed || p.counters.send_errors != 0 || !p.read_error.empty();
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "camwatch-inject: error: %s\n", e.what());
    return 1;
  }
}
