// CaptureFile::open(): looks at the first bytes and picks the reader. Classic pcap in a regular
// file is read by our parser (pcap_file_reader.cc); pcapng, pipes and FIFOs go through libpcap
// (libpcap_file.cc).
#include "capture/capture_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>
#include <utility>

#include "libpcap_file.h"
#include "pcap_file_reader.h"

namespace camwatch::capture {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;

  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

[[noreturn]] void refuse(const std::string& path, const std::string& reason) {
  throw CaptureFileError(path + ": " + reason);
}

[[noreturn]] void refuse_errno(const std::string& path, const char* what, int error) {
  refuse(path, std::string(what) + ": " + std::strerror(error));
}

// Fills `buffer` from the start of the file, or as much as there is. A regular file is read
// with pread(), leaving its offset at 0 for libpcap; a pipe is read and its bytes replayed later.
std::size_t read_first_bytes(int fd, bool seekable, std::span<std::uint8_t> buffer, const std::string& path) {
  std::size_t got = 0;
  while (got < buffer.size()) {
    const ssize_t n = seekable ? ::pread(fd, buffer.data() + got, buffer.size() - got, static_cast<off_t>(got))
                               : ::read(fd, buffer.data() + got, buffer.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      refuse_errno(path, "cannot read", errno);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

std::string unknown_format_reason(std::span<const std::uint8_t> first) {
  if (first.size() < 4) {
    return "not a pcap or pcapng file (only " + std::to_string(first.size()) + " bytes long)";
  }
  std::array<char, 16> hex{};
  std::snprintf(hex.data(), hex.size(), "0x%02x%02x%02x%02x", first[0], first[1], first[2], first[3]);
  std::string reason = std::string("not a pcap or pcapng file (starts with ") + hex.data() + ")";
  if (first[0] == 0x1f && first[1] == 0x8b) reason += "; it looks gzip-compressed: decompress it first";
  return reason;
}

}  // namespace

// One frame per call: a reader whose frame bytes live only until its next read cannot do more.
std::size_t CaptureFile::next_batch(std::span<RawFrame> out) noexcept {
  if (out.empty()) return 0;
  return next(out.front()) == ReadStatus::frame ? 1 : 0;
}

std::unique_ptr<CaptureFile> CaptureFile::open(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) refuse_errno(path, "cannot open", errno);
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) refuse_errno(path, "cannot stat", errno);
  if (S_ISDIR(status.st_mode)) refuse(path, "is a directory, not a capture file");
  const bool regular = S_ISREG(status.st_mode);

  std::array<std::uint8_t, detail::kPcapFileHeaderBytes> buffer{};
  const std::size_t got = read_first_bytes(fd.get(), regular, buffer, path);
  const std::span<const std::uint8_t> first(buffer.data(), got);
  if (got == 0) refuse(path, "empty file, not a capture");

  detail::LibpcapSource source;
  source.size_bytes = regular ? static_cast<std::uint64_t>(status.st_size) : 0;
  switch (detail::sniff_file_kind(first)) {
    case detail::FileKind::pcap: {
      const detail::PcapFileHeader header = detail::read_pcap_file_header(first, path);
      if (regular) {
        if (auto reader = detail::open_pcap_reader(fd.get(), source.size_bytes, header)) return reader;
      }
      source.format = header.describe();
      source.classic_pcap = true;
      source.fraction_unit_ns = header.nanoseconds ? 1 : 1000;
      break;
    }
    case detail::FileKind::pcap_kuznetzov:
      source.format = "pcap (Kuznetzov's modified format)";
      source.classic_pcap = true;
      source.fraction_unit_ns = 1000;
      break;
    case detail::FileKind::pcapng:
      source.format = "pcapng";
      break;
    case detail::FileKind::unknown:
      refuse(path, unknown_format_reason(first));
  }

  // libpcap reads from the start: a regular file is still at offset 0 (we used pread), and a
  // pipe's first bytes, already consumed, are replayed ahead of the rest.
  if (regular) {
    source.stream = ::fdopen(fd.get(), "rb");
    if (source.stream != nullptr) fd.release();
  } else {
    source.stream = detail::open_stream_with_prefix(fd.release(), first);
  }
  if (source.stream == nullptr) refuse_errno(path, "cannot read", errno);
  return detail::open_with_libpcap(path, std::move(source));
}

}  // namespace camwatch::capture
