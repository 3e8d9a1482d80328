// NlbInventory: the Windows NLB clusters and hosts seen, and which of them will never announce a
// move.
//
// Windows Network Load Balancing in unicast mode replaces every host's MAC with the cluster MAC
// 02-BF-<cluster IP> and, by default, masks the source of what each host sends to
// 02-<host id>-<cluster IP> so that switches never learn the cluster MAC (and flood it to every
// port). Such a host cannot send a RARP on a team failover (VMware's "Notify Switches" must be
// off for unicast NLB), so its moves are always silent: knowing these hosts before the outage is
// the point. In multicast mode (cluster MAC 03-BF-<IP>, or 01-00-5E-7F-x-y with IGMP) hosts keep
// their own MACs and announce moves as usual.
//
// Every host sends a heartbeat (ethertype 0x886F) once a second. The inventory learns from them:
//  - identity: host id, cluster IP and dedicated IP from the heartbeat body when captured; when
//    the body was cut (small snaplen) or is an extended heartbeat, from the source MAC if it has
//    one of the unicast forms (02-BF-<IP>: unicast, not masked; 02-<id 1..32>-<IP>: masked);
//  - mode: a source 02-BF-<cluster IP> is unicast_unmasked, 02-<any>-<cluster IP> unicast (the
//    masked form), any other source multicast;
//  - one entry per station (VLAN, source MAC) with the uplink it was last heard on; an
//    `nlb_unicast_host` event when a unicast-mode host is first seen;
//  - an ARP claim binding an IPv4 address to 02-BF-<that address> reveals a unicast cluster
//    even before any heartbeat is captured (cluster list only).
// Entries not heard for `forget_after` are forgotten (a host seen again is reported again),
// decided by packet time on every heartbeat and lookup; advance() only frees their memory.
// Memory: at most `max_hosts` hosts and as many clusters; further ones are counted, not kept.
//
// Not for: load-balancing state, convergence, port rules. Pure: no I/O, no clock.
// Thread-safety: none; the analysis thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <unordered_map>

#include "cam/event.h"
#include "cam/observation.h"
#include "cam/types.h"

namespace camwatch::cam {

struct NlbConfig {
  std::size_t max_hosts = 4096;
  Duration forget_after = std::chrono::hours(1);
};

struct NlbHost {
  StationKey station;
  UplinkId uplink = kNoUplink;  // where it was heard last
  NlbMode mode = NlbMode::multicast;
  std::uint8_t host_id = 0;       // 0: unknown
  std::uint32_t cluster_ip = 0;   // IPv4, host order; 0: unknown
  std::uint32_t dedicated_ip = 0; // 0: unknown
  PacketTime first_seen{};
  PacketTime last_seen{};
  std::uint64_t heartbeats = 0;
};

struct NlbCluster {
  VlanId vlan = 0;
  std::uint32_t cluster_ip = 0;
  PacketTime first_seen{};
  PacketTime last_seen{};
};

struct NlbStats {
  std::uint64_t heartbeats = 0;
  std::uint64_t hosts = 0;          // gauge
  std::uint64_t unicast_hosts = 0;  // gauge: hosts in a unicast mode (masked or not)
  std::uint64_t clusters = 0;       // gauge: distinct (VLAN, cluster IP) among hosts and ARP
  std::uint64_t hosts_reported = 0; // nlb_unicast_host events
  std::uint64_t hosts_forgotten = 0;
  std::uint64_t hosts_refused = 0;  // not kept: max_hosts reached
};

// The unicast forms of an NLB source MAC: 02-BF-<IP> (unmasked) or 02-<1..32>-<IP> (masked).
// Returns NlbMode::none for any other MAC.
NlbMode nlb_mode_of_mac(MacAddress mac, std::uint8_t& host_id, std::uint32_t& cluster_ip);

class NlbInventory {
 public:
  // `decided` receives nlb_unicast_host events as they are decided (the caller orders them).
  NlbInventory(const NlbConfig& config, EventSink& decided);

  // A heartbeat (ObservationFlag::nlb_heartbeat) or an ARP claim; anything else is ignored.
  void observe(const Observation& obs);
  // Moves the packet clock on (forgets hosts not heard for forget_after).
  void advance(PacketTime now);

  // The host entry of a station heard within forget_after before `at`, or nullptr.
  const NlbHost* find(StationKey station, PacketTime at) const;
  const NlbStats& stats() const { return stats_; }
  void for_each_host(const std::function<void(const NlbHost&)>& fn) const;
  void for_each_cluster(const std::function<void(const NlbCluster&)>& fn) const;

 private:
  void note_cluster(VlanId vlan, std::uint32_t cluster_ip, PacketTime t);
  bool stale(const NlbHost& h, PacketTime at) const;
  void forget_idle(std::int64_t now_ns);
  void recount();

  NlbConfig config_;
  EventSink& decided_;
  std::unordered_map<std::uint64_t, NlbHost> hosts_;       // by StationKey::packed()
  std::unordered_map<std::uint64_t, NlbCluster> clusters_; // by vlan << 32 | cluster IP
  std::int64_t next_sweep_ns_ = 0;
  NlbStats stats_;
};

}  // namespace camwatch::cam
