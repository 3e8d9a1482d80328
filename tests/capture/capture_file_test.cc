// CaptureFile: what open() accepts and refuses, and what next() returns, for files written here
// byte by byte (testsupport::PcapWriter, or raw bytes for what it cannot write: old versions,
// corrupt records, pcapng).
#include "capture/capture_file.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testsupport/fifo_feeder.h"
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "testsupport/frame_builder.h"
#include "testsupport/temp_dir.h"

namespace camwatch::capture {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testsupport::at_seconds;
using testsupport::ByteOrder;
using testsupport::Bytes;
using testsupport::FrameBuilder;
using testsupport::mac;
using testsupport::PcapPrecision;
using testsupport::PcapWriter;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
using testsupport::TempDir;

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

void put_le16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}

void put_le32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

// A little-endian classic pcap file header, any field chosen.
Bytes pcap_header(std::uint16_t major = 2, std::uint16_t minor = 4, std::uint32_t snaplen = 262144,
                  std::uint32_t link_type = 1, std::uint32_t magic = 0xA1B2C3D4) {
  Bytes out;
  put_le32(out, magic);
  put_le16(out, major);
  put_le16(out, minor);
  put_le32(out, 0);
  put_le32(out, 0);
  put_le32(out, snaplen);
  put_le32(out, link_type);
  return out;
}

// A little-endian record whose header fields are written as given, whatever `data` holds.
Bytes pcap_record(std::uint32_t seconds, std::uint32_t fraction, std::uint32_t caplen, std::uint32_t len,
                  const Bytes& data) {
  Bytes out;
  put_le32(out, seconds);
  put_le32(out, fraction);
  put_le32(out, caplen);
  put_le32(out, len);
  append(out, data);
  return out;
}

Bytes numbered_bytes(std::size_t n, std::uint8_t first = 0) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(first + i);
  return out;
}

// pcapng, little-endian, written block by block.
class PcapngBuilder {
 public:
  PcapngBuilder& section_header() {
    Bytes body;
    put_le32(body, 0x1A2B3C4D);  // byte-order magic
    put_le16(body, 1);
    put_le16(body, 0);
    put_le32(body, 0xFFFFFFFF);  // section length: unknown
    put_le32(body, 0xFFFFFFFF);
    return block(0x0A0D0D0A, body);
  }
  // `tsresol_exponent` 0 leaves the default (microseconds); 9 writes if_tsresol for nanoseconds.
  PcapngBuilder& interface(std::uint16_t link_type, std::uint32_t snaplen = 262144, std::uint8_t tsresol_exponent = 0) {
    Bytes body;
    put_le16(body, link_type);
    put_le16(body, 0);
    put_le32(body, snaplen);
    if (tsresol_exponent != 0) {
      put_le16(body, 9);  // if_tsresol
      put_le16(body, 1);
      body.insert(body.end(), {tsresol_exponent, 0, 0, 0});
      put_le16(body, 0);  // opt_endofopt
      put_le16(body, 0);
    }
    return block(1, body);
  }
  // Enhanced Packet Block; `timestamp` in the interface's units.
  PcapngBuilder& packet(std::uint32_t interface_id, std::uint64_t timestamp, const Bytes& data,
                        std::uint32_t wire_length = 0) {
    Bytes body;
    put_le32(body, interface_id);
    put_le32(body, static_cast<std::uint32_t>(timestamp >> 32));
    put_le32(body, static_cast<std::uint32_t>(timestamp));
    put_le32(body, static_cast<std::uint32_t>(data.size()));
    put_le32(body, wire_length != 0 ? wire_length : static_cast<std::uint32_t>(data.size()));
    append(body, data);
    while (body.size() % 4 != 0) body.push_back(0);
    return block(6, body);
  }
  const Bytes& bytes() const { return bytes_; }

 private:
  PcapngBuilder& block(std::uint32_t type, const Bytes& body) {
    const auto total = static_cast<std::uint32_t>(12 + body.size());
    put_le32(bytes_, type);
    put_le32(bytes_, total);
    append(bytes_, body);
    put_le32(bytes_, total);
    return *this;
  }
  Bytes bytes_;
};

struct Frame {
  std::int64_t time_ns = 0;
  Bytes data;
  std::uint32_t wire_length = 0;
  friend bool operator==(const Frame&, const Frame&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Frame& f) {
    return os << "{t=" << f.time_ns << " caplen=" << f.data.size() << " len=" << f.wire_length << "}";
  }
};

struct ReadResult {
  std::vector<Frame> frames;
  ReadStatus last = ReadStatus::frame;
  std::string error;
  std::string format;
};

ReadResult read_all(CaptureFile& file) {
  ReadResult result;
  result.format = file.format();
  RawFrame raw;
  while ((result.last = file.next(raw)) == ReadStatus::frame) {
    result.frames.push_back(
        Frame{raw.time.time_since_epoch().count(), Bytes(raw.data.begin(), raw.data.end()), raw.wire_length});
  }
  result.error = file.error();
  return result;
}

ReadResult read_all(const std::string& path) { return read_all(*CaptureFile::open(path)); }

// The CaptureFileError message open() throws for `path`, or "" when it opens.
std::string open_error(const std::string& path) {
  try {
    CaptureFile::open(path);
  } catch (const CaptureFileError& e) {
    return e.what();
  }
  return "";
}

using testsupport::FifoFeeder;

Bytes rarp_frame(const char* source) { return FrameBuilder().source(mac(source)).rarp_request(mac(source)).build(); }

TEST(CaptureFile, ReadsTheSameFramesAndTimestampsFromAllFourPcapMagics) {
  TempDir dir;
  const std::vector<Bytes> frames = {rarp_frame("00:50:56:01:02:03"),
                                     FrameBuilder().vlan(10).udp({10, 0, 0, 1}, {10, 0, 0, 2}, 1, 2, 200).build(),
                                     numbered_bytes(14)};
  const std::vector<cam::PacketTime> times = {at_seconds(1346305327, 559886000), at_seconds(1346305328, 0),
                                              at_seconds(4000000000, 999999000)};
  struct Variant {
    PcapPrecision precision;
    ByteOrder order;
    const char* format;
  };
  const Variant variants[] = {
      {PcapPrecision::micro, ByteOrder::little, "pcap (microseconds, little-endian)"},
      {PcapPrecision::micro, ByteOrder::big, "pcap (microseconds, big-endian)"},
      {PcapPrecision::nano, ByteOrder::little, "pcap (nanoseconds, little-endian)"},
      {PcapPrecision::nano, ByteOrder::big, "pcap (nanoseconds, big-endian)"},
  };
  std::vector<ReadResult> results;
  for (const Variant& v : variants) {
    const std::string path = dir.file(std::string(v.format) + ".pcap");
    {
      PcapWriter writer(path, v.precision, v.order);
      for (std::size_t i = 0; i < frames.size(); ++i) writer.write(times[i], frames[i], i == 2 ? 1514 : 0);
    }
    results.push_back(read_all(path));
    EXPECT_EQ(results.back().format, v.format);
    EXPECT_EQ(results.back().last, ReadStatus::end) << results.back().error;
  }
  ASSERT_EQ(results[0].frames.size(), 3U);
  EXPECT_EQ(results[0].frames[0], (Frame{times[0].time_since_epoch().count(), frames[0], 60}));
  EXPECT_EQ(results[0].frames[2], (Frame{times[2].time_since_epoch().count(), frames[2], 1514}));
  for (const ReadResult& r : results) EXPECT_EQ(r.frames, results[0].frames);
}

TEST(CaptureFile, KeepsNanosecondsFromNanosecondFilesAndScalesMicroseconds) {
  TempDir dir;
  const cam::PacketTime t = at_seconds(1346305327, 559886123);
  for (PcapPrecision precision : {PcapPrecision::nano, PcapPrecision::micro}) {
    const std::string path = dir.file("time.pcap");
    {
      PcapWriter writer(path, precision);
      writer.write(t, rarp_frame("00:50:56:01:02:03"));
    }
    const ReadResult r = read_all(path);
    ASSERT_EQ(r.frames.size(), 1U);
    const std::int64_t expected = precision == PcapPrecision::nano ? 1346305327'559886123 : 1346305327'559886000;
    EXPECT_EQ(r.frames[0].time_ns, expected);
  }
}

TEST(CaptureFile, ReadsTimestampFieldsAsUnsignedPast2038) {
  TempDir dir;
  const std::string path = dir.file("2100.pcap");
  Bytes file = pcap_header();
  append(file, pcap_record(0xF0000000, 0, 14, 14, numbered_bytes(14)));
  write_file(path, file);
  const ReadResult r = read_all(path);
  ASSERT_EQ(r.frames.size(), 1U);
  EXPECT_EQ(r.frames[0].time_ns, std::int64_t{0xF0000000} * 1'000'000'000);
}

TEST(CaptureFile, ReturnsFramesBeforeACutRecordHeaderThenNamesTheRecordAndByte) {
  TempDir dir;
  const std::string path = dir.file("cut-header.pcap");
  {
    PcapWriter writer(path);
    for (int i = 0; i < 3; ++i) writer.write(at_seconds(1000 + i), rarp_frame("00:50:56:01:02:03"));
    writer.write_raw(Bytes(10, 0x42));  // 10 of a record header's 16 bytes
  }
  auto file = CaptureFile::open(path);
  const ReadResult r = read_all(*file);
  EXPECT_EQ(r.frames.size(), 3U);
  EXPECT_EQ(r.last, ReadStatus::error);
  EXPECT_EQ(r.error, "record 4 at byte 252: file ends inside the record header (10 of 16 bytes; truncated capture?)");
  EXPECT_EQ(file->position_bytes(), 252U);
  EXPECT_EQ(file->size_bytes(), 262U);

  RawFrame raw;
  EXPECT_EQ(file->next(raw), ReadStatus::error) << "the error must stick";
  EXPECT_EQ(file->error(), r.error);
}

TEST(CaptureFile, ReturnsFramesBeforeACutRecordBodyThenNamesTheRecordAndByte) {
  TempDir dir;
  const std::string path = dir.file("cut-body.pcap");
  Bytes file = pcap_header();
  append(file, pcap_record(1000, 0, 60, 60, rarp_frame("00:50:56:01:02:03")));
  append(file, pcap_record(1001, 0, 60, 60, rarp_frame("00:50:56:01:02:04")));
  append(file, pcap_record(1002, 0, 100, 100, numbered_bytes(40)));
  write_file(path, file);
  const ReadResult r = read_all(path);
  EXPECT_EQ(r.frames.size(), 2U);
  EXPECT_EQ(r.last, ReadStatus::error);
  EXPECT_EQ(r.error,
            "record 3 at byte 176: file ends inside the record (100 captured bytes claimed, 40 present; "
            "truncated capture?)");
}

TEST(CaptureFile, ReportsAnAbsurdCapturedLengthAsCorruption) {
  TempDir dir;
  const std::string path = dir.file("absurd.pcap");
  Bytes file = pcap_header();
  append(file, pcap_record(1000, 0, 60, 60, rarp_frame("00:50:56:01:02:03")));
  append(file, pcap_record(1001, 0, 0xFFFFFFFF, 60, numbered_bytes(60)));
  write_file(path, file);
  const ReadResult r = read_all(path);
  EXPECT_EQ(r.frames.size(), 1U);
  EXPECT_EQ(r.last, ReadStatus::error);
  EXPECT_EQ(r.error,
            "record 2 at byte 100 claims 4294967295 captured bytes (the most libpcap allows is 262144); "
            "the file is corrupt");
}

TEST(CaptureFile, CutsARecordLongerThanTheSnaplenToTheSnaplenAsLibpcapDoes) {
  TempDir dir;
  const std::string path = dir.file("over-snaplen.pcap");
  Bytes file = pcap_header(2, 4, 64);
  append(file, pcap_record(1000, 0, 100, 1514, numbered_bytes(100)));
  append(file, pcap_record(1001, 0, 100, 90, numbered_bytes(100, 7)));
  append(file, pcap_record(1002, 0, 20, 20, numbered_bytes(20)));
  write_file(path, file);
  const ReadResult r = read_all(path);
  ASSERT_EQ(r.frames.size(), 3U) << r.error;
  EXPECT_EQ(r.frames[0], (Frame{1000'000'000'000, numbered_bytes(64), 1514}));
  EXPECT_EQ(r.frames[1], (Frame{1001'000'000'000, numbered_bytes(64, 7), 90}));
  EXPECT_EQ(r.frames[2], (Frame{1002'000'000'000, numbered_bytes(20), 20}));
  EXPECT_EQ(r.last, ReadStatus::end);
}

TEST(CaptureFile, ReturnsZeroLengthRecords) {
  TempDir dir;
  const std::string path = dir.file("empty-records.pcap");
  Bytes file = pcap_header();
  append(file, pcap_record(1000, 5, 0, 0, {}));
  append(file, pcap_record(1001, 0, 0, 60, {}));
  append(file, pcap_record(1002, 0, 14, 14, numbered_bytes(14)));
  write_file(path, file);
  const ReadResult r = read_all(path);
  ASSERT_EQ(r.frames.size(), 3U) << r.error;
  EXPECT_EQ(r.frames[0], (Frame{1000'000'005'000, {}, 0}));
  EXPECT_EQ(r.frames[1], (Frame{1001'000'000'000, {}, 60}));
  EXPECT_EQ(r.frames[2].data.size(), 14U);
  EXPECT_EQ(r.last, ReadStatus::end);
}

TEST(CaptureFile, TakesTheCapturedLengthAsWireLengthWhenTheRecordClaimsLess) {
  TempDir dir;
  const std::string path = dir.file("caplen-over-len.pcap");
  {
    PcapWriter writer(path);
    writer.write(at_seconds(1000), rarp_frame("00:50:56:01:02:03"), 20);
  }
  const ReadResult r = read_all(path);
  ASSERT_EQ(r.frames.size(), 1U);
  EXPECT_EQ(r.frames[0].data.size(), 60U);
  EXPECT_EQ(r.frames[0].wire_length, 60U);
}

TEST(CaptureFile, ReadsPre24FilesWithTheLengthFieldsInTheOldOrder) {
  TempDir dir;
  // 2.2: len comes first. 2.3: either order; caplen > len means the old one.
  for (const std::uint16_t minor : {std::uint16_t{2}, std::uint16_t{3}}) {
    const std::string path = dir.file("old.pcap");
    Bytes file = pcap_header(2, minor);
    append(file, pcap_record(1000, 0, 100, 60, numbered_bytes(60)));  // len 100, caplen 60
    write_file(path, file);
    const ReadResult r = read_all(path);
    ASSERT_EQ(r.frames.size(), 1U) << "2." << minor << ": " << r.error;
    EXPECT_EQ(r.frames[0], (Frame{1000'000'000'000, numbered_bytes(60), 100}));
    EXPECT_EQ(r.format, "pcap (microseconds, little-endian, version 2." + std::to_string(minor) + ")");
  }
}

TEST(CaptureFile, RefusesPcapVersionsLibpcapRefuses) {
  TempDir dir;
  for (auto [major, minor] : {std::pair<std::uint16_t, std::uint16_t>{2, 5}, {1, 4}, {3, 0}}) {
    const std::string path = dir.file("version.pcap");
    Bytes file = pcap_header(major, minor);
    append(file, pcap_record(1000, 0, 14, 14, numbered_bytes(14)));
    write_file(path, file);
    EXPECT_EQ(open_error(path), path + ": pcap version " + std::to_string(major) + "." + std::to_string(minor) +
                                    " is not supported (camwatch reads 2.0 to 2.4); the file is corrupt or not "
                                    "a capture");
  }
}

TEST(CaptureFile, RefusesAMissingFileWithTheSystemsReason) {
  TempDir dir;
  const std::string path = dir.file("missing.pcap");
  EXPECT_EQ(open_error(path), path + ": cannot open: No such file or directory");
}

TEST(CaptureFile, RefusesADirectory) {
  TempDir dir;
  const std::string path = dir.file("");
  EXPECT_EQ(open_error(path), path + ": is a directory, not a capture file");
}

TEST(CaptureFile, RefusesAnEmptyFile) {
  TempDir dir;
  const std::string path = dir.file("empty.pcap");
  write_file(path, {});
  EXPECT_EQ(open_error(path), path + ": empty file, not a capture");
}

TEST(CaptureFile, RefusesAFileThatEndsInsideThePcapHeader) {
  TempDir dir;
  const std::string path = dir.file("short.pcap");
  Bytes file = pcap_header();
  file.resize(10);
  write_file(path, file);
  EXPECT_EQ(open_error(path), path + ": file ends inside the 24-byte pcap file header (10 bytes; truncated capture?)");
}

TEST(CaptureFile, RefusesGarbageNamingItsFirstBytes) {
  TempDir dir;
  const std::string html = dir.file("page.pcap");
  write_file(html, Bytes{'<', 'h', 't', 'm', 'l', '>', '\n'});
  EXPECT_EQ(open_error(html), html + ": not a pcap or pcapng file (starts with 0x3c68746d)");

  const std::string gzip = dir.file("capture.pcap.gz");
  write_file(gzip, Bytes{0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0});
  EXPECT_EQ(
      open_error(gzip),
      gzip + ": not a pcap or pcapng file (starts with 0x1f8b0800); it looks gzip-compressed: decompress it first");

  const std::string tiny = dir.file("tiny.pcap");
  write_file(tiny, Bytes{0xd4, 0xc3});
  EXPECT_EQ(open_error(tiny), tiny + ": not a pcap or pcapng file (only 2 bytes long)");
}

TEST(CaptureFile, RefusesANonEthernetLinkTypeNamingIt) {
  TempDir dir;
  const std::string sll = dir.file("capture.pcap");
  {
    PcapWriter writer(sll, PcapPrecision::micro, ByteOrder::little, 262144, 113);
    writer.write(at_seconds(1000), numbered_bytes(40));
  }
  EXPECT_EQ(open_error(sll),
            sll + ": link type LINUX_SLL (113) is not Ethernet; camwatch reads Ethernet captures only");

  // LINKTYPE_RAW (101) is DLT_RAW (12) in libpcap's numbering: named all the same.
  const std::string raw = dir.file("tun.pcap");
  write_file(raw, pcap_header(2, 4, 262144, 101));
  EXPECT_EQ(open_error(raw), raw + ": link type RAW (101) is not Ethernet; camwatch reads Ethernet captures only");

  const std::string odd = dir.file("odd.pcap");
  write_file(odd, pcap_header(2, 4, 262144, 65000));
  EXPECT_EQ(open_error(odd), odd + ": link type 65000 is not Ethernet; camwatch reads Ethernet captures only");
}

TEST(CaptureFile, ReadsEthernetWhoseLinkTypeFieldCarriesFcsBits) {
  TempDir dir;
  struct Case {
    std::uint32_t field;
    const char* format;
  };
  const Case cases[] = {
      {0x30000001, "pcap (microseconds, little-endian)"},  // FCS length without the "present" bit: unknown
      {0x04000001, "pcap (microseconds, little-endian)"},  // FCS known absent
      {0x24000001, "pcap (microseconds, little-endian, 4-byte FCS)"},
      {0x00300001, "pcap (microseconds, little-endian)"},  // reserved bits: ignored
  };
  for (const Case& c : cases) {
    const std::string path = dir.file("fcs.pcap");
    Bytes file = pcap_header(2, 4, 262144, c.field);
    append(file, pcap_record(1000, 0, 64, 64, numbered_bytes(64)));
    write_file(path, file);
    const ReadResult r = read_all(path);
    EXPECT_EQ(r.format, c.format);
    ASSERT_EQ(r.frames.size(), 1U) << std::hex << c.field;
    EXPECT_EQ(r.frames[0].data, numbered_bytes(64)) << "the FCS stays in the frame, as libpcap leaves it";
  }
}

TEST(CaptureFile, ReportsProgressInBytes) {
  TempDir dir;
  const std::string path = dir.file("progress.pcap");
  {
    PcapWriter writer(path);
    writer.write(at_seconds(1000), rarp_frame("00:50:56:01:02:03"));
    writer.write(at_seconds(1001), rarp_frame("00:50:56:01:02:03"));
  }
  auto file = CaptureFile::open(path);
  EXPECT_EQ(file->size_bytes(), 24U + 2 * 76U);
  RawFrame raw;
  ASSERT_EQ(file->next(raw), ReadStatus::frame);
  EXPECT_EQ(file->position_bytes(), 100U);
  ASSERT_EQ(file->next(raw), ReadStatus::frame);
  ASSERT_EQ(file->next(raw), ReadStatus::end);
  EXPECT_EQ(file->position_bytes(), file->size_bytes());
  EXPECT_EQ(file->error(), "");
}

TEST(CaptureFile, ReadsPcapngThroughLibpcap) {
  TempDir dir;
  const Bytes first = rarp_frame("00:0c:29:34:0b:de");
  const Bytes second = numbered_bytes(61);
  const std::string micro = dir.file("micro.pcapng");
  write_file(micro, PcapngBuilder()
                        .section_header()
                        .interface(1)
                        .packet(0, 1346305327'559886ULL, first)
                        .packet(0, 1346305328'000001ULL, second, 1514)
                        .bytes());
  const ReadResult r = read_all(micro);
  EXPECT_EQ(r.format, "pcapng");
  EXPECT_EQ(r.last, ReadStatus::end) << r.error;
  ASSERT_EQ(r.frames.size(), 2U);
  EXPECT_EQ(r.frames[0], (Frame{1346305327'559886000, first, 60}));
  EXPECT_EQ(r.frames[1], (Frame{1346305328'000001000, second, 1514}));

  const std::string nano = dir.file("nano.pcapng");
  write_file(
      nano, PcapngBuilder().section_header().interface(1, 262144, 9).packet(0, 1346305327'559886123ULL, first).bytes());
  const ReadResult n = read_all(nano);
  ASSERT_EQ(n.frames.size(), 1U) << n.error;
  EXPECT_EQ(n.frames[0].time_ns, 1346305327'559886123);
}

TEST(CaptureFile, HandsKuznetzovsModifiedPcapToLibpcap) {
  TempDir dir;
  const std::string path = dir.file("patched.pcap");
  Bytes file = pcap_header(2, 4, 262144, 1, 0xA1B2CD34);
  // The patched record header: the usual 16 bytes, then ifindex, protocol, packet type, padding.
  Bytes record = pcap_record(1000, 250, 60, 60, {});
  put_le32(record, 2);
  put_le16(record, 0x0800);
  record.insert(record.end(), {0, 0});
  append(record, rarp_frame("00:50:56:01:02:03"));
  append(file, record);
  write_file(path, file);
  const ReadResult r = read_all(path);
  EXPECT_EQ(r.format, "pcap (Kuznetzov's modified format)");
  EXPECT_EQ(r.last, ReadStatus::end) << r.error;
  ASSERT_EQ(r.frames.size(), 1U);
  EXPECT_EQ(r.frames[0], (Frame{1000'000'250'000, rarp_frame("00:50:56:01:02:03"), 60}));
}

TEST(CaptureFile, RefusesPcapngWhoseFirstInterfaceIsNotEthernet) {
  TempDir dir;
  const std::string path = dir.file("sll.pcapng");
  write_file(path, PcapngBuilder().section_header().interface(113).packet(0, 1, numbered_bytes(40)).bytes());
  EXPECT_EQ(open_error(path),
            path + ": link type LINUX_SLL (113) is not Ethernet; camwatch reads Ethernet captures only");
}

TEST(CaptureFile, ReportsALaterPcapngInterfaceOfAnotherLinkTypeAsAnErrorAfterTheFramesBeforeIt) {
  TempDir dir;
  const std::string path = dir.file("mixed.pcapng");
  write_file(path, PcapngBuilder()
                       .section_header()
                       .interface(1)
                       .packet(0, 1'000000, rarp_frame("00:0c:29:34:0b:de"))
                       .interface(113)
                       .packet(1, 2'000000, numbered_bytes(40))
                       .bytes());
  const ReadResult r = read_all(path);
  EXPECT_EQ(r.frames.size(), 1U);
  EXPECT_EQ(r.last, ReadStatus::error);
  EXPECT_THAT(r.error, StartsWith("after 1 frame, near byte "));
  EXPECT_THAT(r.error, HasSubstr("an interface has a type 113 different from the type of the first interface"));
}

TEST(CaptureFile, ReadsAClassicPcapFromAFifoAsFromTheFile) {
  TempDir dir;
  // Odd records too: the libpcap path must give what the mapped path gives.
  Bytes file = pcap_header(2, 4, 64);
  append(file, pcap_record(1000, 1, 60, 60, rarp_frame("00:50:56:01:02:03")));
  append(file, pcap_record(0x90000000, 0xFFFFFF00, 100, 1514, numbered_bytes(100)));  // > 2038, odd fraction
  append(file, pcap_record(1002, 0, 0, 0, {}));
  append(file, pcap_record(1003, 0, 30, 20, numbered_bytes(30)));
  const std::string regular = dir.file("capture.pcap");
  write_file(regular, file);
  const ReadResult expected = read_all(regular);
  ASSERT_EQ(expected.frames.size(), 4U);

  const std::string fifo = dir.file("capture.fifo");
  FifoFeeder feeder(fifo, file);
  auto reader = CaptureFile::open(fifo);
  const ReadResult r = read_all(*reader);
  EXPECT_EQ(r.format, "pcap (microseconds, little-endian)");
  EXPECT_EQ(r.last, ReadStatus::end) << r.error;
  EXPECT_EQ(r.frames, expected.frames);
  EXPECT_EQ(reader->size_bytes(), 0U) << "a FIFO's size is unknown";
  EXPECT_EQ(reader->position_bytes(), 0U) << "and so is the position";
}

TEST(CaptureFile, ReadsPcapngFromAFifo) {
  TempDir dir;
  const std::string fifo = dir.file("capture.fifo");
  FifoFeeder feeder(fifo,
                    PcapngBuilder().section_header().interface(1).packet(0, 5'000000, numbered_bytes(60)).bytes());
  const ReadResult r = read_all(fifo);
  EXPECT_EQ(r.format, "pcapng");
  ASSERT_EQ(r.frames.size(), 1U) << r.error;
  EXPECT_EQ(r.frames[0], (Frame{5'000'000'000, numbered_bytes(60), 60}));
}

TEST(CaptureFile, ReportsDamageInAFifoAfterTheFramesBeforeIt) {
  TempDir dir;
  Bytes file = pcap_header();
  append(file, pcap_record(1000, 0, 60, 60, rarp_frame("00:50:56:01:02:03")));
  append(file, pcap_record(1001, 0, 0xFFFFFFFF, 60, numbered_bytes(60)));
  const std::string fifo = dir.file("capture.fifo");
  FifoFeeder feeder(fifo, file);
  const ReadResult r = read_all(fifo);
  EXPECT_EQ(r.frames.size(), 1U);
  EXPECT_EQ(r.last, ReadStatus::error);
  EXPECT_EQ(r.error, "after 1 frame: invalid packet capture length 4294967295, bigger than snaplen of 262144");
}

TEST(CaptureFile, RefusesGarbageAndEmptinessFromAFifoLikeFromAFile) {
  TempDir dir;
  {
    const std::string fifo = dir.file("garbage.fifo");
    FifoFeeder feeder(fifo, Bytes{'<', 'h', 't', 'm', 'l', '>', '\n'});
    EXPECT_EQ(open_error(fifo), fifo + ": not a pcap or pcapng file (starts with 0x3c68746d)");
  }
  {
    const std::string fifo = dir.file("empty.fifo");
    FifoFeeder feeder(fifo, {});
    EXPECT_EQ(open_error(fifo), fifo + ": empty file, not a capture");
  }
  {
    const std::string fifo = dir.file("sll.fifo");
    FifoFeeder feeder(fifo, pcap_header(2, 4, 262144, 113));
    EXPECT_EQ(open_error(fifo),
              fifo + ": link type LINUX_SLL (113) is not Ethernet; camwatch reads Ethernet captures only");
  }
}

TEST(CaptureFile, ReadsAPipeGivenAsDevFdLikeBashProcessSubstitution) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::signal(SIGPIPE, SIG_IGN);
  Bytes file = pcap_header();
  for (std::uint32_t i = 0; i < 2000; ++i)
    append(file, pcap_record(1000 + i, 0, 60, 60, rarp_frame("00:50:56:01:02:03")));
  std::thread writer([fd = fds[1], &file] {
    std::size_t done = 0;
    while (done < file.size()) {
      const ssize_t n = ::write(fd, file.data() + done, file.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  });
  const std::string path = "/dev/fd/" + std::to_string(fds[0]);
  ReadResult r;
  {
    auto reader = CaptureFile::open(path);
    ::close(fds[0]);  // the reader holds its own descriptor
    r = read_all(*reader);
  }
  writer.join();
  EXPECT_EQ(r.frames.size(), 2000U);
  EXPECT_EQ(r.last, ReadStatus::end) << r.error;
}

TEST(CaptureFile, ReadsFilesLargerThan4GiB) {
  TempDir dir;
  const std::string path = dir.file("big.pcap");
  // Sparse: record headers every 256 KiB + 16 bytes, the frame bytes left as holes.
  constexpr std::uint32_t kCaplen = 262144;
  constexpr std::uint64_t kRecordBytes = 16 + kCaplen;
  constexpr std::uint64_t kRecords = (std::uint64_t{1} << 32) / kRecordBytes + 16;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  const Bytes header = pcap_header();
  ASSERT_EQ(::pwrite(fd, header.data(), header.size(), 0), 24);
  for (std::uint64_t i = 0; i < kRecords; ++i) {
    const Bytes record = pcap_record(static_cast<std::uint32_t>(1000 + i), 0, kCaplen, kCaplen, {});
    ASSERT_EQ(::pwrite(fd, record.data(), record.size(), static_cast<off_t>(24 + i * kRecordBytes)), 16);
  }
  const std::uint64_t end_of_records = 24 + kRecords * kRecordBytes;
  ASSERT_EQ(::pwrite(fd, "cut", 3, static_cast<off_t>(end_of_records)), 3);
  ASSERT_EQ(::close(fd), 0);

  auto file = CaptureFile::open(path);
  EXPECT_EQ(file->size_bytes(), end_of_records + 3);
  RawFrame raw;
  std::uint64_t frames = 0;
  cam::PacketTime last_time{};
  ReadStatus status;
  while ((status = file->next(raw)) == ReadStatus::frame) {
    ++frames;
    last_time = raw.time;
  }
  EXPECT_EQ(frames, kRecords);
  EXPECT_EQ(last_time, at_seconds(static_cast<std::int64_t>(1000 + kRecords - 1)));
  EXPECT_EQ(status, ReadStatus::error);
  EXPECT_EQ(file->error(), "record " + std::to_string(kRecords + 1) + " at byte " + std::to_string(end_of_records) +
                               ": file ends inside the record header (3 of 16 bytes; truncated capture?)");
}

// Reads `file` to the end with next_batch() in batches of `batch`, copying every frame of a
// batch only after the whole batch was returned (their bytes must stay valid together).
ReadResult read_all_batched(CaptureFile& file, std::size_t batch) {
  ReadResult result;
  result.format = file.format();
  std::vector<RawFrame> raw(batch);
  for (std::size_t n; (n = file.next_batch(raw)) != 0;) {
    EXPECT_LE(n, batch);
    for (std::size_t i = 0; i < n; ++i) {
      result.frames.push_back(Frame{raw[i].time.time_since_epoch().count(), Bytes(raw[i].data.begin(), raw[i].data.end()),
                                    raw[i].wire_length});
    }
  }
  result.error = file.error();
  result.last = result.error.empty() ? ReadStatus::end : ReadStatus::error;
  return result;
}

// Records of many sizes from 0 to 1600 bytes and one of about 200 KB in every 97: many of them
// straddle the end of the reader's 512 KiB buffer.
Bytes records_of_many_sizes(std::size_t count) {
  Bytes file = pcap_header();
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t size = i % 97 == 50 ? 200'000 + i : (i * 37) % 1601;
    append(file, pcap_record(static_cast<std::uint32_t>(1000 + i), static_cast<std::uint32_t>(i % 1'000'000),
                             static_cast<std::uint32_t>(size), static_cast<std::uint32_t>(size + 4),
                             numbered_bytes(size, static_cast<std::uint8_t>(i))));
  }
  return file;
}

TEST(CaptureFile, NextBatchReturnsTheFramesNextReturnsAcrossReadBufferBoundaries) {
  TempDir dir;
  const std::string path = dir.file("sizes.pcap");
  write_file(path, records_of_many_sizes(3000));  // about 14 MB: 28 buffers
  const ReadResult one_by_one = read_all(path);
  ASSERT_EQ(one_by_one.frames.size(), 3000U) << one_by_one.error;
  EXPECT_EQ(one_by_one.last, ReadStatus::end);
  for (std::size_t batch : {1U, 7U, 512U, 100000U}) {
    const ReadResult batched = read_all_batched(*CaptureFile::open(path), batch);
    EXPECT_EQ(batched.last, ReadStatus::end) << batched.error;
    EXPECT_EQ(batched.frames, one_by_one.frames) << "batch " << batch;
  }
}

TEST(CaptureFile, NextBatchCutsRecordsToTheSnaplenAndReturnsFramesBeforeDamage) {
  TempDir dir;
  const std::string path = dir.file("batch-odd.pcap");
  Bytes file = pcap_header(2, 4, 64);
  append(file, pcap_record(1000, 0, 20, 20, numbered_bytes(20)));
  append(file, pcap_record(1001, 0, 100, 1514, numbered_bytes(100)));  // cut to 64
  append(file, pcap_record(1002, 0, 30, 30, numbered_bytes(30)));
  append(file, pcap_record(1003, 0, 100, 100, numbered_bytes(40)));  // cut short by the end
  write_file(path, file);
  const ReadResult r = read_all_batched(*CaptureFile::open(path), 512);
  ASSERT_EQ(r.frames.size(), 3U);
  EXPECT_EQ(r.frames[1], (Frame{1001'000'000'000, numbered_bytes(64), 1514}));
  EXPECT_EQ(r.frames[2], (Frame{1002'000'000'000, numbered_bytes(30), 30}));
  EXPECT_EQ(r.error,
            "record 4 at byte 222: file ends inside the record (100 captured bytes claimed, 40 present; "
            "truncated capture?)");
}

TEST(CaptureFile, NextBatchOfLibpcapReadersReturnsOneFrameAtATime) {
  TempDir dir;
  const std::string path = dir.file("batch.pcapng");
  PcapngBuilder b;
  b.section_header().interface(1);
  for (int i = 0; i < 3; ++i) b.packet(0, 1000 + i, rarp_frame("00:50:56:01:02:03"));
  write_file(path, b.bytes());
  auto file = CaptureFile::open(path);
  std::vector<RawFrame> raw(16);
  EXPECT_EQ(file->next_batch(raw), 1U);
  EXPECT_EQ(file->next_batch(raw), 1U);
  EXPECT_EQ(file->next_batch(raw), 1U);
  EXPECT_EQ(file->next_batch(raw), 0U);
  EXPECT_EQ(file->error(), "");
}

TEST(CaptureFile, ReportsAFileThatShrinksWhileBeingReadInsteadOfCrashing) {
  TempDir dir;
  const std::string path = dir.file("shrinks.pcap");
  write_file(path, records_of_many_sizes(3000));
  auto file = CaptureFile::open(path);
  RawFrame raw;
  ASSERT_EQ(file->next(raw), ReadStatus::frame);
  ASSERT_EQ(::truncate(path.c_str(), 1'000'000), 0);  // the first buffer (512 KiB) is already read
  ReadStatus status;
  std::uint64_t frames = 1;
  while ((status = file->next(raw)) == ReadStatus::frame) ++frames;
  EXPECT_EQ(status, ReadStatus::error);
  EXPECT_THAT(file->error(), HasSubstr("shorter than its"));
  EXPECT_THAT(file->error(), HasSubstr("truncated while being read?"));
  EXPECT_GT(frames, 10U);
}

}  // namespace
}  // namespace camwatch::capture
