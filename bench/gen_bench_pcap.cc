// camwatch-bench-gen: writes a large synthetic capture for throughput benchmarks.
//
//   camwatch-bench-gen [--frames N] [--macs N] [--seed S] OUT.pcap
//   camwatch-bench-gen --flood N [--seed S] OUT.pcap
//
// Default mode: N frames (5,000,000) from M stations (100,000), skewed like a real access layer:
// 80% of the frames come from the hottest 1% of the MACs. Every 4th MAC lives on a VLAN (so about
// a quarter of the frames are 802.1Q-tagged), 1% of the frames are gratuitous ARPs, 0.1% RARPs,
// the rest IPv4/UDP of 64-256 bytes on the wire (60-252 captured, no FCS). One MAC keeps one
// VLAN and one uplink: the file has no moves, it measures the per-frame cost.
// --flood mode: N frames, each from a fresh random unicast source MAC (a macof-style CAM
// flood), for table-cap tests.
//
// Classic pcap, µs, little-endian. Timestamps start 2012-08-30T12:00:00Z and advance 1 µs per
// frame plus an occasional 1-3 µs of jitter: always strictly increasing. Same arguments, same
// bytes (testsupport::Prng, integer arithmetic only).
//
// Fast on purpose: frames are patched copies of templates made once with the FrameBuilder, and
// records go to the file in 8 MiB blocks (one write per block instead of stdio per field); a
// 5M-frame file is written in about a second plus the disk.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "cam/types.h"
#include "testsupport/frame_builder.h"
#include "testsupport/prng.h"

namespace {

namespace ts = camwatch::testsupport;
using camwatch::cam::MacAddress;

constexpr std::uint64_t kStartSeconds = 1'346'328'000;  // 2012-08-30T12:00:00Z
constexpr std::size_t kBlockBytes = 8U << 20;
constexpr std::size_t kMaxFrame = 252;  // captured bytes; 256 on the wire with the FCS

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "camwatch-bench-gen: error: %s\n", what.c_str());
  std::exit(1);
}

[[noreturn]] void usage(int code) {
  std::FILE* out = code == 0 ? stdout : stderr;
  std::fprintf(out,
               "usage: camwatch-bench-gen [--frames N] [--macs N] [--seed S] OUT.pcap\n"
               "       camwatch-bench-gen --flood N [--seed S] OUT.pcap\n"
               "  --frames N  frames to write (default 5000000)\n"
               "  --macs N    distinct source MACs (default 100000, at most 16777216)\n"
               "  --seed S    PRNG seed (default 1): same arguments, same file\n"
               "  --flood N   instead: N frames, each from a new random unicast source MAC\n");
  std::exit(code);
}

std::uint64_t parse_count(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
    std::fprintf(stderr, "camwatch-bench-gen: error: %s needs a non-negative integer, got '%s'\n", flag, text);
    usage(2);
  }
  return v;
}

void put_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void put_le32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v >> 16);
  p[3] = static_cast<std::uint8_t>(v >> 24);
}

void put_mac(std::uint8_t* p, std::uint64_t mac) {
  for (int i = 0; i < 6; ++i) p[i] = static_cast<std::uint8_t>(mac >> (8 * (5 - i)));
}

void put_ip(std::uint8_t* p, std::uint32_t ip) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(ip >> (8 * (3 - i)));
}

// Accumulates pcap records and hands them to the PcapWriter (which wrote the file header) as
// raw blocks: one fwrite per 8 MiB instead of five per frame.
class RecordBlock {
 public:
  explicit RecordBlock(ts::PcapWriter& writer) : writer_(writer) { block_.reserve(kBlockBytes + 64 * 1024); }

  // Reserves a record of `caplen` bytes at `micros` and returns where its frame bytes go.
  std::uint8_t* record(std::uint64_t micros, std::uint32_t caplen) {
    if (block_.size() + 16 + caplen > kBlockBytes) flush();
    std::size_t at = block_.size();
    block_.resize(at + 16 + caplen);
    std::uint8_t* p = block_.data() + at;
    put_le32(p, static_cast<std::uint32_t>(micros / 1'000'000));
    put_le32(p + 4, static_cast<std::uint32_t>(micros % 1'000'000));
    put_le32(p + 8, caplen);
    put_le32(p + 12, caplen);
    bytes_ += 16 + caplen;
    return p + 16;
  }

  void flush() {
    writer_.write_raw(block_);
    block_.clear();
  }

  std::uint64_t bytes() const { return bytes_ + 24; }

 private:
  ts::PcapWriter& writer_;
  ts::Bytes block_;
  std::uint64_t bytes_ = 0;
};

// Frame templates built once with the FrameBuilder; per frame only addresses, lengths and the
// VLAN id are patched. Offsets are checked against the built bytes at startup.
struct Templates {
  ts::Bytes udp[2];   // [tagged]
  ts::Bytes garp[2];
  ts::Bytes rarp[2];

  static std::size_t l3(bool tagged) { return tagged ? 18 : 14; }

  Templates() {
    const MacAddress gateway = ts::mac("00:00:0c:07:ac:01");
    const MacAddress someone = ts::mac("02:00:00:00:00:01");
    for (int tagged = 0; tagged < 2; ++tagged) {
      auto base = [&] {
        ts::FrameBuilder b;
        b.source(someone);
        if (tagged != 0) b.vlan(1);
        return b;
      };
      udp[tagged] = base()
                        .destination(gateway)
                        .udp(ts::ipv4("10.0.0.1"), ts::ipv4("10.99.0.1"), 40000, 8125, kMaxFrame - l3(tagged != 0) - 28)
                        .build();
      garp[tagged] = base().destination(ts::kBroadcast).garp_request(someone, ts::ipv4("10.0.0.1")).build();
      rarp[tagged] = base().destination(ts::kBroadcast).rarp_request(someone).build();
      check(udp[tagged], tagged != 0, 0x0800);
      check(garp[tagged], tagged != 0, 0x0806);
      check(rarp[tagged], tagged != 0, 0x8035);
    }
    if (udp[0].size() != kMaxFrame || udp[1].size() != kMaxFrame) die("UDP template is not 252 bytes");
  }

  static void check(const ts::Bytes& f, bool tagged, std::uint16_t ethertype) {
    std::size_t at = l3(tagged) - 2;
    if (f.size() < 60 || f[at] != (ethertype >> 8) || f[at + 1] != (ethertype & 0xFF) ||
        (tagged && (f[12] != 0x81 || f[13] != 0x00))) {
      die("frame builder layout is not what the bench generator patches");
    }
  }
};

// A station of the default mode: MAC, VLAN (0 = untagged), IPv4 address.
struct Station {
  std::uint64_t mac;
  std::uint16_t vlan;
  std::uint32_t ip;
};

// Index -> station. MACs spread over a few real OUIs; the low 24 bits are the index times an odd
// constant mod 2^24, a bijection, so MACs are unique and not sequential (hash tables see no
// easy pattern). Every 4th station is tagged, VLANs 10..4009.
Station station_for(std::uint64_t index) {
  static constexpr std::uint64_t kOuis[] = {0x005056, 0x3CFDFE, 0x001B21, 0x525400, 0xB8599F};
  std::uint64_t low = (index * 0x9E3779B1ULL) & 0xFF'FFFFULL;
  Station s;
  s.mac = kOuis[index % std::size(kOuis)] << 24 | low;
  s.vlan = index % 4 == 3 ? static_cast<std::uint16_t>(10 + (index / 4) % 4000) : 0;
  s.ip = 0x0A00'0000U | static_cast<std::uint32_t>(index & 0xFF'FFFFU);  // 10.x.y.z
  if ((s.ip & 0xFF) == 0) s.ip |= 1;
  return s;
}

// 60-252 captured bytes: mostly small (acks, DNS, RPC), some medium, a few larger.
std::uint32_t udp_frame_length(ts::Prng& rng) {
  auto pick = rng.below(100);
  if (pick < 55) return static_cast<std::uint32_t>(rng.between(60, 90));
  if (pick < 85) return static_cast<std::uint32_t>(rng.between(91, 160));
  return static_cast<std::uint32_t>(rng.between(161, static_cast<std::int64_t>(kMaxFrame)));
}

// Writes one IPv4/UDP frame of `length` captured bytes from `s`, to a random server.
void write_udp(std::uint8_t* out, const Templates& t, const Station& s, std::uint32_t length, ts::Prng& rng) {
  bool tagged = s.vlan != 0;
  std::memcpy(out, t.udp[tagged].data(), length);
  put_mac(out + 6, s.mac);
  if (tagged) put_be16(out + 14, s.vlan);
  std::uint8_t* ip = out + Templates::l3(tagged);
  auto ip_length = static_cast<std::uint16_t>(length - Templates::l3(tagged));  // >= 42: no padding
  put_be16(ip + 2, ip_length);
  put_ip(ip + 12, s.ip);
  put_ip(ip + 16, 0x0A63'0000U | static_cast<std::uint32_t>(rng.between(2, 250)));  // 10.99.0.x
  put_be16(ip + 20, static_cast<std::uint16_t>(rng.between(32768, 60999)));
  put_be16(ip + 24, static_cast<std::uint16_t>(ip_length - 20));
}

void write_notification(std::uint8_t* out, const ts::Bytes& tmpl, const Station& s, bool rarp) {
  bool tagged = s.vlan != 0;
  std::memcpy(out, tmpl.data(), tmpl.size());
  put_mac(out + 6, s.mac);
  if (tagged) put_be16(out + 14, s.vlan);
  std::uint8_t* arp = out + Templates::l3(tagged);
  put_mac(arp + 8, s.mac);  // sender hardware address
  if (rarp) {
    put_mac(arp + 18, s.mac);  // target hardware address
  } else {
    put_ip(arp + 14, s.ip);  // sender IP == target IP: gratuitous
    put_ip(arp + 24, s.ip);
  }
}

struct Totals {
  std::uint64_t frames = 0, tagged = 0, garp = 0, rarp = 0;
};

Totals generate_mix(RecordBlock& out, std::uint64_t frames, std::uint64_t macs, std::uint64_t seed) {
  ts::Prng rng(seed);
  const Templates templates;
  std::vector<Station> stations(macs);
  for (std::uint64_t i = 0; i < macs; ++i) stations[i] = station_for(i);
  const std::uint64_t hot = macs >= 100 ? macs / 100 : 1;

  Totals n;
  std::uint64_t micros = kStartSeconds * 1'000'000;
  for (std::uint64_t i = 0; i < frames; ++i) {
    micros += 1 + (rng.below(8) == 0 ? rng.between(1, 3) : 0);
    std::uint64_t index = rng.below(100) < 80 || hot == macs ? rng.below(hot) : hot + rng.below(macs - hot);
    const Station& s = stations[index];
    auto kind = rng.below(100'000);  // 1% GARP, 0.1% RARP
    if (kind < 1'000) {
      const ts::Bytes& tmpl = templates.garp[s.vlan != 0];
      write_notification(out.record(micros, static_cast<std::uint32_t>(tmpl.size())), tmpl, s, false);
      ++n.garp;
    } else if (kind < 1'100) {
      const ts::Bytes& tmpl = templates.rarp[s.vlan != 0];
      write_notification(out.record(micros, static_cast<std::uint32_t>(tmpl.size())), tmpl, s, true);
      ++n.rarp;
    } else {
      std::uint32_t length = udp_frame_length(rng);
      write_udp(out.record(micros, length), templates, s, length, rng);
    }
    if (s.vlan != 0) ++n.tagged;
    ++n.frames;
  }
  return n;
}

Totals generate_flood(RecordBlock& out, std::uint64_t frames, std::uint64_t seed) {
  ts::Prng rng(seed);
  const Templates templates;
  Totals n;
  std::uint64_t micros = kStartSeconds * 1'000'000;
  for (std::uint64_t i = 0; i < frames; ++i) {
    micros += 1 + (rng.below(8) == 0 ? rng.between(1, 3) : 0);
    Station s;
    // Random 48 bits with the group bit cleared; never zero: always a learnable station.
    s.mac = (rng.next() & 0xFEFF'FFFF'FFFFULL) | 1;
    s.vlan = 0;
    s.ip = static_cast<std::uint32_t>(rng.next());
    std::uint8_t* frame = out.record(micros, 60);
    write_udp(frame, templates, s, 60, rng);
    put_mac(frame, (rng.next() & 0xFEFF'FFFF'FFFFULL) | 1);  // random unicast destination, as macof
    ++n.frames;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t frames = 5'000'000, macs = 100'000, seed = 1, flood = 0;
  bool flood_mode = false;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* flag) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "camwatch-bench-gen: error: %s needs a value\n", flag);
        usage(2);
      }
      return parse_count(flag, argv[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      usage(0);
    } else if (arg == "--frames") {
      frames = value("--frames");
    } else if (arg == "--macs") {
      macs = value("--macs");
    } else if (arg == "--seed") {
      seed = value("--seed");
    } else if (arg == "--flood") {
      flood = value("--flood");
      flood_mode = true;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "camwatch-bench-gen: error: unknown option %s\n", arg.c_str());
      usage(2);
    } else if (path.empty()) {
      path = arg;
    } else {
      usage(2);
    }
  }
  if (path.empty()) usage(2);
  if (!flood_mode && (macs == 0 || macs > (1U << 24))) die("--macs must be 1..16777216");

  auto started = std::chrono::steady_clock::now();
  ts::PcapWriter writer(path);
  RecordBlock block(writer);
  Totals n = flood_mode ? generate_flood(block, flood, seed) : generate_mix(block, frames, macs, seed);
  block.flush();
  writer.close();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  if (flood_mode) {
    std::printf("%s: %llu frames, each from a random source MAC, %llu bytes, %.2f s\n", path.c_str(),
                static_cast<unsigned long long>(n.frames), static_cast<unsigned long long>(block.bytes()), elapsed);
  } else {
    std::printf("%s: %llu frames from %llu MACs (%llu tagged, %llu GARP, %llu RARP), %llu bytes, %.2f s\n",
                path.c_str(), static_cast<unsigned long long>(n.frames), static_cast<unsigned long long>(macs),
                static_cast<unsigned long long>(n.tagged), static_cast<unsigned long long>(n.garp),
                static_cast<unsigned long long>(n.rarp), static_cast<unsigned long long>(block.bytes()), elapsed);
  }
  return 0;
}
