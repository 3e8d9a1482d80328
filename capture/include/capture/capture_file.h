// CaptureFile: reads frames from a pcap or pcapng file, one at a time, in file order.
//
// Classic pcap (microsecond and nanosecond, either byte order) in a regular file is read with
// our own record parser through a reused read buffer: it is the replay fast path. pcapng,
// pipes and FIFOs (bash's `<(zcat x.pcap.gz)` included), and anything libpcap understands that
// we do not go through libpcap's offline reader. Both return the frames libpcap 1.10 returns for
// the same bytes (a record longer than the file's snaplen is cut to it), except that classic
// pcap's 32-bit timestamp fields are read unsigned (2038 to 2106 stay in the future) and
// wire_length is never below the captured length. Files above 4 GiB are fine.
// Only Ethernet link types are accepted; others are refused at open() with the link type's name.
//
// Bad files: open() throws CaptureFileError for what can be known up front (missing, unreadable,
// not a capture, wrong link type). next() never throws: a truncated or corrupt record ends the
// stream with ReadStatus::error, and error() says what and where: "record 1234 at byte 56789:
// ..." from the map (records counted from 1), "after 1233 frames, near byte 56789: <libpcap's
// message>" from libpcap. Frames returned before the damage are good. After the end or an error,
// next() keeps returning the same status.
//
// Opening a FIFO waits for its writer, as open(2) does. For a pipe, size_bytes() and
// position_bytes() are 0.
//
// Batches: next_batch() returns many frames per call (the classic pcap reader: every whole
// record its buffer holds, so a replay loop makes one virtual call per few thousand frames);
// other readers return one frame per call through it.
//
// Thread-safety: none; one reader per thread. A returned RawFrame's bytes stay valid until the
// next call to next() or next_batch(), or the reader's destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include "cam/types.h"

namespace camwatch::capture {

class CaptureFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RawFrame {
  cam::PacketTime time{};
  std::span<const std::uint8_t> data;  // captured bytes (caplen)
  std::uint32_t wire_length = 0;       // original length on the wire (len)
};

enum class ReadStatus : std::uint8_t { frame, end, error };

class CaptureFile {
 public:
  // Opens `path`. Throws CaptureFileError with a one-line reason naming the file
  // ("x.pcap: empty file, not a capture").
  static std::unique_ptr<CaptureFile> open(const std::string& path);

  virtual ~CaptureFile() = default;
  CaptureFile(const CaptureFile&) = delete;
  CaptureFile& operator=(const CaptureFile&) = delete;

  virtual ReadStatus next(RawFrame& out) noexcept = 0;
  // Fills the front of `out` with up to out.size() frames and returns how many; the bytes of
  // all of them stay valid together until the next call. Fewer than asked says nothing about
  // the end; 0 means the stream is over (out empty aside): error() is empty at the end of the
  // file and says what went wrong otherwise, as after next(). Never throws.
  virtual std::size_t next_batch(std::span<RawFrame> out) noexcept;
  // Why the last next() returned ReadStatus::error; empty otherwise.
  virtual const std::string& error() const noexcept = 0;
  // "pcap (microseconds, little-endian)", "pcap (nanoseconds, big-endian, version 2.2)",
  // "pcap (microseconds, little-endian, 4-byte FCS)", "pcapng", ...
  virtual const std::string& format() const noexcept = 0;
  // File size, and how far reading has got, for progress reports.
  virtual std::uint64_t size_bytes() const noexcept = 0;
  virtual std::uint64_t position_bytes() const noexcept = 0;

 protected:
  CaptureFile() = default;
};

}  // namespace camwatch::capture
