// LinkMonitor: tells which network interfaces went up, down, away or came back (rtnetlink).
//
// Subscribes a NETLINK_ROUTE socket (libnl-route) to link notifications. The owner polls fd()
// and calls drain(), which reads what is pending without blocking and reports each change of an
// interface's state as a LinkChange. query() asks the kernel for one interface's current state.
//
// "Up" means administratively up with carrier (IFF_UP and IFF_RUNNING / operstate up): what
// matters for a capture is whether frames can arrive. The kernel sets IFF_RUNNING when the
// operstate is UP or UNKNOWN (drivers that do not track carrier, lo included, report UNKNOWN),
// so a dormant interface or one whose lower layer is down counts as down. Consequences:
//  - operstate changes reach userspace through the kernel's linkwatch, which may defer them by up
//    to about a second after `ip link set up`: "up" can follow the admin change that late;
//  - a veth end has carrier only while its peer is up: an end that is up itself is reported
//    down while its peer is down, and setting one end down reports both ends down.
//
// What drain() reports is relative to what the monitor already knows: the constructor reads all
// interfaces of the network namespace (without reporting them), so drain() reports only later
// changes, for every interface of the namespace (the owner picks the ones it cares about).
// Repeated notifications that leave an interface's state unchanged (MTU, promiscuity, address
// changes) are folded. An interface seen for the first time is reported with its state (a new
// interface usually appears down). A rename is reported as the old name removed and the new name
// with its state (same ifindex); a name that comes back on another ifindex (deleted and
// re-created) is reported removed for the old ifindex before the new one's state. Deleting an up
// interface usually reports "down" then "removed" (the kernel closes it first). Bridge-port
// notifications (family AF_BRIDGE) are not link state and are ignored, as is any link message
// not sent by the kernel.
//
// Overruns: a burst of notifications (hundreds of veths created at once) can overflow the
// socket's receive buffer (a few MiB are asked for; SO_RCVBUFFORCE is tried, so without
// CAP_NET_ADMIN net.core.rmem_max caps it) and the kernel then drops notifications. drain()
// reads what was queued before the loss, then dumps all interfaces on a separate socket and
// reports every difference from what it knew: interfaces gone, renamed, new, or in another state.
// Reports are therefore eventually right, though a change that was undone inside the lost
// stretch is not seen. If that dump itself fails, it is retried at the next drain().
//
// Not for: addresses, routes. Thread-safety: one thread owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace camwatch::capture {

enum class LinkState : std::uint8_t { up, down, removed };

struct LinkChange {
  std::string interface;
  int ifindex = 0;
  LinkState state = LinkState::down;
};

class LinkMonitorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Totals since the monitor was created; written by drain() only.
struct LinkMonitorStats {
  std::uint64_t overruns = 0;  // receive buffer overflows (notifications lost; each forces a resync)
  std::uint64_t resyncs = 0;   // full dumps of the interfaces that completed after overruns
  std::uint64_t errors = 0;    // failed receives, malformed messages, failed dumps (swallowed)
};

class LinkMonitor {
 public:
  LinkMonitor();  // throws LinkMonitorError
  ~LinkMonitor();
  LinkMonitor(const LinkMonitor&) = delete;
  LinkMonitor& operator=(const LinkMonitor&) = delete;

  // Poll for POLLIN; POLLERR (poll reports it unasked) means an overrun: call drain() too.
  int fd() const noexcept;
  // Reads pending notifications without blocking; calls fn once per interface state change
  // (repeated notifications of an unchanged state are folded). Never throws; fn must not throw
  // either (an exception leaving fn ends the program). Reads at most a few thousand messages
  // per call: under a flood it returns with the fd still readable.
  void drain(const std::function<void(const LinkChange&)>& fn) noexcept;
  // The interface's state now; LinkState::removed when it does not exist (or the name cannot be
  // an interface name). Asks the kernel on a short-lived socket of its own, so it neither reads
  // nor changes what drain() will report. `interface` in the result is the kernel's name (it
  // differs from the argument only when that was an alternative name). Throws LinkMonitorError
  // when the kernel cannot be asked.
  LinkChange query(const std::string& interface) const;
  LinkMonitorStats stats() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace camwatch::capture
