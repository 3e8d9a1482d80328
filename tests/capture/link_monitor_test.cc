// LinkMonitor: what query() and drain() report for real veth interfaces. Every test that changes
// interfaces first moves its thread into a network namespace of its own (unshare(CLONE_NEWNET)),
// runs `ip` there, and returns to the original namespace afterwards; the kernel destroys the
// namespace and its interfaces with its last reference, so nothing is left behind even if the
// test dies. The host's interfaces are never touched. Those tests need root and iproute2 and are
// skipped without them.
#include "capture/link_monitor.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace camwatch::capture {
namespace {

using namespace std::chrono_literals;

const char* name_of(LinkState state) {
  switch (state) {
    case LinkState::up: return "up";
    case LinkState::down: return "down";
    case LinkState::removed: return "removed";
  }
  return "?";
}

// Everything drain() reported, in order, and the latest state per interface name.
class Reports {
 public:
  void add(const LinkChange& change) {
    all_.push_back(change);
    latest_[change.interface] = change;
  }
  std::optional<LinkState> state(const std::string& interface) const {
    auto it = latest_.find(interface);
    if (it == latest_.end()) return std::nullopt;
    return it->second.state;
  }
  std::optional<LinkChange> latest(const std::string& interface) const {
    auto it = latest_.find(interface);
    if (it == latest_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<LinkState> history(const std::string& interface) const {
    std::vector<LinkState> states;
    for (const LinkChange& change : all_) {
      if (change.interface == interface) states.push_back(change.state);
    }
    return states;
  }
  bool mentions(const std::string& interface) const { return latest_.contains(interface); }
  void clear() {
    all_.clear();
    latest_.clear();
  }
  // "lm0#7 down, lm1#6 down, ..." for failure messages.
  std::string describe() const {
    std::ostringstream out;
    for (const LinkChange& change : all_) {
      out << change.interface << '#' << change.ifindex << ' ' << name_of(change.state) << ", ";
    }
    return all_.empty() ? std::string("(no reports)") : out.str();
  }

 private:
  std::vector<LinkChange> all_;
  std::map<std::string, LinkChange> latest_;
};

// Drains into `reports` until `done` holds, waiting on fd() in between, for at most `limit`.
// The kernel's linkwatch may take about a second to report carrier, hence the generous limit.
bool drain_until(LinkMonitor& monitor, Reports& reports, const std::function<bool()>& done,
                 std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    monitor.drain([&](const LinkChange& change) { reports.add(change); });
    if (done()) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    // POLLERR (an overrun) is reported whatever is asked for, and also calls for drain().
    pollfd ready{monitor.fd(), POLLIN, 0};
    (void)::poll(&ready, 1, static_cast<int>(left.count()));
  }
}

::testing::AssertionResult ip(const std::string& arguments) {
  const std::string command = "ip " + arguments;
  const int status = std::system(command.c_str());
  if (status == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "`" << command << "` failed with status " << status;
}

// Moves the calling thread into a new, empty network namespace, and back on destruction.
class PrivateNetworkNamespace {
 public:
  PrivateNetworkNamespace() {
    original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (original_ < 0) {
      error_ = std::string("cannot open /proc/thread-self/ns/net: ") + std::strerror(errno);
      return;
    }
    if (::unshare(CLONE_NEWNET) != 0) {
      error_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      ::close(original_);
      original_ = -1;
    }
  }
  ~PrivateNetworkNamespace() {
    if (original_ < 0) return;
    // Staying in the test namespace would run every later test there: better to stop here.
    if (::setns(original_, CLONE_NEWNET) != 0) std::abort();
    ::close(original_);
  }
  PrivateNetworkNamespace(const PrivateNetworkNamespace&) = delete;
  PrivateNetworkNamespace& operator=(const PrivateNetworkNamespace&) = delete;

  bool entered() const { return original_ >= 0; }
  const std::string& error() const { return error_; }

 private:
  int original_ = -1;
  std::string error_;
};

class LinkMonitorInNamespace : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create a network namespace and veth interfaces";
    if (std::system("command -v ip >/dev/null 2>&1") != 0) GTEST_SKIP() << "needs the ip command (iproute2)";
    namespace_ = std::make_unique<PrivateNetworkNamespace>();
    if (!namespace_->entered()) GTEST_SKIP() << "cannot create a network namespace: " << namespace_->error();
  }
  void TearDown() override { namespace_.reset(); }

  // Creates a veth pair and waits until the monitor has reported it: everything the kernel
  // announced before is then known to have been drained too (notifications arrive in order).
  void mark(LinkMonitor& monitor, Reports& reports, const std::string& name) {
    ASSERT_TRUE(ip("link add " + name + "a type veth peer name " + name + "b"));
    ASSERT_TRUE(drain_until(monitor, reports, [&] { return reports.mentions(name + "a"); })) << reports.describe();
  }

  void create_pair_and_wait_up(LinkMonitor& monitor, Reports& reports) {
    ASSERT_TRUE(ip("link add lm0 type veth peer name lm1"));
    ASSERT_TRUE(ip("link set lm0 up"));
    ASSERT_TRUE(ip("link set lm1 up"));
    ASSERT_TRUE(drain_until(monitor, reports, [&] {
      return reports.state("lm0") == LinkState::up && reports.state("lm1") == LinkState::up;
    })) << reports.describe();
  }

 private:
  std::unique_ptr<PrivateNetworkNamespace> namespace_;
};

TEST(LinkMonitor, QueryReportsRemovedForAnInterfaceThatDoesNotExist) {
  // Reads only (a name nobody uses), so it runs in the test's own namespace without root.
  LinkMonitor monitor;
  const std::string missing = "cwlmnx" + std::to_string(::getpid());
  EXPECT_EQ(monitor.query(missing).state, LinkState::removed);
  EXPECT_EQ(monitor.query(missing).interface, missing);
  EXPECT_EQ(monitor.query("").state, LinkState::removed);
  EXPECT_EQ(monitor.query("a-name-longer-than-ifnamsiz").state, LinkState::removed);
  EXPECT_EQ(monitor.query(std::string("lo\0x", 4)).state, LinkState::removed);
}

TEST(LinkMonitor, QueryReportsLoopbackWithItsIfindex) {
  LinkMonitor monitor;
  const LinkChange loopback = monitor.query("lo");
  EXPECT_EQ(loopback.interface, "lo");
  EXPECT_EQ(loopback.ifindex, static_cast<int>(::if_nametoindex("lo")));
  EXPECT_NE(loopback.state, LinkState::removed);
}

TEST_F(LinkMonitorInNamespace, QueryReportsBothEndsOfANewVethPairDown) {
  LinkMonitor monitor;
  ASSERT_TRUE(ip("link add lm0 type veth peer name lm1"));
  const LinkChange end0 = monitor.query("lm0");
  const LinkChange end1 = monitor.query("lm1");
  EXPECT_EQ(end0.state, LinkState::down);
  EXPECT_EQ(end1.state, LinkState::down);
  EXPECT_EQ(end0.ifindex, static_cast<int>(::if_nametoindex("lm0")));
  EXPECT_EQ(end1.ifindex, static_cast<int>(::if_nametoindex("lm1")));
  EXPECT_EQ(monitor.query("lm2").state, LinkState::removed);
}

TEST_F(LinkMonitorInNamespace, DrainReportsNothingWhenNothingHappened) {
  LinkMonitor monitor;
  Reports reports;
  monitor.drain([&](const LinkChange& change) { reports.add(change); });
  EXPECT_EQ(reports.describe(), "(no reports)");
  const LinkMonitorStats stats = monitor.stats();
  EXPECT_EQ(stats.overruns, 0U);
  EXPECT_EQ(stats.errors, 0U);
}

TEST_F(LinkMonitorInNamespace, DrainReportsBothEndsUpOnceBothAreSetUp) {
  LinkMonitor monitor;
  Reports reports;
  ASSERT_TRUE(ip("link add lm0 type veth peer name lm1"));
  ASSERT_TRUE(ip("link set lm0 up"));
  ASSERT_TRUE(ip("link set lm1 up"));
  ASSERT_TRUE(drain_until(monitor, reports, [&] {
    return reports.state("lm0") == LinkState::up && reports.state("lm1") == LinkState::up;
  })) << reports.describe();
  EXPECT_EQ(reports.latest("lm0")->ifindex, static_cast<int>(::if_nametoindex("lm0")));
  EXPECT_EQ(monitor.query("lm0").state, LinkState::up);
  EXPECT_EQ(monitor.query("lm1").state, LinkState::up);
}

TEST_F(LinkMonitorInNamespace, DrainReportsAnEndUpOnlyOnceItsPeerIsUpToo) {
  LinkMonitor monitor;
  Reports reports;
  ASSERT_TRUE(ip("link add lm0 type veth peer name lm1"));
  ASSERT_TRUE(ip("link set lm0 up"));  // administratively up, but no carrier: lm1 is down
  mark(monitor, reports, "lmm");
  EXPECT_EQ(reports.state("lm0"), LinkState::down) << reports.describe();
  EXPECT_EQ(monitor.query("lm0").state, LinkState::down);
  ASSERT_TRUE(ip("link set lm1 up"));
  ASSERT_TRUE(drain_until(monitor, reports, [&] { return reports.state("lm0") == LinkState::up; }))
      << reports.describe();
}

TEST_F(LinkMonitorInNamespace, DrainReportsBothEndsDownWhenOneEndIsSetDown) {
  LinkMonitor monitor;
  Reports reports;
  create_pair_and_wait_up(monitor, reports);
  ASSERT_TRUE(ip("link set lm1 down"));
  // lm1 is down administratively; lm0 is still up itself but has lost its carrier.
  ASSERT_TRUE(drain_until(monitor, reports, [&] {
    return reports.state("lm0") == LinkState::down && reports.state("lm1") == LinkState::down;
  })) << reports.describe();
}

TEST_F(LinkMonitorInNamespace, DrainReportsBothEndsRemovedWhenThePairIsDeleted) {
  LinkMonitor monitor;
  Reports reports;
  create_pair_and_wait_up(monitor, reports);
  const int ifindex = reports.latest("lm0")->ifindex;
  ASSERT_TRUE(ip("link del lm0"));
  ASSERT_TRUE(drain_until(monitor, reports, [&] {
    return reports.state("lm0") == LinkState::removed && reports.state("lm1") == LinkState::removed;
  })) << reports.describe();
  EXPECT_EQ(reports.latest("lm0")->ifindex, ifindex);
  EXPECT_EQ(monitor.query("lm0").state, LinkState::removed);
}

TEST_F(LinkMonitorInNamespace, DrainReportsARecreatedPairDownThenUpAgainOnceSetUp) {
  LinkMonitor monitor;
  Reports reports;
  create_pair_and_wait_up(monitor, reports);
  ASSERT_TRUE(ip("link del lm0"));
  ASSERT_TRUE(drain_until(monitor, reports, [&] { return reports.state("lm0") == LinkState::removed; }))
      << reports.describe();
  ASSERT_TRUE(ip("link add lm0 type veth peer name lm1"));
  ASSERT_TRUE(drain_until(monitor, reports, [&] { return reports.state("lm0") == LinkState::down; }))
      << reports.describe();
  ASSERT_TRUE(ip("link set lm0 up"));
  ASSERT_TRUE(ip("link set lm1 up"));
  ASSERT_TRUE(drain_until(monitor, reports, [&] {
    return reports.state("lm0") == LinkState::up && reports.state("lm1") == LinkState::up;
  })) << reports.describe();
  EXPECT_EQ(reports.latest("lm0")->ifindex, static_cast<int>(::if_nametoindex("lm0")));
  EXPECT_EQ(monitor.query("lm0").state, LinkState::up);
}

TEST_F(LinkMonitorInNamespace, DrainReportsOnlyChangesAfterConstruction) {
  Reports before;
  {
    LinkMonitor waiter;
    create_pair_and_wait_up(waiter, before);
  }
  LinkMonitor monitor;
  Reports reports;
  mark(monitor, reports, "lmm");
  EXPECT_FALSE(reports.mentions("lm0")) << reports.describe();
  EXPECT_FALSE(reports.mentions("lm1")) << reports.describe();
  EXPECT_FALSE(reports.mentions("lo")) << reports.describe();
  ASSERT_TRUE(ip("link set lm0 down"));
  ASSERT_TRUE(drain_until(monitor, reports, [&] {
    return reports.state("lm0") == LinkState::down && reports.state("lm1") == LinkState::down;
  })) << reports.describe();
}

TEST_F(LinkMonitorInNamespace, DrainFoldsNotificationsThatLeaveTheStateUnchanged) {
  LinkMonitor monitor;
  Reports reports;
  create_pair_and_wait_up(monitor, reports);
  reports.clear();
  ASSERT_TRUE(ip("link set lm0 mtu 1400"));
  ASSERT_TRUE(ip("link set lm0 promisc on"));
  ASSERT_TRUE(ip("link set lm0 alias uplink-a"));
  ASSERT_TRUE(ip("link set lm0 up"));
  mark(monitor, reports, "lmm");
  EXPECT_FALSE(reports.mentions("lm0")) << reports.describe();
  EXPECT_FALSE(reports.mentions("lm1")) << reports.describe();
}

TEST_F(LinkMonitorInNamespace, DrainReportsARenameAsTheOldNameRemovedAndTheNewNameWithItsState) {
  LinkMonitor monitor;
  Reports reports;
  ASSERT_TRUE(ip("link add lm0 type veth peer name lm1"));
  ASSERT_TRUE(drain_until(monitor, reports, [&] { return reports.mentions("lm0"); })) << reports.describe();
  const int ifindex = reports.latest("lm0")->ifindex;
  ASSERT_TRUE(ip("link set lm0 name lmx"));  // the kernel renames only interfaces that are down
  ASSERT_TRUE(drain_until(monitor, reports, [&] { return reports.mentions("lmx"); })) << reports.describe();
  EXPECT_EQ(reports.state("lm0"), LinkState::removed);
  EXPECT_EQ(reports.latest("lm0")->ifindex, ifindex);
  EXPECT_EQ(reports.state("lmx"), LinkState::down);
  EXPECT_EQ(reports.latest("lmx")->ifindex, ifindex);
  ASSERT_TRUE(ip("link set lmx up"));
  ASSERT_TRUE(ip("link set lm1 up"));
  ASSERT_TRUE(drain_until(monitor, reports, [&] { return reports.state("lmx") == LinkState::up; }))
      << reports.describe();
  EXPECT_EQ(reports.history("lm0"), (std::vector<LinkState>{LinkState::down, LinkState::removed}));
}

TEST_F(LinkMonitorInNamespace, DrainDoesNotReportABridgePortThatLeavesItsBridgeAsRemoved) {
  if (!ip("link add lmbr type bridge")) GTEST_SKIP() << "no bridge support in this kernel";
  LinkMonitor monitor;
  Reports reports;
  create_pair_and_wait_up(monitor, reports);
  // The bridge announces its ports with RTM_NEWLINK/RTM_DELLINK of family AF_BRIDGE.
  ASSERT_TRUE(ip("link set lm0 master lmbr"));
  ASSERT_TRUE(ip("link set lm0 nomaster"));
  mark(monitor, reports, "lmm");
  EXPECT_EQ(reports.state("lm0"), LinkState::up) << reports.describe();
  const std::vector<LinkState> history = reports.history("lm0");
  EXPECT_EQ(std::count(history.begin(), history.end(), LinkState::removed), 0) << reports.describe();
}

TEST_F(LinkMonitorInNamespace, DrainIgnoresLinkMessagesNotSentByTheKernel) {
  LinkMonitor monitor;
  Reports reports;
  sockaddr_nl monitor_address{};
  socklen_t length = sizeof monitor_address;
  ASSERT_EQ(::getsockname(monitor.fd(), reinterpret_cast<sockaddr*>(&monitor_address), &length), 0);

  // An RTM_NEWLINK saying "lmfake is up", unicast to the monitor's port by a local process.
  struct {
    nlmsghdr header;
    ifinfomsg info;
    rtattr name_attribute;
    char name[8];
  } forged{};
  forged.header.nlmsg_len = sizeof forged;
  forged.header.nlmsg_type = RTM_NEWLINK;
  forged.info.ifi_family = AF_UNSPEC;
  forged.info.ifi_index = 4242;
  forged.info.ifi_flags = IFF_UP | IFF_RUNNING;
  forged.name_attribute.rta_type = IFLA_IFNAME;
  forged.name_attribute.rta_len = RTA_LENGTH(sizeof forged.name);
  std::memcpy(forged.name, "lmfake", 7);
  const int forger = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  ASSERT_GE(forger, 0);
  sockaddr_nl destination{};
  destination.nl_family = AF_NETLINK;
  destination.nl_pid = monitor_address.nl_pid;
  const ssize_t sent = ::sendto(forger, &forged, sizeof forged, 0, reinterpret_cast<const sockaddr*>(&destination),
                                sizeof destination);
  ::close(forger);
  ASSERT_EQ(sent, static_cast<ssize_t>(sizeof forged)) << std::strerror(errno);

  mark(monitor, reports, "lmm");
  EXPECT_FALSE(reports.mentions("lmfake")) << reports.describe();
}

TEST_F(LinkMonitorInNamespace, DrainCatchesUpAfterTheReceiveBufferOverflows) {
  LinkMonitor monitor;
  Reports reports;
  // Shrink the buffer to the kernel's minimum so that a burst of notifications overflows it.
  const int tiny = 0;
  ASSERT_EQ(::setsockopt(monitor.fd(), SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny), 0);
  constexpr int kPairs = 16;
  constexpr int kDeleted = 4;  // the first pairs are deleted again within the burst
  std::ostringstream burst;
  burst << "set -e; for i in $(seq 0 " << kPairs - 1 << "); do ip link add lmo$i type veth peer name lmp$i; "
        << "ip link set lmo$i up; ip link set lmp$i up; done; "
        << "for i in $(seq 0 " << kDeleted - 1 << "); do ip link del lmo$i; done; "
        << "ip link set lmo" << kPairs - 1 << " down; ip link set lmo" << kPairs - 1 << " name lmren";
  ASSERT_EQ(std::system(burst.str().c_str()), 0);
  // Let the rest arrive normally: the test is about the loss above, not about losing forever.
  const int roomy = 1 << 20;
  ASSERT_EQ(::setsockopt(monitor.fd(), SOL_SOCKET, SO_RCVBUF, &roomy, sizeof roomy), 0);

  auto expected = [&](int i) { return i < kDeleted ? LinkState::removed : LinkState::up; };
  auto settled = [&] {
    for (int i = 0; i < kPairs - 1; ++i) {
      const std::string a = "lmo" + std::to_string(i);
      const std::string b = "lmp" + std::to_string(i);
      for (const std::string& name : {a, b}) {
        // An interface created and deleted inside the lost stretch may never have been seen.
        if (i < kDeleted && !reports.mentions(name)) continue;
        if (reports.state(name) != expected(i)) return false;
      }
    }
    // The last pair's first end was set down and renamed lmren; its peer lost carrier.
    const std::string old_name = "lmo" + std::to_string(kPairs - 1);
    const std::string peer = "lmp" + std::to_string(kPairs - 1);
    return reports.state("lmren") == LinkState::down && reports.state(peer) == LinkState::down &&
           (!reports.mentions(old_name) || reports.state(old_name) == LinkState::removed);
  };
  ASSERT_TRUE(drain_until(monitor, reports, settled)) << reports.describe();
  const LinkMonitorStats stats = monitor.stats();
  EXPECT_GE(stats.overruns, 1U);
  EXPECT_GE(stats.resyncs, 1U);
  for (int i = 0; i < kPairs - 1; ++i) {
    const std::string a = "lmo" + std::to_string(i);
    EXPECT_EQ(monitor.query(a).state, expected(i)) << a;
  }
}

}  // namespace
}  // namespace camwatch::capture
