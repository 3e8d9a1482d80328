// NlbInventory (cam/nlb.h) and the NLB identity the Analyzer adds to events.
#include <gtest/gtest.h>

#include <vector>

#include "cam/analyzer.h"
#include "cam/nlb.h"

namespace camwatch::cam {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const PacketTime kT0 = PacketTime(seconds(1'346'305'200));
constexpr std::uint32_t kCluster = 0x0A001464;  // 10.0.20.100

class Sink : public EventSink {
 public:
  void on_event(const Event& e) override { events.push_back(e); }
  std::vector<Event> events;
};

Observation heartbeat(PacketTime t, std::uint64_t mac, UplinkId uplink = 0, std::uint8_t host = 0,
                      std::uint32_t cluster = 0, std::uint32_t dedicated = 0) {
  Observation o;
  o.time = t;
  o.uplink = uplink;
  o.source = MacAddress::from_u64(mac);
  o.flags = static_cast<std::uint8_t>(ObservationFlag::nlb_heartbeat);
  if (host != 0) {
    o.flags |= static_cast<std::uint8_t>(ObservationFlag::nlb_identity);
    o.nlb_host_id = host;
    o.nlb_cluster_ip = cluster;
    o.nlb_dedicated_ip = dedicated;
  }
  return o;
}

TEST(NlbMac, ReadsTheUnicastFormsAndNothingElse) {
  std::uint8_t host = 0;
  std::uint32_t cluster = 0;
  EXPECT_EQ(nlb_mode_of_mac(MacAddress::from_u64(0x02BF0A001464ULL), host, cluster), NlbMode::unicast_unmasked);
  EXPECT_EQ(cluster, kCluster);
  EXPECT_EQ(nlb_mode_of_mac(MacAddress::from_u64(0x02070A001464ULL), host, cluster), NlbMode::unicast);
  EXPECT_EQ(host, 7);
  EXPECT_EQ(nlb_mode_of_mac(MacAddress::from_u64(0x0242AC110002ULL), host, cluster), NlbMode::none) << "docker's 02:42";
  EXPECT_EQ(nlb_mode_of_mac(MacAddress::from_u64(0x03BF0A001464ULL), host, cluster), NlbMode::none) << "multicast cluster MAC";
  EXPECT_EQ(nlb_mode_of_mac(MacAddress::from_u64(0x005056000001ULL), host, cluster), NlbMode::none);
}

TEST(NlbInventory, ReportsAUnicastHostOnceWithTheIdentityItsHeartbeatCarries) {
  Sink sink;
  NlbInventory inv(NlbConfig{}, sink);
  for (int i = 0; i < 5; ++i) inv.observe(heartbeat(kT0 + seconds(i), 0x02010A001464ULL, 0, 1, kCluster, 0x0A00140B));
  ASSERT_EQ(sink.events.size(), 1U);
  const Event& e = sink.events[0];
  EXPECT_EQ(e.kind, EventKind::nlb_unicast_host);
  EXPECT_EQ(e.time, kT0);
  EXPECT_EQ(e.nlb_mode, NlbMode::unicast);
  EXPECT_EQ(e.nlb_host_id, 1);
  EXPECT_EQ(e.nlb_cluster_ip, kCluster);
  EXPECT_EQ(e.nlb_dedicated_ip, 0x0A00140BU);
  EXPECT_EQ(inv.stats().heartbeats, 5U);
  EXPECT_EQ(inv.stats().unicast_hosts, 1U);
  EXPECT_EQ(inv.stats().clusters, 1U);
  ASSERT_NE(inv.find(StationKey{0, MacAddress::from_u64(0x02010A001464ULL)}, kT0), nullptr);
}

TEST(NlbInventory, InfersHostAndClusterFromTheMaskedMacWhenTheHeartbeatWasCut) {
  Sink sink;
  NlbInventory inv(NlbConfig{}, sink);
  inv.observe(heartbeat(kT0, 0x0202C0A86450ULL));
  ASSERT_EQ(sink.events.size(), 1U);
  EXPECT_EQ(sink.events[0].nlb_host_id, 2);
  EXPECT_EQ(sink.events[0].nlb_cluster_ip, 0xC0A86450U);
  EXPECT_EQ(sink.events[0].nlb_dedicated_ip, 0U);
  // A later whole heartbeat fills the dedicated IP in, without a second event.
  inv.observe(heartbeat(kT0 + seconds(1), 0x0202C0A86450ULL, 0, 2, 0xC0A86450U, 0xC0A86452U));
  EXPECT_EQ(sink.events.size(), 1U);
  EXPECT_EQ(inv.find(StationKey{0, MacAddress::from_u64(0x0202C0A86450ULL)}, kT0 + seconds(1))->dedicated_ip, 0xC0A86452U);
}

TEST(NlbInventory, KeepsAMulticastModeHostWithoutAnEvent) {
  Sink sink;
  NlbInventory inv(NlbConfig{}, sink);
  inv.observe(heartbeat(kT0, 0x005056AABBCCULL, 0, 3, kCluster, 0x0A00140D));  // its own NIC's MAC
  EXPECT_TRUE(sink.events.empty());
  const NlbHost* h = inv.find(StationKey{0, MacAddress::from_u64(0x005056AABBCCULL)}, kT0);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->mode, NlbMode::multicast);
  EXPECT_EQ(inv.stats().hosts, 1U);
  EXPECT_EQ(inv.stats().unicast_hosts, 0U);
}

TEST(NlbInventory, LearnsAUnicastClusterFromAnArpClaimOfItsClusterMac) {
  Sink sink;
  NlbInventory inv(NlbConfig{}, sink);
  Observation o;
  o.time = kT0;
  o.source = MacAddress::from_u64(0x02010A001464ULL);
  o.claim = ClaimKind::arp_reply;
  o.claim_mac = MacAddress::from_u64(0x02BF0A001464ULL);
  o.claim_ip = IpAddress::v4(kCluster);
  inv.observe(o);
  EXPECT_EQ(inv.stats().clusters, 1U);
  EXPECT_EQ(inv.stats().hosts, 0U);
}

TEST(NlbInventory, ForgetsHostsUnheardForAnHourAndNamesThemAgainWhenTheyReturn) {
  Sink sink;
  NlbInventory inv(NlbConfig{}, sink);
  const StationKey key{0, MacAddress::from_u64(0x02010A001464ULL)};
  inv.observe(heartbeat(kT0, 0x02010A001464ULL));
  EXPECT_NE(inv.find(key, kT0 + minutes(59)), nullptr);
  EXPECT_EQ(inv.find(key, kT0 + minutes(61)), nullptr) << "unheard for an hour: no identity any more";
  inv.observe(heartbeat(kT0 + hours(2), 0x02010A001464ULL));  // no advance() in between
  EXPECT_EQ(sink.events.size(), 2U) << "named again";
  EXPECT_EQ(inv.stats().hosts_forgotten, 1U);
}

TEST(NlbInventory, FreesForgottenHostsInTheSweepAnHourAfterTheyTurnedStale) {
  Sink sink;
  NlbInventory inv(NlbConfig{}, sink);
  inv.observe(heartbeat(kT0, 0x02010A001464ULL));
  inv.advance(kT0 + minutes(90));
  EXPECT_EQ(inv.stats().hosts, 1U);
  inv.advance(kT0 + hours(3));
  EXPECT_EQ(inv.stats().hosts, 0U);
}

TEST(NlbInventory, KeepsAtMostMaxHosts) {
  Sink sink;
  NlbConfig c;
  c.max_hosts = 2;
  NlbInventory inv(c, sink);
  for (std::uint64_t h = 1; h <= 4; ++h) inv.observe(heartbeat(kT0, 0x02000A001464ULL | h << 32));
  EXPECT_EQ(inv.stats().hosts, 2U);
  EXPECT_EQ(inv.stats().hosts_refused, 2U);
}

TEST(Analyzer, GivesTheSilentMoveOfAnNlbHostItsClusterAndHostAndKeepsEventsInOrder) {
  Sink sink;
  AnalyzerConfig c;
  Analyzer a(c, sink);
  for (int i = 0; i < 10; ++i) a.observe(heartbeat(kT0 + seconds(i), 0x02010A001464ULL, 0, 1, kCluster, 0x0A00140B));
  for (int i = 10; i < 20; ++i) a.observe(heartbeat(kT0 + seconds(i), 0x02010A001464ULL, 1, 1, kCluster, 0x0A00140B));
  a.finish();
  std::vector<Event> moves;
  PacketTime last{};
  for (const Event& e : sink.events) {
    EXPECT_GE(e.time, last);
    last = e.time;
    if (e.kind == EventKind::silent_move) moves.push_back(e);
  }
  ASSERT_EQ(moves.size(), 1U);
  EXPECT_EQ(moves[0].nlb_mode, NlbMode::unicast);
  EXPECT_EQ(moves[0].nlb_host_id, 1);
  EXPECT_EQ(moves[0].nlb_cluster_ip, kCluster);
  EXPECT_EQ(sink.events.front().kind, EventKind::nlb_unicast_host);
  ASSERT_EQ(a.recent_stories().size(), 1U) << "uplink 0 fell silent: a one-station failover";
  EXPECT_EQ(a.recent_stories().front()->nlb_hosts, 1U);
  EXPECT_EQ(a.recent_stories().front()->stations[0].nlb_host_id, 1);
}

}  // namespace
}  // namespace camwatch::cam
