// LiveCapture against real libpcap on a real veth pair.
//
// Each live test makes its own network namespace: the test thread leaves the host's namespace
// with unshare(CLONE_NEWNET), creates the pair cwa <-> cwb with `ip` (a child inherits the
// thread's namespace), captures on cwa and injects frames on either end through AF_PACKET
// sockets; TearDown() returns the thread to the host's namespace. The namespace has no name
// and nothing else in it, so it and its interfaces vanish with the last socket even if the
// test crashes, and the host's own interfaces are never touched. Those tests skip when not
// run as root or without iproute2.
#include "capture/live_capture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testsupport/frame_builder.h"

extern char** environ;

namespace camwatch::capture {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using EndReason = LiveCapture::EndReason;
using cam::MacAddress;
using cam::Notification;
using cam::Observation;
using testsupport::Bytes;
using testsupport::FrameBuilder;
using testsupport::ipv4;
using testsupport::ipv6;
using testsupport::kBroadcast;
using testsupport::mac;

// Generous bounds for things that take milliseconds; they only matter when a test fails.
constexpr auto kPatience = 10s;

// ---------------------------------------------------------------------------------------------
// Pure parts: no privileges needed.

TEST(LiveCaptureCounters, AccumulatesA32BitCounterAcrossItsWrap) {
  std::uint64_t total = 0;
  std::uint32_t previous = 0;
  accumulate_wrapping(total, previous, 0xFFFF'FFF0U);
  EXPECT_EQ(total, 0xFFFF'FFF0ULL);
  accumulate_wrapping(total, previous, 0x0000'0010U);  // wrapped: +0x20
  EXPECT_EQ(total, 0x1'0000'0010ULL);
  EXPECT_EQ(previous, 0x10U);
  accumulate_wrapping(total, previous, 0x0000'0010U);  // no change
  EXPECT_EQ(total, 0x1'0000'0010ULL);
  accumulate_wrapping(total, previous, 0xFFFF'FFFFU);
  accumulate_wrapping(total, previous, 0x0000'0000U);  // second wrap, by exactly one
  EXPECT_EQ(total, 0x2'0000'0000ULL);
}

LiveCaptureOptions options_for(const std::string& interface) {
  LiveCaptureOptions options;
  options.interface = interface;
  options.buffer_bytes = 4 << 20;  // the tests send a handful of frames
  options.poll_timeout = 20ms;     // also the kernel's block timeout: how late frames show up
  return options;
}

LiveCaptureError open_error(const LiveCaptureOptions& options) {
  SpscRing<Observation> ring(16);
  try {
    LiveCapture capture(options, 0, ring);
  } catch (const LiveCaptureError& e) {
    return e;
  }
  ADD_FAILURE() << "opening " << options.interface << " did not throw";
  return LiveCaptureError(LiveCaptureErrorKind::other, "");
}

TEST(LiveCaptureOpen, ThrowsNoSuchDeviceNamingAnInterfaceThatDoesNotExist) {
  const LiveCaptureError e = open_error(options_for("camwatch-none0"));
  EXPECT_EQ(e.kind(), LiveCaptureErrorKind::no_such_device);
  EXPECT_STREQ(e.what(), "cannot capture on camwatch-none0: no such interface");
}

TEST(LiveCaptureOpen, ThrowsNoSuchDeviceForANameTooLongForAnyInterface) {
  // libpcap would cut it to 15 bytes, which could name a different, real interface.
  const LiveCaptureError e = open_error(options_for("camwatch-nonexistent0"));
  EXPECT_EQ(e.kind(), LiveCaptureErrorKind::no_such_device);
  EXPECT_THAT(e.what(), HasSubstr("not an interface name"));
}

// True when this process may open packet sockets (root, or CAP_NET_RAW).
bool may_open_packet_sockets() {
  const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

TEST(LiveCaptureOpen, ThrowsPermissionNamingCapNetRawWhenUnprivileged) {
  if (may_open_packet_sockets()) {
    GTEST_SKIP() << "this process may capture (root or CAP_NET_RAW); run the test binary as an unprivileged "
                    "user, e.g. setpriv --reuid=65534 --regid=65534 --clear-groups, to check the refusal";
  }
  const LiveCaptureError e = open_error(options_for("lo"));
  EXPECT_EQ(e.kind(), LiveCaptureErrorKind::permission);
  EXPECT_STREQ(e.what(), "cannot capture on lo: permission denied (camwatch needs CAP_NET_RAW)");
}

// ---------------------------------------------------------------------------------------------
// Live parts: a veth pair in a private network namespace.

std::string find_ip_command() {
  std::string dirs = "/usr/sbin:/sbin:/usr/bin:/bin";
  if (const char* path = std::getenv("PATH"); path != nullptr) dirs = std::string(path) + ":" + dirs;
  std::istringstream in(dirs);
  for (std::string dir; std::getline(in, dir, ':');) {
    const std::string candidate = dir + "/ip";
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Runs `argv` and returns its exit status (-1 if it could not run or was killed).
int run_command(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// An AF_PACKET socket on one interface of the namespace: sends frames as they are, and, when
// opened for receiving, sees every frame the interface sends or receives.
class PacketSocket {
 public:
  enum class Mode : std::uint8_t { send_only, send_and_receive };

  PacketSocket(const char* interface, Mode mode) {
    // Protocol 0 binds without joining the receive path: a pure injector.
    const int protocol = mode == Mode::send_only ? 0 : htons(ETH_P_ALL);
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd_ < 0) return;
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = static_cast<std::uint16_t>(protocol);
    address.sll_ifindex = static_cast<int>(::if_nametoindex(interface));
    if (address.sll_ifindex == 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~PacketSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  PacketSocket(const PacketSocket&) = delete;
  PacketSocket& operator=(const PacketSocket&) = delete;

  bool ok() const { return fd_ >= 0; }

  bool send(const Bytes& frame) const {
    return ::send(fd_, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size());
  }

  // Waits up to `timeout` for a frame from `source`; other frames are consumed and ignored.
  bool receive_from(MacAddress source, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::uint8_t buffer[2048];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                              std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n >= 12 && MacAddress::from_bytes(buffer + 6) == source) return true;
    }
  }

 private:
  int fd_ = -1;
};

class VethPair : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root: creates a network namespace and a veth pair, and captures on it";
    }
    ip_ = find_ip_command();
    if (ip_.empty()) GTEST_SKIP() << "needs the `ip` command (iproute2) to create a veth pair";
    host_netns_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(host_netns_, 0) << "/proc/thread-self/ns/net: " << std::strerror(errno);
    if (::unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "cannot create a network namespace: " << std::strerror(errno);
    in_private_netns_ = true;
    // No IPv6 on the new interfaces: they would send their own router solicitations and MLD
    // reports. /proc/sys/net is the namespace of the thread that opens it. Absent without IPv6.
    for (const char* scope : {"all", "default"}) {
      std::ofstream(std::string("/proc/sys/net/ipv6/conf/") + scope + "/disable_ipv6") << "1\n";
    }
    const int added = ip({"link", "add", "cwa", "type", "veth", "peer", "name", "cwb"});
    if (added != 0) GTEST_SKIP() << "`ip link add ... type veth` failed (status " << added << "): no veth support?";
    ASSERT_EQ(ip({"link", "set", "cwa", "up"}), 0);
    ASSERT_EQ(ip({"link", "set", "cwb", "up"}), 0);
    wait_until_frames_pass("cwb", "cwa");
    wait_until_frames_pass("cwa", "cwb");
  }

  void TearDown() override {
    if (in_private_netns_ && ::setns(host_netns_, CLONE_NEWNET) != 0) {
      // Every later test would run in the wrong namespace.
      std::fprintf(stderr, "cannot return to the host's network namespace: %s\n", std::strerror(errno));
      std::abort();
    }
    if (host_netns_ >= 0) ::close(host_netns_);
  }

  int ip(std::vector<std::string> args) const {
    args.insert(args.begin(), ip_);
    return run_command(args);
  }

 private:
  // A veth end's queueing discipline is attached asynchronously once both ends are up (the
  // kernel's link watch); until then what it sends is dropped. Probe until a frame gets through.
  static void wait_until_frames_pass(const char* from, const char* to) {
    const PacketSocket sender(from, PacketSocket::Mode::send_only);
    const PacketSocket receiver(to, PacketSocket::Mode::send_and_receive);
    ASSERT_TRUE(sender.ok() && receiver.ok()) << std::strerror(errno);
    const MacAddress probe = mac("02:00:00:00:00:99");
    const Bytes frame = FrameBuilder().source(probe).payload(0x88b5, Bytes(46, 0)).build();
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    for (;;) {
      ASSERT_TRUE(sender.send(frame)) << std::strerror(errno);
      if (receiver.receive_from(probe, 10ms)) return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "frames from " << from << " never reach " << to;
    }
  }

  std::string ip_;
  int host_netns_ = -1;
  bool in_private_netns_ = false;
};

// Runs a LiveCapture on its own thread; stops and joins it when destroyed.
class CaptureThread {
 public:
  explicit CaptureThread(LiveCapture& capture)
      : capture_(capture), ended_(result_.get_future().share()), thread_([this] {
          tid_.store(static_cast<pid_t>(::syscall(SYS_gettid)));
          result_.set_value(capture_.run());
        }) {}
  ~CaptureThread() {
    capture_.stop();
    if (ended_.wait_for(kPatience) != std::future_status::ready) {
      // Joining would hang the whole test binary.
      std::fprintf(stderr, "LiveCapture::run() did not return after stop()\n");
      std::abort();
    }
    thread_.join();
  }
  CaptureThread(const CaptureThread&) = delete;
  CaptureThread& operator=(const CaptureThread&) = delete;

  // run()'s result if it returns within `timeout`.
  std::optional<EndReason> wait(std::chrono::milliseconds timeout) {
    if (ended_.wait_for(timeout) != std::future_status::ready) return std::nullopt;
    return ended_.get();
  }

  // True once the capture thread is asleep in the kernel, which for run() means in poll().
  bool sleeping() const {
    const pid_t tid = tid_.load();
    if (tid == 0) return false;
    std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const std::size_t after_name = line.rfind(')');
    return after_name != std::string::npos && line.size() > after_name + 2 && line[after_name + 2] == 'S';
  }

 private:
  LiveCapture& capture_;
  std::promise<EndReason> result_;
  std::shared_future<EndReason> ended_;
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
};

// What the capture published, read from the ring as the tracker would.
class Observations {
 public:
  explicit Observations(SpscRing<Observation>& ring) : ring_(ring) {}

  // Reads the ring until `done()` holds or kPatience passes; returns whether it held.
  bool wait_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    for (;;) {
      Observation batch[64];
      const std::size_t n = ring_.read(batch, 64);
      seen_.insert(seen_.end(), batch, batch + n);
      if (done()) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      if (n == 0) std::this_thread::sleep_for(1ms);  // a polling interval, not a synchronisation
    }
  }
  bool wait_for(MacAddress source) {
    return wait_until([&] { return contains(source); });
  }

  bool contains(MacAddress source) const {
    return std::any_of(seen_.begin(), seen_.end(), [&](const Observation& o) { return o.source == source; });
  }
  std::optional<Observation> from(MacAddress source) const {
    for (const Observation& o : seen_) {
      if (o.source == source) return o;
    }
    return std::nullopt;
  }
  const std::vector<Observation>& all() const { return seen_; }

 private:
  SpscRing<Observation>& ring_;
  std::vector<Observation> seen_;
};

Bytes ordinary_frame(MacAddress source) {
  return FrameBuilder()
      .source(source)
      .destination(mac("00:50:56:ff:00:01"))
      .udp(ipv4("10.0.0.1"), ipv4("10.0.0.2"), 40000, 53, 32)
      .build();
}

using LiveCaptureOnVeth = VethPair;

TEST_F(LiveCaptureOnVeth, TurnsReceivedFramesIntoObservationsWithSourceVlanNotificationUplinkAndTime) {
  const MacAddress rarp_vm = mac("00:50:56:0a:00:01");
  const MacAddress garp_vm = mac("00:50:56:0a:00:02");
  const MacAddress na_vm = mac("00:50:56:0a:00:03");
  const MacAddress qinq_vm = mac("00:50:56:0a:00:04");
  const MacAddress plain_vm = mac("00:50:56:0a:00:05");
  FrameBuilder::NeighborAdvert na;
  na.source_ip = ipv6("fe80::250:56ff:fe0a:3");
  na.target = ipv6("2001:db8::3");
  na.target_lla = na_vm;
  const std::vector<Bytes> frames = {
      FrameBuilder().source(rarp_vm).destination(kBroadcast).rarp_request(rarp_vm).build(),
      FrameBuilder().source(garp_vm).destination(kBroadcast).vlan(10).garp_request(garp_vm, ipv4("10.0.10.2")).build(),
      FrameBuilder().source(na_vm).destination(mac("33:33:00:00:00:01")).vlan(30).neighbor_advert(na).build(),
      // 802.1ad outside 802.1Q: the kernel lifts the outer tag out of the frame and libpcap
      // puts it back; the station VLAN is the outer one.
      FrameBuilder()
          .source(qinq_vm)
          .tag(testsupport::kTpid8021ad, 100)
          .vlan(20)
          .udp(ipv4("10.0.0.4"), ipv4("10.0.0.5"), 1, 2, 16)
          .build(),
      ordinary_frame(plain_vm),
  };

  SpscRing<Observation> ring(1024);
  LiveCapture capture(options_for("cwa"), 7, ring);
  CaptureThread thread(capture);
  const PacketSocket cwb("cwb", PacketSocket::Mode::send_only);
  ASSERT_TRUE(cwb.ok()) << std::strerror(errno);
  const auto sent_after = std::chrono::system_clock::now();
  for (const Bytes& frame : frames) ASSERT_TRUE(cwb.send(frame)) << std::strerror(errno);

  Observations seen(ring);
  ASSERT_TRUE(seen.wait_until([&] {
    return seen.contains(rarp_vm) && seen.contains(garp_vm) && seen.contains(na_vm) && seen.contains(qinq_vm) &&
           seen.contains(plain_vm);
  })) << seen.all().size() << " observations";
  const auto received_before = std::chrono::system_clock::now();

  struct Expected {
    MacAddress source;
    cam::VlanId vlan;
    Notification notification;
  };
  const Expected expected[] = {{rarp_vm, 0, Notification::rarp},
                               {garp_vm, 10, Notification::garp},
                               {na_vm, 30, Notification::unsolicited_na},
                               {qinq_vm, 100, Notification::none},
                               {plain_vm, 0, Notification::none}};
  bool some_time_has_nanoseconds = false;
  for (const Expected& e : expected) {
    const Observation o = *seen.from(e.source);
    SCOPED_TRACE(e.source.to_string());
    EXPECT_EQ(o.vlan, e.vlan);
    EXPECT_EQ(o.notification, e.notification);
    if (e.notification != Notification::none) {
      EXPECT_EQ(o.notified, e.source);
    }
    EXPECT_EQ(o.uplink, 7);
    // Kernel receive times, on the same clock as system_clock.
    EXPECT_GE(o.time, sent_after);
    EXPECT_LE(o.time, received_before);
    some_time_has_nanoseconds |= o.time.time_since_epoch().count() % 1000 != 0;
  }
  EXPECT_TRUE(some_time_has_nanoseconds) << "time stamps look like microseconds";

  capture.stop();
  ASSERT_EQ(thread.wait(kPatience), EndReason::stopped);
  const LiveCaptureStats stats = capture.stats();
  EXPECT_GE(stats.frames, frames.size());
  EXPECT_EQ(stats.notifications[static_cast<int>(Notification::rarp)], 1U);
  EXPECT_EQ(stats.notifications[static_cast<int>(Notification::garp)], 1U);
  EXPECT_EQ(stats.notifications[static_cast<int>(Notification::unsolicited_na)], 1U);
  EXPECT_EQ(stats.malformed, 0U);
  EXPECT_EQ(stats.ring_drops, 0U);
  EXPECT_EQ(stats.kernel_drops, 0U);
}

TEST_F(LiveCaptureOnVeth, StopWakesRunOutOfItsWaitAtOnceWithoutTraffic) {
  SpscRing<Observation> ring(16);
  LiveCaptureOptions options = options_for("cwa");
  options.poll_timeout = 60s;  // only the eventfd can end the wait in time
  LiveCapture capture(options, 0, ring);
  CaptureThread thread(capture);
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!thread.sleeping()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the capture thread never waited";
    std::this_thread::yield();
  }
  const auto stopped_at = std::chrono::steady_clock::now();
  capture.stop();
  ASSERT_EQ(thread.wait(kPatience), EndReason::stopped);
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 1s);
}

TEST_F(LiveCaptureOnVeth, RunReturnsStoppedAtOnceWhenStopCameFirst) {
  SpscRing<Observation> ring(16);
  LiveCaptureOptions options = options_for("cwa");
  options.poll_timeout = 60s;
  LiveCapture capture(options, 0, ring);
  capture.stop();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(capture.run(), EndReason::stopped);
  EXPECT_EQ(capture.run(), EndReason::stopped);  // stop() is final
  // Each run() still drains the kernel ring for one block timeout, capped at 0.5 s.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
}

TEST_F(LiveCaptureOnVeth, TakesTheFramesAlreadyReceivedWhenStoppedRightAfterThem) {
  // TPACKET_V3 hands a partly filled block to user space only when its timeout expires: a
  // stop() right after a burst must still wait for that block instead of dropping it.
  SpscRing<Observation> ring(1 << 12);
  LiveCapture capture(options_for("cwa"), 0, ring);
  CaptureThread thread(capture);
  const PacketSocket cwb("cwb", PacketSocket::Mode::send_only);
  ASSERT_TRUE(cwb.ok());
  constexpr std::uint64_t kFrames = 300;
  for (std::uint64_t i = 0; i < kFrames; ++i) {
    ASSERT_TRUE(cwb.send(ordinary_frame(MacAddress::from_u64(0x0050'560c'0000ULL + i))));
  }
  capture.stop();
  ASSERT_EQ(thread.wait(kPatience), EndReason::stopped);
  EXPECT_EQ(capture.stats().frames, kFrames);
  EXPECT_EQ(ring.size(), kFrames);
}

TEST_F(LiveCaptureOnVeth, PassesOnlyFirstSightingsAndNotificationsThroughTheFilterAndCountsTheRest) {
  SpscRing<Observation> ring(1 << 12);
  RecentlySeenFilter filter(std::chrono::hours(1));
  LiveCapture capture(options_for("cwa"), 0, ring, &filter);
  CaptureThread thread(capture);
  const PacketSocket cwb("cwb", PacketSocket::Mode::send_only);
  ASSERT_TRUE(cwb.ok());
  const MacAddress busy = mac("00:50:56:0d:00:01");
  // 200 frames of one station in well under the filter's 100 ms uplink tick, then a RARP of it.
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(cwb.send(ordinary_frame(busy)));
  ASSERT_TRUE(cwb.send(FrameBuilder().source(busy).destination(testsupport::kBroadcast).rarp_request(busy).build()));
  capture.stop();
  ASSERT_EQ(thread.wait(kPatience), EndReason::stopped);
  const LiveCaptureStats stats = capture.stats();
  ASSERT_EQ(stats.frames, 201U);
  std::vector<Observation> seen(ring.size());
  ring.read(seen.data(), seen.size());
  ASSERT_GE(seen.size(), 2U);
  EXPECT_LE(seen.size(), 4U) << "the first sighting, the RARP, and a frame per 100 ms tick at most";
  EXPECT_EQ(seen.back().notification, Notification::rarp);
  EXPECT_EQ(stats.filtered, 201U - seen.size());
  EXPECT_EQ(stats.filtered, filter.filtered());
  EXPECT_GE(stats.ring_writes, 1U);
  EXPECT_LE(stats.ring_writes, 4U);
}

TEST_F(LiveCaptureOnVeth, CountsObservationsTheFullRingCannotTakeAsRingDrops) {
  SpscRing<Observation> ring(2);  // nobody reads it
  LiveCapture capture(options_for("cwa"), 0, ring);
  CaptureThread thread(capture);
  const PacketSocket cwb("cwb", PacketSocket::Mode::send_only);
  ASSERT_TRUE(cwb.ok());
  constexpr std::uint64_t kFrames = 100;
  for (std::uint64_t i = 0; i < kFrames; ++i) {
    ASSERT_TRUE(cwb.send(ordinary_frame(MacAddress::from_u64(0x0050'560b'0000ULL + i))));
  }
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (capture.stats().frames < kFrames) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << capture.stats().frames << " frames";
    std::this_thread::sleep_for(1ms);
  }
  capture.stop();
  ASSERT_EQ(thread.wait(kPatience), EndReason::stopped);
  const LiveCaptureStats stats = capture.stats();  // exact now that run() has returned
  EXPECT_EQ(ring.size(), 2U);
  EXPECT_EQ(stats.ring_drops, stats.frames - stats.malformed - 2);
  EXPECT_GE(stats.ring_drops, kFrames - 2);
}

TEST_F(LiveCaptureOnVeth, CountsFramesTheKernelRingHadNoRoomForAsKernelDrops) {
  SpscRing<Observation> ring(1 << 16);
  LiveCaptureOptions options = options_for("cwa");
  options.buffer_bytes = 64 << 10;  // a few hundred small frames
  LiveCapture capture(options, 0, ring);
  // The capture is open but nobody reads its ring yet.
  const PacketSocket cwb("cwb", PacketSocket::Mode::send_only);
  ASSERT_TRUE(cwb.ok());
  constexpr std::uint64_t kFrames = 5000;
  const Bytes frame = ordinary_frame(mac("00:50:56:0c:00:01"));
  for (std::uint64_t i = 0; i < kFrames; ++i) ASSERT_TRUE(cwb.send(frame));

  CaptureThread thread(capture);
  Observations seen(ring);
  ASSERT_TRUE(seen.wait_until([&] { return capture.stats().frames > 0; }));
  capture.stop();
  ASSERT_EQ(thread.wait(kPatience), EndReason::stopped);
  const LiveCaptureStats stats = capture.stats();
  EXPECT_GT(stats.kernel_drops, 0U);
  EXPECT_LE(stats.kernel_drops + stats.frames, kFrames);
  EXPECT_EQ(stats.ring_drops, 0U);
}

TEST_F(LiveCaptureOnVeth, EndsWithInterfaceGoneWhenTheInterfaceIsDeleted) {
  SpscRing<Observation> ring(16);
  LiveCapture capture(options_for("cwa"), 0, ring);
  CaptureThread thread(capture);
  ASSERT_EQ(ip({"link", "del", "cwa"}), 0);
  ASSERT_EQ(thread.wait(kPatience), EndReason::interface_gone);
  EXPECT_EQ(capture.error(), "the interface disappeared");
}

TEST_F(LiveCaptureOnVeth, EndsWithInterfaceGoneWhenTheInterfaceIsTakenDown) {
  SpscRing<Observation> ring(16);
  LiveCapture capture(options_for("cwa"), 0, ring);
  CaptureThread thread(capture);
  ASSERT_EQ(ip({"link", "set", "cwa", "down"}), 0);
  ASSERT_EQ(thread.wait(kPatience), EndReason::interface_gone);
  EXPECT_EQ(capture.error(), "the interface went down");
}

TEST_F(LiveCaptureOnVeth, ThrowsNoSuchDeviceForAnInterfaceThatIsDown) {
  // Linux will not bind a packet socket to a down interface; the owner waits for it to come up.
  ASSERT_EQ(ip({"link", "set", "cwa", "down"}), 0);
  const LiveCaptureError e = open_error(options_for("cwa"));
  EXPECT_EQ(e.kind(), LiveCaptureErrorKind::no_such_device);
  EXPECT_STREQ(e.what(), "cannot capture on cwa: the interface is down");
}

// ---------------------------------------------------------------------------------------------
// Collectors: ERSPAN frames arriving on cwa, decapsulated and routed to uplinks by session.

Bytes erspan_ii_frame(std::uint16_t session, std::uint32_t index, const Bytes& inner) {
  testsupport::GreHeader gre;
  gre.protocol = 0x88BE;
  gre.sequence = 1;
  testsupport::ErspanIIHeader erspan;
  erspan.session = session;
  erspan.index = index;
  FrameBuilder::Ipv4Packet ip;
  ip.source = ipv4("192.0.2.1");
  ip.destination = ipv4("192.0.2.200");
  ip.body = testsupport::concat({testsupport::gre_header(gre), testsupport::erspan_ii_header(erspan), inner});
  return FrameBuilder().source(mac("00:1b:54:c2:00:01")).destination(mac("00:1b:21:aa:00:02")).ipv4_packet(ip).build();
}

std::shared_ptr<const MirrorRouting> routing(std::vector<MirrorSessionMap::Entry> entries,
                                             std::vector<cam::UplinkId> uplinks) {
  auto r = std::make_shared<MirrorRouting>();
  r->sessions = MirrorSessionMap(std::move(entries));
  r->uplinks = std::move(uplinks);
  return r;
}

TEST_F(LiveCaptureOnVeth, CollectorWritesEachMirroredFrameAsAnObservationOfItsSessionsUplink) {
  const MacAddress vm_a = mac("00:50:56:0e:00:01");
  const MacAddress vm_b = mac("00:50:56:0e:00:02");
  const MacAddress stray = mac("00:50:56:0e:00:63");
  SpscRing<Observation> ring(1024);
  LiveCaptureOptions options = options_for("cwa");
  // Session 2 -> routing index 0 (uplink 11), session 3 index 7 -> routing index 1 (uplink 12).
  options.mirror = routing({{MirrorSessionKey::erspan(2), 0}, {MirrorSessionKey::erspan(3, 7), 1}}, {11, 12});
  LiveCapture capture(options, 0, ring);
  CaptureThread thread(capture);
  const PacketSocket cwb("cwb", PacketSocket::Mode::send_only);
  ASSERT_TRUE(cwb.ok());
  const MacAddress marker = mac("00:50:56:0e:00:ff");
  const std::vector<Bytes> frames = {
      erspan_ii_frame(2, 0, FrameBuilder().source(vm_a).destination(kBroadcast).rarp_request(vm_a).build()),
      erspan_ii_frame(3, 7, ordinary_frame(vm_b)),
      erspan_ii_frame(99, 0, ordinary_frame(stray)),  // no mapping: counted, never learned
      erspan_ii_frame(99, 4, ordinary_frame(stray)),  // the same session again: reported once
      erspan_ii_frame(3, 8, ordinary_frame(stray)),   // session 3, but an index nobody mapped
      FrameBuilder().source(mac("00:1b:21:aa:00:09")).destination(kBroadcast).garp_request(
          mac("00:1b:21:aa:00:09"), ipv4("192.0.2.9")).build(),  // the collector's own LAN
      erspan_ii_frame(2, 0, ordinary_frame(marker)),
  };
  for (const Bytes& f : frames) ASSERT_TRUE(cwb.send(f));

  Observations seen(ring);
  ASSERT_TRUE(seen.wait_for(marker));
  capture.stop();
  ASSERT_EQ(thread.wait(kPatience), EndReason::stopped);
  Observation o;
  while (ring.read(&o, 1) == 1) {}  // nothing after the marker
  ASSERT_EQ(seen.all().size(), 3U);
  EXPECT_EQ(seen.from(vm_a)->uplink, 11);
  EXPECT_EQ(seen.from(vm_a)->notification, Notification::rarp);
  EXPECT_EQ(seen.from(vm_b)->uplink, 12);
  EXPECT_EQ(seen.from(marker)->uplink, 11);
  EXPECT_FALSE(seen.contains(stray));

  const MirrorCounters m = capture.mirror_stats();
  EXPECT_EQ(m.frames, frames.size());
  EXPECT_EQ(m.mirrored[static_cast<int>(MirrorEncap::erspan_ii)], 6U);
  EXPECT_EQ(m.unmapped, 3U);
  EXPECT_EQ(m.not_mirrored, 1U);
  const LiveCaptureStats collector = capture.stats();
  EXPECT_EQ(collector.frames, frames.size());
  EXPECT_EQ(collector.ring_drops, 0U);
  const LiveCaptureStats a = capture.uplink_stats(0);
  EXPECT_EQ(a.frames, 2U);
  EXPECT_EQ(a.notifications[static_cast<int>(Notification::rarp)], 1U);
  EXPECT_EQ(capture.uplink_stats(1).frames, 1U);
  EXPECT_EQ(capture.uplink_stats(2).frames, 0U) << "no such routing index";

  MirrorSessionKey unmapped[8];
  const std::size_t n = capture.take_unmapped_sessions(unmapped, 8);
  ASSERT_EQ(n, 2U) << "session 99 once, session 3 (index 8) once";
  EXPECT_EQ(unmapped[0], MirrorSessionKey::erspan(99, 0));
  EXPECT_EQ(unmapped[1], MirrorSessionKey::erspan(3, 8));
  EXPECT_EQ(capture.take_unmapped_sessions(unmapped, 8), 0U);
}

// ---------------------------------------------------------------------------------------------
// PACKET_FANOUT: several captures share one interface's frames.

Bytes flow_frame(std::uint32_t i) {
  // Each frame its own flow (addresses and ports) and its own source MAC, to find it again.
  const auto b = [](std::uint32_t v) { return static_cast<std::uint8_t>(v); };
  return FrameBuilder()
      .source(MacAddress::from_u64(0x0250'5600'0000ULL + i))
      .destination(mac("00:50:56:ff:00:01"))
      .udp({10, 1, b(i >> 8), b(i)}, {10, 2, b(i), b(i >> 8)}, static_cast<std::uint16_t>(20000 + i),
           static_cast<std::uint16_t>(30000 + 7 * i), 32)
      .build();
}

TEST_F(LiveCaptureOnVeth, FanoutGroupHandsEveryFrameToExactlyOneOfItsCaptures) {
  constexpr int kCaptures = 3;
  constexpr std::uint32_t kFrames = 600;
  std::vector<std::unique_ptr<SpscRing<Observation>>> rings;
  std::vector<std::unique_ptr<LiveCapture>> captures;
  LiveCaptureOptions options = options_for("cwa");
  options.fanout = FanoutMode::create;
  for (int k = 0; k < kCaptures; ++k) {
    rings.push_back(std::make_unique<SpscRing<Observation>>(4096));
    captures.push_back(std::make_unique<LiveCapture>(options, static_cast<cam::UplinkId>(k), *rings.back()));
    if (k == 0) {
      options.fanout = FanoutMode::join;
      options.fanout_group = captures[0]->fanout_group();
    }
    EXPECT_EQ(captures.back()->fanout_group(), captures[0]->fanout_group());
  }
  std::vector<std::unique_ptr<CaptureThread>> threads;
  for (auto& c : captures) threads.push_back(std::make_unique<CaptureThread>(*c));
  const PacketSocket cwb("cwb", PacketSocket::Mode::send_only);
  ASSERT_TRUE(cwb.ok());
  for (std::uint32_t i = 0; i < kFrames; ++i) ASSERT_TRUE(cwb.send(flow_frame(i)));

  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  std::uint64_t total = 0;
  do {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << total << " frames";
    std::this_thread::sleep_for(5ms);
    total = 0;
    for (auto& c : captures) total += c->stats().frames;
  } while (total < kFrames);
  for (auto& c : captures) c->stop();
  for (auto& t : threads) ASSERT_EQ(t->wait(kPatience), EndReason::stopped);

  std::vector<int> times_seen(kFrames, 0);
  int captures_with_frames = 0;
  for (int k = 0; k < kCaptures; ++k) {
    Observations seen(*rings[static_cast<std::size_t>(k)]);
    const std::uint64_t frames = captures[static_cast<std::size_t>(k)]->stats().frames;
    EXPECT_TRUE(seen.wait_until([&] { return seen.all().size() >= frames; }));
    EXPECT_EQ(seen.all().size(), frames);
    captures_with_frames += seen.all().empty() ? 0 : 1;
    for (const Observation& o : seen.all()) {
      EXPECT_EQ(o.uplink, k);
      const std::uint64_t i = o.source.to_u64() - 0x0250'5600'0000ULL;
      ASSERT_LT(i, kFrames);
      ++times_seen[i];
    }
  }
  EXPECT_EQ(std::count(times_seen.begin(), times_seen.end(), 1), static_cast<long>(kFrames))
      << "every frame exactly once across the group";
  EXPECT_GE(captures_with_frames, 2) << "600 flows all hashed to one socket";
}

TEST_F(LiveCaptureOnVeth, FanoutGroupsOfTwoInterfacesGetDifferentIds) {
  SpscRing<Observation> ring_a(16), ring_b(16);
  LiveCaptureOptions a = options_for("cwa");
  LiveCaptureOptions b = options_for("cwb");
  a.fanout = b.fanout = FanoutMode::create;
  const LiveCapture on_a(a, 0, ring_a);
  const LiveCapture on_b(b, 1, ring_b);
  EXPECT_NE(on_a.fanout_group(), on_b.fanout_group());
}

TEST_F(LiveCaptureOnVeth, RefusesToJoinAFanoutGroupOfAnotherInterface) {
  SpscRing<Observation> ring_a(16), ring_b(16);
  LiveCaptureOptions a = options_for("cwa");
  a.fanout = FanoutMode::create;
  const LiveCapture on_a(a, 0, ring_a);
  LiveCaptureOptions b = options_for("cwb");
  b.fanout = FanoutMode::join;
  b.fanout_group = on_a.fanout_group();
  try {
    LiveCapture on_b(b, 1, ring_b);
    ADD_FAILURE() << "joined a group bound to another interface";
  } catch (const LiveCaptureError& e) {
    EXPECT_EQ(e.kind(), LiveCaptureErrorKind::other);
    EXPECT_THAT(e.what(), HasSubstr("cannot join PACKET_FANOUT group"));
  }
}

// Direction on cwa: frames cwa sends (injected on cwa) are "out", frames it receives (injected
// on cwb) are "in".
struct DirectionCase {
  Direction direction;
  bool sees_sent;
  bool sees_received;
  const char* name;
};

void PrintTo(const DirectionCase& c, std::ostream* out) { *out << c.name; }

class LiveCaptureDirection : public VethPair, public ::testing::WithParamInterface<DirectionCase> {};

TEST_P(LiveCaptureDirection, SeesOnlyTheFramesOfItsDirection) {
  const DirectionCase& c = GetParam();
  const MacAddress sent = mac("00:50:56:0d:00:01");
  const MacAddress received = mac("00:50:56:0d:00:02");
  const MacAddress sent_marker = mac("00:50:56:0d:00:03");
  const MacAddress received_marker = mac("00:50:56:0d:00:04");
  // Registered before the capture: the kernel hands a received frame to the newer socket (the
  // capture) first, so once this one has it the capture has it too.
  const PacketSocket cwa_watch("cwa", PacketSocket::Mode::send_and_receive);
  SpscRing<Observation> ring(1024);
  LiveCaptureOptions options = options_for("cwa");
  options.direction = c.direction;
  LiveCapture capture(options, 0, ring);
  CaptureThread thread(capture);
  const PacketSocket cwa("cwa", PacketSocket::Mode::send_only);
  const PacketSocket cwb("cwb", PacketSocket::Mode::send_only);
  ASSERT_TRUE(cwa_watch.ok() && cwa.ok() && cwb.ok()) << std::strerror(errno);

  // The frames under test go first; markers of the visible direction(s) follow once the frames
  // under test have certainly passed cwa, so that seeing the markers means the verdict is in.
  ASSERT_TRUE(cwa.send(ordinary_frame(sent)));  // passes cwa's taps within send()
  ASSERT_TRUE(cwb.send(ordinary_frame(received)));
  ASSERT_TRUE(cwa_watch.receive_from(received, kPatience));
  ASSERT_TRUE(cwa.send(ordinary_frame(sent_marker)));
  ASSERT_TRUE(cwb.send(ordinary_frame(received_marker)));

  Observations seen(ring);
  ASSERT_TRUE(seen.wait_until([&] {
    return (!c.sees_sent || seen.contains(sent_marker)) && (!c.sees_received || seen.contains(received_marker));
  }));
  EXPECT_EQ(seen.contains(sent), c.sees_sent);
  EXPECT_EQ(seen.contains(received), c.sees_received);
  capture.stop();
  EXPECT_EQ(thread.wait(kPatience), EndReason::stopped);
}

INSTANTIATE_TEST_SUITE_P(LiveCapture, LiveCaptureDirection,
                         ::testing::Values(DirectionCase{Direction::in, false, true, "in"},
                                           DirectionCase{Direction::out, true, false, "out"},
                                           DirectionCase{Direction::inout, true, true, "inout"}),
                         [](const ::testing::TestParamInfo<DirectionCase>& tested) { return tested.param.name; });

}  // namespace
}  // namespace camwatch::capture
