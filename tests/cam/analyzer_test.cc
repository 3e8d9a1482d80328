#include "cam/analyzer.h"

#include <gtest/gtest.h>

#include <random>
#include <span>
#include <string>
#include <vector>

namespace camwatch::cam {
namespace {

using std::chrono::microseconds;
using std::chrono::seconds;

const PacketTime kT0 = PacketTime(seconds(1'346'305'200));  // 2012-08-30T05:40:00Z

class Recorder : public EventSink {
 public:
  void on_event(const Event& e) override {
    lines.push_back(std::string(to_string(e.kind)) + " " + e.station.mac.to_string() + " " +
                    std::to_string(e.time.time_since_epoch().count()) + " " + std::to_string(e.from) + ">" +
                    std::to_string(e.to) + " nlb " + std::to_string(static_cast<int>(e.nlb_mode)) + "/" +
                    std::to_string(e.nlb_host_id) + "/" + std::to_string(e.nlb_cluster_ip));
  }
  std::vector<std::string> lines;
};

// Random frames of 200 stations over 3 uplinks: notifications, NLB heartbeats with identity from
// unicast NLB MACs, ARP claims of the cluster IP; a table small enough to fill.
std::vector<Observation> random_frames(std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Observation> out;
  PacketTime t = kT0;
  for (int i = 0; i < 20000; ++i) {
    t += microseconds(rng() % 20000);
    Observation o;
    o.time = t;
    o.uplink = static_cast<UplinkId>(rng() % 3);
    const auto station = static_cast<std::uint32_t>(rng() % 200);
    const bool nlb = station < 8;
    o.source = MacAddress::from_u64(nlb ? 0x02010A001464ULL + (std::uint64_t{station} << 32) : 0x005056000000ULL + station);
    switch (rng() % 40) {
      case 0:
        o.notification = Notification::garp;
        o.notified = o.source;
        o.claim = ClaimKind::arp_announcement;
        o.claim_mac = o.source;
        o.claim_ip = IpAddress::v4(0x0A001400 + station);
        break;
      case 1:
        o.claim = ClaimKind::arp_reply;
        o.claim_mac = MacAddress::from_u64(0x02BF0A001464ULL);
        o.claim_ip = IpAddress::v4(0x0A001464);
        break;
      case 2:
        if (nlb) {
          o.flags = static_cast<std::uint8_t>(static_cast<unsigned>(ObservationFlag::nlb_heartbeat) |
                                              static_cast<unsigned>(ObservationFlag::nlb_identity));
          o.nlb_host_id = static_cast<std::uint8_t>(station + 1);
          o.nlb_cluster_ip = 0x0A001464;
          o.nlb_dedicated_ip = 0x0A00140B + station;
        }
        break;
      default: break;
    }
    out.push_back(o);
  }
  return out;
}

std::vector<std::string> run(const std::vector<Observation>& frames, bool batches, std::uint32_t seed) {
  AnalyzerConfig c;
  c.tracker.max_entries = 150;
  c.tracker.probation = seconds(2);  // a table that fills: replacements too
  c.tracker.hash_seed = c.bindings.hash_seed = 0x5eed;  // both runs: the same tables' layouts
  Recorder sink;
  Analyzer analyzer(c, sink);
  std::mt19937 rng(seed);
  for (std::size_t i = 0; i < frames.size();) {
    if (!batches) {
      analyzer.observe(frames[i++]);
      continue;
    }
    const std::size_t n = std::min<std::size_t>(1 + rng() % 600, frames.size() - i);
    analyzer.observe(std::span<const Observation>(frames.data() + i, n));
    i += n;
  }
  analyzer.finish();
  return sink.lines;
}

TEST(Analyzer, GivesTheSameEventsInBatchesAsOneByOne) {
  for (std::uint32_t seed = 1; seed <= 4; ++seed) {
    const std::vector<Observation> frames = random_frames(seed);
    const std::vector<std::string> one = run(frames, false, seed);
    EXPECT_GT(one.size(), 10U);
    EXPECT_EQ(one, run(frames, true, seed)) << "seed " << seed;
  }
}

}  // namespace
}  // namespace camwatch::cam
