// libpcap's offline reader behind CaptureFile: pcapng, pipes and FIFOs (nothing to pread()), and
// any classic pcap our reader could not take (no descriptor left to duplicate).
//
// The reader asks libpcap for nanosecond timestamps and loops on pcap_next_ex(), naming each of
// its results: a frame, the end of the file, or an error, which ends the stream with libpcap's
// message and the number of frames read before it (libpcap 1.10 reports a pcapng interface
// whose link type differs from the first one's this way, mid-file). Only Ethernet is accepted.
// Frames come out as our pcap reader returns them (same timestamps for the same file: libpcap
// 1.10's sign extension of classic pcap's 32-bit timestamp fields is undone; wire_length is
// never below the captured length).
//
// pcap.h stays in libpcap_file.cc: this header names no libpcap type.
//
// Private to capture/; thread-safety as CaptureFile (none).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include "capture/capture_file.h"

namespace camwatch::capture::detail {

// What the caller knows of the bytes it hands to libpcap.
struct LibpcapSource {
  std::FILE* stream = nullptr;   // positioned at the start of the capture; owned by the reader
  std::string format;            // format() text, e.g. "pcapng"
  std::uint64_t size_bytes = 0;  // 0 when unknown (a pipe)
  // Set for classic pcap: timestamps are then 32-bit unsigned fields libpcap sign-extended.
  bool classic_pcap = false;
  std::int64_t fraction_unit_ns = 1000;  // classic pcap: 1000 for µs files, 1 for ns files
};

// Opens `source.stream` with libpcap. Takes ownership of the stream (closed with the reader, or
// before throwing). Throws CaptureFileError naming `path` when libpcap refuses the file or its
// link type is not Ethernet.
std::unique_ptr<CaptureFile> open_with_libpcap(const std::string& path, LibpcapSource source);

// A read-only stdio stream over `fd` that first returns `prefix`: the bytes already read from a
// pipe to sniff its format, which cannot be pushed back into the pipe. Takes ownership of `fd`
// (closed with the stream, or on failure). Returns nullptr on failure, with errno set.
std::FILE* open_stream_with_prefix(int fd, std::span<const std::uint8_t> prefix);

// "<path>: link type LINUX_SLL (113) is not Ethernet; camwatch reads Ethernet captures only".
// `dlt` is libpcap's DLT_ value (for the name), `link_type` the number the file holds.
std::string not_ethernet_message(const std::string& path, int dlt, std::uint32_t link_type);

}  // namespace camwatch::capture::detail
