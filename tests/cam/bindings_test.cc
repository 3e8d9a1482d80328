#include "cam/bindings.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

namespace camwatch::cam {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr UplinkId kA = 0;
constexpr UplinkId kB = 1;
constexpr UplinkId kC = 2;

const PacketTime kT0 = PacketTime(seconds(1'346'305'200));  // 2012-08-30T05:40:00Z

MacAddress mac(const char* text) {
  MacAddress m;
  EXPECT_TRUE(MacAddress::parse(text, m)) << text;
  return m;
}

IpAddress ip(const char* text) {
  IpAddress a;
  EXPECT_TRUE(IpAddress::parse(text, a)) << text;
  return a;
}

const MacAddress kHost = mac("00:50:56:00:00:01");
const MacAddress kOther = mac("00:50:56:00:00:02");
const MacAddress kThird = mac("00:50:56:00:00:03");
const MacAddress kGateway = mac("00:26:0b:31:07:33");
const MacAddress kAttacker = mac("00:25:b3:bf:91:ee");

class RecordingSink : public EventSink {
 public:
  void on_event(const Event& e) override { events.push_back(e); }
  std::vector<Event> events;
  std::vector<Event> of(EventKind kind) const {
    std::vector<Event> out;
    for (const Event& e : events)
      if (e.kind == kind) out.push_back(e);
    return out;
  }
};

// Feeds claims the way the decoder will deliver them: claim kind, address, claiming MAC, and
// the frame's uplink, VLAN and Ethernet source (the claiming MAC unless told otherwise).
struct Fixture {
  explicit Fixture(BindingConfig c = {}) : table(c, sink) {}

  void claim(PacketTime t, ClaimKind kind, const char* address, MacAddress m, UplinkId uplink = kA, VlanId vlan = 0) {
    claim_from(t, kind, address, m, m, uplink, vlan);
  }
  void claim_from(PacketTime t, ClaimKind kind, const char* address, MacAddress m, MacAddress source,
                  UplinkId uplink = kA, VlanId vlan = 0) {
    Observation o;
    o.time = t;
    o.source = source;
    o.uplink = uplink;
    o.vlan = vlan;
    o.claim = kind;
    o.claim_mac = m;
    o.claim_ip = ip(address);
    table.observe(o);
  }
  std::uint64_t decided(EventKind kind) const { return table.stats().events[static_cast<int>(kind)]; }
  std::uint64_t suppressed(EventKind kind) const { return table.stats().events_suppressed[static_cast<int>(kind)]; }

  RecordingSink sink;
  BindingTable table;
};

std::vector<BindingView> all_bindings(const BindingTable& table) {
  std::vector<BindingView> out;
  table.for_each_binding([&](const BindingView& v) { out.push_back(v); });
  return out;
}

// The binding (vlan, address); a view with a zero MAC when the table does not hold it.
BindingView binding(const BindingTable& table, const char* address, VlanId vlan = 0) {
  BindingView found;
  const IpAddress a = ip(address);
  table.for_each_binding([&](const BindingView& v) {
    if (v.vlan == vlan && v.ip == a) found = v;
  });
  return found;
}

// A config without the new_binding budget, for tests about other things.
BindingConfig unlimited() {
  BindingConfig c;
  c.new_binding_events_per_minute = 0;
  return c;
}

// --- learning and the four events -------------------------------------------------------------

TEST(Bindings, ReportsNewBindingWhenAnIpIsFirstClaimedByAMac) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_request, "192.0.2.10", kHost, kB, 10);
  ASSERT_EQ(f.sink.events.size(), 1U);
  const Event& e = f.sink.events[0];
  EXPECT_EQ(e.kind, EventKind::new_binding);
  EXPECT_EQ(e.time, kT0);
  EXPECT_EQ(e.station, (StationKey{10, kHost}));
  EXPECT_EQ(e.ip, ip("192.0.2.10"));
  EXPECT_TRUE(e.other_mac.is_zero());
  EXPECT_EQ(e.claim, ClaimKind::arp_request);
  EXPECT_EQ(e.to, kB);
  EXPECT_EQ(e.suppressed, 0U);
  EXPECT_EQ(f.table.stats().bindings, 1U);
  EXPECT_EQ(f.table.stats().bindings_learned, 1U);
  EXPECT_EQ(f.decided(EventKind::new_binding), 1U);
}

TEST(Bindings, StaysQuietWhenTheOwnerKeepsClaimingItsAddress) {
  Fixture f;
  for (int i = 0; i < 100; ++i) {
    const auto kind = i % 3 == 0 ? ClaimKind::arp_request : i % 3 == 1 ? ClaimKind::arp_reply : ClaimKind::arp_announcement;
    f.claim(kT0 + seconds(11 * i), kind, "192.0.2.10", kHost, i % 2 == 0 ? kA : kB);
  }
  EXPECT_EQ(f.sink.events.size(), 1U);  // the new_binding
  EXPECT_EQ(f.table.stats().observations, 100U);
  const BindingView v = binding(f.table, "192.0.2.10");
  EXPECT_EQ(v.mac, kHost);
  EXPECT_EQ(v.last_seen, kT0 + seconds(11 * 99));
  EXPECT_EQ(v.since, kT0);
  EXPECT_EQ(v.uplink, kB);
  EXPECT_TRUE(v.previous_mac.is_zero());
}

TEST(Bindings, ReportsChangedMacWhenAnotherMacClaimsAnIpItsOldOwnerStoppedUsing) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0 + minutes(10), ClaimKind::arp_request, "192.0.2.10", kOther, kB);
  ASSERT_EQ(f.sink.events.size(), 2U);
  const Event& e = f.sink.events[1];
  EXPECT_EQ(e.kind, EventKind::changed_mac);
  EXPECT_EQ(e.time, kT0 + minutes(10));
  EXPECT_EQ(e.station.mac, kOther);
  EXPECT_EQ(e.other_mac, kHost);
  EXPECT_EQ(e.claim, ClaimKind::arp_request);
  EXPECT_EQ(e.to, kB);
  const BindingView v = binding(f.table, "192.0.2.10");
  EXPECT_EQ(v.mac, kOther);
  EXPECT_EQ(v.previous_mac, kHost);
  EXPECT_EQ(v.since, kT0 + minutes(10));
}

TEST(Bindings, ReportsFlipFlopWhenAnIpGoesBackToTheMacItHadBeforeItsLastChange) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0 + minutes(10), ClaimKind::arp_reply, "192.0.2.10", kOther);
  f.claim(kT0 + minutes(20), ClaimKind::arp_reply, "192.0.2.10", kHost);
  ASSERT_EQ(f.sink.events.size(), 3U);
  const Event& e = f.sink.events[2];
  EXPECT_EQ(e.kind, EventKind::flip_flop);
  EXPECT_EQ(e.station.mac, kHost);
  EXPECT_EQ(e.other_mac, kOther);
  EXPECT_EQ(binding(f.table, "192.0.2.10").previous_mac, kOther);
}

TEST(Bindings, ReportsChangedMacNotFlipFlopWhenTheReturnComesAfterTheFlipFlopMemory) {
  BindingConfig c;
  c.flip_flop_memory = hours(1);
  Fixture f(c);
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0 + minutes(10), ClaimKind::arp_reply, "192.0.2.10", kOther);
  f.claim(kT0 + minutes(50), ClaimKind::arp_reply, "192.0.2.10", kOther);  // still in use
  f.claim(kT0 + minutes(71), ClaimKind::arp_reply, "192.0.2.10", kHost);   // 61 min after the change
  ASSERT_EQ(f.sink.events.size(), 3U);
  EXPECT_EQ(f.sink.events[2].kind, EventKind::changed_mac);
  EXPECT_EQ(f.sink.events[2].other_mac, kOther);
}

TEST(Bindings, ReportsChangedMacNotFlipFlopWhenAThirdMacTakesTheAddress) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0 + minutes(10), ClaimKind::arp_reply, "192.0.2.10", kOther);
  f.claim(kT0 + minutes(20), ClaimKind::arp_reply, "192.0.2.10", kThird);
  ASSERT_EQ(f.sink.events.size(), 3U);
  EXPECT_EQ(f.sink.events[2].kind, EventKind::changed_mac);
  EXPECT_EQ(f.sink.events[2].other_mac, kOther);
}

TEST(Bindings, ReportsIpConflictWhenTwoMacsAnswerForOneIpWithinTheConflictWindow) {
  Fixture f;
  // Two hosts with the same static address answer one broadcast request.
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost, kA);
  f.claim(kT0 + milliseconds(2), ClaimKind::arp_reply, "192.0.2.10", kOther, kB);
  ASSERT_EQ(f.sink.events.size(), 2U);
  const Event& e = f.sink.events[1];
  EXPECT_EQ(e.kind, EventKind::ip_conflict);
  EXPECT_EQ(e.time, kT0 + milliseconds(2));
  EXPECT_EQ(e.station.mac, kOther);
  EXPECT_EQ(e.other_mac, kHost);
  EXPECT_EQ(e.claim, ClaimKind::arp_reply);
  EXPECT_EQ(e.to, kB);
  // The latest claimant holds it, as the requester's ARP cache now does.
  EXPECT_EQ(binding(f.table, "192.0.2.10").mac, kOther);
}

TEST(Bindings, KeepsCountingAlternatingClaimsAsConflictsNotFlipFlops) {
  Fixture f;
  for (int i = 0; i < 10; ++i) {
    f.claim(kT0 + seconds(30 * i), ClaimKind::arp_reply, "192.0.2.10", kHost);
    f.claim(kT0 + seconds(30 * i) + milliseconds(1), ClaimKind::arp_reply, "192.0.2.10", kOther);
  }
  EXPECT_EQ(f.decided(EventKind::ip_conflict), 19U);  // every change after the first claim
  EXPECT_EQ(f.decided(EventKind::flip_flop), 0U);
  EXPECT_EQ(f.decided(EventKind::changed_mac), 0U);
  // Within one report_interval: the new_binding and one conflict are told, the rest counted.
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::ip_conflict);
  EXPECT_EQ(f.suppressed(EventKind::ip_conflict), 18U);
}

TEST(Bindings, ReadsAnAnnouncedTakeoverAsChangedMacEvenRightAfterTheOldOwnerAnswered) {
  // keepalived moving a busy gateway VIP: the old master answered a request 300 ms before the new
  // one sent its gratuitous ARP.
  Fixture f;
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.1", kHost, kA);
  f.claim(kT0 + milliseconds(300), ClaimKind::arp_announcement, "192.0.2.1", kOther, kB);
  f.claim(kT0 + seconds(1), ClaimKind::arp_announcement, "192.0.2.1", kOther, kB);
  f.claim(kT0 + seconds(20), ClaimKind::arp_reply, "192.0.2.1", kOther, kB);
  ASSERT_EQ(f.sink.events.size(), 2U);
  const Event& e = f.sink.events[1];
  EXPECT_EQ(e.kind, EventKind::changed_mac);
  EXPECT_EQ(e.claim, ClaimKind::arp_announcement);
  EXPECT_EQ(e.station.mac, kOther);
  EXPECT_EQ(e.other_mac, kHost);
  EXPECT_EQ(f.decided(EventKind::ip_conflict), 0U);
}

TEST(Bindings, ReportsIpConflictWhenTheOldOwnerStillAnswersAfterAnAnnouncedTakeover) {
  // Split brain: both keepalived nodes think they are master.
  Fixture f;
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.1", kHost, kA);
  f.claim(kT0 + minutes(1), ClaimKind::arp_announcement, "192.0.2.1", kOther, kB);
  f.claim(kT0 + minutes(1) + seconds(2), ClaimKind::arp_reply, "192.0.2.1", kHost, kA);
  ASSERT_EQ(f.sink.events.size(), 3U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::changed_mac);
  // Reported although a changed_mac was just reported: a conflict is more serious.
  EXPECT_EQ(f.sink.events[2].kind, EventKind::ip_conflict);
  EXPECT_EQ(f.sink.events[2].station.mac, kHost);
  EXPECT_EQ(f.sink.events[2].other_mac, kOther);
  EXPECT_EQ(f.sink.events[2].to, kA);
}

TEST(Bindings, ReportsAnnouncedFailbackAsFlipFlopWithTheAnnouncement) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_announcement, "192.0.2.1", kHost);
  f.claim(kT0 + minutes(30), ClaimKind::arp_announcement, "192.0.2.1", kOther);
  f.claim(kT0 + hours(2), ClaimKind::arp_announcement, "192.0.2.1", kHost);
  ASSERT_EQ(f.sink.events.size(), 3U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::changed_mac);
  EXPECT_EQ(f.sink.events[2].kind, EventKind::flip_flop);
  EXPECT_EQ(f.sink.events[2].claim, ClaimKind::arp_announcement);
}

// --- rate limit --------------------------------------------------------------------------------

TEST(Bindings, ReportsOneEventPerBindingPerReportIntervalAndCarriesTheSuppressedCount) {
  Fixture f;  // report_interval 5 min
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  // Two hosts answering on their own schedule, a minute apart: a change, then flip-flops.
  for (int i = 1; i <= 12; ++i) {
    f.claim(kT0 + minutes(i), ClaimKind::arp_reply, "192.0.2.10", i % 2 == 1 ? kOther : kHost);
  }
  EXPECT_EQ(f.decided(EventKind::changed_mac), 1U);
  EXPECT_EQ(f.decided(EventKind::flip_flop), 11U);
  // new_binding (t0), changed_mac (1 min), flip_flop (2 min, more serious), then one flip_flop
  // per 5 minutes: at 7 and 12 min, each telling how many were held back before it.
  ASSERT_EQ(f.sink.events.size(), 5U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::changed_mac);
  EXPECT_EQ(f.sink.events[2].kind, EventKind::flip_flop);
  EXPECT_EQ(f.sink.events[2].time, kT0 + minutes(2));
  EXPECT_EQ(f.sink.events[3].time, kT0 + minutes(7));
  EXPECT_EQ(f.sink.events[3].suppressed, 4U);
  EXPECT_EQ(f.sink.events[4].time, kT0 + minutes(12));
  EXPECT_EQ(f.sink.events[4].suppressed, 4U);
  EXPECT_EQ(f.suppressed(EventKind::flip_flop), 8U);
}

TEST(Bindings, RateLimitsEachBindingOnItsOwn) {
  Fixture f;
  for (const char* a : {"192.0.2.10", "192.0.2.11", "192.0.2.12"}) {
    f.claim(kT0, ClaimKind::arp_reply, a, kHost);
    f.claim(kT0 + milliseconds(1), ClaimKind::arp_reply, a, kOther);
  }
  EXPECT_EQ(f.sink.of(EventKind::ip_conflict).size(), 3U);
}

TEST(Bindings, ReportsAgainOnceTheReportIntervalHasPassed) {
  BindingConfig c;
  c.report_interval = seconds(60);
  Fixture f(c);
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0 + seconds(1), ClaimKind::arp_reply, "192.0.2.10", kOther);   // conflict, told
  f.claim(kT0 + seconds(2), ClaimKind::arp_reply, "192.0.2.10", kHost);    // conflict, held back
  f.claim(kT0 + seconds(61), ClaimKind::arp_reply, "192.0.2.10", kOther);  // 60 s after the last told
  f.claim(kT0 + seconds(62), ClaimKind::arp_reply, "192.0.2.10", kHost);
  const auto conflicts = f.sink.of(EventKind::ip_conflict);
  ASSERT_EQ(conflicts.size(), 2U);
  EXPECT_EQ(conflicts[1].time, kT0 + seconds(61));
  EXPECT_EQ(conflicts[1].suppressed, 1U);
  EXPECT_EQ(f.decided(EventKind::ip_conflict), 4U);
}

// --- VLANs, IPv6 -------------------------------------------------------------------------------

TEST(Bindings, KeepsTheSameIpOnTwoVlansAsTwoIndependentBindings) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_reply, "10.0.0.1", kHost, kA, 10);
  f.claim(kT0 + milliseconds(1), ClaimKind::arp_reply, "10.0.0.1", kOther, kA, 20);
  f.claim(kT0 + minutes(1), ClaimKind::arp_reply, "10.0.0.1", kOther, kA, 20);
  f.claim(kT0 + minutes(1), ClaimKind::arp_reply, "10.0.0.1", kHost, kA, 10);
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::new_binding);
  EXPECT_EQ(f.sink.events[0].station.vlan, 10);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::new_binding);
  EXPECT_EQ(f.sink.events[1].station.vlan, 20);
  EXPECT_EQ(f.table.stats().bindings, 2U);
  EXPECT_EQ(binding(f.table, "10.0.0.1", 10).mac, kHost);
  EXPECT_EQ(binding(f.table, "10.0.0.1", 20).mac, kOther);
}

TEST(Bindings, LearnsIpv6BindingsFromNeighbourDiscoveryAndReportsAnAnnouncedChange) {
  Fixture f;
  f.claim(kT0, ClaimKind::nd_advertisement, "2001:db8::10", kHost);
  f.claim(kT0 + seconds(30), ClaimKind::nd_solicitation, "2001:db8::10", kHost);
  f.claim(kT0 + minutes(5), ClaimKind::nd_unsolicited_advertisement, "2001:db8::10", kOther, kB);
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::new_binding);
  EXPECT_EQ(f.sink.events[0].ip, ip("2001:db8::10"));
  EXPECT_EQ(f.sink.events[1].kind, EventKind::changed_mac);
  EXPECT_EQ(f.sink.events[1].claim, ClaimKind::nd_unsolicited_advertisement);
  EXPECT_EQ(f.sink.events[1].other_mac, kHost);
}

TEST(Bindings, ReportsIpv6ConflictWhenTwoMacsAdvertiseOneAddressAtOnce) {
  Fixture f;
  f.claim(kT0, ClaimKind::nd_advertisement, "2001:db8::10", kHost);
  f.claim(kT0 + milliseconds(3), ClaimKind::nd_advertisement, "2001:db8::10", kOther);
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::ip_conflict);
  EXPECT_EQ(f.sink.events[1].claim, ClaimKind::nd_advertisement);
}

TEST(Bindings, KeepsIpv4AndIpv6BindingsApart) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0 + milliseconds(1), ClaimKind::nd_advertisement, "::ffff:192.0.2.10", kOther);  // IPv4-mapped: bogus in ND
  f.claim(kT0 + milliseconds(2), ClaimKind::nd_advertisement, "2001:db8::10", kOther);
  EXPECT_EQ(f.sink.of(EventKind::new_binding).size(), 2U);
  EXPECT_EQ(f.decided(EventKind::ip_conflict), 0U);
  EXPECT_EQ(f.table.stats().ignored_addresses, 1U);
}

// --- probes and duplicate address detection ----------------------------------------------------

TEST(Bindings, NeverLearnsABindingFromAProbe) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_probe, "192.0.2.10", kHost);
  f.claim(kT0, ClaimKind::nd_dad, "2001:db8::10", kHost);
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.table.stats().bindings, 0U);
  EXPECT_EQ(f.table.stats().probes, 2U);
  EXPECT_EQ(f.table.stats().claims[static_cast<int>(ClaimKind::arp_probe)], 1U);
  EXPECT_EQ(f.table.stats().claims[static_cast<int>(ClaimKind::nd_dad)], 1U);
}

TEST(Bindings, ReportsADadCollisionWhenTheOwnerDefendsAgainstAnotherMacsProbe) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_request, "192.0.2.10", kHost, kA);
  // Another host wants the address (DHCP handed it out again); the owner answers the probe.
  f.claim(kT0 + minutes(3), ClaimKind::arp_probe, "192.0.2.10", kOther, kB);
  EXPECT_EQ(f.sink.events.size(), 1U);  // undecided until the owner answers or stays quiet
  f.claim(kT0 + minutes(3) + milliseconds(1), ClaimKind::arp_reply, "192.0.2.10", kHost, kA);
  ASSERT_EQ(f.sink.events.size(), 2U);
  const Event& e = f.sink.events[1];
  EXPECT_EQ(e.kind, EventKind::ip_conflict);
  EXPECT_EQ(e.time, kT0 + minutes(3) + milliseconds(1));
  EXPECT_EQ(e.station.mac, kOther);  // told from the prober's side
  EXPECT_EQ(e.other_mac, kHost);
  EXPECT_EQ(e.claim, ClaimKind::arp_probe);
  EXPECT_EQ(e.to, kB);
  EXPECT_EQ(f.table.stats().probe_conflicts, 1U);
  EXPECT_EQ(binding(f.table, "192.0.2.10").mac, kHost);  // a probe changes nothing
}

TEST(Bindings, ReportsAProbeConflictWhenTheOwnerWasActiveJustBeforeTheProbe) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_request, "192.0.2.10", kHost);
  f.claim(kT0 + seconds(2), ClaimKind::arp_probe, "192.0.2.10", kOther);
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::ip_conflict);
  EXPECT_EQ(f.sink.events[1].time, kT0 + seconds(2));
  EXPECT_EQ(f.sink.events[1].claim, ClaimKind::arp_probe);
}

TEST(Bindings, OnlyCountsAProbeForAnAddressWhoseOwnerStaysQuiet) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_request, "192.0.2.10", kHost);
  // RFC 5227: three probes, then announcements; the old owner has left.
  for (int i = 0; i < 3; ++i) f.claim(kT0 + hours(1) + seconds(i), ClaimKind::arp_probe, "192.0.2.10", kOther);
  f.claim(kT0 + hours(1) + seconds(5), ClaimKind::arp_announcement, "192.0.2.10", kOther);
  f.claim(kT0 + hours(1) + seconds(7), ClaimKind::arp_announcement, "192.0.2.10", kOther);
  // The old owner comes back much later: a flip_flop, not a defence of the probe.
  f.claim(kT0 + hours(2), ClaimKind::arp_request, "192.0.2.10", kHost);
  ASSERT_EQ(f.sink.events.size(), 3U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::changed_mac);
  EXPECT_EQ(f.sink.events[1].claim, ClaimKind::arp_announcement);
  EXPECT_EQ(f.sink.events[2].kind, EventKind::flip_flop);
  EXPECT_EQ(f.decided(EventKind::ip_conflict), 0U);
  EXPECT_EQ(f.table.stats().probes, 3U);
}

TEST(Bindings, IgnoresAnOwnerReprobingItsOwnAddress) {
  Fixture f;  // a host re-probing and re-announcing every 11 s (suricata-verify output-eve-ftp-data)
  for (int i = 0; i < 10; ++i) {
    f.claim(kT0 + seconds(11 * i), ClaimKind::arp_probe, "192.168.0.13", kHost);
    f.claim(kT0 + seconds(11 * i) + seconds(3), ClaimKind::arp_announcement, "192.168.0.13", kHost);
    f.claim(kT0 + seconds(11 * i) + seconds(10), ClaimKind::arp_request, "192.168.0.13", kHost);
  }
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::new_binding);
  EXPECT_EQ(f.sink.events[0].claim, ClaimKind::arp_announcement);
}

TEST(Bindings, ReportsAnIpv6DadCollisionWhenTheOwnerDefendsWithAnAdvertisement) {
  Fixture f;
  f.claim(kT0, ClaimKind::nd_advertisement, "2001:db8::10", kHost);
  f.claim(kT0 + minutes(2), ClaimKind::nd_dad, "2001:db8::10", kOther, kB);
  // RFC 4862: the owner defends with an advertisement to all nodes (Solicited clear).
  f.claim(kT0 + minutes(2) + milliseconds(5), ClaimKind::nd_unsolicited_advertisement, "2001:db8::10", kHost);
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::ip_conflict);
  EXPECT_EQ(f.sink.events[1].claim, ClaimKind::nd_dad);
  EXPECT_EQ(f.sink.events[1].station.mac, kOther);
  EXPECT_EQ(f.sink.events[1].to, kB);
  EXPECT_EQ(binding(f.table, "2001:db8::10").mac, kHost);
}

TEST(Bindings, ForgetsAnUndefendedProbeOnceTheConflictWindowHasPassed) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_request, "192.0.2.10", kHost);
  f.claim(kT0 + minutes(3), ClaimKind::arp_probe, "192.0.2.10", kOther);
  f.claim(kT0 + minutes(3) + seconds(6), ClaimKind::arp_request, "192.0.2.10", kHost);
  EXPECT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.decided(EventKind::ip_conflict), 0U);
}

// --- addresses and MACs that are never learned --------------------------------------------------

TEST(Bindings, ClassifiesAddressScopes) {
  EXPECT_EQ(address_scope(ip("192.0.2.1")), AddressScope::ipv4);
  EXPECT_EQ(address_scope(ip("240.0.0.1")), AddressScope::ipv4);  // class E: Linux accepts it as unicast
  EXPECT_EQ(address_scope(ip("169.254.7.7")), AddressScope::ipv4_link_local);
  for (const char* a : {"0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.251", "239.255.255.250", "255.255.255.255"}) {
    EXPECT_EQ(address_scope(ip(a)), AddressScope::not_unicast) << a;
  }
  EXPECT_EQ(address_scope(ip("2001:db8::1")), AddressScope::ipv6);
  EXPECT_EQ(address_scope(ip("fd00::1")), AddressScope::ipv6);
  EXPECT_EQ(address_scope(ip("fe80::1")), AddressScope::ipv6_link_local);
  EXPECT_EQ(address_scope(ip("febf::1")), AddressScope::ipv6_link_local);
  EXPECT_EQ(address_scope(ip("fec0::1")), AddressScope::ipv6);
  for (const char* a : {"::", "::1", "ff02::1", "ff02::1:ff00:1"}) {
    EXPECT_EQ(address_scope(ip(a)), AddressScope::not_unicast) << a;
  }
}

TEST(Bindings, IgnoresClaimsForAddressesThatAreNotUnicastHostAddresses) {
  Fixture f;
  for (const char* a : {"0.0.0.0", "255.255.255.255", "224.0.0.1", "127.0.0.1"}) {
    f.claim(kT0, ClaimKind::arp_request, a, kHost);
  }
  for (const char* a : {"::", "ff02::1", "::1"}) f.claim(kT0, ClaimKind::nd_advertisement, a, kHost);
  f.claim(kT0, ClaimKind::arp_reply, "2001:db8::1", kHost);  // an IPv6 address in ARP: bogus
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.table.stats().bindings, 0U);
  EXPECT_EQ(f.table.stats().ignored_addresses, 8U);
  EXPECT_EQ(f.table.stats().observations, 8U);
}

TEST(Bindings, IgnoresClaimsFromGroupOrZeroMacs) {
  Fixture f;
  // Windows NLB multicast mode answers for the cluster IP with 03-bf-...: a group address.
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.100", mac("03:bf:c0:00:02:64"));
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.101", MacAddress{});
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.table.stats().ignored_macs, 2U);
}

TEST(Bindings, IgnoresObservationsWithoutAClaimAndImpossibleTimes) {
  Fixture f;
  Observation plain;
  plain.time = kT0;
  plain.source = kHost;
  f.table.observe(plain);
  EXPECT_EQ(f.table.stats().observations, 0U);
  f.claim(PacketTime(seconds(-5)), ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(PacketTime(hours(24 * 365 * 200)), ClaimKind::arp_reply, "192.0.2.10", kHost);
  EXPECT_EQ(f.table.stats().ignored_times, 2U);
  EXPECT_EQ(f.table.stats().bindings, 0U);
}

// --- link-local policy --------------------------------------------------------------------------

TEST(Bindings, LearnsIpv6LinkLocalBindingsSilentlyButReportsTheirChangesByDefault) {
  Fixture f;
  const MacAddress router = mac("00:00:0c:9f:f0:01");
  f.claim(kT0, ClaimKind::nd_router_advertisement, "fe80::1", router);
  f.claim(kT0 + seconds(1), ClaimKind::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", kHost);
  EXPECT_TRUE(f.sink.events.empty());
  EXPECT_EQ(f.table.stats().bindings, 2U);
  // A rogue router advertising with the router's link-local address.
  f.claim(kT0 + minutes(5), ClaimKind::nd_router_advertisement, "fe80::1", kAttacker, kB);
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::changed_mac);
  EXPECT_EQ(f.sink.events[0].other_mac, router);
  EXPECT_EQ(f.sink.events[0].claim, ClaimKind::nd_router_advertisement);
}

TEST(Bindings, ReportsIpv4LinkLocalBindingsByDefaultLikeArpwatch) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_announcement, "169.254.12.34", kHost);
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::new_binding);
}

TEST(Bindings, FollowsTheConfiguredPolicyOfEachAddressScope) {
  BindingConfig c;
  c.ipv4_link_local = AddressPolicy::ignore;
  c.ipv6_link_local = AddressPolicy::report;
  c.ipv6 = AddressPolicy::watch;
  Fixture f(c);
  f.claim(kT0, ClaimKind::arp_announcement, "169.254.12.34", kHost);
  f.claim(kT0, ClaimKind::nd_solicitation, "fe80::1", kHost);
  f.claim(kT0, ClaimKind::nd_advertisement, "2001:db8::1", kHost);
  f.claim(kT0 + minutes(1), ClaimKind::nd_advertisement, "2001:db8::1", kOther);
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::new_binding);
  EXPECT_EQ(f.sink.events[0].ip, ip("fe80::1"));
  EXPECT_EQ(f.sink.events[1].kind, EventKind::changed_mac);
  EXPECT_EQ(f.table.stats().ignored_by_policy, 1U);
  EXPECT_EQ(f.table.stats().bindings, 2U);
}

TEST(Bindings, ParsesAndNamesAddressPolicies) {
  AddressPolicy p = AddressPolicy::ignore;
  EXPECT_TRUE(parse_address_policy("watch", p));
  EXPECT_EQ(p, AddressPolicy::watch);
  EXPECT_STREQ(to_string(AddressPolicy::report), "report");
  EXPECT_FALSE(parse_address_policy("Report", p));
}

// --- Windows NLB --------------------------------------------------------------------------------

TEST(Bindings, TreatsTheNlbClusterMacAnsweringFromEveryHostAsOneQuietBinding) {
  Fixture f;
  const MacAddress cluster = mac("02:bf:c0:00:02:64");  // 02-BF-<192.0.2.100>
  // Four unicast-mode hosts answer each request for the cluster IP, each from its masked source
  // MAC on its own uplink, all with the cluster MAC in the ARP body.
  const MacAddress hosts[] = {mac("02:01:c0:00:02:64"), mac("02:02:c0:00:02:64"), mac("02:03:c0:00:02:64"),
                              mac("02:04:c0:00:02:64")};
  for (int round = 0; round < 50; ++round) {
    for (int h = 0; h < 4; ++h) {
      f.claim_from(kT0 + seconds(round) + milliseconds(h), ClaimKind::arp_reply, "192.0.2.100", cluster,
                   hosts[h], static_cast<UplinkId>(h % 3));
    }
  }
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::new_binding);
  EXPECT_EQ(f.sink.events[0].station.mac, cluster);
  EXPECT_EQ(f.decided(EventKind::ip_conflict), 0U);
}

// --- aging, the cap, the new_binding budget -----------------------------------------------------

TEST(Bindings, ForgetsABindingAfterIdleTimeoutAndReportsItsNextClaimAsNew) {
  BindingConfig c;
  c.idle_timeout = hours(1);
  Fixture f(c);
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0 + hours(1) + seconds(1), ClaimKind::arp_reply, "192.0.2.10", kOther);
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::new_binding);
  EXPECT_EQ(f.sink.events[1].station.mac, kOther);
  EXPECT_EQ(f.table.stats().bindings_aged, 1U);
  EXPECT_EQ(f.table.stats().bindings, 1U);
  EXPECT_TRUE(binding(f.table, "192.0.2.10").previous_mac.is_zero());
}

TEST(Bindings, AgesIdleBindingsAsThePacketClockAdvances) {
  BindingConfig c;
  c.idle_timeout = hours(1);
  c.max_entries = 100;
  Fixture f(c);
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0 + minutes(50), ClaimKind::arp_reply, "192.0.2.11", kOther);
  f.table.advance(kT0 + minutes(61));
  EXPECT_EQ(f.table.stats().bindings, 1U);
  EXPECT_EQ(f.table.stats().bindings_aged, 1U);
  EXPECT_EQ(binding(f.table, "192.0.2.11").mac, kOther);
  f.table.advance(kT0 + minutes(200));
  EXPECT_EQ(f.table.stats().bindings, 0U);
  EXPECT_EQ(f.table.stats().probationary, 0U);
  EXPECT_EQ(f.table.clock(), kT0 + minutes(200));
}

TEST(Bindings, LeavesProbationOnceOneMacClaimedItAcrossTheProbationTime) {
  Fixture f;  // probation 60 s
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0 + seconds(30), ClaimKind::arp_reply, "192.0.2.10", kHost);
  EXPECT_EQ(f.table.stats().probationary, 1U);
  EXPECT_FALSE(binding(f.table, "192.0.2.10").established);
  f.claim(kT0 + seconds(60), ClaimKind::arp_reply, "192.0.2.10", kHost);
  EXPECT_EQ(f.table.stats().probationary, 0U);
  EXPECT_TRUE(binding(f.table, "192.0.2.10").established);
}

TEST(Bindings, KeepsEstablishedBindingsWhenARandomIpFloodHitsTheCap) {
  BindingConfig c = unlimited();
  c.max_entries = 64;
  Fixture f(c);
  char text[32];
  for (int i = 0; i < 32; ++i) {
    std::snprintf(text, sizeof text, "10.0.0.%d", i + 1);
    f.claim(kT0, ClaimKind::arp_request, text, kHost);
    f.claim(kT0 + seconds(61), ClaimKind::arp_request, text, kHost);
  }
  EXPECT_EQ(f.table.stats().probationary, 0U);
  // A flood of ARP requests with random sender IPs and MACs.
  std::mt19937 rng(7);
  for (int i = 0; i < 20'000; ++i) {
    const auto r = static_cast<std::uint32_t>(rng());
    std::snprintf(text, sizeof text, "172.%u.%u.%u", 16 + (r >> 24) % 16, (r >> 16) & 0xFF, 1 + (r & 0xFF) % 254);
    f.claim(kT0 + seconds(70) + milliseconds(i / 100), ClaimKind::arp_request, text,
            MacAddress::from_u64((std::uint64_t{r} << 8) & 0xFEFF'FFFF'FFFFULL));
  }
  const BindingStats& s = f.table.stats();
  EXPECT_EQ(s.bindings, 64U);
  EXPECT_EQ(s.probationary, 32U);
  EXPECT_GT(s.bindings_evicted, 19'000U);
  EXPECT_EQ(s.bindings_learned - s.bindings_evicted - s.bindings_aged, s.bindings);
  for (int i = 0; i < 32; ++i) {
    std::snprintf(text, sizeof text, "10.0.0.%d", i + 1);
    EXPECT_EQ(binding(f.table, text).mac, kHost) << text;
  }
}

TEST(Bindings, RefusesNewBindingsWhenTheTableIsFullOfEstablishedOnes) {
  BindingConfig c = unlimited();
  c.max_entries = 4;
  Fixture f(c);
  for (const char* a : {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}) {
    f.claim(kT0, ClaimKind::arp_request, a, kHost);
    f.claim(kT0 + minutes(2), ClaimKind::arp_request, a, kHost);
  }
  const std::size_t before = f.sink.events.size();
  f.claim(kT0 + minutes(3), ClaimKind::arp_request, "10.0.0.5", kOther);
  EXPECT_EQ(f.sink.events.size(), before);
  EXPECT_EQ(f.table.stats().bindings_refused, 1U);
  EXPECT_EQ(f.table.stats().bindings, 4U);
  EXPECT_TRUE(binding(f.table, "10.0.0.5").mac.is_zero());
  // Changes of the bindings it holds are still seen.
  f.claim(kT0 + minutes(4), ClaimKind::arp_request, "10.0.0.1", kOther);
  EXPECT_EQ(f.sink.events.back().kind, EventKind::changed_mac);
}

TEST(Bindings, LimitsNewBindingEventsToTheBudgetButLearnsAndCountsThemAll) {
  BindingConfig c;
  c.new_binding_events_per_minute = 10;
  Fixture f(c);
  char text[32];
  for (int i = 0; i < 50; ++i) {
    std::snprintf(text, sizeof text, "10.0.1.%d", i + 1);
    f.claim(kT0 + milliseconds(i), ClaimKind::arp_request, text, kHost);
  }
  EXPECT_EQ(f.sink.events.size(), 10U);
  EXPECT_EQ(f.decided(EventKind::new_binding), 50U);
  EXPECT_EQ(f.suppressed(EventKind::new_binding), 40U);
  EXPECT_EQ(f.table.stats().bindings, 50U);
  // The budget refills at 10 a minute.
  f.claim(kT0 + seconds(7), ClaimKind::arp_request, "10.0.2.1", kHost);
  EXPECT_EQ(f.sink.events.size(), 11U);
  f.claim(kT0 + seconds(8), ClaimKind::arp_request, "10.0.2.2", kHost);
  EXPECT_EQ(f.sink.events.size(), 11U);
  // A binding whose new_binding was held back tells so in its next event.
  f.claim(kT0 + minutes(10), ClaimKind::arp_request, "10.0.1.50", kOther);
  EXPECT_EQ(f.sink.events.back().kind, EventKind::changed_mac);
  EXPECT_EQ(f.sink.events.back().suppressed, 1U);
}

// --- time going backwards ----------------------------------------------------------------------

TEST(Bindings, IgnoresALateFrameOfThePreviousOwnerFromBeforeTheChange) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.1", kHost, kA);
  f.claim(kT0 + minutes(1), ClaimKind::arp_announcement, "192.0.2.1", kOther, kB);
  // The old master's last reply, captured on another uplink, merged after the takeover.
  f.claim(kT0 + minutes(1) - milliseconds(1), ClaimKind::arp_reply, "192.0.2.1", kHost, kA);
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::changed_mac);
  EXPECT_EQ(f.table.stats().stale_claims, 1U);
  EXPECT_EQ(binding(f.table, "192.0.2.1").mac, kOther);
}

TEST(Bindings, TreatsALateClaimCloseToTheOwnersLatestAsAConflictWithoutChangingTheOwner) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0 + seconds(100), ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0 + seconds(99), ClaimKind::arp_reply, "192.0.2.10", kOther);
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::ip_conflict);
  EXPECT_EQ(f.sink.events[1].time, kT0 + seconds(99));
  EXPECT_EQ(f.sink.events[1].station.mac, kOther);
  EXPECT_EQ(binding(f.table, "192.0.2.10").mac, kHost);
}

TEST(Bindings, CountsAClaimFarOlderThanTheBindingAsStaleAndChangesNothing) {
  Fixture f;
  f.claim(kT0 + hours(1), ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kOther);
  f.claim(kT0 + minutes(30), ClaimKind::arp_reply, "192.0.2.10", kHost);  // the owner, late: no rewind
  EXPECT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.table.stats().stale_claims, 1U);
  const BindingView v = binding(f.table, "192.0.2.10");
  EXPECT_EQ(v.mac, kHost);
  EXPECT_EQ(v.last_seen, kT0 + hours(1));
  EXPECT_EQ(f.table.clock(), kT0 + hours(1));
}

TEST(Bindings, NeverAgesABindingBecauseOfAnOlderFrame) {
  BindingConfig c;
  c.idle_timeout = hours(1);
  Fixture f(c);
  f.claim(kT0 + hours(5), ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  EXPECT_EQ(f.table.stats().bindings_aged, 0U);
  EXPECT_EQ(binding(f.table, "192.0.2.10").last_seen, kT0 + hours(5));
}

TEST(Bindings, DecidesTheSameEventsForTheSameClaims) {
  auto run = [] {
    Fixture f;
    std::mt19937 rng(42);
    const MacAddress macs[] = {kHost, kOther, kThird};
    for (int i = 0; i < 5000; ++i) {
      char text[32];
      std::snprintf(text, sizeof text, "10.9.0.%u", static_cast<unsigned>(1 + rng() % 8));
      const auto back = seconds(static_cast<int>(rng() % 3));
      const auto kind = static_cast<ClaimKind>(1 + rng() % 9);
      f.claim(kT0 + seconds(i) - back, kind, text, macs[rng() % 3]);
    }
    std::vector<std::pair<EventKind, PacketTime>> out;
    for (const Event& e : f.sink.events) out.emplace_back(e.kind, e.time);
    return out;
  };
  const auto first = run();
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, run());
}

// --- real captures, transcribed --------------------------------------------------------------
// The decoder that turns frames into claims is not part of this module; these are the ARP / ND
// frames of two corpus captures as it will deliver them (read with tcpdump -nn -e -v -xx; the ARP
// sender hardware address equals the Ethernet source in every frame of both), one uplink, untagged.

struct TranscribedClaim {
  std::int64_t offset_us;  // after the capture's first whole second
  ClaimKind kind;
  const char* address;
  const char* mac;
};

void replay(Fixture& f, PacketTime base, const std::vector<TranscribedClaim>& claims) {
  for (const TranscribedClaim& c : claims) {
    f.claim(base + std::chrono::microseconds(c.offset_us), c.kind, c.address, mac(c.mac));
  }
}

// chrissanders__arppoison.pcapng: 00:25:b3:bf:91:ee (really 172.16.0.105) tells the victim
// 172.16.0.107 that the gateway 172.16.0.1 is at its MAC, with a unicast request and an
// unsolicited reply. The real gateway (00:26:0b:31:07:33, the next hop of the victim's traffic
// before the attack) never sends ARP in the capture.
std::vector<TranscribedClaim> arppoison_claims() {
  using K = ClaimKind;
  return {
      {376536, K::arp_request, "172.16.0.1", "00:25:b3:bf:91:ee"},
      {376589, K::arp_reply, "172.16.0.107", "00:21:70:c0:56:f0"},
      {376602, K::arp_reply, "172.16.0.1", "00:25:b3:bf:91:ee"},
      {10122706, K::arp_request, "172.16.0.105", "00:25:b3:bf:91:ee"},
  };
}
const PacketTime kArpPoisonBase = PacketTime(seconds(1'279'251'577));  // 2010-07-16T03:39:37Z

TEST(Bindings, CorpusArpPoisonShowsTheGatewayAddressNewlyBoundToTheAttackersMac) {
  Fixture f;
  replay(f, kArpPoisonBase, arppoison_claims());
  ASSERT_EQ(f.sink.events.size(), 3U);
  const struct {
    std::int64_t offset_us;
    const char* address;
    MacAddress mac;
    ClaimKind claim;
  } expected[] = {
      {376536, "172.16.0.1", kAttacker, ClaimKind::arp_request},
      {376589, "172.16.0.107", mac("00:21:70:c0:56:f0"), ClaimKind::arp_reply},
      {10122706, "172.16.0.105", kAttacker, ClaimKind::arp_request},
  };
  for (std::size_t i = 0; i < 3; ++i) {
    const Event& e = f.sink.events[i];
    EXPECT_EQ(e.kind, EventKind::new_binding) << i;
    EXPECT_EQ(e.time, kArpPoisonBase + std::chrono::microseconds(expected[i].offset_us)) << i;
    EXPECT_EQ(e.ip, ip(expected[i].address)) << i;
    EXPECT_EQ(e.station, (StationKey{0, expected[i].mac})) << i;
    EXPECT_EQ(e.claim, expected[i].claim) << i;
  }
}

TEST(Bindings, CorpusArpPoisonIsAChangedMacWhenTheGatewaysBindingWasKnown) {
  Fixture f;
  BindingView gateway;  // as a state file from an earlier run would hold it
  gateway.ip = ip("172.16.0.1");
  gateway.mac = kGateway;
  gateway.uplink = kA;
  gateway.claim = ClaimKind::arp_reply;
  gateway.since = kArpPoisonBase - hours(48);
  gateway.last_seen = kArpPoisonBase - minutes(20);
  gateway.established = true;
  ASSERT_TRUE(f.table.restore(gateway));
  replay(f, kArpPoisonBase, arppoison_claims());
  const auto changed = f.sink.of(EventKind::changed_mac);
  ASSERT_EQ(changed.size(), 1U);
  EXPECT_EQ(changed[0].time, kArpPoisonBase + std::chrono::microseconds(376536));
  EXPECT_EQ(changed[0].station.mac, kAttacker);
  EXPECT_EQ(changed[0].other_mac, kGateway);
  EXPECT_EQ(changed[0].claim, ClaimKind::arp_request);
  EXPECT_EQ(f.sink.of(EventKind::new_binding).size(), 2U);
  EXPECT_EQ(f.sink.events.size(), 3U);
}

// suricata-verify__output-eve-ftp-data.pcap: a Windows host (68:5d:43:8b:f9:de) re-probes and
// re-announces 192.168.0.13 and its fe80 address every ~11 s for 96 s, and talks to its gateway
// (18:59:33:f4:49:1f) and 192.168.0.10. All 175 ARP / ND frames.
std::vector<TranscribedClaim> suricata_ftp_claims() {
  using K = ClaimKind;
  return {
    {532184, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {1531006, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {1531270, K::nd_dad, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {1531327, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {2544389, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {2544713, K::nd_unsolicited_advertisement, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {3542799, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {4015310, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {4023585, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {4541184, K::arp_announcement, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {4590470, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {4594042, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {5539595, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {6515838, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {6527027, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {9533110, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {12543713, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {12544528, K::nd_dad, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {12544679, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {13542085, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {13542355, K::nd_unsolicited_advertisement, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {14153776, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {14165095, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {14540482, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {15538878, K::arp_announcement, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {15578445, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {15581049, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {16537263, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {17036422, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {17036924, K::nd_dad, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {17037075, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {18034755, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {18034991, K::nd_unsolicited_advertisement, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {19033144, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {20031542, K::arp_announcement, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {20069473, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {20081636, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {20887347, K::arp_request, "192.168.0.1", "18:59:33:f4:49:1f"},
    {20887388, K::arp_reply, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {20937113, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {20952543, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {21030140, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {23541393, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {23541822, K::nd_dad, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {23541970, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {24172726, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {24181184, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {24539796, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {24540082, K::nd_unsolicited_advertisement, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {24555289, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {24557977, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {24928938, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {24931644, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {24983382, K::arp_request, "192.168.0.1", "18:59:33:f4:49:1f"},
    {24983413, K::arp_reply, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {25014987, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {25020389, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {25538084, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {26536602, K::arp_announcement, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {26558494, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {26582628, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {26588296, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {26592900, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {27534972, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {28002584, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {28006608, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {29531631, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {29532130, K::nd_dad, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {29532282, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {30529997, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {30530327, K::nd_unsolicited_advertisement, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {31543941, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {32542339, K::arp_announcement, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {32582402, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {32713962, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {33041505, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {33041952, K::nd_dad, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {33042102, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {33540680, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {33547259, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {34039906, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {34040212, K::nd_unsolicited_advertisement, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {35038256, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {36036636, K::arp_announcement, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {36085643, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {36089194, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {37035041, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {37583257, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {37589848, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {37939723, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {37994825, K::arp_reply, "192.168.0.10", "f4:b7:e2:9a:56:7b"},
    {41028576, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {47533470, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {47533981, K::nd_dad, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {47534156, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {48531811, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {48532095, K::nd_unsolicited_advertisement, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {49285913, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {49364527, K::arp_reply, "192.168.0.10", "f4:b7:e2:9a:56:7b"},
    {49530239, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {50528597, K::arp_announcement, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {50578640, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {50592308, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {51542659, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {52339397, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {52359589, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {55536071, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {63538630, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {63539174, K::nd_dad, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {63539358, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {64471540, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {64481381, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {64536901, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {64537174, K::nd_unsolicited_advertisement, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {65535337, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {66533751, K::arp_announcement, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {66574512, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {66577117, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {67532156, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {68294284, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {68306529, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {71541247, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {72810926, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {72909628, K::arp_reply, "192.168.0.10", "f4:b7:e2:9a:56:7b"},
    {76532957, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {76533309, K::nd_dad, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {76533403, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {77013622, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {77018182, K::arp_reply, "192.168.0.10", "f4:b7:e2:9a:56:7b"},
    {77531362, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {77531678, K::nd_unsolicited_advertisement, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {78529714, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {79528139, K::arp_announcement, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {79565951, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {79569229, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {80542164, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {80788817, K::arp_request, "192.168.0.1", "18:59:33:f4:49:1f"},
    {80788856, K::arp_reply, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {80829364, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {80832079, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {82538843, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {82539302, K::nd_dad, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {82539452, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {83537218, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {83537518, K::nd_unsolicited_advertisement, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {83552922, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {83560768, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {84535577, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {84884584, K::arp_request, "192.168.0.1", "18:59:33:f4:49:1f"},
    {84884619, K::arp_reply, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {84917389, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {84920142, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {85533940, K::arp_announcement, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {85556676, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {85559364, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {85584389, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {85586937, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {86243179, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {86323847, K::arp_reply, "192.168.0.10", "f4:b7:e2:9a:56:7b"},
    {86532388, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {88529083, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {88529461, K::nd_dad, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {88529615, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {89527414, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {89527685, K::nd_unsolicited_advertisement, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {90541427, K::arp_probe, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {91539768, K::arp_announcement, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {91589312, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {91597443, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {92141419, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {92167127, K::arp_reply, "192.168.0.10", "f4:b7:e2:9a:56:7b"},
    {92538196, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
    {93291393, K::arp_request, "192.168.0.13", "68:5d:43:8b:f9:de"},
    {93298453, K::arp_reply, "192.168.0.1", "18:59:33:f4:49:1f"},
    {96531737, K::nd_solicitation, "fe80::9154:c66f:8d0e:33cb", "68:5d:43:8b:f9:de"},
  };
}
const PacketTime kSuricataBase = PacketTime(seconds(1'371'506'301));  // 2013-06-17T21:58:21Z

TEST(Bindings, CorpusHostReprobingEveryElevenSecondsGivesItsNewBindingsAndNothingMore) {
  Fixture f;
  replay(f, kSuricataBase, suricata_ftp_claims());
  ASSERT_EQ(f.sink.events.size(), 3U);
  const struct {
    std::int64_t offset_us;
    const char* address;
    const char* mac;
    ClaimKind claim;
  } expected[] = {
      {4015310, "192.168.0.13", "68:5d:43:8b:f9:de", ClaimKind::arp_request},
      {4023585, "192.168.0.1", "18:59:33:f4:49:1f", ClaimKind::arp_reply},
      {37994825, "192.168.0.10", "f4:b7:e2:9a:56:7b", ClaimKind::arp_reply},
  };
  for (std::size_t i = 0; i < 3; ++i) {
    const Event& e = f.sink.events[i];
    EXPECT_EQ(e.kind, EventKind::new_binding) << i;
    EXPECT_EQ(e.time, kSuricataBase + std::chrono::microseconds(expected[i].offset_us)) << i;
    EXPECT_EQ(e.ip, ip(expected[i].address)) << i;
    EXPECT_EQ(e.station.mac, mac(expected[i].mac)) << i;
    EXPECT_EQ(e.claim, expected[i].claim) << i;
  }
  const BindingStats& s = f.table.stats();
  EXPECT_EQ(s.observations, 175U);
  EXPECT_EQ(s.bindings, 4U);  // and fe80::9154:c66f:8d0e:33cb, watched silently
  EXPECT_EQ(s.probes, 44U);
  EXPECT_EQ(s.probe_conflicts, 0U);
  EXPECT_EQ(s.claims[static_cast<int>(ClaimKind::arp_announcement)], 11U);
  EXPECT_EQ(s.stale_claims, 0U);
  for (int k = 0; k < kEventKinds; ++k) EXPECT_EQ(s.events_suppressed[k], 0U) << k;
}

// --- restore, display, config --------------------------------------------------------------------

TEST(Bindings, RestoresABindingWithoutAnEventAndCatchesAChangeAfterTheRestart) {
  Fixture f;
  BindingView v;
  v.vlan = 5;
  v.ip = ip("172.16.0.1");
  v.mac = kGateway;
  v.uplink = kA;
  v.claim = ClaimKind::arp_reply;
  v.since = kT0 - hours(30);
  v.last_seen = kT0 - minutes(1);
  v.established = true;
  ASSERT_TRUE(f.table.restore(v));
  EXPECT_EQ(f.table.stats().bindings_restored, 1U);
  EXPECT_EQ(f.table.stats().probationary, 0U);
  EXPECT_TRUE(f.sink.events.empty());
  // ARP poisoning: unsolicited replies bind the gateway's address to the attacker.
  f.claim(kT0 + seconds(10), ClaimKind::arp_reply, "172.16.0.1", kAttacker, kB, 5);
  ASSERT_EQ(f.sink.events.size(), 1U);
  EXPECT_EQ(f.sink.events[0].kind, EventKind::changed_mac);
  EXPECT_EQ(f.sink.events[0].other_mac, kGateway);
  // The real gateway answers next: both claim it now.
  f.claim(kT0 + seconds(12), ClaimKind::arp_reply, "172.16.0.1", kGateway, kA, 5);
  ASSERT_EQ(f.sink.events.size(), 2U);
  EXPECT_EQ(f.sink.events[1].kind, EventKind::ip_conflict);
}

TEST(Bindings, RefusesToRestoreBindingsItWouldNeverLearn) {
  Fixture f;
  BindingView v;
  v.ip = ip("224.0.0.1");
  v.mac = kHost;
  v.since = v.last_seen = kT0;
  EXPECT_FALSE(f.table.restore(v));
  v.ip = ip("192.0.2.1");
  v.mac = mac("01:00:5e:00:00:01");
  EXPECT_FALSE(f.table.restore(v));
  v.mac = kHost;
  v.last_seen = PacketTime(seconds(-1));
  EXPECT_FALSE(f.table.restore(v));
  EXPECT_EQ(f.table.stats().bindings, 0U);
}

TEST(Bindings, ShowsEachBindingWithItsOwnerPreviousMacAndLastClaim) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_request, "192.0.2.10", kHost, kA);
  f.claim(kT0 + minutes(10), ClaimKind::arp_announcement, "192.0.2.10", kOther, kC);
  f.claim(kT0 + minutes(12), ClaimKind::arp_reply, "192.0.2.10", kOther, kB);
  f.claim(kT0, ClaimKind::nd_advertisement, "2001:db8::10", kHost, kA, 7);
  const auto all = all_bindings(f.table);
  ASSERT_EQ(all.size(), 2U);
  const BindingView v = binding(f.table, "192.0.2.10");
  EXPECT_EQ(v.mac, kOther);
  EXPECT_EQ(v.previous_mac, kHost);
  EXPECT_EQ(v.uplink, kB);
  EXPECT_EQ(v.claim, ClaimKind::arp_reply);
  EXPECT_EQ(v.since, kT0 + minutes(10));
  EXPECT_EQ(v.last_seen, kT0 + minutes(12));
  EXPECT_TRUE(v.established);
  EXPECT_EQ(binding(f.table, "2001:db8::10", 7).mac, kHost);
}

TEST(Bindings, CountsEveryClaimByKind) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_request, "192.0.2.10", kHost);
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  f.claim(kT0, ClaimKind::nd_router_advertisement, "fe80::1", kHost);
  f.claim(kT0, ClaimKind::arp_request, "0.0.0.0", kHost);  // counted, then ignored
  const BindingStats& s = f.table.stats();
  EXPECT_EQ(s.claims[static_cast<int>(ClaimKind::arp_request)], 2U);
  EXPECT_EQ(s.claims[static_cast<int>(ClaimKind::arp_reply)], 1U);
  EXPECT_EQ(s.claims[static_cast<int>(ClaimKind::nd_router_advertisement)], 1U);
  EXPECT_EQ(s.observations, 4U);
}

TEST(Bindings, RejectsConfigsItCannotHonour) {
  RecordingSink sink;
  BindingConfig c;
  c.max_entries = 0;
  EXPECT_THROW({ BindingTable t(c, sink); }, std::invalid_argument);
  c = BindingConfig{};
  c.idle_timeout = seconds(0);
  EXPECT_THROW({ BindingTable t(c, sink); }, std::invalid_argument);
  c = BindingConfig{};
  c.conflict_window = seconds(-1);
  EXPECT_THROW({ BindingTable t(c, sink); }, std::invalid_argument);
  c = BindingConfig{};
  c.report_interval = hours(24 * 365 * 20);
  EXPECT_THROW({ BindingTable t(c, sink); }, std::invalid_argument);
  c = BindingConfig{};
  c.ipv6 = static_cast<AddressPolicy>(9);
  EXPECT_THROW({ BindingTable t(c, sink); }, std::invalid_argument);
}

TEST(Bindings, KeepsItsTableAcrossReconfigureButRefusesAResize) {
  Fixture f;
  f.claim(kT0, ClaimKind::arp_reply, "192.0.2.10", kHost);
  BindingConfig c = f.table.config();
  c.conflict_window = seconds(0);
  c.report_interval = seconds(0);
  ASSERT_TRUE(f.table.reconfigure(c));
  f.claim(kT0 + milliseconds(1), ClaimKind::arp_reply, "192.0.2.10", kOther);
  EXPECT_EQ(f.sink.events.back().kind, EventKind::changed_mac);  // no longer simultaneous
  c.max_entries += 1;
  EXPECT_FALSE(f.table.reconfigure(c));
  EXPECT_EQ(f.table.config().max_entries, BindingConfig{}.max_entries);
  EXPECT_EQ(f.table.stats().bindings, 1U);
}

}  // namespace
}  // namespace camwatch::cam
