#include "cam/bindings.h"

#include "table_slots.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <vector>

namespace camwatch::cam {

AddressScope address_scope(const IpAddress& ip) {
  if (ip.is_v4()) {
    const std::uint32_t v = ip.v4_value();
    const std::uint32_t first = v >> 24;
    // 0/8 is "this network" (only 0.0.0.0 as a probe's sender), 127/8 loopback, 224/4 multicast.
    if (first == 0 || first == 127 || (v >> 28) == 0xE || v == 0xFFFF'FFFFU) return AddressScope::not_unicast;
    return (v >> 16) == 0xA9FEU ? AddressScope::ipv4_link_local : AddressScope::ipv4;
  }
  const auto& b = ip.bytes();
  if (b[0] == 0xFF || ip.is_unspecified()) return AddressScope::not_unicast;
  bool loopback = b[15] == 1;
  for (int i = 0; i < 15 && loopback; ++i) loopback = b[static_cast<std::size_t>(i)] == 0;
  if (loopback) return AddressScope::not_unicast;
  return b[0] == 0xFE && (b[1] & 0xC0U) == 0x80U ? AddressScope::ipv6_link_local : AddressScope::ipv6;
}

const char* to_string(AddressPolicy policy) {
  switch (policy) {
    case AddressPolicy::ignore: return "ignore";
    case AddressPolicy::watch: return "watch";
    case AddressPolicy::report: return "report";
  }
  return "ignore";
}

bool parse_address_policy(const std::string& text, AddressPolicy& out) {
  for (AddressPolicy p : {AddressPolicy::ignore, AddressPolicy::watch, AddressPolicy::report}) {
    if (text == to_string(p)) {
      out = p;
      return true;
    }
  }
  return false;
}

namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min() / 2;
// Latest packet time accepted (year 2116), and the longest duration (10 years): with kNever at
// -2^62, every sum and difference below stays within int64.
constexpr std::int64_t kMaxTimeNs = 4'600'000'000'000'000'000LL;
constexpr std::int64_t kMaxDurationNs = 10LL * 366 * 24 * 3600 * 1'000'000'000LL;

std::int64_t to_ns(PacketTime t) { return t.time_since_epoch().count(); }
std::int64_t to_ns(Duration d) { return d.count(); }
PacketTime from_ns(std::int64_t v) { return PacketTime(Duration(v)); }

__extension__ typedef unsigned __int128 Uint128;  // GCC/Clang builtin; __extension__ keeps -Wpedantic quiet

constexpr bool is_nd(ClaimKind k) {
  return k == ClaimKind::nd_solicitation || k == ClaimKind::nd_dad || k == ClaimKind::nd_advertisement ||
         k == ClaimKind::nd_unsolicited_advertisement || k == ClaimKind::nd_router_advertisement;
}
// The host telling everyone "this address is mine now": a takeover, never a conflict by itself.
constexpr bool is_announcement(ClaimKind k) {
  return k == ClaimKind::arp_announcement || k == ClaimKind::nd_unsolicited_advertisement;
}

// How serious an event is, for the rate limit: a more serious one is never held back by a less
// serious one reported just before. 0: nothing reported yet.
unsigned rank_of(EventKind kind) {
  switch (kind) {
    case EventKind::new_binding: return 1;
    case EventKind::changed_mac: return 2;
    case EventKind::flip_flop: return 3;
    case EventKind::ip_conflict: return 4;
    default: return 0;
  }
}

// One binding in one cache line. The key is (vlan, ip); a slot whose owner is the zero MAC is
// empty (a zero MAC is never learned). Times are nanoseconds: the conflict window and the
// ordering of late frames need them.
struct Slot {
  IpAddress ip;
  MacAddress owner;             // MAC of the latest claim; zero = empty slot
  MacAddress previous;          // owner before the last change; zero = none
  std::int64_t owner_last_ns;   // the owner's latest claim
  std::int64_t owner_since_ns;  // when the owner took it: the last change, or the first claim
  std::int64_t last_report_ns;  // the last event reported for it (rate limit); kNever = none
  VlanId vlan;
  UplinkId uplink;              // where the owner last claimed it
  std::uint16_t suppressed;     // events held back since the last reported one (saturating)
  std::uint8_t claim;           // ClaimKind of the owner's latest claim
  std::uint8_t flags;           // kEstablished, kHasProbe, reported rank
};
static_assert(sizeof(Slot) == 64, "one binding per cache line");

constexpr std::uint8_t kEstablished = 1U << 0;  // out of probation
constexpr std::uint8_t kHasProbe = 1U << 1;     // PendingProbe entries may name it
constexpr unsigned kRankShift = 2;              // bits 2-4: rank_of() the last reported event
constexpr std::uint8_t kRankMask = 0x7U << kRankShift;
constexpr std::uint8_t kContested = 1U << 5;    // its last change was a conflict between owner and previous

unsigned slot_rank(const Slot& s) { return (s.flags & kRankMask) >> kRankShift; }
void set_slot_rank(Slot& s, unsigned rank) {
  s.flags = static_cast<std::uint8_t>((s.flags & ~kRankMask) | ((rank << kRankShift) & kRankMask));
}

// Open addressing with linear probing, allocated once for max_entries at <= 3/4 load (no rehash
// at run time, memory bounded by construction), backward-shift deletion (no tombstones): the
// same design as the station table, for a wider key.
class Table {
 public:
  Table(std::uint64_t max_entries, std::uint64_t seed, TableMemory* memory)
      : max_entries_(max_entries),
        capacity_(max_entries + max_entries / 3 + 16),
        seed_(seed),
        slots_(detail::allocate_slots<Slot>(capacity_, memory)) {}

  std::uint64_t size() const { return size_; }
  std::uint64_t capacity() const { return capacity_; }
  bool full() const { return size_ >= max_entries_; }

  Slot* find(VlanId vlan, const IpAddress& ip) {
    for (std::uint64_t i = home(vlan, ip);; i = next(i)) {
      Slot& s = slots_[i];
      if (s.owner.is_zero()) return nullptr;
      if (s.vlan == vlan && s.ip == ip) return &s;
    }
  }

  // Claims an empty slot for a key the caller found absent; the table must not be full. The
  // slot comes back zeroed except for its key: the caller sets the owner, which occupies it.
  Slot& insert(VlanId vlan, const IpAddress& ip) {
    std::uint64_t i = home(vlan, ip);
    while (!slots_[i].owner.is_zero()) i = next(i);
    Slot& s = slots_[i];
    s = Slot{};
    s.vlan = vlan;
    s.ip = ip;
    ++size_;
    return s;
  }

  void erase_at(std::uint64_t index) {
    std::uint64_t hole = index;
    for (std::uint64_t i = next(hole); !slots_[i].owner.is_zero(); i = next(i)) {
      const std::uint64_t h = home(slots_[i].vlan, slots_[i].ip);
      // The entry at i may fill the hole if its home is not in (hole, i] (cyclically).
      const bool home_between = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
      if (!home_between) {
        slots_[hole] = slots_[i];
        hole = i;
      }
    }
    slots_[hole] = Slot{};
    --size_;
  }

  std::uint64_t index_of(const Slot& s) const { return static_cast<std::uint64_t>(&s - slots_.get()); }
  Slot& at(std::uint64_t index) { return slots_[index]; }
  const Slot& at(std::uint64_t index) const { return slots_[index]; }

 private:
  // Both halves of the address and the VLAN folded and mixed (splitmix64's finaliser), then
  // Lemire's multiply-shift range reduction: hosts of one subnet differ in their last bits only.
  std::uint64_t home(VlanId vlan, const IpAddress& ip) const {
    std::uint64_t hi = 0, lo = 0;
    std::memcpy(&hi, ip.bytes().data(), 8);
    std::memcpy(&lo, ip.bytes().data() + 8, 8);
    // The secret seed makes the home slots unpredictable: without it, anyone on a watched VLAN
    // could compute addresses that all land in one probe run (every step here is invertible).
    std::uint64_t h = (lo ^ seed_) ^ ((hi ^ (seed_ >> 32 | seed_ << 32)) * 0x9E3779B97F4A7C15ULL) ^ (std::uint64_t{vlan} << 48);
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 31;
    return static_cast<std::uint64_t>((static_cast<Uint128>(h) * capacity_) >> 64);
  }
  std::uint64_t next(std::uint64_t i) const { return i + 1 == capacity_ ? 0 : i + 1; }

  std::uint64_t max_entries_;
  std::uint64_t capacity_;
  std::uint64_t seed_;
  std::uint64_t size_ = 0;
  detail::SlotBlock<Slot> slots_;
};

// A probe for an address owned by another MAC that was quiet around it: a conflict if the owner
// answers (defends) within conflict_window. Rare (hosts probe when they configure an address),
// so a small flat list searched only for slots flagged kHasProbe.
struct PendingProbe {
  IpAddress ip;
  VlanId vlan;
  UplinkId uplink;
  ClaimKind kind;
  MacAddress prober;
  std::int64_t time_ns;
};
constexpr std::size_t kMaxPendingProbes = 256;  // reserved once; beyond, the oldest is dropped

// The claim of one observation, validated.
struct Claim {
  VlanId vlan;
  IpAddress ip;
  MacAddress mac;
  ClaimKind kind;
  UplinkId uplink;
  std::int64_t t;
  AddressPolicy policy;
};

}  // namespace

class BindingTable::Impl {
  static constexpr std::uint64_t kSweepSlice = 4096;     // slots per sweep step: a few us
  static constexpr std::int64_t kMaxSlicesPerStep = 4;   // bounds the work one frame can cause
  static constexpr int kEvictScan = 64;                  // slots the clock hand looks at per new binding

  static std::int64_t sweep_interval_for(std::int64_t idle_ns) {
    return std::clamp<std::int64_t>(idle_ns / 8, 1'000'000'000LL, 60'000'000'000LL);
  }

 public:
  Impl(const BindingConfig& config, EventSink& sink) : sink_(sink), table_(config.max_entries, detail::table_seed(config.hash_seed), config.table_memory) {
    pending_.reserve(kMaxPendingProbes);
    apply(config);
  }

  void apply(const BindingConfig& c) {
    config_ = c;
    idle_ns_ = to_ns(c.idle_timeout);
    conflict_ns_ = to_ns(c.conflict_window);
    flip_flop_ns_ = to_ns(c.flip_flop_memory);
    conflict_memory_ns_ = to_ns(c.conflict_memory);
    report_ns_ = to_ns(c.report_interval);
    probation_ns_ = to_ns(c.probation);
    budget_step_ns_ = c.new_binding_events_per_minute == 0 ? 0 : 60'000'000'000LL / c.new_binding_events_per_minute;
    budget_tolerance_ns_ = 60'000'000'000LL - budget_step_ns_;
    const std::int64_t interval = sweep_interval_for(idle_ns_);
    const auto slices = static_cast<std::int64_t>((table_.capacity() + kSweepSlice - 1) / kSweepSlice);
    sweep_step_ns_ = std::max<std::int64_t>(1'000'000LL, interval / slices);
  }

  void observe(const Observation& obs) {
    if (obs.claim == ClaimKind::none) return;
    ++stats_.observations;
    const auto kind_index = static_cast<unsigned>(obs.claim);
    if (kind_index >= static_cast<unsigned>(kClaimKinds)) [[unlikely]] {
      ++stats_.ignored_addresses;
      return;
    }
    ++stats_.claims[kind_index];
    const std::int64_t t = to_ns(obs.time);
    // Times outside 1970..2116 cannot come from a real capture; keeping them out keeps every
    // time difference within int64.
    if (t < 0 || t > kMaxTimeNs) [[unlikely]] {
      ++stats_.ignored_times;
      return;
    }
    advance_clock(t);

    const AddressScope scope = address_scope(obs.claim_ip);
    const bool v4_scope = scope == AddressScope::ipv4 || scope == AddressScope::ipv4_link_local;
    // ARP speaks IPv4 only and ND IPv6 only: anything else (an IPv4-mapped ND target) is bogus and
    // would alias an IPv4 binding.
    if (scope == AddressScope::not_unicast || v4_scope == is_nd(obs.claim)) {
      ++stats_.ignored_addresses;
      return;
    }
    if (!obs.claim_mac.is_learnable()) {
      ++stats_.ignored_macs;
      return;
    }
    const AddressPolicy policy = policy_for(scope);
    if (policy == AddressPolicy::ignore) {
      ++stats_.ignored_by_policy;
      return;
    }
    const Claim c{static_cast<VlanId>(obs.vlan & 0x0FFFU), obs.claim_ip, obs.claim_mac, obs.claim, obs.uplink, t, policy};
    if (is_probe(obs.claim)) {
      on_probe(c);
    } else {
      on_claim(c);
    }
  }

  void advance(PacketTime now) {
    const std::int64_t t = to_ns(now);
    if (t >= 0 && t <= kMaxTimeNs) advance_clock(t);
  }

  bool restore(const BindingView& v) {
    const AddressScope scope = address_scope(v.ip);
    if (scope == AddressScope::not_unicast || policy_for(scope) == AddressPolicy::ignore) return false;
    if (!v.mac.is_learnable()) return false;
    const std::int64_t since = to_ns(v.since), last = to_ns(v.last_seen);
    if (since < 0 || since > kMaxTimeNs || last < 0 || last > kMaxTimeNs) return false;
    const auto vlan = static_cast<VlanId>(v.vlan & 0x0FFFU);
    Slot* s = table_.find(vlan, v.ip);
    if (s == nullptr) {
      if (table_.full()) return false;
      s = &table_.insert(vlan, v.ip);
      ++stats_.probationary;  // a new slot is probationary until set_established below says otherwise
      ++stats_.bindings_restored;
    } else if ((s->flags & kHasProbe) != 0) {
      drop_probes(*s, MacAddress{});
    }
    s->owner = v.mac;
    s->previous = v.previous_mac.is_learnable() ? v.previous_mac : MacAddress{};
    s->owner_last_ns = last;
    s->owner_since_ns = std::min(since, last);
    s->last_report_ns = kNever;
    s->uplink = v.uplink;
    s->suppressed = 0;
    const auto kind = static_cast<unsigned>(v.claim);
    s->claim = static_cast<std::uint8_t>(kind < static_cast<unsigned>(kClaimKinds) ? kind : 0U);
    s->flags &= kEstablished;  // probes were dropped above; no rank or conflict
    set_established(*s, v.established);
    stats_.bindings = table_.size();
    return true;
  }

  void for_each_binding(const std::function<void(const BindingView&)>& fn) const {
    for (std::uint64_t i = 0; i < table_.capacity(); ++i) {
      const Slot& s = table_.at(i);
      if (s.owner.is_zero()) continue;
      BindingView v;
      v.vlan = s.vlan;
      v.ip = s.ip;
      v.mac = s.owner;
      v.previous_mac = s.previous;
      v.uplink = s.uplink;
      v.claim = static_cast<ClaimKind>(s.claim);
      v.since = from_ns(s.owner_since_ns);
      v.last_seen = from_ns(s.owner_last_ns);
      v.established = (s.flags & kEstablished) != 0;
      fn(v);
    }
  }

  const BindingStats& stats() const { return stats_; }
  PacketTime clock() const { return from_ns(clock_ns_ == kNever ? 0 : clock_ns_); }
  const BindingConfig& config() const { return config_; }

 private:
  AddressPolicy policy_for(AddressScope scope) const {
    switch (scope) {
      case AddressScope::ipv4: return config_.ipv4;
      case AddressScope::ipv4_link_local: return config_.ipv4_link_local;
      case AddressScope::ipv6: return config_.ipv6;
      case AddressScope::ipv6_link_local: return config_.ipv6_link_local;
      case AddressScope::not_unicast: break;
    }
    return AddressPolicy::ignore;
  }

  bool idle_expired(const Slot& s, std::int64_t t) const { return t - s.owner_last_ns > idle_ns_; }

  void advance_clock(std::int64_t t) {
    if (t <= clock_ns_) return;
    clock_ns_ = t;
    if (clock_ns_ < next_sweep_ns_) return;
    if (next_sweep_ns_ != kNever) {  // the first claim only starts the schedule
      // Catch up after a gap in traffic, a few slices at most per call.
      const std::int64_t owed = 1 + (clock_ns_ - next_sweep_ns_) / sweep_step_ns_;
      for (std::int64_t i = 0; i < std::min(owed, kMaxSlicesPerStep); ++i) sweep();
    }
    next_sweep_ns_ = clock_ns_ + sweep_step_ns_;
    expire_probes();
  }

  // --- claims ------------------------------------------------------------------------------

  void on_claim(const Claim& c) {
    Slot* s = table_.find(c.vlan, c.ip);
    if (s == nullptr) {
      s = make_slot(c);
      if (s == nullptr) return;
      start_binding(*s, c);
      return;
    }
    if (idle_expired(*s, c.t)) {
      // Forgotten, as if the sweep had already been here: what it was bound to no longer counts.
      ++stats_.bindings_aged;
      if ((s->flags & kHasProbe) != 0) drop_probes(*s, MacAddress{});
      start_binding(*s, c);
      return;
    }
    if (c.mac == s->owner) {
      if (c.t >= s->owner_last_ns) {
        s->owner_last_ns = c.t;
        s->uplink = c.uplink;
        s->claim = static_cast<std::uint8_t>(c.kind);
      }
      if ((s->flags & kEstablished) == 0 && s->owner_last_ns - s->owner_since_ns >= probation_ns_) set_established(*s, true);
      if ((s->flags & kHasProbe) != 0) [[unlikely]] check_defence(*s, c);
      return;
    }
    on_other_mac(*s, c);
  }

  // A claim by a MAC other than the owner.
  void on_other_mac(Slot& s, const Claim& c) {
    const MacAddress old_owner = s.owner;
    // A frame of the previous owner sent before it lost the address, arriving late (captures
    // of two uplinks merge with small skews): history, not a claim against the new owner.
    if (c.mac == s.previous && c.t <= s.owner_since_ns) {
      ++stats_.stale_claims;
      return;
    }
    // Far older than the owner's latest claim: it cannot be placed against the present.
    if (c.t < s.owner_last_ns - conflict_ns_) {
      ++stats_.stale_claims;
      return;
    }
    if (c.t < s.owner_last_ns) {
      // Close to the owner's latest claim but older: both claimed at once. The owner's claim is
      // the later one, so it stays the owner.
      decide(s, EventKind::ip_conflict, c.mac, old_owner, c.kind, c.uplink, c.t);
      return;
    }
    const bool simultaneous = c.t - s.owner_last_ns <= conflict_ns_;
    const bool back = c.mac == s.previous;
    // Once two MACs were caught claiming at once, their further back-and-forth is the same
    // conflict, not flip-flops, as long as it keeps going: the reminder after report_interval
    // still says ip_conflict.
    const bool contested = back && (s.flags & kContested) != 0 && c.t - s.owner_since_ns <= conflict_memory_ns_;
    EventKind kind = EventKind::changed_mac;
    if ((simultaneous && !is_announcement(c.kind)) || contested) {
      kind = EventKind::ip_conflict;
      s.flags |= kContested;
    } else {
      if (back && c.t - s.owner_since_ns <= flip_flop_ns_) kind = EventKind::flip_flop;
      s.flags &= static_cast<std::uint8_t>(~kContested);
    }
    // The prober now holds the address: its probe is history.
    if ((s.flags & kHasProbe) != 0) drop_probes(s, c.mac);
    s.previous = old_owner;
    s.owner = c.mac;
    s.owner_since_ns = c.t;
    s.owner_last_ns = c.t;
    s.uplink = c.uplink;
    s.claim = static_cast<std::uint8_t>(c.kind);
    decide(s, kind, c.mac, old_owner, c.kind, c.uplink, c.t);
  }

  // A fresh slot, or a reused aged one: nothing of its past is kept.
  void start_binding(Slot& s, const Claim& c) {
    s.owner = c.mac;
    s.previous = MacAddress{};
    s.owner_last_ns = c.t;
    s.owner_since_ns = c.t;
    s.last_report_ns = kNever;
    s.uplink = c.uplink;
    s.suppressed = 0;
    s.claim = static_cast<std::uint8_t>(c.kind);
    s.flags &= kEstablished;  // no probe, rank or conflict; the gauge follows the bit below
    set_established(s, false);
    ++stats_.bindings_learned;
    stats_.bindings = table_.size();
    if (c.policy == AddressPolicy::report) decide(s, EventKind::new_binding, c.mac, MacAddress{}, c.kind, c.uplink, c.t);
  }

  // A slot for a new binding, making room at the cap if a probationary or aged binding can go.
  // nullptr when refused.
  Slot* make_slot(const Claim& c) {
    if (table_.full() && !make_room()) {
      ++stats_.bindings_refused;
      return nullptr;
    }
    Slot& s = table_.insert(c.vlan, c.ip);
    ++stats_.probationary;  // a zeroed slot is not established: set_established(false) is a no-op
    return &s;
  }

  // Clock hand: the next few occupied slots from where it stopped, first aged or probationary one
  // goes. Bounded, so a flood against a table of established bindings costs a refusal, not a
  // scan of the whole table; with no probationary binding at all, not even the bounded scan.
  bool make_room() {
    if (stats_.probationary == 0) return false;
    for (int n = 0; n < kEvictScan; ++n) {
      const std::uint64_t i = evict_cursor_;
      evict_cursor_ = evict_cursor_ + 1 == table_.capacity() ? 0 : evict_cursor_ + 1;
      Slot& s = table_.at(i);
      if (s.owner.is_zero()) continue;
      if (idle_expired(s, clock_ns_)) {
        ++stats_.bindings_aged;
      } else if ((s.flags & kEstablished) == 0) {
        ++stats_.bindings_evicted;
      } else {
        continue;
      }
      erase(i);
      return true;
    }
    return false;
  }

  void erase(std::uint64_t index) {
    Slot& s = table_.at(index);
    if ((s.flags & kHasProbe) != 0) drop_probes(s, MacAddress{});
    set_established(s, true);  // leaves the probationary gauge
    table_.erase_at(index);
    stats_.bindings = table_.size();
  }

  // The only writer of kEstablished: the probationary gauge moves with the bit.
  void set_established(Slot& s, bool established) {
    const bool was = (s.flags & kEstablished) != 0;
    if (was == established) return;
    if (established) {
      s.flags |= kEstablished;
      --stats_.probationary;
    } else {
      s.flags &= static_cast<std::uint8_t>(~kEstablished);
      ++stats_.probationary;
    }
  }

  // --- probes ------------------------------------------------------------------------------

  void on_probe(const Claim& c) {
    ++stats_.probes;
    Slot* s = table_.find(c.vlan, c.ip);
    // Nobody holds it (or the holder aged out): the prober will simply take it.
    if (s == nullptr || idle_expired(*s, c.t)) return;
    // The owner re-probing its own address (reboot, link up): RFC 5227 hosts do this.
    if (c.mac == s->owner) return;
    const std::int64_t gap = c.t - s->owner_last_ns;
    if (gap >= -conflict_ns_ && gap <= conflict_ns_) {
      // The owner is active right now: the prober is about to find the address in use.
      ++stats_.probe_conflicts;
      decide(*s, EventKind::ip_conflict, c.mac, s->owner, c.kind, c.uplink, c.t);
      return;
    }
    if (gap < 0) return;  // a probe from well before the owner's latest claim: too late to judge
    remember_probe(*s, c);
  }

  void remember_probe(Slot& s, const Claim& c) {
    s.flags |= kHasProbe;
    for (PendingProbe& p : pending_) {
      if (p.vlan == c.vlan && p.prober == c.mac && p.ip == c.ip) {
        // RFC 5227 sends three probes: the window runs from the latest.
        p.time_ns = std::max(p.time_ns, c.t);
        p.uplink = c.uplink;
        p.kind = c.kind;
        return;
      }
    }
    if (pending_.size() >= kMaxPendingProbes) {
      expire_probes();
      if (pending_.size() >= kMaxPendingProbes) pending_.erase(pending_.begin());  // never reallocates
    }
    pending_.push_back(PendingProbe{c.ip, c.vlan, c.uplink, c.kind, c.mac, c.t});
  }

  // The owner claims its address: a probe by another MAC within conflict_window was defended.
  void check_defence(Slot& s, const Claim& c) {
    bool left = false;
    for (std::size_t i = 0; i < pending_.size();) {
      const PendingProbe p = pending_[i];
      if (p.vlan != s.vlan || !(p.ip == s.ip)) {
        ++i;
        continue;
      }
      const std::int64_t gap = c.t - p.time_ns;
      if (gap < -conflict_ns_) {  // a claim from well before the probe, arriving late
        left = true;
        ++i;
        continue;
      }
      pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
      if (gap <= conflict_ns_ && p.prober != s.owner) {
        // Told from the prober's side (its MAC, uplink and probe), at the answer that decided it.
        ++stats_.probe_conflicts;
        decide(s, EventKind::ip_conflict, p.prober, s.owner, p.kind, p.uplink, c.t);
      }
    }
    if (!left) s.flags &= static_cast<std::uint8_t>(~kHasProbe);
  }

  // Forgets the pending probes of a binding; all of them when `prober` is the zero MAC.
  void drop_probes(Slot& s, MacAddress prober) {
    bool left = false;
    for (std::size_t i = 0; i < pending_.size();) {
      const PendingProbe& p = pending_[i];
      if (p.vlan == s.vlan && p.ip == s.ip) {
        if (prober.is_zero() || p.prober == prober) {
          pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
          continue;
        }
        left = true;
      }
      ++i;
    }
    if (!left) s.flags &= static_cast<std::uint8_t>(~kHasProbe);
  }

  // Probes whose window has passed on the clock will never be defended.
  void expire_probes() {
    for (std::size_t i = 0; i < pending_.size();) {
      const PendingProbe p = pending_[i];
      if (clock_ns_ - p.time_ns <= conflict_ns_) {
        ++i;
        continue;
      }
      pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
      bool more = false;
      for (const PendingProbe& q : pending_) more = more || (q.vlan == p.vlan && q.ip == p.ip);
      if (!more) {
        if (Slot* s = table_.find(p.vlan, p.ip)) s->flags &= static_cast<std::uint8_t>(~kHasProbe);
      }
    }
  }

  // --- events ------------------------------------------------------------------------------

  // Counts a decision and reports it unless the rate limit holds it back.
  void decide(Slot& s, EventKind kind, MacAddress station, MacAddress other, ClaimKind claim, UplinkId uplink,
              std::int64_t t) {
    const auto k = static_cast<std::size_t>(kind);
    ++stats_.events[k];
    const unsigned rank = rank_of(kind);
    // A time before the last report (a late frame) is inside the interval too.
    const bool in_interval = s.last_report_ns != kNever && t - s.last_report_ns < report_ns_;
    bool report = !in_interval || rank > slot_rank(s);
    if (report && kind == EventKind::new_binding) report = take_new_binding_budget(t);
    if (!report) {
      ++stats_.events_suppressed[k];
      if (s.suppressed != std::numeric_limits<std::uint16_t>::max()) ++s.suppressed;
      return;
    }
    Event e;
    e.kind = kind;
    e.time = from_ns(t);
    e.station = StationKey{s.vlan, station};
    e.to = uplink;
    e.ip = s.ip;
    e.other_mac = other;
    e.claim = claim;
    e.suppressed = s.suppressed;
    s.suppressed = 0;
    s.last_report_ns = t;
    set_slot_rank(s, rank);
    sink_.on_event(e);
  }

  // Generic cell rate algorithm on packet time: bursts of N, then one every minute / N.
  bool take_new_binding_budget(std::int64_t t) {
    if (budget_step_ns_ == 0) return true;
    if (budget_tat_ns_ < t) budget_tat_ns_ = t;
    if (budget_tat_ns_ - t > budget_tolerance_ns_) return false;
    budget_tat_ns_ += budget_step_ns_;
    return true;
  }

  // --- aging -------------------------------------------------------------------------------

  // Aging reclaims memory a slice at a time so no claim ever waits for a whole-table scan;
  // correctness does not depend on it, every lookup checks idle_timeout itself.
  void sweep() {
    const std::uint64_t capacity = table_.capacity();
    const std::uint64_t end = std::min(capacity, sweep_cursor_ + kSweepSlice);
    for (std::uint64_t i = sweep_cursor_; i < end;) {
      const Slot& s = table_.at(i);
      if (!s.owner.is_zero() && idle_expired(s, clock_ns_)) {
        erase(i);  // may shift a later entry into i: look at i again
        ++stats_.bindings_aged;
        continue;
      }
      ++i;
    }
    sweep_cursor_ = end == capacity ? 0 : end;
  }

  BindingConfig config_;
  EventSink& sink_;
  std::int64_t idle_ns_ = 0;
  std::int64_t conflict_ns_ = 0;
  std::int64_t flip_flop_ns_ = 0;
  std::int64_t conflict_memory_ns_ = 0;
  std::int64_t report_ns_ = 0;
  std::int64_t probation_ns_ = 0;
  std::int64_t budget_step_ns_ = 0;       // 0: new_binding events unlimited
  std::int64_t budget_tolerance_ns_ = 0;  // how far ahead of the clock the budget may run: the burst
  std::int64_t budget_tat_ns_ = kNever;   // "theoretical arrival time" of the next new_binding event
  std::int64_t sweep_step_ns_ = 1'000'000'000LL;

  Table table_;
  std::vector<PendingProbe> pending_;
  std::int64_t clock_ns_ = kNever;
  std::int64_t next_sweep_ns_ = kNever;
  std::uint64_t sweep_cursor_ = 0;
  std::uint64_t evict_cursor_ = 0;
  BindingStats stats_;
};

namespace {
void validate(const BindingConfig& c) {
  if (c.max_entries == 0) throw std::invalid_argument("bindings max_entries must be at least 1");
  // Slots are allocated up front: refuse sizes whose allocation size would overflow.
  if (c.max_entries > (std::uint64_t{1} << 36)) throw std::invalid_argument("bindings max_entries is too large");
  if (c.idle_timeout.count() <= 0) throw std::invalid_argument("bindings idle_timeout must be positive");
  for (Duration d : {c.idle_timeout, c.conflict_window, c.conflict_memory, c.flip_flop_memory, c.report_interval,
                     c.probation}) {
    if (d.count() < 0 || d.count() > kMaxDurationNs) {
      throw std::invalid_argument("bindings durations must be between 0 and 10 years");
    }
  }
  for (AddressPolicy p : {c.ipv4, c.ipv4_link_local, c.ipv6, c.ipv6_link_local}) {
    if (p != AddressPolicy::ignore && p != AddressPolicy::watch && p != AddressPolicy::report) {
      throw std::invalid_argument("unknown bindings address policy");
    }
  }
}
}  // namespace

BindingTable::BindingTable(const BindingConfig& config, EventSink& sink) {
  validate(config);
  impl_ = std::make_unique<Impl>(config, sink);
}

BindingTable::~BindingTable() = default;

bool BindingTable::reconfigure(const BindingConfig& config) {
  validate(config);
  if (config.max_entries != impl_->config().max_entries) return false;
  impl_->apply(config);
  return true;
}

void BindingTable::observe(const Observation& obs) noexcept { impl_->observe(obs); }
void BindingTable::advance(PacketTime now) noexcept { impl_->advance(now); }
bool BindingTable::restore(const BindingView& view) noexcept { return impl_->restore(view); }
void BindingTable::for_each_binding(const std::function<void(const BindingView&)>& fn) const {
  impl_->for_each_binding(fn);
}
const BindingStats& BindingTable::stats() const noexcept { return impl_->stats(); }
PacketTime BindingTable::clock() const noexcept { return impl_->clock(); }
const BindingConfig& BindingTable::config() const noexcept { return impl_->config(); }

}  // namespace camwatch::cam
