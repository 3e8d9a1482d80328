#include "libpcap_file.h"

#include <pcap.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstring>
#include <limits>
#include <utility>

namespace camwatch::capture::detail {
namespace {

constexpr std::int64_t kNanosecondsPerSecond = 1'000'000'000;
constexpr std::int64_t kTwoToThe32 = std::int64_t{1} << 32;
// Latest second whose nanosecond count, plus any fraction libpcap can hand us (< 2^32 × 1000
// ns), still fits in PacketTime's int64 (the year 2262).
constexpr std::int64_t kLatestSecond =
    (std::numeric_limits<std::int64_t>::max() - kTwoToThe32 * 1000) / kNanosecondsPerSecond;
// libpcap's messages are at most PCAP_ERRBUF_SIZE; reserved so that next() never allocates.
constexpr std::size_t kErrorCapacity = PCAP_ERRBUF_SIZE + 128;

struct PcapCloser {
  void operator()(pcap_t* pcap) const noexcept { pcap_close(pcap); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

class LibpcapFile final : public CaptureFile {
 public:
  LibpcapFile(PcapHandle pcap, LibpcapSource&& source)
      : pcap_(std::move(pcap)),
        format_(std::move(source.format)),
        size_bytes_(source.size_bytes),
        classic_pcap_(source.classic_pcap),
        fraction_unit_ns_(source.fraction_unit_ns) {
    error_.reserve(kErrorCapacity);
  }

  ReadStatus next(RawFrame& out) noexcept override {
    // libpcap is not asked again once it has reported the end or an error.
    if (state_ != State::reading) return state_ == State::ended ? ReadStatus::end : ReadStatus::error;
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int result = pcap_next_ex(pcap_.get(), &header, &data);
    switch (result) {
      case 1:  // a frame
        return take(*header, data, out);
      case PCAP_ERROR_BREAK:  // no more frames in the file
        state_ = State::ended;
        return ReadStatus::end;
      case PCAP_ERROR:  // a damaged file, a read error, or a pcapng interface we cannot mix
        return fail("%s", pcap_geterr(pcap_.get()));
      case 0:  // a live capture's buffer timeout: never for a file
        return fail("libpcap reported a timeout, which a file cannot have");
      default:
        return fail("libpcap returned an unexpected %d", result);
    }
  }

  const std::string& error() const noexcept override { return error_; }
  const std::string& format() const noexcept override { return format_; }
  std::uint64_t size_bytes() const noexcept override { return size_bytes_; }
  std::uint64_t position_bytes() const noexcept override {
    // ftello() fails on streams that cannot seek (a pipe replayed by open_stream_with_prefix).
    const off_t position = ::ftello(pcap_file(pcap_.get()));
    return position < 0 ? 0 : static_cast<std::uint64_t>(position);
  }

 private:
  enum class State : std::uint8_t { reading, ended, failed };

  ReadStatus take(const pcap_pkthdr& header, const u_char* data, RawFrame& out) noexcept {
    std::int64_t seconds = header.ts.tv_sec;
    std::int64_t fraction_ns = header.ts.tv_usec;  // nanoseconds: we asked for them
    if (classic_pcap_) {
      // libpcap 1.10 reads classic pcap's unsigned 32-bit second and fraction fields as signed
      // and sign-extends them; our pcap reader reads them unsigned, and the two must agree.
      if (seconds < 0) seconds += kTwoToThe32;
      if (fraction_ns < 0) {
        const auto field = static_cast<std::uint32_t>(static_cast<std::int32_t>(fraction_ns / fraction_unit_ns_));
        fraction_ns = std::int64_t{field} * fraction_unit_ns_;
      }
    }
    if (seconds < 0 || seconds > kLatestSecond || fraction_ns < 0) {
      return fail("frame %" PRIu64 " has timestamp %" PRId64 " s + %" PRId64
                  " ns, outside what camwatch represents (1970 to 2262)",
                  frames_ + 1, seconds, fraction_ns);
    }
    out.time = cam::PacketTime(cam::Duration(seconds * kNanosecondsPerSecond + fraction_ns));
    out.data = std::span<const std::uint8_t>(data, header.caplen);
    out.wire_length = std::max(header.len, header.caplen);
    ++frames_;
    return ReadStatus::frame;
  }

  // Ends the stream with "after N frames, near byte B: <what>" (B: how far libpcap had read;
  // unknown for a pipe).
  [[gnu::cold, gnu::noinline, gnu::format(printf, 2, 3)]] ReadStatus fail(const char* format, ...) noexcept {
    std::array<char, PCAP_ERRBUF_SIZE + 32> what{};
    va_list args;
    va_start(args, format);
    (void)std::vsnprintf(what.data(), what.size(), format, args);
    va_end(args);
    std::array<char, 48> where{};
    const off_t position = ::ftello(pcap_file(pcap_.get()));
    if (position >= 0) std::snprintf(where.data(), where.size(), ", near byte %" PRId64, std::int64_t{position});
    std::array<char, kErrorCapacity> message{};
    const int length = std::snprintf(message.data(), message.size(), "after %" PRIu64 " frame%s%s: %s", frames_,
                                     frames_ == 1 ? "" : "s", where.data(), what.data());
    // Within the reserved capacity: assign() does not allocate.
    error_.assign(message.data(), length < 0 ? 0 : std::min<std::size_t>(length, message.size() - 1));
    state_ = State::failed;
    return ReadStatus::error;
  }

  PcapHandle pcap_;
  std::string format_;
  std::uint64_t size_bytes_;
  bool classic_pcap_;
  std::int64_t fraction_unit_ns_;
  std::uint64_t frames_ = 0;
  State state_ = State::reading;
  std::string error_;
};

// The cookie behind open_stream_with_prefix().
struct PrefixedDescriptor {
  int fd = -1;
  std::array<std::uint8_t, 64> prefix{};
  std::size_t prefix_size = 0;
  std::size_t prefix_used = 0;
};

ssize_t read_prefixed(void* cookie, char* buffer, std::size_t size) {
  auto* source = static_cast<PrefixedDescriptor*>(cookie);
  if (source->prefix_used < source->prefix_size) {
    const std::size_t n = std::min(size, source->prefix_size - source->prefix_used);
    std::memcpy(buffer, source->prefix.data() + source->prefix_used, n);
    source->prefix_used += n;
    return static_cast<ssize_t>(n);
  }
  for (;;) {
    const ssize_t n = ::read(source->fd, buffer, size);
    if (n >= 0 || errno != EINTR) return n;
  }
}

int close_prefixed(void* cookie) {
  auto* source = static_cast<PrefixedDescriptor*>(cookie);
  const int result = ::close(source->fd);
  delete source;
  return result;
}

}  // namespace

std::string not_ethernet_message(const std::string& path, int dlt, std::uint32_t link_type) {
  const char* name = pcap_datalink_val_to_name(dlt);
  std::string label =
      name != nullptr ? std::string(name) + " (" + std::to_string(link_type) + ")" : std::to_string(link_type);
  return path + ": link type " + label + " is not Ethernet; camwatch reads Ethernet captures only";
}

std::unique_ptr<CaptureFile> open_with_libpcap(const std::string& path, LibpcapSource source) {
  std::array<char, PCAP_ERRBUF_SIZE> errbuf{};
  PcapHandle pcap(pcap_fopen_offline_with_tstamp_precision(source.stream, PCAP_TSTAMP_PRECISION_NANO, errbuf.data()));
  if (!pcap) {
    std::fclose(source.stream);  // libpcap leaves the stream to us when it fails
    throw CaptureFileError(path + ": " + errbuf.data());
  }
  // From here the stream is closed by pcap_close().
  const int dlt = pcap_datalink(pcap.get());
  if (dlt != DLT_EN10MB) {
    // Named and numbered as libpcap reports it (a DLT_ value; for classic pcap, 1.10 keeps the
    // link type field's reserved bits in it).
    throw CaptureFileError(not_ethernet_message(path, dlt, static_cast<std::uint32_t>(dlt)));
  }
  return std::make_unique<LibpcapFile>(std::move(pcap), std::move(source));
}

std::FILE* open_stream_with_prefix(int fd, std::span<const std::uint8_t> prefix) {
  auto cookie = std::make_unique<PrefixedDescriptor>();
  cookie->fd = fd;
  if (prefix.size() > cookie->prefix.size()) {
    ::close(fd);
    errno = EINVAL;
    return nullptr;
  }
  std::memcpy(cookie->prefix.data(), prefix.data(), prefix.size());
  cookie->prefix_size = prefix.size();
  // No seek: libpcap reads a capture front to back, and a pipe cannot seek anyway.
  const cookie_io_functions_t functions{
      .read = read_prefixed, .write = nullptr, .seek = nullptr, .close = close_prefixed};
  std::FILE* stream = ::fopencookie(cookie.get(), "rb", functions);
  if (stream == nullptr) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return nullptr;
  }
  cookie.release();  // owned by the stream: close_prefixed() deletes it
  return stream;
}

}  // namespace camwatch::capture::detail
