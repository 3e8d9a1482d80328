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
// Collectors. With `mirror` set the interface is an ERSPAN / GRE collector: run() hands each frame
// to decapsulate_mirror() (capture/mirror_decap.h), maps its session to an uplink with the
// MirrorSessionMap, decodes the mirrored frame and writes the observation, marked with that
// uplink, into the one ring: one collector capture feeds many uplinks. Every frame is counted in
// mirror_stats() (by encapsulation, not mirrored, fragment, unmapped, ...), the decoded ones also
// per uplink in uplink_stats(). A frame of a session no entry maps is counted as unmapped and
// never learned; the first frame of each such session (at most kMaxUnmappedSessions distinct ones
// per capture) is queued for take_unmapped_sessions(), so the owner can log it once, by its ID.
//
// Fanout. `fanout` puts the capture into a PACKET_FANOUT group (setsockopt on the activated
// handle's socket; libpcap has no API for it): the kernel hands each frame of the interface to
// exactly one socket of the group, chosen by a hash of its flow (PACKET_FANOUT_HASH: a flow stays
// on one socket) after reassembling IP fragments (PACKET_FANOUT_FLAG_DEFRAG: fragments of one
// packet hash alike; the capture then sees the reassembled packet). The first capture of a group
// creates it with an id the kernel picks, unique in the network namespace (fanout_group() tells
// it); the others join that id. Each capture of a group has its own thread and ring; the owner
// merges the rings by packet time. Limit: a socket receives every frame of the interface from its
// activation until it joins, microseconds later, so a frame arriving exactly then can be seen by
// two captures of the group (harmless to detection: the same station, uplink and time).
//
// Thread-safety: construct anywhere; run() on one thread, once; stop() and stats() from any
// thread. stop() is final: run() returns at once from then on. stats() reads counters the
// capture thread publishes after every batch (relaxed atomics): while run() is running each
// field is current to within a batch, but fields may be one batch apart; after run() returns
// they are exact; uplink_stats() and mirror_stats() likewise. error() is empty until run() ends
// with interface_gone or error. take_unmapped_sessions() from one thread at a time (the owner).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cam/observation.h"
#include "capture/mirror_decap.h"
#include "capture/mirror_session_map.h"
#include "capture/recent_filter.h"
#include "capture/spsc_ring.h"

namespace camwatch::capture {

enum class Direction : std::uint8_t { in, out, inout };

// How a collector's frames find their uplinks: `sessions` maps a mirror session to an index into
// `uplinks`, the uplink ids written into the observations. Immutable once built: the captures of
// one fanout group share it.
struct MirrorRouting {
  MirrorSessionMap sessions;
  std::vector<cam::UplinkId> uplinks;
};

enum class FanoutMode : std::uint8_t {
  none,    // the capture has the interface's frames to itself
  create,  // start a PACKET_FANOUT group; the kernel picks its id (LiveCapture::fanout_group())
  join,    // join the group LiveCaptureOptions::fanout_group
};

struct LiveCaptureOptions {
  std::string interface;
  Direction direction = Direction::in;
  bool promiscuous = true;
  // 14 Ethernet + 8 tags x 4 + 40 IPv6 + extension headers + 32 NA with option fits in 256.
  int snaplen = 256;
  int buffer_bytes = 64 << 20;  // ~31 ms of 64-byte frames at 10GbE line rate
  std::chrono::milliseconds poll_timeout{100};
  FanoutMode fanout = FanoutMode::none;
  std::uint16_t fanout_group = 0;  // FanoutMode::join: the id fanout_group() of the group's first capture
  // Set: the interface is an ERSPAN / GRE collector (see above); null: an uplink's own interface.
  std::shared_ptr<const MirrorRouting> mirror;
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
// For a collector, stats() counts the frames as received (frames, bytes; malformed and truncated
// encapsulations) and the drops; the decode fields of each uplink are in uplink_stats().
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
  // Distinct unmapped sessions a collector capture reports; more are counted, not reported.
  static constexpr std::size_t kMaxUnmappedSessions = 256;

  enum class EndReason : std::uint8_t { stopped, interface_gone, error };

  // `uplink` marks the observations of an uplink's own interface; a collector (options.mirror)
  // marks each with the uplink its session maps to, and `uplink` is not used. `filter`, when
  // given, decides which observations go on to `ring` (an uplink's own interface only: its
  // records are of one uplink); like the ring it belongs to the caller, may outlive this capture
  // (a reopened capture goes on with its records) and is used by run()'s thread only.
  LiveCapture(const LiveCaptureOptions& options, cam::UplinkId uplink, SpscRing<cam::Observation>& ring,
              RecentlySeenFilter* filter = nullptr);
  ~LiveCapture();
  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;

  EndReason run() noexcept;
  void stop() noexcept;
  LiveCaptureStats stats() const noexcept;
  // Collector: the frames decapsulated for uplink `index` of MirrorRouting::uplinks (frames, bytes,
  // malformed, truncated, notifications, NLB heartbeats; no drops). Zero for other captures.
  LiveCaptureStats uplink_stats(std::size_t index) const noexcept;
  // Collector: every frame by what it held (MirrorCounters, `unmapped` included). Zero otherwise.
  MirrorCounters mirror_stats() const noexcept;
  // Collector: moves up to `capacity` keys of sessions seen unmapped for the first time into
  // `out` (each the exact key of the session's first frame, index included) and returns how many.
  std::size_t take_unmapped_sessions(MirrorSessionKey* out, std::size_t capacity) noexcept;
  // The PACKET_FANOUT group the capture is in (FanoutMode::create: the id the kernel chose);
  // 0 when it is in none. (A group id may be 0 too: check options().fanout.)
  std::uint16_t fanout_group() const noexcept;
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
