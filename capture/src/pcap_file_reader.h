// Classic pcap read with our own record parser: the replay fast path behind CaptureFile.
//
// read_pcap_file_header() checks the 24-byte file header (either byte order, µs or ns) and
// refuses what camwatch cannot use; open_pcap_reader() returns the reader for a regular file.
// It reads the file with pread() into one 512 KiB buffer, reused for the whole file, and parses
// records in place: next() is a bounds check, four loads and a few stores per record, no
// allocation, no virtual calls inside, and byte swapping compiled in only for files written in
// the other byte order (the reader is a template on it, chosen once per file). next_batch()
// hands out every whole record the buffer holds in one call.
//
// Why a copy into a buffer and not a memory map of the file (the reader until 2026-12): the
// first touch of each mapped page costs a page-table update per 4 KiB page, and on the bench
// VM that is ~1.9 µs per page even after MAP_POPULATE (the hypervisor's, invisible to the
// guest kernel): 0.28-0.31 s of CPU to touch the 627 MB bench file once, against 0.075-0.085 s
// to pread() it all through a reused 256 KiB-1 MiB buffer (same run; docs/PERFORMANCE.md).
// The buffer's pages stay mapped and in L2, so the copy is the only cost.
//
// Compatibility: records come out as libpcap 1.10 returns them (the corpus test compares the two
// frame by frame), including libpcap's treatment of odd files: a record longer than the file's
// snaplen is cut to the snaplen, pre-2.4 files have their length fields in the old order, and a
// record above 262144 captured bytes (libpcap's MAXIMUM_SNAPLEN) is corruption. Unlike libpcap
// 1.10 the 32-bit timestamp fields are unsigned (the pcap specification's reading: 2038-2106
// times stay in the future), and wire_length is never below the captured length.
//
// Limits: the file is read up to its size at open(); growth after that is not seen. A file that
// shrinks while it is read, or a read error, ends the stream with ReadStatus::error naming the
// byte (a mapped file raised SIGBUS instead). Files above 4 GiB are fine.
//
// Private to capture/; thread-safety as CaptureFile (none).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "capture/capture_file.h"

namespace camwatch::capture::detail {

inline constexpr std::size_t kPcapFileHeaderBytes = 24;
inline constexpr std::size_t kPcapRecordHeaderBytes = 16;
// libpcap's MAXIMUM_SNAPLEN: no sane record holds more captured bytes.
inline constexpr std::uint32_t kMaximumSnaplen = 262144;

// Magic numbers as read in the file's own byte order.
inline constexpr std::uint32_t kPcapMagicMicroseconds = 0xA1B2C3D4;
inline constexpr std::uint32_t kPcapMagicNanoseconds = 0xA1B23C4D;
// Alexey Kuznetzov's patched pcap (longer record headers): libpcap reads it, we hand it over.
inline constexpr std::uint32_t kPcapMagicKuznetzov = 0xA1B2CD34;
// pcapng Section Header Block type: the same in either byte order.
inline constexpr std::uint32_t kPcapngBlockTypeSectionHeader = 0x0A0D0D0A;

enum class FileKind : std::uint8_t { pcap, pcap_kuznetzov, pcapng, unknown };

// What the first four bytes say the file is.
FileKind sniff_file_kind(std::span<const std::uint8_t> first_bytes) noexcept;

// How a pcap file's records store caplen and len (versions before 2.4 swapped them).
enum class LengthOrder : std::uint8_t {
  caplen_first,    // 2.4: caplen, then len
  len_first,       // 2.0-2.2 and DG/UX 543.0: len, then caplen
  caplen_or_swap,  // 2.3: written either way; taken as swapped when caplen > len (libpcap does)
};

struct PcapFileHeader {
  std::endian byte_order = std::endian::little;  // of the file
  bool swapped = false;                          // file byte order != this machine's
  bool nanoseconds = false;                      // unit of the timestamps' fraction field
  std::uint16_t version_major = 0;
  std::uint16_t version_minor = 0;
  std::uint32_t snaplen_field = 0;    // as written (libpcap replaces 0 or > 262144 by 262144)
  std::uint32_t link_type_field = 0;  // as written: link type in bits 0-15, FCS info in 26-31

  // The link type proper (LINKTYPE_*). Bits 16-25 are reserved and, per the pcap specification,
  // ignored by readers.
  std::uint32_t link_type() const noexcept { return link_type_field & 0xFFFFU; }
  // Bytes of frame check sequence at the end of every frame: known only when bit 26 (the "P"
  // or LT_FCS_LENGTH_PRESENT flag) is set; bits 28-31 then count 16-bit words. The bytes stay
  // in the returned frames, as libpcap leaves them; decoders read headers and ignore the tail.
  std::uint32_t fcs_bytes() const noexcept {
    return (link_type_field & 0x04000000U) != 0 ? 2 * (link_type_field >> 28) : 0;
  }
  // Snaplen the way libpcap applies it: records longer than this are cut to it.
  std::uint32_t effective_snaplen() const noexcept {
    return snaplen_field == 0 || snaplen_field > kMaximumSnaplen ? kMaximumSnaplen : snaplen_field;
  }
  LengthOrder length_order() const noexcept;
  // "pcap (microseconds, little-endian)", with the version when not 2.4 and the FCS when known.
  std::string describe() const;
};

// Parses and checks the header of a classic pcap file whose first bytes are `first_bytes`
// (sniff_file_kind() said FileKind::pcap). Throws CaptureFileError naming `path` when the file
// is shorter than the header, has a version libpcap would refuse (not 2.0-2.4 or 543.0), or is
// not Ethernet.
PcapFileHeader read_pcap_file_header(std::span<const std::uint8_t> first_bytes, const std::string& path);

// Bytes of the read buffer: one record of the largest size libpcap accepts must fit. 256 KiB to
// 1 MiB read the bench file equally fast (0.073-0.075 s); 4 MiB (0.078-0.081 s) no longer stays
// in L2, 64 KiB (0.087-0.092 s) makes too many calls.
inline constexpr std::size_t kReadBufferBytes = 512 * 1024;
static_assert(kReadBufferBytes >= kPcapRecordHeaderBytes + kMaximumSnaplen, "a whole record must fit");

// Returns the reader of the regular file `fd` (`size_bytes` long, its header already checked as
// `header`). The reader reads through its own duplicate of `fd`: the caller keeps `fd` and may
// close it. Returns nullptr when the descriptor cannot be duplicated (the caller then falls back
// to libpcap).
std::unique_ptr<CaptureFile> open_pcap_reader(int fd, std::uint64_t size_bytes, const PcapFileHeader& header);

}  // namespace camwatch::capture::detail
