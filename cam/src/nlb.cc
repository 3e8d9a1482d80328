#include "cam/nlb.h"

#include <algorithm>

namespace camwatch::cam {
namespace {

constexpr std::int64_t kSweepEveryNs = 60'000'000'000LL;  // forgetting needs no precision
constexpr std::int64_t kSweepGraceNs = 3'600'000'000'000LL;

std::int64_t ns_of(PacketTime t) { return t.time_since_epoch().count(); }
std::uint64_t cluster_key(VlanId vlan, std::uint32_t ip) { return std::uint64_t{vlan} << 32 | ip; }

}  // namespace

NlbMode nlb_mode_of_mac(MacAddress mac, std::uint8_t& host_id, std::uint32_t& cluster_ip) {
  const std::uint64_t v = mac.to_u64();
  if ((v >> 40) != 0x02) return NlbMode::none;
  const auto second = static_cast<std::uint8_t>(v >> 32);
  const auto ip = static_cast<std::uint32_t>(v);
  if (second == 0xBF) {
    host_id = 0;
    cluster_ip = ip;
    return NlbMode::unicast_unmasked;
  }
  if (second >= 1 && second <= 32) {
    host_id = second;
    cluster_ip = ip;
    return NlbMode::unicast;
  }
  return NlbMode::none;
}

NlbInventory::NlbInventory(const NlbConfig& config, EventSink& decided) : config_(config), decided_(decided) {
  hosts_.reserve(std::min<std::size_t>(config_.max_hosts, 256));
}

void NlbInventory::observe(const Observation& obs) {
  if (obs.claim != ClaimKind::none && !is_probe(obs.claim) && obs.claim_ip.is_v4()) {
    // A unicast cluster answers ARP for its IP with 02-BF-<IP> (from every host).
    std::uint8_t id = 0;
    std::uint32_t ip = 0;
    if (nlb_mode_of_mac(obs.claim_mac, id, ip) == NlbMode::unicast_unmasked && ip == obs.claim_ip.v4_value()) {
      note_cluster(obs.vlan, ip, obs.time);
    }
  }
  if (!obs.has(ObservationFlag::nlb_heartbeat) || !obs.source.is_learnable()) return;
  ++stats_.heartbeats;

  std::uint8_t host_id = 0;
  std::uint32_t cluster_ip = 0;
  std::uint32_t dedicated_ip = 0;
  NlbMode mode = nlb_mode_of_mac(obs.source, host_id, cluster_ip);
  if (obs.has(ObservationFlag::nlb_identity)) {
    // The body is authoritative for the identity; the MAC decides the mode: unicast hosts send
    // from 02-xx-<cluster IP>, multicast ones from their own adapter's MAC.
    host_id = obs.nlb_host_id;
    dedicated_ip = obs.nlb_dedicated_ip;
    const std::uint32_t body_cluster = obs.nlb_cluster_ip;
    if (mode == NlbMode::none || cluster_ip != body_cluster) mode = NlbMode::multicast;
    cluster_ip = body_cluster;
  } else if (mode == NlbMode::none) {
    mode = NlbMode::multicast;  // cluster unknown: the body was not captured
  }

  const StationKey key{obs.vlan, obs.source};
  auto it = hosts_.find(key.packed());
  // Unheard for forget_after: forgotten, as if the sweep had run (whether it did depends on how
  // often advance() is called, and live must equal replay).
  if (it != hosts_.end() && stale(it->second, obs.time)) {
    hosts_.erase(it);
    ++stats_.hosts_forgotten;
    it = hosts_.end();
  }
  if (it == hosts_.end()) {
    if (hosts_.size() >= config_.max_hosts) {
      ++stats_.hosts_refused;
      return;
    }
    NlbHost h;
    h.station = key;
    h.uplink = obs.uplink;
    h.mode = mode;
    h.host_id = host_id;
    h.cluster_ip = cluster_ip;
    h.dedicated_ip = dedicated_ip;
    h.first_seen = obs.time;
    h.last_seen = obs.time;
    h.heartbeats = 1;
    hosts_.emplace(key.packed(), h);
    if (cluster_ip != 0) note_cluster(obs.vlan, cluster_ip, obs.time);
    recount();
    if (mode == NlbMode::unicast || mode == NlbMode::unicast_unmasked) {
      ++stats_.hosts_reported;
      Event e;
      e.kind = EventKind::nlb_unicast_host;
      e.time = obs.time;
      e.station = key;
      e.to = obs.uplink;
      e.nlb_mode = mode;
      e.nlb_host_id = host_id;
      e.nlb_cluster_ip = cluster_ip;
      e.nlb_dedicated_ip = dedicated_ip;
      decided_.on_event(e);
    }
    return;
  }
  NlbHost& h = it->second;
  ++h.heartbeats;
  h.uplink = obs.uplink;
  h.last_seen = std::max(h.last_seen, obs.time);
  // A heartbeat with its body fills in what a cut one could not tell.
  if (obs.has(ObservationFlag::nlb_identity)) {
    h.host_id = host_id;
    h.dedicated_ip = dedicated_ip;
    h.cluster_ip = cluster_ip;
  }
  if (h.cluster_ip != 0) note_cluster(obs.vlan, h.cluster_ip, obs.time);
}

void NlbInventory::note_cluster(VlanId vlan, std::uint32_t cluster_ip, PacketTime t) {
  auto [it, inserted] = clusters_.try_emplace(cluster_key(vlan, cluster_ip));
  if (inserted) {
    if (clusters_.size() > config_.max_hosts) {
      clusters_.erase(it);
      return;
    }
    it->second.vlan = vlan;
    it->second.cluster_ip = cluster_ip;
    it->second.first_seen = t;
    stats_.clusters = clusters_.size();
  }
  it->second.last_seen = std::max(it->second.last_seen, t);
}

void NlbInventory::advance(PacketTime now) {
  const std::int64_t t = ns_of(now);
  if (t < next_sweep_ns_) return;
  next_sweep_ns_ = t + kSweepEveryNs;
  forget_idle(t);
}

bool NlbInventory::stale(const NlbHost& h, PacketTime at) const { return at - h.last_seen > config_.forget_after; }

// Only frees memory: every decision checks stale() itself. Entries go an hour after they turned
// stale, so an event still held (at most an hour old) finds the identity it would have found
// without the sweep.
void NlbInventory::forget_idle(std::int64_t now_ns) {
  const std::int64_t limit = config_.forget_after.count() + kSweepGraceNs;
  const std::size_t before = hosts_.size();
  std::erase_if(hosts_, [&](const auto& kv) { return now_ns - ns_of(kv.second.last_seen) > limit; });
  stats_.hosts_forgotten += before - hosts_.size();
  std::erase_if(clusters_, [&](const auto& kv) { return now_ns - ns_of(kv.second.last_seen) > limit; });
  recount();
}

void NlbInventory::recount() {
  stats_.hosts = hosts_.size();
  stats_.unicast_hosts = static_cast<std::uint64_t>(std::count_if(hosts_.begin(), hosts_.end(), [](const auto& kv) {
    return kv.second.mode == NlbMode::unicast || kv.second.mode == NlbMode::unicast_unmasked;
  }));
  stats_.clusters = clusters_.size();
}

const NlbHost* NlbInventory::find(StationKey station, PacketTime at) const {
  auto it = hosts_.find(station.packed());
  return it == hosts_.end() || stale(it->second, at) ? nullptr : &it->second;
}

void NlbInventory::for_each_host(const std::function<void(const NlbHost&)>& fn) const {
  for (const auto& kv : hosts_) fn(kv.second);
}

void NlbInventory::for_each_cluster(const std::function<void(const NlbCluster&)>& fn) const {
  for (const auto& kv : clusters_) fn(kv.second);
}

}  // namespace camwatch::cam
