// camwatch-pcapgen: writes the scenario captures of pcaps/ and the events each should produce.
//
//   camwatch-pcapgen OUTDIR
//
// writes OUTDIR/<scenario>-<uplink>.pcap (one classic µs pcap per uplink: the frames the switch
// received on that port) and OUTDIR/expected/<scenario>.jsonl (the events `camwatch replay` must
// print for it, SPEC keys only). A collector scenario is instead one capture of a mirror
// collector, OUTDIR/<scenario>.collector.pcap, with OUTDIR/<scenario>.toml mapping its sessions to
// the uplink names of the expected events. pcaps/README.md explains every scenario and why each event is
// what it is; keep the two in step.
//
// Deterministic by construction: all times are integer microseconds from fixed UTC instants, and
// the only randomness is testsupport::Prng with a fixed seed per scenario, so the output is
// byte-identical on every machine (the pcaps.regenerate_identical test checks it). Changing
// anything here changes the committed files: regenerate them and say so in the commit.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "cam/types.h"
#include "testsupport/frame_builder.h"
#include "testsupport/prng.h"

namespace {

using camwatch::cam::MacAddress;
namespace ts = camwatch::testsupport;

// Microseconds since the Unix epoch. Integers only: floating point would make the output depend
// on the compiler's rounding.
using Micros = std::int64_t;
constexpr Micros kMilli = 1'000;
constexpr Micros kSecond = 1'000'000;

// 2012-08-30T05:40:00Z, the morning of the incident the first scenario re-enacts.
constexpr Micros kIncidentStart = Micros{1'346'305'200} * kSecond;

constexpr Micros seconds(std::int64_t s) { return s * kSecond; }
constexpr Micros millis(std::int64_t ms) { return ms * kMilli; }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "camwatch-pcapgen: error: %s\n", what.c_str());
  std::exit(1);
}

struct Tag {
  std::uint16_t tpid;
  std::uint16_t vid;
  std::uint8_t pcp = 0;
};

// One sender as the switch sees it: a source MAC with the tags its frames carry, and the
// addresses its ordinary traffic uses.
struct Station {
  MacAddress mac;
  ts::Ipv4 ip{};
  std::vector<Tag> tags;
  MacAddress gateway_mac = ts::mac("00:00:0c:07:ac:01");
  ts::Ipv4 gateway_ip{};
  // The sender hardware address its ARP frames carry, when not its source MAC: a Windows NLB
  // host in unicast mode answers with the cluster MAC 02-bf-<cluster IP> from its masked source.
  MacAddress arp_mac;

  MacAddress arp_sender() const { return arp_mac.is_zero() ? mac : arp_mac; }

  // The station VLAN (SPEC: outermost tag's VID, 0 when untagged or priority-tagged).
  std::uint16_t vlan() const { return tags.empty() ? 0 : tags.front().vid; }
};

Station make_station(const char* mac_text, const char* ip_text, std::vector<Tag> tags = {}) {
  Station s;
  s.mac = ts::mac(mac_text);
  s.ip = ts::ipv4(ip_text);
  s.tags = std::move(tags);
  s.gateway_ip = s.ip;
  s.gateway_ip[3] = s.ip[3] == 1 ? 254 : 1;  // never the station's own address: ARP to it is gratuitous
  return s;
}

// fe80::/64 link-local address with the modified EUI-64 interface id (RFC 4291 2.5.1).
ts::Ipv6 link_local(MacAddress m) {
  auto o = m.octets();
  ts::Ipv6 a{};
  a[0] = 0xfe;
  a[1] = 0x80;
  a[8] = static_cast<std::uint8_t>(o[0] ^ 0x02);
  a[9] = o[1];
  a[10] = o[2];
  a[11] = 0xff;
  a[12] = 0xfe;
  a[13] = o[3];
  a[14] = o[4];
  a[15] = o[5];
  return a;
}

ts::FrameBuilder from(const Station& s) {
  ts::FrameBuilder b;
  b.source(s.mac);
  for (const Tag& t : s.tags) b.tag(t.tpid, t.vid, t.pcp);
  return b;
}

// --- Payloads: small but well-formed, so that tcpdump and Wireshark decode the files cleanly.

void append_text(ts::Bytes& out, const std::string& text) { out.insert(out.end(), text.begin(), text.end()); }

void append_be16(ts::Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

// A one-question DNS query (also mDNS with id 0): `labels` like {"_ipp", "_tcp", "local"}.
ts::Bytes dns_query(std::uint16_t id, std::uint16_t flags, const std::vector<std::string>& labels, std::uint16_t qtype) {
  ts::Bytes out;
  append_be16(out, id);
  append_be16(out, flags);
  append_be16(out, 1);  // questions
  out.insert(out.end(), 6, 0);
  for (const std::string& label : labels) {
    out.push_back(static_cast<std::uint8_t>(label.size()));
    append_text(out, label);
  }
  out.push_back(0);
  append_be16(out, qtype);
  append_be16(out, 1);  // class IN
  return out;
}

// NetBIOS name query (RFC 1002 4.2.12), broadcast: exactly 50 bytes.
ts::Bytes nbns_query(std::uint16_t id, const std::string& name) {
  ts::Bytes out;
  append_be16(out, id);
  append_be16(out, 0x0110);  // query, recursion desired, broadcast
  append_be16(out, 1);
  out.insert(out.end(), 6, 0);
  out.push_back(32);
  std::string padded = name.substr(0, 15);
  padded.resize(15, ' ');
  padded.push_back('\0');
  for (char c : padded) {  // first-level encoding: each nibble + 'A'
    auto byte = static_cast<std::uint8_t>(c);
    out.push_back(static_cast<std::uint8_t>('A' + (byte >> 4)));
    out.push_back(static_cast<std::uint8_t>('A' + (byte & 0x0F)));
  }
  out.push_back(0);
  append_be16(out, 0x0020);  // NB
  append_be16(out, 1);
  return out;
}

std::string host_name(const Station& s) {
  auto o = s.mac.octets();
  char name[16];
  std::snprintf(name, sizeof name, "host-%02x%02x", o[4], o[5]);
  return name;
}

// The UDP payload bytes of a frame the builder made with a filler payload of the same size.
std::uint8_t* udp_payload(ts::Bytes& frame, std::size_t tags, bool v6) {
  return frame.data() + 14 + 4 * tags + (v6 ? 40 : 20) + 8;
}

// Fills in the IPv4 header checksum and the UDP/ICMPv6 checksums (the builder leaves them zero
// where camwatch does not care; real captures have them right). Frames without IP are untouched.
void seal_checksums(ts::Bytes& f) {
  auto be16 = [&f](std::size_t at) { return static_cast<std::uint16_t>(f[at] << 8 | f[at + 1]); };
  auto sum_words = [&f](std::size_t at, std::size_t n, std::uint32_t sum) {
    for (std::size_t i = 0; i < n; i += 2) {
      std::uint32_t hi = f[at + i];
      std::uint32_t lo = i + 1 < n ? f[at + i + 1] : 0;
      sum += hi << 8 | lo;
    }
    return sum;
  };
  auto fold = [](std::uint32_t sum) {
    while ((sum >> 16) != 0) sum = (sum & 0xFFFFU) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xFFFFU);
  };
  auto store = [&f](std::size_t at, std::uint16_t v) {
    f[at] = static_cast<std::uint8_t>(v >> 8);
    f[at + 1] = static_cast<std::uint8_t>(v);
  };

  std::size_t off = 12;
  while (off + 4 <= f.size() &&
         (be16(off) == ts::kTpid8021Q || be16(off) == ts::kTpid8021ad || be16(off) == ts::kTpid9100)) {
    off += 4;
  }
  if (off + 2 > f.size()) return;
  std::uint16_t ethertype = be16(off);
  std::size_t ip = off + 2;
  if (ethertype == 0x0800 && ip + 20 <= f.size()) {
    store(ip + 10, 0);
    store(ip + 10, fold(sum_words(ip, 20, 0)));
    if (f[ip + 9] == 17) {
      std::size_t udp = ip + 20;
      std::uint16_t length = be16(udp + 4);
      store(udp + 6, 0);
      std::uint32_t sum = sum_words(ip + 12, 8, 0) + 17U + length;
      std::uint16_t c = fold(sum_words(udp, length, sum));
      store(udp + 6, c == 0 ? 0xFFFF : c);
    }
  } else if (ethertype == 0x86DD && ip + 40 <= f.size()) {
    std::uint8_t next = f[ip + 6];
    std::uint16_t length = be16(ip + 4);
    std::size_t upper = ip + 40;
    std::size_t at = next == 17 ? upper + 6 : next == 58 ? upper + 2 : 0;
    if (at == 0) return;
    store(at, 0);
    std::uint32_t sum = sum_words(ip + 8, 32, 0) + length + next;
    std::uint16_t c = fold(sum_words(upper, length, sum));
    store(at, next == 17 && c == 0 ? 0xFFFF : c);
  }
}

// One ordinary frame: never a notification (ARP only with sender IP != target IP, IPv6 only
// UDP). The mix is what a quiet server sends: DNS, NTP, syslog and statsd datagrams through its
// gateway, ARP for its gateway and neighbours, NetBIOS name queries, mDNS over IPv6.
ts::Bytes ordinary_frame(const Station& s, ts::Prng& rng) {
  auto b = from(s);
  auto pick = rng.below(100);
  auto ephemeral = static_cast<std::uint16_t>(rng.between(32768, 60999));
  auto id = static_cast<std::uint16_t>(rng.below(65536));
  const std::size_t tags = s.tags.size();
  if (pick < 45) {
    ts::Ipv4 server = {10, 99, 0, static_cast<std::uint8_t>(rng.between(2, 60))};
    ts::Bytes data;
    std::uint16_t port = 0;
    switch (rng.below(4)) {
      case 0: {
        port = 53;
        char name[16];
        std::snprintf(name, sizeof name, "srv%02u", static_cast<unsigned>(rng.below(100)));
        data = dns_query(id, 0x0100, {name, "corp", "example"}, 1);
        break;
      }
      case 1: {
        port = 123;
        data.assign(48, 0);
        data[0] = 0x23;  // LI 0, version 4, mode 3 (client)
        for (std::size_t i = 40; i < 48; ++i) data[i] = static_cast<std::uint8_t>(rng.below(256));
        break;
      }
      case 2: {
        port = 514;
        char line[160];
        // Draw in a fixed order: function arguments are evaluated in an unspecified order, and
        // GCC and Clang differ (this is the order the committed files were made with).
        const auto millis_taken = static_cast<unsigned>(rng.between(1, 900));
        const auto request = static_cast<unsigned>(rng.below(1000000));
        const auto pid = static_cast<unsigned>(rng.between(1000, 9999));
        std::snprintf(line, sizeof line, "<134>%s app[%u]: request %u served in %u ms", host_name(s).c_str(), pid,
                      request, millis_taken);
        append_text(data, line);
        break;
      }
      default: {
        port = 8125;
        char line[96];
        const auto latency = static_cast<unsigned>(rng.between(1, 900));  // fixed order, as above
        const auto requests = static_cast<unsigned>(rng.between(1, 50));
        std::snprintf(line, sizeof line, "app.requests:%u|c\napp.latency_ms:%u|ms", requests, latency);
        append_text(data, line);
        break;
      }
    }
    b.destination(s.gateway_mac).udp(s.ip, server, ephemeral, port, data.size());
    ts::Bytes frame = b.build();
    std::copy(data.begin(), data.end(), udp_payload(frame, tags, false));
    seal_checksums(frame);
    return frame;
  }
  if (pick < 60) {
    ts::Ipv4 target = s.gateway_ip;
    if (rng.below(3) == 0) target[3] = static_cast<std::uint8_t>(rng.between(2, 250));
    if (target == s.ip) target[3] = static_cast<std::uint8_t>(target[3] ^ 0x80);
    return b.destination(ts::kBroadcast).arp(1, s.arp_sender(), s.ip, MacAddress(), target).build();
  }
  if (pick < 70) return b.destination(s.gateway_mac).arp(2, s.arp_sender(), s.ip, s.gateway_mac, s.gateway_ip).build();
  if (pick < 85) {
    static const char* const kServices[] = {"_ipp", "_smb", "_ssh", "_http", "_workstation"};
    ts::Bytes data = dns_query(0, 0, {kServices[rng.below(std::size(kServices))], "_tcp", "local"}, 12);
    b.destination(ts::mac("33:33:00:00:00:fb")).udp6(link_local(s.mac), ts::ipv6("ff02::fb"), 5353, 5353, data.size());
    ts::Bytes frame = b.build();
    std::copy(data.begin(), data.end(), udp_payload(frame, tags, true));
    seal_checksums(frame);
    return frame;
  }
  ts::Ipv4 bcast = s.ip;
  bcast[3] = 255;
  char name[16];
  std::snprintf(name, sizeof name, "FILESRV%02u", static_cast<unsigned>(rng.below(20)));
  ts::Bytes data = nbns_query(id, name);
  b.destination(ts::kBroadcast).udp(s.ip, bcast, 137, 137, data.size());
  ts::Bytes frame = b.build();
  std::copy(data.begin(), data.end(), udp_payload(frame, tags, false));
  seal_checksums(frame);
  return frame;
}

// Expected event, written as one JSON line with the SPEC keys (and the keys golden_pcaps.sh
// compares beyond them, in `extra`).
struct Expected {
  const char* event;
  std::vector<std::size_t> anchors;  // frames whose latest time (+ offset) is the event time
  MacAddress mac;
  std::uint16_t vlan;
  std::size_t from;  // kNoMove: no from/to keys (written as "uplink" = to instead)
  std::size_t to;
  const char* notification;  // announced_move only, else nullptr
  Micros offset = 0;
  std::string extra;  // further JSON keys, ",\"key\":value..."
};
constexpr std::size_t kNoMove = static_cast<std::size_t>(-1);

class Scenario {
 public:
  Scenario(std::string name, std::vector<std::string> uplinks, std::uint64_t seed)
      : name_(std::move(name)), uplinks_(std::move(uplinks)), rng_(seed) {}

  ts::Prng& rng() { return rng_; }

  // Adds one frame received on `uplink`; returns its sequence number.
  std::size_t emit(std::size_t uplink, Micros time, ts::Bytes bytes) {
    frames_.push_back(Frame{time, uplink, frames_.size(), std::move(bytes)});
    return frames_.back().seq;
  }

  // Ordinary frames of `s` on `uplink`: the first at `first`, then every gap_min..gap_max
  // until before `end`. Returns the time of the last one (`first` - 1 if none).
  Micros chatter(const Station& s, std::size_t uplink, Micros first, Micros end, Micros gap_min, Micros gap_max) {
    Micros last = first - 1;
    for (Micros t = first; t < end; t += rng_.between(gap_min, gap_max)) {
      emit(uplink, t, ordinary_frame(s, rng_));
      last = t;
    }
    return last;
  }

  // The earliest frame emitted so far with Ethernet source `m` on `uplink` at or after `after`.
  std::size_t first_frame_of(MacAddress m, std::size_t uplink, Micros after) const {
    const Frame* best = nullptr;
    auto want = m.octets();
    for (const Frame& f : frames_) {
      if (f.uplink != uplink || f.time < after || f.bytes.size() < 12) continue;
      if (std::memcmp(f.bytes.data() + 6, want.data(), 6) != 0) continue;
      if (best == nullptr || f.time < best->time) best = &f;
    }
    if (best == nullptr) die(name_ + ": no frame of " + m.to_string() + " to anchor an event on");
    return best->seq;
  }

  void expect(const char* event, std::size_t anchor, const Station& s, std::size_t from_uplink,
              std::size_t to_uplink, const char* notification = nullptr) {
    expected_.push_back(Expected{event, {anchor}, s.mac, s.vlan(), from_uplink, to_uplink, notification, 0, {}});
  }

  // The expectation added last concerns an NLB host: its events carry the host's identity.
  void with_nlb_identity(unsigned host_id, const char* cluster) {
    expected_.back().extra += std::string(R"(,"nlb_cluster":")") + cluster + R"(","nlb_host":)" + std::to_string(host_id);
  }

  // nlb_unicast_host at `anchor` (the host's first heartbeat) on `uplink`.
  void expect_nlb_host(std::size_t anchor, const Station& s, std::size_t uplink, unsigned host_id, const char* cluster) {
    Expected e{"nlb_unicast_host", {anchor}, s.mac, s.vlan(), kNoMove, uplink, nullptr, 0, {}};
    e.extra = std::string(R"(,"nlb_cluster":")") + cluster + R"(","nlb_host":)" + std::to_string(host_id);
    expected_.push_back(std::move(e));
  }

  // An address-binding event decided by frame `anchor`: `mac` on `vlan` claims `ip` on `uplink`;
  // `other_key` is "old_mac" or "other_mac" (with `other`), or nullptr for new_binding.
  void expect_binding(const char* event, std::size_t anchor, MacAddress mac, std::uint16_t vlan, std::size_t uplink,
                      const std::string& ip, const char* claim, const char* other_key = nullptr,
                      MacAddress other = MacAddress()) {
    Expected e{event, {anchor}, mac, vlan, kNoMove, uplink, nullptr, 0, {}};
    e.extra = R"(,"ip":")" + ip + "\"";
    if (other_key != nullptr) e.extra += std::string(",\"") + other_key + R"(":")" + other.to_string() + "\"";
    e.extra += std::string(R"(,"claim":")") + claim + "\"";
    expected_.push_back(std::move(e));
  }

  // A failover story closed `gap` after the last of its member moves (`anchors`).
  void expect_failover(std::vector<std::size_t> anchors, Micros gap, std::size_t from_uplink, std::size_t to_uplink,
                       const char* cause, unsigned announced, unsigned silent) {
    Expected e{"failover", std::move(anchors), MacAddress(), 0, from_uplink, to_uplink, nullptr, 0, {}};
    e.offset = gap;
    e.extra = std::string(R"(,"cause":")") + cause + R"(","stations":)" + std::to_string(announced + silent) +
              R"(,"announced":)" + std::to_string(announced) + R"(,"silent":)" + std::to_string(silent);
    expected_.push_back(std::move(e));
  }

  // Writes <outdir>/<name>-<uplink>.pcap for every uplink and <outdir>/expected/<name>.jsonl.
  void write(const std::string& outdir) {
    settle_times();
    for (std::size_t u = 0; u < uplinks_.size(); ++u) {
      std::string path = outdir + "/" + name_ + "-" + uplinks_[u] + ".pcap";
      ts::PcapWriter writer(path);
      std::size_t count = 0;
      for (const Frame& f : frames_) {
        if (f.uplink != u) continue;
        writer.write(ts::at_seconds(f.time / kSecond, (f.time % kSecond) * kMilli), f.bytes);
        ++count;
      }
      writer.close();
      std::printf("%-36s %6zu frames\n", path.c_str(), count);
    }
    if (!config_.empty()) {
      const std::string config_path = outdir + "/" + name_ + ".toml";
      std::FILE* c = std::fopen(config_path.c_str(), "wb");
      if (c == nullptr || std::fputs(config_.c_str(), c) < 0 || std::fclose(c) != 0) die("cannot write " + config_path);
    }
    write_expected(outdir, name_);
  }

  // The configuration `camwatch replay --config` needs for this scenario (<outdir>/<name>.toml).
  void set_config(std::string text) { config_ = std::move(text); }

  // The same frames as one ERSPAN collector would receive them, as scenario `name`: each frame
  // of uplink u wrapped in IPv4 / GRE (sequence numbered) / ERSPAN type II with session
  // sessions[u] and index u, from one switch to the collector, in packet-time order;
  // among them the collector's own traffic (ARP, a ping to it), the mirror of a port nobody maps
  // (session 99) and one fragmented mirror. Writes <outdir>/<name>.collector.pcap,
  // <outdir>/<name>.toml (the sessions mapped to this scenario's uplink names) and the same
  // expected events as write() under <name>.
  void write_collector(const std::string& outdir, const std::string& name, const std::vector<std::uint16_t>& sessions) {
    settle_times();
    const MacAddress switch_mac = ts::mac("00:1b:54:c2:00:01");
    const MacAddress collector_mac = ts::mac("00:1b:21:aa:00:02");
    const MacAddress gateway_mac = ts::mac("00:1b:54:c2:00:fe");
    const ts::Ipv4 switch_ip = ts::ipv4("192.0.2.1");
    const ts::Ipv4 collector_ip = ts::ipv4("192.0.2.10");
    std::vector<std::uint32_t> sequence(256, 0);
    auto mirror = [&](std::uint16_t session, std::uint32_t index, const ts::Bytes& inner, std::uint16_t flags) {
      ts::GreHeader gre;
      gre.protocol = 0x88BE;
      gre.sequence = sequence[session & 0xFF]++;
      ts::ErspanIIHeader erspan;
      erspan.session = session;
      erspan.index = index;
      ts::FrameBuilder::Ipv4Packet ip;
      ip.source = switch_ip;
      ip.destination = collector_ip;
      ip.flags_and_offset = flags;
      ip.body = ts::concat({ts::gre_header(gre), ts::erspan_ii_header(erspan), inner});
      return ts::FrameBuilder().source(switch_mac).destination(collector_mac).ipv4_packet(ip).build();
    };

    struct Out {
      Micros time;
      ts::Bytes bytes;
    };
    std::vector<Out> out;
    for (const Frame& f : frames_) {
      out.push_back({f.time, mirror(sessions[f.uplink], static_cast<std::uint32_t>(f.uplink), f.bytes, 0x4000)});
    }
    // Not mirrored: the gateway asking for the collector every 30 s, and a ping to it.
    const Micros first = frames_.front().time, last = frames_.back().time;
    for (Micros t = first + 250; t < last; t += seconds(30)) {
      out.push_back({t, ts::FrameBuilder()
                            .source(gateway_mac)
                            .destination(ts::kBroadcast)
                            .arp(1, gateway_mac, ts::ipv4("192.0.2.254"), MacAddress(), collector_ip)
                            .build()});
    }
    ts::FrameBuilder::Ipv4Packet ping;
    ping.source = ts::ipv4("192.0.2.254");
    ping.destination = collector_ip;
    ping.protocol = 1;
    ping.body = {8, 0, 0xf7, 0xfe, 0, 1, 0, 0};  // echo request, id 1, seq 0, checksum valid
    out.push_back({first + seconds(5) + 125, ts::FrameBuilder().source(gateway_mac).destination(collector_mac).ipv4_packet(ping).build()});
    // A port nobody maps: session 99 mirrors a host of its own every 5 s.
    const Station stray = make_station("00:50:56:9e:2c:63", "10.0.99.99");
    for (Micros t = first + millis(1500) + 375; t < last; t += seconds(5)) {
      out.push_back({t, mirror(99, 7, ordinary_frame(stray, rng_), 0x4000)});
    }
    // One mirror too big for the path, sent as an IP fragment (more fragments follow, not captured).
    out.push_back({first + seconds(61) + 625, mirror(sessions[0], 0, ordinary_frame(stray, rng_), 0x2000)});
    std::stable_sort(out.begin(), out.end(), [](const Out& a, const Out& b) { return a.time < b.time; });

    const std::string path = outdir + "/" + name + ".collector.pcap";
    ts::PcapWriter writer(path);
    for (const Out& o : out) writer.write(ts::at_seconds(o.time / kSecond, (o.time % kSecond) * kMilli), o.bytes);
    writer.close();
    std::printf("%-36s %6zu frames\n", path.c_str(), out.size());

    const std::string toml = outdir + "/" + name + ".toml";
    std::FILE* config = std::fopen(toml.c_str(), "wb");
    if (config == nullptr) die("cannot create " + toml + ": " + std::strerror(errno));
    std::fprintf(config,
                 "# The ERSPAN sessions of %s.collector.pcap mapped to the uplinks of the %s scenario\n"
                 "# (written by camwatch-pcapgen; see pcaps/README.md). Session 99 is left unmapped.\n",
                 name.c_str(), name_.c_str());
    for (std::size_t u = 0; u < uplinks_.size(); ++u) {
      std::fprintf(config, "\n[[uplink]]\nname = \"%s\"\nerspan_session = %u\n", uplinks_[u].c_str(),
                   static_cast<unsigned>(sessions[u]));
    }
    if (std::fclose(config) != 0) die("write failed: " + toml);
    std::printf("%-36s %6zu uplinks\n", toml.c_str(), uplinks_.size());
    write_expected(outdir, name);
  }

 private:
  // Packet-time order; equal times keep uplink then emission order, then every timestamp is
  // made unique (+1 µs) so that replay's merge never depends on its tie rule. Idempotent.
  void settle_times() {
    std::stable_sort(frames_.begin(), frames_.end(), [](const Frame& a, const Frame& b) {
      if (a.time != b.time) return a.time < b.time;
      return a.uplink < b.uplink;
    });
    for (std::size_t i = 1; i < frames_.size(); ++i) {
      if (frames_[i].time <= frames_[i - 1].time) frames_[i].time = frames_[i - 1].time + 1;
    }
  }

  void write_expected(const std::string& outdir, const std::string& name) {
    std::vector<Micros> time_of(frames_.size());
    for (const Frame& f : frames_) time_of[f.seq] = f.time;
    auto time_of_event = [&](const Expected& e) {
      Micros t = 0;
      for (std::size_t a : e.anchors) t = std::max(t, time_of[a]);
      return t + e.offset;
    };
    std::stable_sort(expected_.begin(), expected_.end(),
                     [&](const Expected& a, const Expected& b) { return time_of_event(a) < time_of_event(b); });
    std::string path = outdir + "/expected/" + name + ".jsonl";
    std::FILE* out = std::fopen(path.c_str(), "wb");
    if (out == nullptr) die("cannot create " + path + ": " + std::strerror(errno));
    for (const Expected& e : expected_) {
      Micros t = time_of_event(e);
      auto when = camwatch::cam::format_rfc3339_micros(ts::at_seconds(t / kSecond, (t % kSecond) * kMilli));
      std::fprintf(out, R"({"event":"%s","time":"%s","mac":"%s","vlan":%u)", e.event, when.c_str(),
                   e.mac.to_string().c_str(), static_cast<unsigned>(e.vlan));
      if (e.from == kNoMove) {
        std::fprintf(out, R"(,"uplink":"%s")", uplinks_[e.to].c_str());
      } else {
        std::fprintf(out, R"(,"from":"%s","to":"%s")", uplinks_[e.from].c_str(), uplinks_[e.to].c_str());
      }
      if (e.notification != nullptr) std::fprintf(out, R"(,"notification":"%s")", e.notification);
      std::fputs(e.extra.c_str(), out);
      std::fputs("}\n", out);
    }
    if (std::fclose(out) != 0) die("write failed: " + path);
    std::printf("%-36s %6zu events\n", path.c_str(), expected_.size());
  }

  struct Frame {
    Micros time;
    std::size_t uplink;
    std::size_t seq;
    ts::Bytes bytes;
  };

  std::string name_;
  std::vector<std::string> uplinks_;
  ts::Prng rng_;
  std::vector<Frame> frames_;
  std::vector<Expected> expected_;
  std::string config_;
};

constexpr const char* kSilent = "silent_move";
constexpr const char* kAnnounced = "announced_move";
constexpr const char* kFlap = "flap";

ts::Bytes rarp_from(const Station& s) { return from(s).destination(ts::kBroadcast).rarp_request(s.mac).build(); }
ts::Bytes garp_request_from(const Station& s) {
  return from(s).destination(ts::kBroadcast).garp_request(s.mac, s.ip).build();
}
ts::Bytes garp_reply_from(const Station& s) {
  return from(s).destination(ts::kBroadcast).garp_reply(s.mac, s.ip).build();
}
// Unsolicited NA to all-nodes for `target_station`, sent by `sender`; `with_lla` adds the target
// link-layer address option (what Linux sends) or leaves it out (then the Ethernet source counts).
ts::Bytes unsolicited_na(const Station& sender, const Station& target_station, bool with_lla) {
  ts::FrameBuilder::NeighborAdvert na;
  na.source_ip = link_local(sender.mac);
  na.target = link_local(target_station.mac);
  na.target_lla = with_lla ? target_station.mac : MacAddress();
  na.solicited = false;
  na.override_flag = true;
  ts::Bytes frame = from(sender).destination(ts::mac("33:33:00:00:00:01")).neighbor_advert(na).build();
  seal_checksums(frame);
  return frame;
}

// ---------------------------------------------------------------------------------------------
// (a) incident: ESXi host, uplinks vmnic2 and vmnic3; vmnic2 fails and comes back 9½ min later.
void incident(const std::string& outdir) {
  enum : std::size_t { vmnic2, vmnic3 };
  Scenario sc("incident", {"vmnic2", "vmnic3"}, 0x19C1'DE47);
  auto& rng = sc.rng();

  const Micros start = kIncidentStart;
  const Micros failover = start + seconds(127) + millis(200);  // 05:42:07.200: vmnic2 goes dark
  const Micros failback = failover + seconds(570);             // 05:51:37.200: vmnic2 is back
  const Micros end = start + seconds(760);                     // 05:52:40
  const Micros vm_gap_min = millis(2500), vm_gap_max = millis(7500);

  std::vector<Station> vms;
  for (int i = 1; i <= 12; ++i) {
    char mac_text[18], ip_text[16];
    std::snprintf(mac_text, sizeof mac_text, "00:50:56:9e:2c:%02x", i);
    std::snprintf(ip_text, sizeof ip_text, "10.0.20.%d", 20 + i);
    vms.push_back(make_station(mac_text, ip_text));
  }

  // VMs 1-6 use vmnic2 (and move with it, announced by ESXi's RARP); VMs 7-12 stay on vmnic3.
  std::vector<std::size_t> failover_moves, failback_moves;  // the members of the two stories
  for (std::size_t k = 0; k < 6; ++k) {
    const Station& vm = vms[k];
    sc.chatter(vm, vmnic2, start + rng.between(0, seconds(3)), failover, vm_gap_min, vm_gap_max);

    Micros rarp1 = failover + millis(180) + static_cast<Micros>(k) * 4300 + rng.between(0, 500);
    std::size_t a1 = sc.emit(vmnic3, rarp1, rarp_from(vm));
    sc.expect(kAnnounced, a1, vm, vmnic2, vmnic3, "rarp");
    failover_moves.push_back(a1);
    sc.chatter(vm, vmnic3, rarp1 + rng.between(millis(2), millis(4)), failback, vm_gap_min, vm_gap_max);

    Micros rarp2 = failback + millis(240) + static_cast<Micros>(k) * 3900 + rng.between(0, 500);
    std::size_t a2 = sc.emit(vmnic2, rarp2, rarp_from(vm));
    sc.expect(kAnnounced, a2, vm, vmnic3, vmnic2, "rarp");
    failback_moves.push_back(a2);
    sc.chatter(vm, vmnic2, rarp2 + rng.between(millis(2), millis(4)), end, vm_gap_min, vm_gap_max);
  }
  for (std::size_t k = 6; k < 12; ++k) {
    sc.chatter(vms[k], vmnic3, start + rng.between(0, seconds(3)), end, vm_gap_min, vm_gap_max);
  }

  // Windows NLB, unicast mode, cluster 10.0.20.100 (cluster MAC 02:bf:0a:00:14:64). With
  // MaskSourceMAC each host sends from 02:<host id>:<cluster IP>. VMware's "Notify Switches" is
  // off for this port group (VMware KB 1556 asks for it with NLB unicast), so the hosts move
  // silently: just heartbeats and traffic on the new uplink.
  const ts::Ipv4 cluster_ip = ts::ipv4("10.0.20.100");
  struct NlbHost {
    Station station;
    std::uint8_t host_id;
    ts::Ipv4 dedicated_ip;
    Micros phase;  // heartbeat offset within each second
  };
  std::vector<NlbHost> nlb = {
      {make_station("02:01:0a:00:14:64", "10.0.20.100"), 1, ts::ipv4("10.0.20.11"), 559'886},
      {make_station("02:02:0a:00:14:64", "10.0.20.100"), 2, ts::ipv4("10.0.20.12"), 913'207},
  };
  for (NlbHost& h : nlb) h.station.arp_mac = ts::mac("02:bf:0a:00:14:64");  // ARP carries the cluster MAC
  auto nlb_uplink = [&](Micros t) { return t < failover || t >= failback ? vmnic2 : vmnic3; };
  for (const NlbHost& h : nlb) {
    // Heartbeats: one a second, broadcast, ethertype 0x886F. The first names the host as one
    // that will never announce a move.
    for (Micros t = start + h.phase; t < end; t += seconds(1)) {
      const std::size_t seq = sc.emit(
          nlb_uplink(t), t,
          from(h.station).destination(ts::kBroadcast).nlb_heartbeat(h.host_id, cluster_ip, h.dedicated_ip, 46).build());
      if (t == start + h.phase) sc.expect_nlb_host(seq, h.station, vmnic2, h.host_id, "10.0.20.100");
    }
    // Cluster traffic (replies from the cluster IP) and the odd ARP for the gateway from the
    // dedicated IP, both from the masked source MAC.
    Station dedicated = h.station;
    dedicated.ip = h.dedicated_ip;
    for (Micros t = start + rng.between(0, seconds(5)); t < end; t += rng.between(seconds(4), seconds(12))) {
      const Station& who = rng.below(4) == 0 ? dedicated : h.station;
      sc.emit(nlb_uplink(t), t, ordinary_frame(who, rng));
    }
  }
  for (const NlbHost& h : nlb) {
    const std::size_t away = sc.first_frame_of(h.station.mac, vmnic3, failover);
    const std::size_t back = sc.first_frame_of(h.station.mac, vmnic2, failback);
    sc.expect(kSilent, away, h.station, vmnic2, vmnic3);
    sc.with_nlb_identity(h.host_id, "10.0.20.100");
    sc.expect(kSilent, back, h.station, vmnic3, vmnic2);
    sc.with_nlb_identity(h.host_id, "10.0.20.100");
    failover_moves.push_back(away);
    failback_moves.push_back(back);
  }
  // One story each way: vmnic2 stops sending (nothing arrives on it until the failback), and
  // the failback reverses it. Each closes 10 s (failover_gap) after its last move.
  sc.expect_failover(failover_moves, seconds(10), vmnic2, vmnic3, "traffic_stopped", 6, 2);
  sc.expect_failover(failback_moves, seconds(10), vmnic3, vmnic2, "failback", 6, 2);
  sc.write(outdir);
  // (a') erspan: the same frames mirrored to one ERSPAN collector, vmnic2 as session 2 and vmnic3
  // as session 3: the same events.
  sc.write_collector(outdir, "erspan", {2, 3});
}

// ---------------------------------------------------------------------------------------------
// (b) bond: Linux active-backup bonds failing over from sw1 to sw2, one host every 5 s, each
// announcing (or not) in its own way.
void bond(const std::string& outdir) {
  enum : std::size_t { sw1, sw2 };
  Scenario sc("bond", {"sw1", "sw2"}, 0xB0D0'0001);
  auto& rng = sc.rng();

  const Micros start = kIncidentStart + seconds(20 * 60);  // 06:00:00
  const Micros end = start + seconds(55);
  const Micros gap_min = millis(300), gap_max = millis(900);

  Station alpha = make_station("3c:fd:fe:a1:00:01", "10.1.0.11");
  Station bravo = make_station("3c:fd:fe:a1:00:02", "10.1.0.12");
  Station charlie = make_station("3c:fd:fe:a1:00:03", "10.1.0.13");
  Station delta = make_station("3c:fd:fe:a1:00:04", "10.1.0.14");
  Station echo = make_station("3c:fd:fe:a1:00:05", "10.1.0.15");
  Station foxtrot = make_station("3c:fd:fe:a1:00:06", "10.1.0.16");
  Station golf = make_station("3c:fd:fe:a1:00:07", "10.1.0.17");
  Station hotel = make_station("3c:fd:fe:a1:00:08", "10.1.0.18");
  Station juliet = make_station("3c:fd:fe:a1:00:0a", "10.1.0.20");   // stays on sw1
  Station ndproxy = make_station("3c:fd:fe:a1:00:20", "10.1.0.2");  // stays on sw2

  sc.chatter(juliet, sw1, start + rng.between(0, millis(900)), end, gap_min, gap_max);
  sc.chatter(ndproxy, sw2, start + rng.between(0, millis(900)), end, gap_min, gap_max);

  const Station* movers[] = {&alpha, &bravo, &charlie, &delta, &echo, &foxtrot, &golf, &hotel};
  std::vector<Micros> move(std::size(movers));
  for (std::size_t i = 0; i < std::size(movers); ++i) {
    move[i] = start + seconds(10 + 5 * static_cast<std::int64_t>(i));
    sc.chatter(*movers[i], sw1, start + rng.between(0, millis(900)), move[i] - millis(200), gap_min, gap_max);
  }

  // alpha: GARP request is its first frame on sw2 (the bond's num_grat_arp).
  sc.expect(kAnnounced, sc.emit(sw2, move[0], garp_request_from(alpha)), alpha, sw1, sw2, "garp");
  sc.chatter(alpha, sw2, move[0] + millis(5), end, gap_min, gap_max);

  // bravo: GARP reply first.
  sc.expect(kAnnounced, sc.emit(sw2, move[1], garp_reply_from(bravo)), bravo, sw1, sw2, "garp");
  sc.chatter(bravo, sw2, move[1] + millis(5), end, gap_min, gap_max);

  // charlie: unsolicited NA with the target link-layer address option, 300 ms before its first
  // ordinary frame: the NA is itself the first frame on sw2 and announces its own move.
  sc.expect(kAnnounced, sc.emit(sw2, move[2], unsolicited_na(charlie, charlie, true)), charlie, sw1, sw2,
            "unsolicited_na");
  sc.chatter(charlie, sw2, move[2] + millis(300), end, gap_min, gap_max);

  // delta: the announcement comes 400 ms BEFORE the move, from another station (ndproxy, already
  // on sw2) whose NA carries delta's MAC as target link-layer address: inside the 1 s before.
  sc.emit(sw2, move[3] - millis(400), unsolicited_na(ndproxy, delta, true));
  sc.expect(kAnnounced, sc.emit(sw2, move[3], ordinary_frame(delta, rng)), delta, sw1, sw2, "unsolicited_na");
  sc.chatter(delta, sw2, move[3] + millis(150), end, gap_min, gap_max);

  // echo: first ordinary frame at the move, its unsolicited NA (no option: its Ethernet source
  // is the announced MAC) 1.05 s AFTER, inside the 2 s after.
  sc.expect(kAnnounced, sc.emit(sw2, move[4], ordinary_frame(echo, rng)), echo, sw1, sw2, "unsolicited_na");
  sc.emit(sw2, move[4] + millis(1050), unsolicited_na(echo, echo, false));
  sc.chatter(echo, sw2, move[4] + millis(200), end, gap_min, gap_max);

  // foxtrot: announces nothing.
  sc.expect(kSilent, sc.emit(sw2, move[5], ordinary_frame(foxtrot, rng)), foxtrot, sw1, sw2);
  sc.chatter(foxtrot, sw2, move[5] + millis(250), end, gap_min, gap_max);

  // golf: only RFC 5227 probes (sender IP 0.0.0.0, target IP its own), no announcement.
  for (Micros offset : {Micros{0}, millis(1200), millis(2500)}) {
    auto probe = from(golf).destination(ts::kBroadcast).arp(1, golf.mac, ts::Ipv4{}, MacAddress(), golf.ip).build();
    std::size_t seq = sc.emit(sw2, move[6] + offset, std::move(probe));
    if (offset == 0) sc.expect(kSilent, seq, golf, sw1, sw2);
  }
  sc.chatter(golf, sw2, move[6] + millis(3000), end, gap_min, gap_max);

  // hotel: its GARP comes 3 s after the move, after the 2 s window closed.
  sc.expect(kSilent, sc.emit(sw2, move[7], ordinary_frame(hotel, rng)), hotel, sw1, sw2);
  sc.emit(sw2, move[7] + millis(3000), garp_request_from(hotel));
  sc.chatter(hotel, sw2, move[7] + millis(200), end, gap_min, gap_max);

  sc.write(outdir);
}

// ---------------------------------------------------------------------------------------------
// (c) vlans: the same MACs on different VLANs and tag stacks are different stations; three real
// moves decide whether VLAN is part of the key for notifications too.
void vlans(const std::string& outdir) {
  enum : std::size_t { trunk1, trunk2 };
  Scenario sc("vlans", {"trunk1", "trunk2"}, 0x7A65'0003);
  auto& rng = sc.rng();

  const Micros start = kIncidentStart + seconds(30 * 60);  // 06:10:00
  const Micros end = start + seconds(50);
  const Micros gap_min = millis(400), gap_max = millis(1200);
  auto whole = [&](const Station& s, std::size_t uplink) {
    sc.chatter(s, uplink, start + rng.between(0, millis(1000)), end, gap_min, gap_max);
  };
  const Tag c10{ts::kTpid8021Q, 10}, c20{ts::kTpid8021Q, 20}, c30{ts::kTpid8021Q, 30};
  const Tag c40{ts::kTpid8021Q, 40}, c50{ts::kTpid8021Q, 50}, c51{ts::kTpid8021Q, 51};
  const Tag c60{ts::kTpid8021Q, 60};

  // s1: one MAC on VLAN 10 behind trunk1 and on VLAN 20 behind trunk2, interleaved all along.
  whole(make_station("00:1b:21:3c:00:01", "10.10.0.11", {c10}), trunk1);
  whole(make_station("00:1b:21:3c:00:01", "10.20.0.11", {c20}), trunk2);
  // s2: untagged and priority-tagged (VID 0, PCP 5) frames of one MAC on trunk1: VLAN 0 both.
  whole(make_station("00:1b:21:3c:00:02", "10.0.0.2"), trunk1);
  whole(make_station("00:1b:21:3c:00:02", "10.0.0.2", {Tag{ts::kTpid8021Q, 0, 5}}), trunk1);
  // s3: 802.1ad S-VLAN 100 / C-VLAN 10 on trunk1, plain VLAN 10 on trunk2 (key 100 vs 10).
  whole(make_station("00:1b:21:3c:00:03", "10.10.0.3", {Tag{ts::kTpid8021ad, 100}, c10}), trunk1);
  whole(make_station("00:1b:21:3c:00:03", "10.10.0.3", {c10}), trunk2);
  // s4: 0x9100 S-VLAN 300 / C-VLAN 30 on trunk1, untagged on trunk2 (key 300 vs 0).
  whole(make_station("00:1b:21:3c:00:04", "10.30.0.4", {Tag{ts::kTpid9100, 300}, c30}), trunk1);
  whole(make_station("00:1b:21:3c:00:04", "10.0.0.4"), trunk2);
  // s5: 802.1ad S-VLAN 400 / C-VLAN 40 on trunk1, untagged on trunk2 (key 400 vs 0).
  whole(make_station("00:1b:21:3c:00:05", "10.40.0.5", {Tag{ts::kTpid8021ad, 400}, c40}), trunk1);
  whole(make_station("00:1b:21:3c:00:05", "10.0.0.5"), trunk2);
  // s6: two 802.1Q tags (600 outside, 60 inside) on trunk1, plain VLAN 60 on trunk2 (600 vs 60).
  whole(make_station("00:1b:21:3c:00:06", "10.60.0.6", {Tag{ts::kTpid8021Q, 600}, c60}), trunk1);
  whole(make_station("00:1b:21:3c:00:06", "10.60.0.6", {c60}), trunk2);

  // m7 moves on VLAN 30 at 20 s, announced by a GARP tagged VLAN 30 150 ms later. 300 ms before
  // the move it also sends a GARP on VLAN 31 (a new station (31, m7) on trunk2, nothing more).
  Station m7 = make_station("00:1b:21:3c:00:07", "10.30.0.7", {c30});
  Station m7_v31 = make_station("00:1b:21:3c:00:07", "10.31.0.7", {Tag{ts::kTpid8021Q, 31}});
  const Micros move7 = start + seconds(20);
  sc.chatter(m7, trunk1, start + rng.between(0, millis(1000)), move7 - millis(300), gap_min, gap_max);
  sc.emit(trunk2, move7 - millis(300), garp_request_from(m7_v31));
  sc.expect(kAnnounced, sc.emit(trunk2, move7, ordinary_frame(m7, rng)), m7, trunk1, trunk2, "garp");
  sc.emit(trunk2, move7 + millis(150), garp_request_from(m7));
  sc.chatter(m7, trunk2, move7 + millis(400), end, gap_min, gap_max);

  // m8 moves on VLAN 40 at 30 s; the only GARP for its MAC on trunk2 is tagged VLAN 41 (200 ms
  // after): it announces (41, m8), not (40, m8), so the move is silent.
  Station m8 = make_station("00:1b:21:3c:00:08", "10.40.0.8", {c40});
  Station m8_v41 = make_station("00:1b:21:3c:00:08", "10.41.0.8", {Tag{ts::kTpid8021Q, 41}});
  const Micros move8 = start + seconds(30);
  sc.chatter(m8, trunk1, start + rng.between(0, millis(1000)), move8 - millis(300), gap_min, gap_max);
  sc.expect(kSilent, sc.emit(trunk2, move8, ordinary_frame(m8, rng)), m8, trunk1, trunk2);
  sc.emit(trunk2, move8 + millis(200), garp_request_from(m8_v41));
  sc.chatter(m8, trunk2, move8 + millis(400), end, gap_min, gap_max);

  // m9: QinQ S-VLAN 500; C-VLAN 50 on trunk1, C-VLAN 51 on trunk2. The key is the outer VID, so
  // this is a move of (500, m9), announced by a GARP carrying the same two tags 500 ms later.
  Station m9_old = make_station("00:1b:21:3c:00:09", "10.50.0.9", {Tag{ts::kTpid8021ad, 500}, c50});
  Station m9_new = make_station("00:1b:21:3c:00:09", "10.51.0.9", {Tag{ts::kTpid8021ad, 500}, c51});
  const Micros move9 = start + seconds(40);
  sc.chatter(m9_old, trunk1, start + rng.between(0, millis(1000)), move9 - millis(300), gap_min, gap_max);
  sc.expect(kAnnounced, sc.emit(trunk2, move9, ordinary_frame(m9_new, rng)), m9_new, trunk1, trunk2, "garp");
  sc.emit(trunk2, move9 + millis(500), garp_request_from(m9_new));
  sc.chatter(m9_new, trunk2, move9 + millis(700), end, gap_min, gap_max);

  sc.write(outdir);
}

// ---------------------------------------------------------------------------------------------
// (d) flap and flap-slow: a forwarding loop makes one MAC bounce between port1 and port2.
struct LoopResult {
  std::vector<std::size_t> move_anchor;  // first frame of each dwell = each move
  Micros end;                            // first instant after the loop
};

// `dwells` dwells of dwell_ms ± jitter_ms each, alternating port2, port1, port2, ... from
// `begin`; the station sends every 100-140 ms inside a dwell.
LoopResult bounce(Scenario& sc, const Station& s, Micros begin, int dwells, Micros dwell, Micros jitter) {
  LoopResult r;
  Micros t = begin;
  for (int d = 0; d < dwells; ++d) {
    std::size_t uplink = d % 2 == 0 ? 1 : 0;
    Micros next = t + dwell + sc.rng().between(-jitter, jitter);
    r.move_anchor.push_back(sc.emit(uplink, t, ordinary_frame(s, sc.rng())));
    sc.chatter(s, uplink, t + sc.rng().between(millis(100), millis(140)), next - millis(20), millis(100), millis(140));
    t = next;
  }
  r.end = t;
  return r;
}

void flap(const std::string& outdir) {
  enum : std::size_t { port1, port2 };
  Scenario sc("flap", {"port1", "port2"}, 0xF1A9'0004);
  auto& rng = sc.rng();
  const Micros start = kIncidentStart + seconds(40 * 60);  // 06:20:00

  Station loopy = make_station("00:25:90:5e:00:01", "10.2.0.50");
  Station steady1 = make_station("00:25:90:5e:00:11", "10.2.0.51");
  Station steady2 = make_station("00:25:90:5e:00:12", "10.2.0.52");

  const Micros loop_begin = start + seconds(10);
  sc.chatter(loopy, port1, start + rng.between(0, millis(500)), loop_begin - millis(150), millis(500), millis(900));
  // 40 dwells of 0.5 s (±40 ms): 40 moves in about 20 s. Moves 1-3 are still pending (their 2 s
  // windows open) at move 4, 1.5 s after move 1: one flap, no move events, the rest damped.
  LoopResult loop = bounce(sc, loopy, loop_begin, 40, millis(500), millis(40));
  sc.expect(kFlap, loop.move_anchor[3], loopy, port2, port1);

  // Still on port1 for 90 s (longer than the 60 s damping), then one ordinary announced move.
  const Micros later = loop.end + seconds(90);
  sc.chatter(loopy, port1, loop.end + millis(100), later - millis(200), millis(1500), millis(2500));
  sc.expect(kAnnounced, sc.emit(port2, later, garp_request_from(loopy)), loopy, port1, port2, "garp");
  const Micros end = later + seconds(10);
  sc.chatter(loopy, port2, later + millis(5), end, millis(1500), millis(2500));

  sc.chatter(steady1, port1, start + rng.between(0, millis(800)), end, millis(800), millis(1600));
  sc.chatter(steady2, port2, start + rng.between(0, millis(800)), end, millis(800), millis(1600));
  sc.write(outdir);
}

void flap_slow(const std::string& outdir) {
  enum : std::size_t { port1, port2 };
  Scenario sc("flap-slow", {"port1", "port2"}, 0xF1A9'0005);
  auto& rng = sc.rng();
  const Micros start = kIncidentStart + seconds(50 * 60);  // 06:30:00

  Station loopy = make_station("00:25:90:5e:00:02", "10.2.0.60");
  Station steady1 = make_station("00:25:90:5e:00:21", "10.2.0.61");
  Station steady2 = make_station("00:25:90:5e:00:22", "10.2.0.62");

  const Micros loop_begin = start + seconds(10);
  sc.chatter(loopy, port1, start + rng.between(0, millis(500)), loop_begin - millis(150), millis(500), millis(900));
  // 16 dwells of 0.8 s (±30 ms). Move 4 comes 2.4 s after move 1: move 1's window (2 s) has
  // closed, so move 1 is reported (silent); moves 2 and 3 are pending and dropped by the flap.
  LoopResult loop = bounce(sc, loopy, loop_begin, 16, millis(800), millis(30));
  sc.expect(kSilent, loop.move_anchor[0], loopy, port1, port2);
  sc.expect(kFlap, loop.move_anchor[3], loopy, port2, port1);

  const Micros end = loop.end + seconds(15);
  sc.chatter(loopy, port1, loop.end + millis(100), end, millis(700), millis(1300));
  sc.chatter(steady1, port1, start + rng.between(0, millis(800)), end, millis(800), millis(1600));
  sc.chatter(steady2, port2, start + rng.between(0, millis(800)), end, millis(800), millis(1600));
  sc.write(outdir);
}

// ---------------------------------------------------------------------------------------------
// (e) oldside: notifications for the moving station arrive only on the uplink it left.
void oldside(const std::string& outdir) {
  enum : std::size_t { vmnic0, vmnic1 };
  Scenario sc("oldside", {"vmnic0", "vmnic1"}, 0x01D5'0006);
  auto& rng = sc.rng();
  const Micros start = kIncidentStart + seconds(60 * 60);  // 06:40:00
  const Micros end = start + seconds(45);
  const Micros gap_min = millis(400), gap_max = millis(1000);

  Station vm_a = make_station("00:50:56:b0:00:01", "10.3.0.11");
  Station vm_b = make_station("00:50:56:b0:00:02", "10.3.0.12");
  Station r0 = make_station("00:50:56:b0:00:10", "10.3.0.20");
  Station r1 = make_station("00:50:56:b0:00:11", "10.3.0.21");
  sc.chatter(r0, vmnic0, start + rng.between(0, millis(800)), end, gap_min, gap_max);
  sc.chatter(r1, vmnic1, start + rng.between(0, millis(800)), end, gap_min, gap_max);

  // vm_a: its RARP goes out on vmnic0 400 ms before it appears on vmnic1 (still its uplink then,
  // so no move back), inside the 1 s before the move but on the wrong uplink: silent.
  const Micros move_a = start + seconds(20);
  sc.chatter(vm_a, vmnic0, start + rng.between(0, millis(800)), move_a - millis(500), gap_min, gap_max);
  sc.emit(vmnic0, move_a - millis(400), rarp_from(vm_a));
  sc.expect(kSilent, sc.emit(vmnic1, move_a, ordinary_frame(vm_a, rng)), vm_a, vmnic0, vmnic1);
  sc.chatter(vm_a, vmnic1, move_a + millis(300), end, gap_min, gap_max);

  // vm_b: 500 ms after it appears on vmnic1, r0 sends a GARP for it (sender MAC vm_b, Ethernet
  // source r0) on vmnic0: a notification for vm_b, on the old uplink only: silent.
  const Micros move_b = start + seconds(30);
  sc.chatter(vm_b, vmnic0, start + rng.between(0, millis(800)), move_b - millis(300), gap_min, gap_max);
  sc.expect(kSilent, sc.emit(vmnic1, move_b, ordinary_frame(vm_b, rng)), vm_b, vmnic0, vmnic1);
  sc.emit(vmnic0, move_b + millis(500), from(r0).destination(ts::kBroadcast).garp_request(vm_b.mac, vm_b.ip).build());
  sc.chatter(vm_b, vmnic1, move_b + millis(300), end, gap_min, gap_max);

  sc.write(outdir);
}

// ---------------------------------------------------------------------------------------------
// (e) aging: a station idle more than 300 s is forgotten; one idle a little less is not.
void aging(const std::string& outdir) {
  enum : std::size_t { vmnic0, vmnic1 };
  Scenario sc("aging", {"vmnic0", "vmnic1"}, 0xA61'0007);
  auto& rng = sc.rng();
  const Micros start = kIncidentStart + seconds(70 * 60);  // 06:50:00
  const Micros end = start + seconds(330);

  Station sleeper = make_station("00:50:56:c0:00:01", "10.4.0.11");
  Station napper = make_station("00:50:56:c0:00:02", "10.4.0.12");
  Station r0 = make_station("00:50:56:c0:00:10", "10.4.0.20");
  Station r1 = make_station("00:50:56:c0:00:11", "10.4.0.21");
  // Residents keep the packet clock moving on both uplinks.
  sc.chatter(r0, vmnic0, start + rng.between(0, seconds(2)), end, seconds(4), seconds(6));
  sc.chatter(r1, vmnic1, start + rng.between(0, seconds(2)), end, seconds(4), seconds(6));

  // sleeper: last heard on vmnic0 before 10 s, next on vmnic1 at 320 s: idle > 310 s, aged out
  // at 300 s; the switch had forgotten it, so its reappearance is a new station, no event.
  sc.chatter(sleeper, vmnic0, start + millis(300), start + seconds(10), seconds(1), seconds(2));
  sc.chatter(sleeper, vmnic1, start + seconds(320), end, seconds(1), seconds(2));
  // napper: last heard on vmnic0 before 20 s, next on vmnic1 at 310 s: idle < 292 s, still in
  // the table, so a silent move.
  sc.chatter(napper, vmnic0, start + millis(700), start + seconds(20), seconds(1), seconds(2));
  std::size_t anchor = sc.emit(vmnic1, start + seconds(310), ordinary_frame(napper, rng));
  sc.expect(kSilent, anchor, napper, vmnic0, vmnic1);
  sc.chatter(napper, vmnic1, start + seconds(311), end, seconds(1), seconds(2));

  sc.write(outdir);
}

// ---------------------------------------------------------------------------------------------
// (h) bindings: IP <-> MAC bindings from ARP and neighbour discovery on two access switches, as
// arpwatch users know them, with the cases arpwatch gets wrong or cannot see: an announced VRRP
// takeover (changed_mac) and failback (flip_flop), a rogue host answering for an address in use
// (changed_mac, then ip_conflict when the owner answers again), the same IP on another VLAN (an
// independent binding), a probe before an announcement (no event for the probe), IPv6 and a
// host re-claiming its address all along (no event at all after its first).
// Ordinary traffic here is UDP only, so that every claim is one of the frames below.
ts::Bytes udp_frame(const Station& s, ts::Prng& rng) {
  const auto port = static_cast<std::uint16_t>(rng.between(32768, 60999));
  return from(s).destination(s.gateway_mac).udp(s.ip, {10, 99, 0, 9}, port, 514, 40 + rng.below(60)).build();
}
ts::Bytes arp_request_from(const Station& s, const ts::Ipv4& target) {
  return from(s).destination(ts::kBroadcast).arp(1, s.mac, s.ip, MacAddress(), target).build();
}
ts::Bytes arp_reply_from(const Station& s, const Station& asker) {
  return from(s).destination(asker.mac).arp(2, s.mac, s.ip, asker.mac, asker.ip).build();
}
ts::Bytes arp_probe_from(const Station& s) {
  return from(s).destination(ts::kBroadcast).arp(1, s.mac, ts::ipv4("0.0.0.0"), MacAddress(), s.ip).build();
}

void bindings(const std::string& outdir) {
  enum : std::size_t { sw1, sw2 };
  Scenario sc("bindings", {"sw1", "sw2"}, 0xB1D1'0008);
  auto& rng = sc.rng();
  const Micros start = kIncidentStart + seconds(80 * 60);  // 07:00:00
  const Micros end = start + seconds(300);
  const char* kNew = "new_binding";

  Station alpha = make_station("52:54:00:b1:00:11", "10.5.0.11");
  Station bravo = make_station("52:54:00:b1:00:12", "10.5.0.12");
  Station charlie = make_station("52:54:00:b1:00:13", "10.5.0.13");
  Station rogue = make_station("52:54:00:b1:00:66", "10.5.0.13");  // answers for charlie's address
  Station router1 = make_station("00:00:5e:b1:00:01", "10.5.0.1");  // VRRP pair sharing 10.5.0.1
  Station router2 = make_station("00:00:5e:b1:00:02", "10.5.0.1");
  Station golf = make_station("52:54:00:b1:00:50", "10.5.0.50");
  Station vlan20 = make_station("52:54:00:b1:20:11", "10.5.0.11", {{ts::kTpid8021Q, 20}});  // alpha's IP, VLAN 20
  for (const Station* st : {&alpha, &bravo, &charlie, &golf}) {
    for (Micros t = start + rng.between(0, millis(900)); t < end; t += rng.between(seconds(2), seconds(5))) {
      sc.emit(sw1, t, udp_frame(*st, rng));
    }
  }

  // alpha asks for the gateway: its own address, bound. It keeps asking every 30 s: nothing more.
  std::size_t a = sc.emit(sw1, start + seconds(1), arp_request_from(alpha, alpha.gateway_ip));
  sc.expect_binding(kNew, a, alpha.mac, 0, sw1, "10.5.0.11", "arp_request");
  for (Micros t = start + seconds(31); t < end; t += seconds(30)) sc.emit(sw1, t, arp_request_from(alpha, alpha.gateway_ip));
  // bravo answers alpha.
  a = sc.emit(sw1, start + seconds(2), arp_reply_from(bravo, alpha));
  sc.expect_binding(kNew, a, bravo.mac, 0, sw1, "10.5.0.12", "arp_reply");

  // The VRRP master announces the virtual address, and again 7 s later (a refresh).
  a = sc.emit(sw1, start + seconds(3), garp_request_from(router1));
  sc.expect_binding(kNew, a, router1.mac, 0, sw1, "10.5.0.1", "arp_announcement");
  sc.emit(sw1, start + seconds(10), garp_request_from(router1));
  // 90 s later the backup takes over and announces it: an announced change, not a conflict.
  a = sc.emit(sw2, start + seconds(100), garp_request_from(router2));
  sc.expect_binding("changed_mac", a, router2.mac, 0, sw2, "10.5.0.1", "arp_announcement", "old_mac", router1.mac);
  // 100 s later the old master takes it back: back to the MAC before the last change.
  a = sc.emit(sw1, start + seconds(200), garp_request_from(router1));
  sc.expect_binding("flip_flop", a, router1.mac, 0, sw1, "10.5.0.1", "arp_announcement", "old_mac", router2.mac);

  // charlie binds its address; 10 s later a rogue host answers for it (charlie quiet: a change),
  // and charlie answering 1 s after makes it two MACs at once: a conflict.
  a = sc.emit(sw1, start + seconds(20), arp_request_from(charlie, charlie.gateway_ip));
  sc.expect_binding(kNew, a, charlie.mac, 0, sw1, "10.5.0.13", "arp_request");
  a = sc.emit(sw2, start + seconds(30), arp_reply_from(rogue, alpha));
  sc.expect_binding("changed_mac", a, rogue.mac, 0, sw2, "10.5.0.13", "arp_reply", "old_mac", charlie.mac);
  a = sc.emit(sw1, start + seconds(31), arp_reply_from(charlie, alpha));
  sc.expect_binding("ip_conflict", a, charlie.mac, 0, sw1, "10.5.0.13", "arp_reply", "other_mac", rogue.mac);

  // Another host uses alpha's address on VLAN 20: a binding of its own, not a conflict.
  a = sc.emit(sw2, start + seconds(40), arp_request_from(vlan20, vlan20.gateway_ip));
  sc.expect_binding(kNew, a, vlan20.mac, 20, sw2, "10.5.0.11", "arp_request");

  // golf probes its address (RFC 5227: no binding, no event), then announces it.
  sc.emit(sw1, start + seconds(50), arp_probe_from(golf));
  sc.emit(sw1, start + seconds(51), arp_probe_from(golf));
  a = sc.emit(sw1, start + seconds(53), garp_request_from(golf));
  sc.expect_binding(kNew, a, golf.mac, 0, sw1, "10.5.0.50", "arp_announcement");

  // bravo announces its IPv6 address with an unsolicited NA (fe80::/64 is watched silently by
  // default, so a global address): a binding like any other.
  ts::FrameBuilder::NeighborAdvert na;
  na.source_ip = ts::ipv6("2001:db8:5::12");
  na.target = ts::ipv6("2001:db8:5::12");
  na.target_lla = bravo.mac;
  ts::Bytes frame = from(bravo).destination(ts::mac("33:33:00:00:00:01")).neighbor_advert(na).build();
  seal_checksums(frame);
  a = sc.emit(sw1, start + seconds(60), frame);
  sc.expect_binding(kNew, a, bravo.mac, 0, sw1, "2001:db8:5::12", "nd_unsolicited_advertisement");

  sc.write(outdir);
}

// ---------------------------------------------------------------------------------------------
// (i) bothways: an ESXi host's two uplinks mirrored in BOTH directions (a common SPAN mistake).
// Besides what the VMs send, each mirror shows what is sent toward them: the gateway's and a
// file server's frames appear on both uplinks, and without `mirror = "both"` they would flap
// between them. bothways.toml marks both uplinks; with it, the only events are the real
// ones: vmnic0 fails at 08:01:00, vm_a moves silently, vm_c with a RARP, one failover story.
void bothways(const std::string& outdir) {
  enum : std::size_t { vmnic0, vmnic1 };
  Scenario sc("bothways", {"vmnic0", "vmnic1"}, 0xB07B'0009);
  sc.set_config(
      "# camwatch replay --config for pcaps/bothways-*.pcap: both mirrors copy both directions.\n"
      "[[uplink]]\nname = \"vmnic0\"\ninterface = \"vmnic0\"\nmirror = \"both\"\n\n"
      "[[uplink]]\nname = \"vmnic1\"\ninterface = \"vmnic1\"\nmirror = \"both\"\n");
  auto& rng = sc.rng();
  const Micros start = kIncidentStart + seconds(140 * 60);  // 08:00:00
  const Micros fail = start + seconds(60);
  const Micros end = start + seconds(120);

  Station gateway = make_station("00:00:0c:07:ac:01", "10.6.0.1");
  Station server = make_station("3c:ec:ef:10:00:05", "10.9.0.5");
  Station vm_a = make_station("00:50:56:b0:00:0a", "10.6.0.10");  // behind vmnic0, moves silently
  Station vm_b = make_station("00:50:56:b0:00:0b", "10.6.0.11");  // behind vmnic1 all along
  Station vm_c = make_station("00:50:56:b0:00:0c", "10.6.0.12");  // behind vmnic0, moves with a RARP

  // What the VMs send (received by the switch on their uplink).
  sc.chatter(vm_a, vmnic0, start + millis(100), fail - millis(200), millis(500), millis(900));
  const std::size_t a_move = sc.emit(vmnic1, fail + millis(450), udp_frame(vm_a, rng));
  sc.chatter(vm_a, vmnic1, fail + millis(900), end, millis(500), millis(900));
  sc.chatter(vm_b, vmnic1, start + millis(200), end, millis(500), millis(900));
  sc.chatter(vm_c, vmnic0, start + millis(300), fail - millis(200), millis(500), millis(900));
  const std::size_t c_move = sc.emit(vmnic1, fail + millis(250), rarp_from(vm_c));
  sc.chatter(vm_c, vmnic1, fail + millis(260), end, millis(500), millis(900));

  // What is sent toward them: the gateway and the file server answer the VMs on their uplink
  // (vmnic0 carries nothing once it failed).
  for (Micros t = start + millis(50); t < end; t += rng.between(millis(150), millis(400))) {
    const bool to_a_or_c = rng.below(3) != 0;
    const std::size_t uplink = to_a_or_c && t < fail ? vmnic0 : vmnic1;
    sc.emit(uplink, t, udp_frame(rng.below(4) == 0 ? server : gateway, rng));
  }

  sc.expect(kAnnounced, c_move, vm_c, vmnic0, vmnic1, "rarp");
  sc.expect(kSilent, a_move, vm_a, vmnic0, vmnic1);
  // vmnic0 falls silent: one story, dated failover_gap (10 s) after its last move (it is told
  // both_ways_confirm later, when its members are confirmed).
  sc.expect_failover({a_move, c_move}, seconds(10), vmnic0, vmnic1, "traffic_stopped", 1, 1);
  sc.write(outdir);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf("usage: camwatch-pcapgen OUTDIR\n"
                "Writes the scenario captures (OUTDIR/<scenario>-<uplink>.pcap) and their expected\n"
                "events (OUTDIR/expected/<scenario>.jsonl). See pcaps/README.md.\n");
    return 0;
  }
  if (argc != 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: camwatch-pcapgen OUTDIR\n");
    return 2;
  }
  std::string outdir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(outdir + "/expected", ec);
  if (ec) die("cannot create " + outdir + "/expected: " + ec.message());

  incident(outdir);
  bond(outdir);
  vlans(outdir);
  flap(outdir);
  flap_slow(outdir);
  oldside(outdir);
  aging(outdir);
  bindings(outdir);
  bothways(outdir);
  return 0;
}
