// BindingTable: which MAC each IP address is bound to, per VLAN, learned from ARP and IPv6
// neighbour discovery; reports new, changed, flip-flopping and conflicting bindings (what
// arpwatch, addrwatch and arpalert users know as "new station", "changed ethernet address",
// "flip flop" and duplicate-address alarms).
//
// Theory of operation. The decoder turns every ARP / ND frame into an Observation with a claim
// (ClaimKind): "claim_ip is bound to claim_mac". A binding is keyed by (VLAN, IP), so the same
// address on two VLANs is two bindings, as independent VLAN learning makes it. Its owner is the
// MAC of the latest claim, which is what a neighbour's ARP / ND cache would hold now.
//   Claims that bind: arp_request, arp_reply, arp_announcement (the sender's own address),
//   nd_solicitation (specified source with a link-layer option), nd_advertisement and
//   nd_unsolicited_advertisement (target + target link-layer address), nd_router_advertisement.
//   Probes (arp_probe, nd_dad) ask whether an address is free; they never create or change a
//   binding.
// Decisions, for a claim by MAC X at packet time t on a binding owned by M:
//   - no binding (or it aged out): learned; `new_binding` (X).
//   - X == M: a refresh, no event.
//   - X != M and M claimed within `conflict_window` of t, and X's claim is not an announcement:
//     `ip_conflict` (station X, other_mac M): two hosts answer for one address (a duplicate
//     address, ARP spoofing racing the real owner, Linux "ARP flux" answering on two NICs).
//     Further changes between the same two MACs, each within `conflict_memory` of the last, are
//     the same conflict, not flip-flops (rate-limited like any event).
//   - X != M otherwise: `flip_flop` (old_mac M) when X is the MAC the binding had before its
//     last change and that change is at most `flip_flop_memory` old, else `changed_mac`
//     (old_mac M). An announcement (gratuitous ARP, unsolicited NA) is a deliberate takeover
//     (VRRP/keepalived, NIC teaming, cluster failover) and is never by itself a conflict; the
//     event's `claim` says it was announced (arp_announcement, nd_unsolicited_advertisement)
//     rather than silent. If the old owner answers again after the takeover, that is a
//     conflict (split brain).
//   - A probe by X for an address owned by another MAC M that claims it within
//     `conflict_window` of the probe (just before it, or answering it: the RFC 5227 / RFC 4862
//     defence) is a DAD collision: `ip_conflict` with station X (the prober), other_mac M, the
//     probe's claim kind and uplink, at the time of whichever frame decided it. A probe by the
//     owner itself (re-probing at boot) or for an address whose owner stays quiet is only
//     counted: the prober will take it over (changed_mac) or back off.
// The owner always becomes the latest claimant, also on a conflict (late frames aside, see
// Time). Windows NLB in unicast mode
// answers ARP for the cluster IP with the cluster MAC 02-bf-<IP> from every host: one MAC, so
// refreshes, never conflicts, whichever host or uplink answers.
// Events: kind, time (packet time of the deciding frame), station = {VLAN, claiming MAC}, ip,
// other_mac, claim, `to` = the uplink of the frame in which `station` made its claim, and
// `suppressed`. They reach the sink immediately, in the order decided (packet-time order as
// long as the input is); merging them into the tracker's event stream is the caller's.
//
// Address scopes (AddressPolicy per scope): claims for addresses that are not unicast host
// addresses (0.0.0.0/8, 127/8, 224/4, 255.255.255.255; ::, ::1, ff00::/8, and IPv4-mapped
// addresses in ND) are ignored, as are group or zero MACs. IPv4 link-local (169.254/16) is
// reported by default like any address: arpwatch reports it (as a bogon), and each one is a host
// that failed DHCP. IPv6 link-local (fe80::/10) is `watch`ed by default: every IPv6 interface
// has one, so new ones are learned silently, while a change or conflict (a spoofed router
// link-local address) is still reported.
//
// Rate limit: at most one event per binding per `report_interval`, except that an event of a
// more serious kind than the binding's last reported one (new_binding < changed_mac <
// flip_flop < ip_conflict) is never held back by it, so a conflict right after a change is still
// told; each reported event restarts the interval. new_binding events also share a global
// budget of `new_binding_events_per_minute` (an ARP flood of random sender IPs is one new binding
// per frame). Held-back events are counted (stats: events_suppressed), and the binding's next
// reported event carries how many in `suppressed`. Counters are never rate-limited.
//
// Aging and the size cap: a binding whose owner has not claimed it for `idle_timeout` is
// forgotten (lazily on lookup, and by an incremental sweep); the next claim is a new_binding. The
// cap is `max_entries` bindings, reserved at construction (64-byte slots in an open-addressing
// table at <= 3/4 load: ~86 B per binding at the cap, pages touched only when used). A binding is
// probationary until one MAC has claimed it across at least `probation`; when the table is full,
// a new binding takes the slot of a probationary (or aged) one found by a clock-hand scan of at
// most 64 slots, else it is refused (counted). So a flood of one-off random IPs churns among
// probationary bindings and never pushes out long-lived ones; a flood that keeps re-claiming
// the same addresses for longer than `probation` looks like real hosts and fills the table until
// it ages out.
//
// Time: only packet times. Each decision compares the claim's own time with the binding's times;
// the clock (latest claim time seen; advance() moves it on idle input) drives the aging sweep and
// the expiry of pending probes. A claim older than the binding's state
// is handled without going back: an old frame of the previous owner from before it lost the
// address, or any claim more than `conflict_window` older than the owner's latest, is stale
// (counted, ignored); one within `conflict_window` of the owner's latest is a conflict that
// leaves the owner in place (its claim is the later one).
//
// Limits: only frames crossing the capture points are seen. Unicast ARP refreshes between two
// hosts on the same side of a mirror are invisible, so a host that never broadcasts may age out
// and come back as a new_binding. One MAC claiming many addresses (proxy ARP; an ARP poisoner
// claiming the gateway's address besides its own) is no event by itself: only an address
// changing hands is. Several routers answering for one anycast address read as a conflict. At
// most 256 probes wait for a defence; beyond, the oldest is dropped.
//
// Not for: decoding frames, IP-to-MAC lookups for forwarding, clocks, threads, I/O. observe()
// never throws and, once the table is warm, never allocates.
//
// Thread-safety: none. One thread owns a BindingTable; feed it in (roughly) packet-time order.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cam/event.h"
#include "cam/observation.h"
#include "cam/table_memory.h"
#include "cam/types.h"

namespace camwatch::cam {

// The kinds of address a claim can be about. The policy of each scope is configurable.
enum class AddressScope : std::uint8_t {
  not_unicast = 0,  // never learned: unspecified, loopback, multicast, broadcast, 0/8
  ipv4,
  ipv4_link_local,  // 169.254.0.0/16 (RFC 3927)
  ipv6,
  ipv6_link_local,  // fe80::/10
};

// The scope of `ip` (IPv4 when held IPv4-mapped).
AddressScope address_scope(const IpAddress& ip);

enum class AddressPolicy : std::uint8_t {
  ignore = 0,  // not learned; claims counted as ignored_by_policy
  watch,       // learned; changed_mac, flip_flop and ip_conflict reported, new_binding not
  report,      // learned; every event reported
};

// "ignore", "watch", "report": the names for configuration files.
const char* to_string(AddressPolicy policy);
// Parses those names; returns false on anything else.
bool parse_address_policy(const std::string& text, AddressPolicy& out);

struct BindingConfig {
  // 2^18 bindings: more than the hosts of any sane set of monitored VLANs, ~22 MB at the cap.
  std::uint64_t max_entries = 262'144;
  // A binding nobody re-claimed for a day is forgotten. Longer catches changes after longer
  // silence (a host whose ARP traffic is unicast, invisible to a mirror, for days) at the price
  // of more changed_mac for DHCP addresses handed to a new host; shorter turns those into
  // new_binding.
  Duration idle_timeout = std::chrono::hours(24);
  // Claims by two MACs this close are simultaneous. Two hosts answering one broadcast request
  // reply milliseconds apart; a real handover is announced or follows a quiet owner. 5 s also
  // covers RFC 5227's probe-to-defence exchange.
  Duration conflict_window = std::chrono::seconds(5);
  // Once a conflict is seen, the same two MACs taking the address back and forth within this of
  // the last change are still that conflict (not flip-flops): duplicates that answer on their own
  // schedule, minutes apart, stay one story.
  Duration conflict_memory = std::chrono::minutes(5);
  // Going back to the MAC before the last change within this is a flip_flop (arpwatch's "flip
  // flop"): a failback the same day, an oscillating duplicate. Older history reads as a change.
  Duration flip_flop_memory = std::chrono::hours(24);
  // At most one event per binding per interval (more serious kinds excepted): an attack or a
  // duplicate address going on for hours is a line every 5 minutes, not one per ARP frame.
  Duration report_interval = std::chrono::minutes(5);
  // A binding is probationary (first to go when the table is full) until one MAC has claimed it
  // across this long: a flood of one-off random IPs never leaves probation, real hosts do in
  // about a minute (ARP caches re-resolve within 30-60 s).
  Duration probation = std::chrono::seconds(60);
  // Global budget of new_binding events (bursts of this many, refilled at this rate); further
  // ones are learned silently and counted. 0: no limit.
  std::uint32_t new_binding_events_per_minute = 1000;
  // The hash seed of the table (only its layout: which probationary binding makes room at the
  // cap). 0 (default): 64 random bits at construction, so nobody can compute addresses that
  // collide in it (a hash-flooding defence); tests may fix one.
  std::uint64_t hash_seed = 0;
  // Where the table's slots come from (see cam/table_memory.h); nullptr: calloc. Not owned; must
  // outlive the table. A reload keeps the table, and so its memory.
  TableMemory* table_memory = nullptr;
  AddressPolicy ipv4 = AddressPolicy::report;
  AddressPolicy ipv4_link_local = AddressPolicy::report;
  AddressPolicy ipv6 = AddressPolicy::report;
  AddressPolicy ipv6_link_local = AddressPolicy::watch;
};

// Monotonic counters and gauges for exporters. Every claim given is counted once in claims[]
// and, when not used, once in exactly one ignored_* counter (or stale_claims).
struct BindingStats {
  std::uint64_t observations = 0;          // observations with a claim given to observe()
  std::uint64_t claims[kClaimKinds] = {};  // indexed by ClaimKind, every claim given
  std::uint64_t ignored_addresses = 0;     // not a unicast host address of the claim's family; unknown kinds
  std::uint64_t ignored_macs = 0;          // group or all-zero claim MAC
  std::uint64_t ignored_by_policy = 0;     // address scope with AddressPolicy::ignore
  std::uint64_t ignored_times = 0;         // packet times outside 1970..2116
  std::uint64_t stale_claims = 0;          // older than the binding's state: not applied
  std::uint64_t bindings = 0;              // gauge: bindings in the table now
  std::uint64_t probationary = 0;          // gauge: of which still probationary
  std::uint64_t bindings_learned = 0;      // bindings ever added (aged and re-learned ones again)
  std::uint64_t bindings_restored = 0;     // put back by restore()
  std::uint64_t bindings_aged = 0;         // forgotten after idle_timeout
  std::uint64_t bindings_evicted = 0;      // probationary ones that made room for a new binding at the cap
  std::uint64_t bindings_refused = 0;      // claims of new bindings not learned: table full, nothing evictable
  std::uint64_t probes = 0;                // arp_probe / nd_dad that passed the address checks
  std::uint64_t probe_conflicts = 0;       // ip_conflict decisions from probes (also in events[ip_conflict])
  std::uint64_t events[kEventKinds] = {};             // decided, reported or not; indexed by EventKind
  std::uint64_t events_suppressed[kEventKinds] = {};  // decided but not reported (rate limit, budget)
};

// One binding as the table holds it, for `camwatch table` and state files.
struct BindingView {
  VlanId vlan = 0;
  IpAddress ip;
  MacAddress mac;           // owner: the MAC of the latest claim
  MacAddress previous_mac;  // owner before the last change; zero when it never changed
  UplinkId uplink = kNoUplink;        // where the owner last claimed it
  ClaimKind claim = ClaimKind::none;  // kind of the owner's last claim
  PacketTime since{};       // when the owner took it (its first claim)
  PacketTime last_seen{};   // the owner's latest claim
  bool established = false; // out of probation
};

class BindingTable {
 public:
  // Reserves memory for config.max_entries bindings. Throws std::invalid_argument on a config it
  // cannot honour (max_entries 0, idle_timeout <= 0, negative or > 10-year durations, unknown
  // policies).
  BindingTable(const BindingConfig& config, EventSink& sink);
  ~BindingTable();
  BindingTable(const BindingTable&) = delete;
  BindingTable& operator=(const BindingTable&) = delete;

  // One frame. Observations without a claim are ignored (not counted).
  void observe(const Observation& obs) noexcept;

  // Moves the packet clock without a frame: ages bindings, expires pending probes.
  void advance(PacketTime now) noexcept;

  // New windows, policies and limits, keeping the table. Returns false, changing nothing, when
  // max_entries differs. Throws std::invalid_argument on a config the constructor rejects.
  // Bindings of a scope now ignored are kept until they age out.
  bool reconfigure(const BindingConfig& config);

  // Puts back a binding saved earlier, without any event (overwrites one with the same key).
  // Returns false when the table is full or the view is unusable (not a unicast host address,
  // MAC not learnable, times out of range, scope ignored). Call before the first observe().
  bool restore(const BindingView& view) noexcept;

  // Calls fn for every binding, in unspecified order. Not for the hot path.
  void for_each_binding(const std::function<void(const BindingView&)>& fn) const;

  const BindingStats& stats() const noexcept;
  PacketTime clock() const noexcept;
  const BindingConfig& config() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace camwatch::cam
