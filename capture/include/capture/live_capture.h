// LiveCapture: one uplink's live capture on a Linux interface, run by one capture thread.
//
// Opens the interface with libpcap (pcap_create + pcap_activate): TPACKET_V3 memory-mapped
// ring (never immediate mode, which makes libpcap fall back to TPACKET_V2), a kernel buffer of
// `buffer_bytes`, a small snaplen that still covers ARP/RARP/NA under stacked VLAN tags, a BPF
// program always installed (without one libpcap copies whole frames whatever the snaplen),
// promiscuous mode as configured, and the capture direction (pcap_setdirection): on a host NIC
// the switch learns from what the host *transmits*; an rx-only SPAN port delivers everything as
// received.
//
// run() loops: pcap_dispatch() a batch, decode each frame into a fixed-size Observation, pass
// it through the uplink's recently-seen filter when one is given (capture/recent_filter.h: the
// repeats of busy stations stop here), publish the batch into the SPSC ring with one write(); a
// full ring drops the rest of the batch and counts it — the capture thread never blocks on the
// tracker and never touches the table. The handle is
// non-blocking and the loop poll()s it together with an eventfd, so stop() wakes it at once
// even when no traffic arrives (TPACKET_V3 with no traffic can otherwise block forever).
//
// Kernel and interface drops come from pcap_stats(), whose counters are 32-bit and wrap; they
// are accumulated wrap-safe into 64-bit totals, read once a second.
//
// Errors: the constructor throws LiveCaptureError with a kind (permission → exit 4 upstream,
// no such device, other) and a one-line message naming the interface. no_such_device also
// covers an interface that exists but is down (Linux will not bind a packet socket to it): in
// both cases the remedy is to wait until the interface is up, then construct again. run()
// never throws: an interface that goes down or disappears ends it with
// EndReason::interface_gone; the owner may construct a new LiveCapture when the interface
// returns. (libpcap 1.10 only reports a deleted interface; for one taken down it just returns
// no frames, so run() asks the kernel for the interface's state itself, on a socket error and
// once a second. A down-and-up bounce over before run() looks can go unnoticed: the kernel
// resumes the capture by itself then. Losing carrier while administratively up is not "down".)
//
// Thread-safety: construct anywhere; run() on one thread, once; stop() and stats() from any
// thread. stop() is final: run() returns at once from then on. stats() reads counters the
// capture thread publishes after every batch (relaxed atomics): while run() is running each
// field is current to within a batch, but fields may be one batch apart; after run() returns
// they are exact. error() is empty until run() ends with interface_gone or error.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "cam/observation.h"
#include "capture/recent_filter.h"
#include "capture/spsc_ring.h"

namespace camwatch::capture {

enum class Direction : std::uint8_t { in, out, inout };

struct LiveCaptureOptions {
  std::string interface;
  Direction direction = Direction::in;
  bool promiscuous = true;
  // 14 Ethernet + 8 tags x 4 + 40 IPv6 + extension headers + 32 NA with option fits in 256.
  int snaplen = 256;
  int buffer_bytes = 64 << 20;  // ~31 ms of 64-byte frames at 10GbE line rate
  std::chrono::milliseconds poll_timeout{100};
};

enum class LiveCaptureErrorKind : std::uint8_t { permission, no_such_device, other };

class LiveCaptureError : public std::runtime_error {
 public:
  LiveCaptureError(LiveCaptureErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  LiveCaptureErrorKind kind() const noexcept { return kind_; }

 private:
  LiveCaptureErrorKind kind_;
};

// Monotonic totals since the LiveCapture was created. Written by the capture thread only.
struct LiveCaptureStats {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::uint64_t malformed = 0;
  std::uint64_t truncated = 0;
  std::uint64_t notifications[cam::kNotificationKinds] = {};
  std::uint64_t nlb_heartbeats = 0;
  std::uint64_t filtered = 0;         // observations the recently-seen filter held back
  std::uint64_t ring_writes = 0;      // ring write() calls: one per batch that had observations
  std::uint64_t ring_drops = 0;       // observations the full ring could not take
  std::uint64_t kernel_drops = 0;     // pcap_stats ps_drop, accumulated across 32-bit wraps
  std::uint64_t interface_drops = 0;  // pcap_stats ps_ifdrop, likewise
};

// Adds the step from one 32-bit counter reading to the next to a 64-bit total, assuming fewer
// than 2^32 events between readings (the counter may wrap once).
inline void accumulate_wrapping(std::uint64_t& total, std::uint32_t& previous, std::uint32_t now) noexcept {
  total += static_cast<std::uint32_t>(now - previous);
  previous = now;
}

class LiveCapture {
 public:
  enum class EndReason : std::uint8_t { stopped, interface_gone, error };

  // `filter`, when given, decides which observations go on to `ring`; like the ring it belongs to
  // the caller, may outlive this capture (a reopened capture goes on with its records) and is
  // used by run()'s thread only.
  LiveCapture(const LiveCaptureOptions& options, cam::UplinkId uplink, SpscRing<cam::Observation>& ring,
              RecentlySeenFilter* filter = nullptr);
  ~LiveCapture();
  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;

  EndReason run() noexcept;
  void stop() noexcept;
  LiveCaptureStats stats() const noexcept;
  // Why run() ended with interface_gone or error ("the interface went down"); the owner adds
  // the interface's name.
  std::string error() const;
  const LiveCaptureOptions& options() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// libpcap's version string ("libpcap version 1.10.3 (with TPACKET_V3)") without the prefix.
std::string libpcap_version();

}  // namespace camwatch::capture
