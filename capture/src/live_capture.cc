// LiveCapture: libpcap's TPACKET_V3 ring on a Linux interface, read in batches by one thread.
#include "capture/live_capture.h"

#include <linux/if_packet.h>
#include <net/if.h>
#include <pcap.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <span>
#include <vector>

#include "capture/frame_decoder.h"
#include "capture/mirror_decap.h"

namespace camwatch::capture {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::int64_t kNanosecondsPerSecond = 1'000'000'000;
// Frames taken per pcap_dispatch() and published per ring write(): 512 x 32 B = 16 KiB, which
// stays in L1/L2 between decoding and copying into the ring.
constexpr int kBatchFrames = 512;
// How often pcap_stats() is read and the interface's state checked: one getsockopt(), one
// small sysfs read inside libpcap and two ioctls per second.
constexpr auto kStatsInterval = std::chrono::seconds(1);
constexpr std::size_t kErrorCapacity = PCAP_ERRBUF_SIZE + 160;

struct PcapCloser {
  void operator()(pcap_t* pcap) const noexcept { pcap_close(pcap); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

// Owns the descriptor stop() signals.
class EventFd {
 public:
  EventFd() noexcept = default;
  ~EventFd() { reset(-1); }
  EventFd(const EventFd&) = delete;
  EventFd& operator=(const EventFd&) = delete;
  int get() const noexcept { return fd_; }
  void reset(int fd) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

std::string cannot_capture(const std::string& interface, const std::string& why) {
  return "cannot capture on " + interface + ": " + why;
}

[[noreturn]] void refuse(LiveCaptureErrorKind kind, const std::string& interface, const std::string& why) {
  throw LiveCaptureError(kind, cannot_capture(interface, why));
}

// What libpcap said after a failed call on `pcap`, or its generic text for `status`.
std::string pcap_reason(pcap_t* pcap, int status) {
  const char* text = pcap_geterr(pcap);
  if (text != nullptr && *text != '\0') return text;
  return pcap_statustostr(status);
}

// A pcap_set_*() before activation can only fail on an activated handle; checked anyway so that
// a libpcap that starts refusing a value says so instead of capturing with its default.
void check_setting(int status, const char* setting, const std::string& interface) {
  if (status != 0) {
    refuse(LiveCaptureErrorKind::other, interface, std::string(setting) + ": " + pcap_statustostr(status));
  }
}

// Turns pcap_activate()'s result into a LiveCaptureError, or returns for success and the
// warnings that leave a usable capture.
void check_activation(pcap_t* pcap, int status, const std::string& name) {
  switch (status) {
    case 0:
      return;
    case PCAP_WARNING:
      // Informational (for example "falling back to cooked socket"); a capture that is really
      // unusable for us fails the link-type check that follows.
      return;
    case PCAP_WARNING_TSTAMP_TYPE_NOTSUP:
      return;  // only returned after pcap_set_tstamp_type(), which camwatch does not call
    case PCAP_WARNING_PROMISC_NOTSUP:
      // Without promiscuous mode a SPAN port's mirrored frames (addressed to other hosts) are
      // dropped by the NIC's address filter: capturing would silently see almost nothing.
      refuse(LiveCaptureErrorKind::other, name,
             "the interface cannot be put in promiscuous mode (" + pcap_reason(pcap, status) +
                 "); a mirror port needs it, a host NIC can be captured without it");
    case PCAP_ERROR_PERM_DENIED:
      refuse(LiveCaptureErrorKind::permission, name, "permission denied (camwatch needs CAP_NET_RAW)");
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      refuse(LiveCaptureErrorKind::permission, name,
             "permission denied for promiscuous mode (camwatch needs CAP_NET_RAW)");
    case PCAP_ERROR_NO_SUCH_DEVICE:
      refuse(LiveCaptureErrorKind::no_such_device, name, "no such interface");
    case PCAP_ERROR_IFACE_NOT_UP:
      // Linux refuses to bind a packet socket to a down interface (libpcap 1.10 reports the
      // bind's ENETDOWN as this). Reported as no_such_device because the remedy is the same:
      // wait until the link monitor says the interface is up, then open it again.
      refuse(LiveCaptureErrorKind::no_such_device, name, "the interface is down");
#ifdef PCAP_ERROR_CAPTURE_NOTSUP  // libpcap 1.11
    case PCAP_ERROR_CAPTURE_NOTSUP:
      refuse(LiveCaptureErrorKind::other, name, "capturing is not supported on it: " + pcap_reason(pcap, status));
#endif
    case PCAP_ERROR_RFMON_NOTSUP:    // monitor mode is never requested
    case PCAP_ERROR_ACTIVATED:       // the handle is fresh
    case PCAP_ERROR:
    default:
      refuse(LiveCaptureErrorKind::other, name, pcap_reason(pcap, status));
  }
}

pcap_direction_t to_pcap(Direction direction) noexcept {
  switch (direction) {
    case Direction::in:
      return PCAP_D_IN;
    case Direction::out:
      return PCAP_D_OUT;
    case Direction::inout:
      break;
  }
  return PCAP_D_INOUT;
}

// Counters the capture thread publishes for stats(): one relaxed store per field per batch.
// Single writer, so a relaxed load always sees some earlier complete value of each field.
struct alignas(64) PublishedStats {
  std::atomic<std::uint64_t> frames{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> truncated{0};
  std::array<std::atomic<std::uint64_t>, cam::kNotificationKinds> notifications{};
  std::atomic<std::uint64_t> nlb_heartbeats{0};
  std::atomic<std::uint64_t> filtered{0};
  std::atomic<std::uint64_t> ring_writes{0};
  std::atomic<std::uint64_t> ring_drops{0};
  std::atomic<std::uint64_t> kernel_drops{0};
  std::atomic<std::uint64_t> interface_drops{0};
};

// A collector's MirrorCounters, published like PublishedStats.
struct alignas(64) PublishedMirror {
  std::atomic<std::uint64_t> frames{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> truncated{0};
  std::atomic<std::uint64_t> fragments{0};
  std::atomic<std::uint64_t> not_mirrored{0};
  std::atomic<std::uint64_t> not_ethernet{0};
  std::array<std::atomic<std::uint64_t>, kMirrorEncapKinds> mirrored{};
  std::atomic<std::uint64_t> switch_truncated{0};
  std::atomic<std::uint64_t> unmapped{0};
};

void store_decode(PublishedStats& out, const DecodeCounters& c) noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  out.frames.store(c.frames, relaxed);
  out.bytes.store(c.bytes, relaxed);
  out.malformed.store(c.malformed, relaxed);
  out.truncated.store(c.truncated, relaxed);
  for (std::size_t i = 0; i < out.notifications.size(); ++i) out.notifications[i].store(c.notifications[i], relaxed);
  out.nlb_heartbeats.store(c.nlb_heartbeats, relaxed);
}

LiveCaptureStats load_stats(const PublishedStats& p) noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  LiveCaptureStats s;
  s.frames = p.frames.load(relaxed);
  s.bytes = p.bytes.load(relaxed);
  s.malformed = p.malformed.load(relaxed);
  s.truncated = p.truncated.load(relaxed);
  for (int i = 0; i < cam::kNotificationKinds; ++i) {
    s.notifications[i] = p.notifications[static_cast<std::size_t>(i)].load(relaxed);
  }
  s.nlb_heartbeats = p.nlb_heartbeats.load(relaxed);
  s.filtered = p.filtered.load(relaxed);
  s.ring_writes = p.ring_writes.load(relaxed);
  s.ring_drops = p.ring_drops.load(relaxed);
  s.kernel_drops = p.kernel_drops.load(relaxed);
  s.interface_drops = p.interface_drops.load(relaxed);
  return s;
}

// The sessions a collector capture has already reported unmapped: open addressing over a fixed
// table twice the size of the most it holds, so a probe always ends. One ERSPAN session is one
// entry whatever its indexes (the log names a session once, not every port of it).
class SessionSet {
 public:
  // False when the set is full: the key is then neither added nor to be reported.
  bool contains_or_full(const MirrorSessionKey& key) const noexcept {
    if (size_ == LiveCapture::kMaxUnmappedSessions) return true;
    return slots_[probe(pack(key))] != 0;
  }
  void insert(const MirrorSessionKey& key) noexcept {
    const std::uint64_t packed = pack(key);
    std::uint64_t& slot = slots_[probe(packed)];
    if (slot == 0 && size_ < LiveCapture::kMaxUnmappedSessions) {
      slot = packed;
      ++size_;
    }
  }

 private:
  static constexpr std::size_t kSlots = 2 * LiveCapture::kMaxUnmappedSessions;  // a power of two
  static std::uint64_t pack(const MirrorSessionKey& key) noexcept {
    return (std::uint64_t{static_cast<std::uint8_t>(key.kind)} + 1) << 32 | key.id;  // never 0
  }
  std::size_t probe(std::uint64_t packed) const noexcept {
    std::size_t i = static_cast<std::size_t>((packed * 0x9E37'79B9'7F4A'7C15ULL) >> 55) & (kSlots - 1);
    while (slots_[i] != 0 && slots_[i] != packed) i = (i + 1) & (kSlots - 1);
    return i;
  }
  std::array<std::uint64_t, kSlots> slots_{};
  std::size_t size_ = 0;
};

enum class LinkState : std::uint8_t { up, down, gone, unknown };

}  // namespace

class LiveCapture::Impl {
 public:
  Impl(const LiveCaptureOptions& options, cam::UplinkId uplink, SpscRing<cam::Observation>& ring,
       RecentlySeenFilter* filter)
      : options_(options), uplink_(uplink), ring_(ring), filter_(options.mirror ? nullptr : filter),
        routing_(options.mirror.get()) {
    if (routing_ != nullptr) {
      // Everything a collector needs per frame is allocated here, never in run().
      uplink_counters_.resize(routing_->uplinks.size());
      published_uplinks_ = std::make_unique<PublishedStats[]>(routing_->uplinks.size());
      published_mirror_ = std::make_unique<PublishedMirror>();
      unmapped_reports_ = std::make_unique<SpscRing<MirrorSessionKey>>(64);
      unmapped_seen_ = std::make_unique<SessionSet>();
    }
    open();
  }

  EndReason run() noexcept;

  void stop() noexcept {
    const std::uint64_t one = 1;
    // Can only fail if the counter would overflow, which 2^64 - 2 stops would take.
    [[maybe_unused]] const ssize_t n = ::write(stop_fd_.get(), &one, sizeof one);
  }

  LiveCaptureStats stats() const noexcept { return load_stats(published_); }

  LiveCaptureStats uplink_stats(std::size_t index) const noexcept {
    if (routing_ == nullptr || index >= uplink_counters_.size()) return {};
    return load_stats(published_uplinks_[index]);
  }

  MirrorCounters mirror_stats() const noexcept {
    MirrorCounters m;
    if (!published_mirror_) return m;
    constexpr auto relaxed = std::memory_order_relaxed;
    const PublishedMirror& p = *published_mirror_;
    m.frames = p.frames.load(relaxed);
    m.bytes = p.bytes.load(relaxed);
    m.malformed = p.malformed.load(relaxed);
    m.truncated = p.truncated.load(relaxed);
    m.fragments = p.fragments.load(relaxed);
    m.not_mirrored = p.not_mirrored.load(relaxed);
    m.not_ethernet = p.not_ethernet.load(relaxed);
    for (std::size_t i = 0; i < p.mirrored.size(); ++i) m.mirrored[i] = p.mirrored[i].load(relaxed);
    m.switch_truncated = p.switch_truncated.load(relaxed);
    m.unmapped = p.unmapped.load(relaxed);
    return m;
  }

  std::size_t take_unmapped_sessions(MirrorSessionKey* out, std::size_t capacity) noexcept {
    return unmapped_reports_ ? unmapped_reports_->read(out, capacity) : 0;
  }

  std::uint16_t fanout_group() const noexcept { return fanout_group_; }

  std::string error() const {
    const std::lock_guard lock(error_mutex_);
    return std::string(error_text_.data());
  }

  const LiveCaptureOptions& options() const noexcept { return options_; }

 private:
  void open();
  static void on_frame(u_char* user, const pcap_pkthdr* header, const u_char* bytes) noexcept;
  void take(const pcap_pkthdr& header, const u_char* bytes) noexcept;
  void take_mirrored(cam::PacketTime time, const pcap_pkthdr& header, const u_char* bytes) noexcept;
  void note_unmapped(const MirroredFrame& frame) noexcept;
  void join_fanout_group();
  void flush_batch() noexcept;
  void refresh_kernel_stats() noexcept;
  void publish() noexcept;
  void publish_mirror() noexcept;
  LinkState link_state() const noexcept;
  EndReason end_on_link(LinkState state) noexcept;
  [[gnu::cold, gnu::noinline, gnu::format(printf, 3, 4)]] EndReason end(EndReason reason, const char* format,
                                                                         ...) noexcept;

  const LiveCaptureOptions options_;
  const cam::UplinkId uplink_;
  SpscRing<cam::Observation>& ring_;
  RecentlySeenFilter* const filter_;
  PcapHandle pcap_;
  EventFd stop_fd_;
  int pcap_fd_ = -1;
  int ifindex_ = 0;
  int poll_timeout_ms_ = 100;
  // 1 when libpcap hands us nanoseconds in ts.tv_usec (asked for), 1000 if it could only do µs.
  std::int64_t fraction_unit_ns_ = 1;

  // Collector: the session map (owned by options_.mirror), per-uplink counters, and the sessions
  // found unmapped. Null / empty for an uplink's own interface.
  const MirrorRouting* routing_ = nullptr;
  std::vector<DecodeCounters> uplink_counters_;   // capture thread only, by routing index
  MirrorCounters mirror_counters_;                // capture thread only
  std::unique_ptr<PublishedStats[]> published_uplinks_;
  std::unique_ptr<PublishedMirror> published_mirror_;
  std::unique_ptr<SpscRing<MirrorSessionKey>> unmapped_reports_;  // capture thread -> owner
  std::unique_ptr<SessionSet> unmapped_seen_;                      // capture thread only
  std::uint16_t fanout_group_ = 0;

  // Capture thread only.
  DecodeCounters counters_;
  std::uint64_t filtered_ = 0;
  std::uint64_t ring_writes_ = 0;
  std::uint64_t ring_drops_ = 0;
  std::uint64_t kernel_drops_ = 0;
  std::uint64_t interface_drops_ = 0;
  std::uint32_t last_ps_drop_ = 0;
  std::uint32_t last_ps_ifdrop_ = 0;
  std::size_t batch_size_ = 0;
  std::array<cam::Observation, kBatchFrames> batch_{};

  PublishedStats published_;

  mutable std::mutex error_mutex_;
  std::array<char, kErrorCapacity> error_text_{};
};

void LiveCapture::Impl::open() {
  const std::string& name = options_.interface;
  // libpcap copies the name into a 16-byte ifreq: a longer one would be cut and could name
  // another interface.
  if (name.empty() || name.size() >= IFNAMSIZ) {
    refuse(LiveCaptureErrorKind::no_such_device, name,
           "not an interface name (1 to " + std::to_string(IFNAMSIZ - 1) + " bytes)");
  }
  if (options_.snaplen <= 0) refuse(LiveCaptureErrorKind::other, name, "snaplen must be positive");
  if (options_.buffer_bytes <= 0) refuse(LiveCaptureErrorKind::other, name, "buffer size must be positive");
  if (options_.poll_timeout.count() <= 0) refuse(LiveCaptureErrorKind::other, name, "poll timeout must be positive");
  poll_timeout_ms_ = static_cast<int>(std::min<std::chrono::milliseconds::rep>(options_.poll_timeout.count(), INT_MAX));

  // Looked up before libpcap so that a missing interface is reported as such whatever the
  // privileges (libpcap opens its socket first and would say "permission denied").
  ifindex_ = static_cast<int>(::if_nametoindex(name.c_str()));
  if (ifindex_ == 0) {
    const int error = errno;
    if (error == ENODEV || error == ENXIO) refuse(LiveCaptureErrorKind::no_such_device, name, "no such interface");
    refuse(LiveCaptureErrorKind::other, name, std::string("cannot look the interface up: ") + std::strerror(error));
  }

  std::array<char, PCAP_ERRBUF_SIZE> errbuf{};
  pcap_.reset(pcap_create(name.c_str(), errbuf.data()));
  if (!pcap_) refuse(LiveCaptureErrorKind::other, name, errbuf.data());
  pcap_t* pcap = pcap_.get();

  check_setting(pcap_set_snaplen(pcap, options_.snaplen), "snaplen", name);
  check_setting(pcap_set_promisc(pcap, options_.promiscuous ? 1 : 0), "promiscuous mode", name);
  check_setting(pcap_set_buffer_size(pcap, options_.buffer_bytes), "buffer size", name);
  // With TPACKET_V3 this is also the kernel's block retire timeout: the longest a frame waits in
  // a half-filled block before the kernel hands the block to us.
  check_setting(pcap_set_timeout(pcap, poll_timeout_ms_), "timeout", name);
  // Never immediate mode: libpcap 1.10 then falls back from TPACKET_V3 (blocks of frames) to
  // TPACKET_V2 (one frame per slot, a wakeup per frame), measured at 93% drops at 1.3 Mframes/s.
  check_setting(pcap_set_immediate_mode(pcap, 0), "immediate mode", name);
  // Nanoseconds if the platform has them; otherwise libpcap keeps microseconds (checked below).
  (void)pcap_set_tstamp_precision(pcap, PCAP_TSTAMP_PRECISION_NANO);

  check_activation(pcap, pcap_activate(pcap), name);
  // At once: until it joins, the socket gets every frame the group gets too.
  if (options_.fanout != FanoutMode::none) join_fanout_group();

  const int dlt = pcap_datalink(pcap);
  if (dlt != DLT_EN10MB) {
    const char* link_name = pcap_datalink_val_to_name(dlt);
    refuse(LiveCaptureErrorKind::other, name,
           "link type " + std::string(link_name != nullptr ? link_name : "unknown") + " (" + std::to_string(dlt) +
               ") is not Ethernet; camwatch captures Ethernet only");
  }
  if (pcap_setdirection(pcap, to_pcap(options_.direction)) != 0) {
    refuse(LiveCaptureErrorKind::other, name, "cannot set the capture direction: " + pcap_reason(pcap, PCAP_ERROR));
  }
  // Always a filter, even an empty one: libpcap then installs a kernel program that returns the
  // snaplen, so the kernel copies at most snaplen bytes into the ring. Without any program
  // libpcap 1.10 lets whole frames into the ring and only cuts them when handing them to us
  // (measured on a veth: of 2000 back-to-back 1400-byte frames a 256 KiB ring held 176 without
  // a program, 761 with the empty one).
  bpf_program program{};
  if (pcap_compile(pcap, &program, "", 1, PCAP_NETMASK_UNKNOWN) != 0) {
    refuse(LiveCaptureErrorKind::other, name, "cannot compile the capture filter: " + pcap_reason(pcap, PCAP_ERROR));
  }
  const int filter_status = pcap_setfilter(pcap, &program);
  pcap_freecode(&program);
  if (filter_status != 0) {
    refuse(LiveCaptureErrorKind::other, name, "cannot install the capture filter: " + pcap_reason(pcap, PCAP_ERROR));
  }
  // Non-blocking: run() waits in its own poll() together with the stop eventfd, and
  // pcap_dispatch() only takes what is already in the ring.
  if (pcap_setnonblock(pcap, 1, errbuf.data()) != 0) {
    refuse(LiveCaptureErrorKind::other, name, std::string("cannot make the capture non-blocking: ") + errbuf.data());
  }
  pcap_fd_ = pcap_get_selectable_fd(pcap);
  if (pcap_fd_ < 0) refuse(LiveCaptureErrorKind::other, name, "libpcap gives no descriptor to poll");
  fraction_unit_ns_ = pcap_get_tstamp_precision(pcap) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;

  const int stop_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd < 0) {
    refuse(LiveCaptureErrorKind::other, name, std::string("cannot create an eventfd: ") + std::strerror(errno));
  }
  stop_fd_.reset(stop_fd);
}

void LiveCapture::Impl::join_fanout_group() {
  const std::string& name = options_.interface;
  const int fd = pcap_fileno(pcap_.get());
  // HASH keeps a flow on one socket; DEFRAG reassembles IP fragments first, so that the pieces of
  // one packet are not spread over several sockets (and a fragmented mirror decapsulates whole).
  std::uint32_t type_flags = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG;
  std::uint32_t id = options_.fanout_group;
  if (options_.fanout == FanoutMode::create) {
    // The kernel picks an id no other group of this network namespace has (Linux 4.19+), so two
    // camwatch processes, or two interfaces of one, never meet in one group.
    type_flags |= PACKET_FANOUT_FLAG_UNIQUEID;
    id = 0;
  }
  std::uint32_t argument = id | type_flags << 16;
  if (::setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &argument, sizeof argument) != 0) {
    const int error = errno;
    refuse(LiveCaptureErrorKind::other, name,
           (options_.fanout == FanoutMode::create ? std::string("cannot create a PACKET_FANOUT group: ")
                                                  : "cannot join PACKET_FANOUT group " + std::to_string(id) + ": ") +
               std::strerror(error));
  }
  if (options_.fanout == FanoutMode::create) {
    socklen_t length = sizeof argument;
    if (::getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &argument, &length) != 0) {
      refuse(LiveCaptureErrorKind::other, name,
             std::string("cannot read the PACKET_FANOUT group's id: ") + std::strerror(errno));
    }
    id = argument & 0xFFFF;
  }
  fanout_group_ = static_cast<std::uint16_t>(id);
}

LiveCapture::EndReason LiveCapture::Impl::run() noexcept {
  std::array<pollfd, 2> fds{};
  fds[0] = pollfd{.fd = pcap_fd_, .events = POLLIN, .revents = 0};
  fds[1] = pollfd{.fd = stop_fd_.get(), .events = POLLIN, .revents = 0};
  Clock::time_point next_check = Clock::now() + kStatsInterval;
  bool more_waiting = false;
  // After stop(), frames already in the kernel ring are still taken: TPACKET_V3 hands a
  // partly filled block over only when its timeout (poll_timeout) expires, so the loop goes on
  // reading for one timeout (at most 0.5 s) and a little more before it returns, so a clean
  // stop loses nothing that had arrived.
  bool draining = false;
  Clock::time_point drain_until{};
  for (;;) {
    // After a full batch the ring may hold more: look at the stop request without waiting and
    // go on reading.
    int wait_ms = more_waiting ? 0 : poll_timeout_ms_;
    if (draining) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(drain_until - Clock::now()).count();
      // Bounded whatever the traffic: under a flood every batch is full, and waiting for an
      // empty ring would hold the stop (and a reload, and the watchdog) for as long as it lasts.
      if (left <= 0) {
        refresh_kernel_stats();
        publish();
        return EndReason::stopped;
      }
      wait_ms = more_waiting ? 0 : static_cast<int>(std::max<long long>(left, 0));
    }
    // While draining, the (sticky) stop eventfd is left out of the poll set.
    const int ready = ::poll(fds.data(), draining ? 1 : fds.size(), wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return end(EndReason::error, "poll: %s", std::strerror(errno));
    }
    if (!draining && (fds[1].revents & POLLIN) != 0) {
      // stop() is final: the eventfd is left signalled, so a later run() stops at once too.
      draining = true;
      // Bounded, so that a long configured timeout cannot hold up a stop.
      drain_until = Clock::now() + std::chrono::milliseconds(std::min(poll_timeout_ms_, 500) + 20);
      fds[1].revents = 0;
    }
    const bool socket_event = (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;

    // Called on timeouts as well: libpcap notices a vanished interface only inside its read
    // path (it polls once, with timeout 0, in non-blocking mode).
    const int result = pcap_dispatch(pcap_.get(), kBatchFrames, &Impl::on_frame, reinterpret_cast<u_char*>(this));
    flush_batch();
    if (result > 0) publish();

    if (result >= 0) {  // frames handed to on_frame (0: none ready)
      more_waiting = result == kBatchFrames;
    } else if (result == PCAP_ERROR) {
      // libpcap says "The interface disappeared" once it sees the device gone; anything else
      // is a real failure unless the interface is down or gone as we look now.
      const LinkState state = link_state();
      if (state == LinkState::down || state == LinkState::gone) return end_on_link(state);
      return end(EndReason::error, "libpcap: %s", pcap_geterr(pcap_.get()));
    } else if (result == PCAP_ERROR_BREAK) {
      // Only pcap_breakloop() causes it, which camwatch never calls; read as a stop.
      publish();
      return EndReason::stopped;
    } else {
      return end(EndReason::error, "libpcap returned an unexpected %d", result);
    }

    // A down or deleted interface shows as POLLERR (ENETDOWN) on the packet socket. libpcap
    // clears the error and, for an interface that is merely down, keeps returning 0, so we ask
    // the kernel ourselves; once a second too, in case the event went by inside libpcap.
    const Clock::time_point now = Clock::now();
    if (socket_event || now >= next_check) {
      if (now >= next_check) {
        next_check = now + kStatsInterval;
        refresh_kernel_stats();
        publish();
      }
      const LinkState state = link_state();
      if (state == LinkState::down || state == LinkState::gone) return end_on_link(state);
    }
  }
}

void LiveCapture::Impl::on_frame(u_char* user, const pcap_pkthdr* header, const u_char* bytes) noexcept {
  reinterpret_cast<Impl*>(user)->take(*header, bytes);
}

void LiveCapture::Impl::take(const pcap_pkthdr& header, const u_char* bytes) noexcept {
  // pcap_dispatch() is capped at one batch, so this only guards against a libpcap that
  // overshoots.
  if (batch_size_ == batch_.size()) flush_batch();
  // With nanosecond precision ts.tv_usec holds nanoseconds.
  const std::int64_t ns = std::int64_t{header.ts.tv_sec} * kNanosecondsPerSecond +
                          std::int64_t{header.ts.tv_usec} * fraction_unit_ns_;
  if (routing_ != nullptr) {
    take_mirrored(cam::PacketTime(cam::Duration(ns)), header, bytes);
    return;
  }
  if (to_observation(cam::PacketTime(cam::Duration(ns)), std::span<const std::uint8_t>(bytes, header.caplen),
                     header.len, uplink_, counters_, batch_[batch_size_])) {
    ++batch_size_;
  }
}

// A collector's frame: decapsulate, find the session's uplink, decode the mirrored frame for it.
void LiveCapture::Impl::take_mirrored(cam::PacketTime time, const pcap_pkthdr& header, const u_char* bytes) noexcept {
  const MirroredFrame m = decapsulate_mirror(std::span<const std::uint8_t>(bytes, header.caplen), header.len);
  mirror_counters_.count(m, header.len);
  if (!m.has_inner_ethernet()) return;
  const cam::UplinkId index = routing_->sessions.find(m);
  if (index >= uplink_counters_.size()) [[unlikely]] {  // kNoUplink, or an entry past `uplinks`
    ++mirror_counters_.unmapped;
    note_unmapped(m);
    return;
  }
  if (to_observation(time, m.inner, m.inner_wire_length, routing_->uplinks[index], uplink_counters_[index],
                     batch_[batch_size_])) {
    ++batch_size_;
  }
}

// Queues the first frame's key of a session not reported yet. A full queue leaves the session
// unreported, to be tried again with its next frame.
void LiveCapture::Impl::note_unmapped(const MirroredFrame& frame) noexcept {
  const MirrorSessionKey exact = MirrorSessionKey::of(frame);
  MirrorSessionKey session = exact;
  session.has_index = false;
  session.index = 0;
  if (unmapped_seen_->contains_or_full(session)) return;
  if (unmapped_reports_->write(&exact, 1) == 1) unmapped_seen_->insert(session);
}

void LiveCapture::Impl::flush_batch() noexcept {
  if (filter_ != nullptr && batch_size_ != 0) {
    // The batch at once, not frame by frame in take(): the filter prefetches its records ahead.
    const std::size_t kept = filter_->pass_batch(batch_.data(), batch_size_);
    filtered_ += batch_size_ - kept;
    batch_size_ = kept;
  }
  if (batch_size_ == 0) return;
  const std::size_t written = ring_.write(batch_.data(), batch_size_);
  ++ring_writes_;
  ring_drops_ += batch_size_ - written;
  batch_size_ = 0;
}

void LiveCapture::Impl::refresh_kernel_stats() noexcept {
  pcap_stat ps{};
  // Fails only on a broken socket; the totals then stay where they were.
  if (pcap_stats(pcap_.get(), &ps) != 0) return;
  // libpcap keeps these as 32-bit running totals (ps_drop: the kernel ring's tp_drops;
  // ps_ifdrop: the interface's rx_missed/rx_fifo errors since the capture opened).
  accumulate_wrapping(kernel_drops_, last_ps_drop_, ps.ps_drop);
  accumulate_wrapping(interface_drops_, last_ps_ifdrop_, ps.ps_ifdrop);
}

void LiveCapture::Impl::publish() noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  if (routing_ != nullptr) {
    publish_mirror();
  } else {
    store_decode(published_, counters_);
  }
  published_.filtered.store(filtered_, relaxed);
  published_.ring_writes.store(ring_writes_, relaxed);
  published_.ring_drops.store(ring_drops_, relaxed);
  published_.kernel_drops.store(kernel_drops_, relaxed);
  published_.interface_drops.store(interface_drops_, relaxed);
}

void LiveCapture::Impl::publish_mirror() noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  const MirrorCounters& c = mirror_counters_;
  // The collector's own line: frames as received; what went wrong with their encapsulation.
  published_.frames.store(c.frames, relaxed);
  published_.bytes.store(c.bytes, relaxed);
  published_.malformed.store(c.malformed, relaxed);
  published_.truncated.store(c.truncated, relaxed);
  PublishedMirror& p = *published_mirror_;
  p.frames.store(c.frames, relaxed);
  p.bytes.store(c.bytes, relaxed);
  p.malformed.store(c.malformed, relaxed);
  p.truncated.store(c.truncated, relaxed);
  p.fragments.store(c.fragments, relaxed);
  p.not_mirrored.store(c.not_mirrored, relaxed);
  p.not_ethernet.store(c.not_ethernet, relaxed);
  for (std::size_t i = 0; i < p.mirrored.size(); ++i) p.mirrored[i].store(c.mirrored[i], relaxed);
  p.switch_truncated.store(c.switch_truncated, relaxed);
  p.unmapped.store(c.unmapped, relaxed);
  for (std::size_t i = 0; i < uplink_counters_.size(); ++i) store_decode(published_uplinks_[i], uplink_counters_[i]);
}

LinkState LiveCapture::Impl::link_state() const noexcept {
  // Asked through the capture's own socket, so in the network namespace it was opened in.
  ifreq request{};
  std::memcpy(request.ifr_name, options_.interface.data(), options_.interface.size());  // < IFNAMSIZ
  if (::ioctl(pcap_fd_, SIOCGIFINDEX, &request) != 0) {
    return errno == ENODEV || errno == ENXIO ? LinkState::gone : LinkState::unknown;
  }
  // Deleted and created again under the same name: our socket is still bound to the old one.
  if (request.ifr_ifindex != ifindex_) return LinkState::gone;
  if (::ioctl(pcap_fd_, SIOCGIFFLAGS, &request) != 0) {
    return errno == ENODEV || errno == ENXIO ? LinkState::gone : LinkState::unknown;
  }
  return (request.ifr_flags & IFF_UP) != 0 ? LinkState::up : LinkState::down;
}

LiveCapture::EndReason LiveCapture::Impl::end_on_link(LinkState state) noexcept {
  refresh_kernel_stats();
  publish();
  return end(EndReason::interface_gone, "%s", state == LinkState::down ? "the interface went down"
                                                                       : "the interface disappeared");
}

LiveCapture::EndReason LiveCapture::Impl::end(EndReason reason, const char* format, ...) noexcept {
  publish();
  const std::lock_guard lock(error_mutex_);
  va_list args;
  va_start(args, format);
  (void)std::vsnprintf(error_text_.data(), error_text_.size(), format, args);
  va_end(args);
  return reason;
}

LiveCapture::LiveCapture(const LiveCaptureOptions& options, cam::UplinkId uplink, SpscRing<cam::Observation>& ring,
                         RecentlySeenFilter* filter)
    : impl_(std::make_unique<Impl>(options, uplink, ring, filter)) {}

LiveCapture::~LiveCapture() = default;

LiveCapture::EndReason LiveCapture::run() noexcept { return impl_->run(); }

void LiveCapture::stop() noexcept { impl_->stop(); }

LiveCaptureStats LiveCapture::stats() const noexcept { return impl_->stats(); }

LiveCaptureStats LiveCapture::uplink_stats(std::size_t index) const noexcept { return impl_->uplink_stats(index); }

MirrorCounters LiveCapture::mirror_stats() const noexcept { return impl_->mirror_stats(); }

std::size_t LiveCapture::take_unmapped_sessions(MirrorSessionKey* out, std::size_t capacity) noexcept {
  return impl_->take_unmapped_sessions(out, capacity);
}

std::uint16_t LiveCapture::fanout_group() const noexcept { return impl_->fanout_group(); }

std::string LiveCapture::error() const { return impl_->error(); }

const LiveCaptureOptions& LiveCapture::options() const noexcept { return impl_->options(); }

std::string libpcap_version() {
  std::string v = pcap_lib_version();
  constexpr std::string_view prefix = "libpcap version ";
  if (v.starts_with(prefix)) v.erase(0, prefix.size());
  return v;
}

}  // namespace camwatch::capture
