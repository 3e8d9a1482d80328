// camwatch-bench-micro: Google Benchmark microbenchmarks of the per-frame parts.
//
//   camwatch-bench-micro [--benchmark_filter=REGEX] [--benchmark_repetitions=N] ...
//
// Families (see bench/README.md for what each measures and the figures on the bench machine):
//   Table/...   cam/src/station_table.h (the tracker's private table, read as the tests do):
//               lookup+update at 1M random stations, the bench mix's hot set, insert until the
//               cap; Memory/... resident bytes per station after filling 1M (RSS growth read
//               from /proc/self/statm, not sizeof arithmetic: run each in its own process, as
//               bench/run_all.sh does, so freed memory of an earlier benchmark cannot hide growth).
//   Ref/...     the same loops on boost::unordered_flat_map, absl::flat_hash_map and
//               std::unordered_map when their headers were found at configure time.
//   Ring/...    SpscRing between two threads: 512-item batches against one item per operation.
//   Decode/...  capture::decode_frame() per frame kind.
//   Tracker/... Tracker::observe() on the bench mix and on a random-MAC flood.
//   Filter/...  RecentlySeenFilter::pass_batch() on the bench mix and on a random-MAC flood.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <unordered_map>
#include <vector>

#include "cam/tracker.h"
#include "capture/frame_decoder.h"
#include "capture/recent_filter.h"
#include "capture/spsc_ring.h"
#include "daemon/table_memory.h"
#include "station_table.h"
#include "testsupport/frame_builder.h"
#include "testsupport/prng.h"

#if CAMWATCH_HAVE_BOOST_FLAT_MAP
#include <boost/unordered/unordered_flat_map.hpp>
#endif
#if CAMWATCH_HAVE_ABSL
#include <absl/container/flat_hash_map.h>
#endif

namespace {

using namespace camwatch;
namespace ts = camwatch::testsupport;
using cam::detail::Slot;
using cam::detail::StationTable;

constexpr std::uint64_t kStations = 1'000'000;

// Resident bytes of the process, from /proc/self/statm (second field, pages).
std::uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

// `n` distinct station keys (n <= 2^24): random unicast MACs whose low 24 bits are the index
// times an odd constant (a bijection, so no duplicates and no set to find them: a large freed
// set would be reused by the maps measured for memory and hide their growth), a quarter of them
// on VLANs 10..4009.
std::vector<std::uint64_t> random_keys(std::size_t n, std::uint64_t seed) {
  ts::Prng rng(seed);
  std::vector<std::uint64_t> keys(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t low = (i * 0x9E3779B1ULL) & 0xFF'FFFFULL;
    const std::uint64_t mac = ((rng.next() << 24) & 0x7EFF'FF00'0000ULL) | low;  // bit 47 clear: see InsertUntilCap
    const auto vlan = static_cast<cam::VlanId>(i % 4 == 3 ? 10 + rng.below(4000) : 0);
    keys[i] = cam::StationKey{vlan, cam::MacAddress::from_u64(mac)}.packed();
  }
  return keys;
}

// The keys in the order the loops visit them: uniformly random, or the bench mix's skew (80% of
// visits to the first 1%).
std::vector<std::uint64_t> visit_order(const std::vector<std::uint64_t>& keys, bool skewed, std::size_t n,
                                       std::uint64_t seed) {
  ts::Prng rng(seed);
  const std::size_t hot = std::max<std::size_t>(1, keys.size() / 100);
  std::vector<std::uint64_t> order(n);
  for (auto& k : order) {
    std::size_t i = rng.below(keys.size());
    if (skewed) i = rng.below(100) < 80 ? rng.below(hot) : hot + rng.below(keys.size() - hot);
    k = keys[i];
  }
  return order;
}

const std::vector<std::uint64_t>& station_keys() {
  static const std::vector<std::uint64_t> keys = random_keys(kStations, 1);
  return keys;
}
const std::vector<std::uint64_t>& uniform_order() {
  static const std::vector<std::uint64_t> order = visit_order(station_keys(), false, 4 * kStations, 2);
  return order;
}
const std::vector<std::uint64_t>& skewed_order() {
  static const std::vector<std::uint64_t> order = visit_order(station_keys(), true, 4 * kStations, 3);
  return order;
}

// The payload a table entry carries besides its key, the same for every map compared: what our
// 32-byte Slot holds after its 8-byte key.
struct Value {
  std::int64_t last_seen_ns = 0;
  std::uint32_t first_seen_s = 0, last_move_s = 0, notify_s = 0;
  std::uint16_t uplink = 0;
  std::uint8_t flags = 0, moves = 0;
};
static_assert(sizeof(Value) == sizeof(Slot) - sizeof(std::uint64_t));

// ---- our table ---------------------------------------------------------------------------------

// The table's memory for arg `hugepages`: 1, the daemon's (2 MiB pages: a random lookup costs one
// TLB entry per 2 MiB instead of per 4 KiB, a first touch one fault per 2 MiB); 0, calloc().
cam::TableMemory* table_memory(std::int64_t hugepages) {
  return hugepages != 0 ? &daemon::huge_page_table_memory() : nullptr;
}

void fill(StationTable& table, const std::vector<std::uint64_t>& keys) {
  bool inserted = false;
  for (std::uint64_t k : keys) {
    if (Slot* s = table.find_or_insert(k, inserted)) s->uplink = 1;
  }
}

void lookup_update_loop(benchmark::State& state, const std::vector<std::uint64_t>& order) {
  StationTable table(kStations, table_memory(state.range(0)));
  fill(table, station_keys());
  std::size_t i = 0;
  std::int64_t now = 0;
  bool inserted = false;
  for (auto _ : state) {
    // Every key is in the table: never nullptr, the branch is predicted.
    if (Slot* s = table.find_or_insert(order[i], inserted)) {
      s->last_seen_ns = ++now;
      s->uplink = 2;
    }
    if (++i == order.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// Lookup + update of a station already in a table of 1M, keys uniformly random: the worst case
// for the cache (the slots span 60 MB).
void Table_LookupUpdate_1M_Uniform(benchmark::State& state) { lookup_update_loop(state, uniform_order()); }
BENCHMARK(Table_LookupUpdate_1M_Uniform)->Arg(0)->Arg(1)->ArgName("hugepages");

// The same with the bench mix's skew: 80% of the lookups hit 1% of the stations (steady state).
void Table_LookupUpdate_1M_HotSet(benchmark::State& state) { lookup_update_loop(state, skewed_order()); }
BENCHMARK(Table_LookupUpdate_1M_HotSet)->Arg(0)->Arg(1)->ArgName("hugepages");

// What a software prefetch could save: the same loop, but the home slot of the key kPrefetchAhead
// visits later is prefetched first, as a batched Tracker::observe() could do. The table keeps
// home() private, so its hash is repeated here (kept in step with station_table.h by the
// assertion in the loop's setup). A measurement for a recommendation, not a feature.
constexpr std::size_t kPrefetchAhead = 8;
std::uint64_t home_slot(std::uint64_t key, std::uint64_t capacity) {
  const std::uint64_t h = key * 0x9E3779B97F4A7C15ULL;
  return static_cast<std::uint64_t>((static_cast<cam::detail::Uint128>(h) * capacity) >> 64);
}
void Table_LookupUpdate_1M_Uniform_Prefetch(benchmark::State& state) {
  const auto& order = uniform_order();
  StationTable table(kStations, table_memory(state.range(0)));
  fill(table, station_keys());
  bool inserted = false;
  // The copy of the hash must find the key at its home or a few slots on.
  const std::uint64_t probe = order[0];
  const std::uint64_t found = table.index_of(table.find_or_insert(probe, inserted));
  if ((found + table.capacity() - home_slot(probe, table.capacity())) % table.capacity() > 64) {
    state.SkipWithError("home_slot() no longer matches station_table.h");
    return;
  }
  std::size_t i = 0;
  std::int64_t now = 0;
  for (auto _ : state) {
    std::size_t ahead = i + kPrefetchAhead;
    if (ahead >= order.size()) ahead -= order.size();
    __builtin_prefetch(&table.at(home_slot(order[ahead], table.capacity())), 1);
    if (Slot* s = table.find_or_insert(order[i], inserted)) {
      s->last_seen_ns = ++now;
      s->uplink = 2;
    }
    if (++i == order.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(Table_LookupUpdate_1M_Uniform_Prefetch)->Arg(0)->Arg(1)->ArgName("hugepages");

// The first frames of a fresh table: 100k new stations into a table reserved for 1M, as the bench
// file does. They land all over the 60 MB slot array, so nearly every 4 KiB page is faulted in
// (10.4k faults); with huge pages (arg 1) about 21 faults of 2 MiB.
void Table_FirstTouch_100kInto1M(benchmark::State& state) {
  const std::vector<std::uint64_t> keys(station_keys().begin(), station_keys().begin() + 100'000);
  for (auto _ : state) {
    StationTable table(kStations, table_memory(state.range(0)));
    fill(table, keys);
    benchmark::DoNotOptimize(table.size());
  }
  state.SetItemsProcessed(state.iterations() * 100'000);
}
BENCHMARK(Table_FirstTouch_100kInto1M)->Arg(0)->Arg(1)->ArgName("hugepages")->Unit(benchmark::kMillisecond);

// Inserting 1M new stations into an empty table with room for 1M, then the flood's steady state:
// 1M more new stations refused by the full table (every probe ends at an empty slot).
void Table_InsertUntilCap(benchmark::State& state) {
  const auto& keys = station_keys();
  std::vector<std::uint64_t> more = random_keys(kStations, 99);
  for (auto& k : more) k |= std::uint64_t{1} << 47;  // the half of the MAC space random_keys() leaves out: all new
  for (auto _ : state) {
    StationTable table(kStations);
    bool inserted = false;
    std::uint64_t refused = 0;
    for (std::uint64_t k : keys) benchmark::DoNotOptimize(table.find_or_insert(k, inserted));
    if (state.range(0) != 0) {
      for (std::uint64_t k : more) refused += table.find_or_insert(k, inserted) == nullptr ? 1 : 0;
    }
    benchmark::DoNotOptimize(refused);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kStations) * (state.range(0) != 0 ? 2 : 1));
}
BENCHMARK(Table_InsertUntilCap)->Arg(0)->Arg(1)->ArgName("then_refuse")->Unit(benchmark::kMillisecond);

// Resident bytes per station with 1M learned (run alone in its process); arg 1: the daemon's
// memory (2 MiB pages, what camwatch runs with).
void Memory_Table_1M(benchmark::State& state) {
  const auto& keys = station_keys();  // made before the first reading
  for (auto _ : state) {
    const std::uint64_t before = resident_bytes();
    auto table = std::make_unique<StationTable>(kStations, table_memory(state.range(0)));
    fill(*table, keys);
    const std::uint64_t after = resident_bytes();
    state.counters["bytes_per_station"] = static_cast<double>(after - before) / static_cast<double>(kStations);
  }
}
BENCHMARK(Memory_Table_1M)->Arg(0)->Arg(1)->ArgName("hugepages")->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- reference maps ----------------------------------------------------------------------------

template <typename Map>
void ref_lookup_update(benchmark::State& state) {
  Map map;
  map.reserve(kStations);
  for (std::uint64_t k : station_keys()) map[k].uplink = 1;
  const auto& order = uniform_order();
  std::size_t i = 0;
  std::int64_t now = 0;
  for (auto _ : state) {
    Value& v = map.try_emplace(order[i]).first->second;
    v.last_seen_ns = ++now;
    v.uplink = 2;
    if (++i == order.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

template <typename Map>
void ref_memory(benchmark::State& state) {
  const auto& keys = station_keys();  // made before the first reading
  for (auto _ : state) {
    const std::uint64_t before = resident_bytes();
    auto map = std::make_unique<Map>();
    map->reserve(kStations);
    for (std::uint64_t k : keys) (*map)[k].uplink = 1;
    const std::uint64_t after = resident_bytes();
    state.counters["bytes_per_station"] = static_cast<double>(after - before) / static_cast<double>(kStations);
  }
}

// libstdc++'s std::hash<uint64_t> is the identity: kept here, as the issue measured it.
using StdMap = std::unordered_map<std::uint64_t, Value>;
BENCHMARK(ref_lookup_update<StdMap>)->Name("Ref_LookupUpdate_1M_Uniform/std_unordered_map");
BENCHMARK(ref_memory<StdMap>)->Name("Memory_Ref_1M/std_unordered_map")->Iterations(1)->Unit(benchmark::kMillisecond);
#if CAMWATCH_HAVE_BOOST_FLAT_MAP
using BoostMap = boost::unordered_flat_map<std::uint64_t, Value>;
BENCHMARK(ref_lookup_update<BoostMap>)->Name("Ref_LookupUpdate_1M_Uniform/boost_unordered_flat_map");
BENCHMARK(ref_memory<BoostMap>)->Name("Memory_Ref_1M/boost_unordered_flat_map")->Iterations(1)->Unit(benchmark::kMillisecond);
#endif
#if CAMWATCH_HAVE_ABSL
using AbslMap = absl::flat_hash_map<std::uint64_t, Value>;
BENCHMARK(ref_lookup_update<AbslMap>)->Name("Ref_LookupUpdate_1M_Uniform/absl_flat_hash_map");
BENCHMARK(ref_memory<AbslMap>)->Name("Memory_Ref_1M/absl_flat_hash_map")->Iterations(1)->Unit(benchmark::kMillisecond);
#endif

// ---- SPSC ring ---------------------------------------------------------------------------------

constexpr std::size_t kRingBatch = 512;  // LiveCapture's pcap_dispatch batch

// Thread 0 produces, thread 1 consumes, kRingBatch observations per iteration each, through a
// ring of 64Ki observations (the daemon's default ring_entries order of magnitude). Arg: items
// per write()/read() call: 512 (one publish per batch, as LiveCapture does) or 1.
void Ring_Observations(benchmark::State& state) {
  static std::unique_ptr<capture::SpscRing<cam::Observation>> ring;
  if (state.thread_index() == 0) ring = std::make_unique<capture::SpscRing<cam::Observation>>(1U << 16);
  const auto per_call = static_cast<std::size_t>(state.range(0));
  std::vector<cam::Observation> buffer(kRingBatch);
  for (std::size_t i = 0; i < buffer.size(); ++i) buffer[i].source = cam::MacAddress::from_u64(i + 1);
  for (auto _ : state) {
    std::size_t done = 0;
    while (done < kRingBatch) {
      const std::size_t want = std::min(per_call, kRingBatch - done);
      done += state.thread_index() == 0 ? ring->write(buffer.data() + done, want) : ring->read(buffer.data() + done, want);
    }
  }
  if (state.thread_index() == 1) state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kRingBatch));
}
BENCHMARK(Ring_Observations)->Arg(512)->Arg(1)->ArgName("items_per_call")->Threads(2)->UseRealTime();

// The ring's own cost without a second core: one thread writes 512 observations and reads them
// back, 512 per call or one per call. Stable on a loaded machine, where the two-thread figure
// mostly measures the scheduler.
void Ring_Observations_OneThread(benchmark::State& state) {
  capture::SpscRing<cam::Observation> ring(1U << 16);
  const auto per_call = static_cast<std::size_t>(state.range(0));
  std::vector<cam::Observation> in(kRingBatch), out(kRingBatch);
  for (std::size_t i = 0; i < in.size(); ++i) in[i].source = cam::MacAddress::from_u64(i + 1);
  for (auto _ : state) {
    for (std::size_t done = 0; done < kRingBatch;) done += ring.write(in.data() + done, std::min(per_call, kRingBatch - done));
    for (std::size_t done = 0; done < kRingBatch;) done += ring.read(out.data() + done, std::min(per_call, kRingBatch - done));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kRingBatch));
}
BENCHMARK(Ring_Observations_OneThread)->Arg(512)->Arg(1)->ArgName("items_per_call");

// ---- decoder -----------------------------------------------------------------------------------

ts::Bytes frame_of_kind(int kind) {
  const cam::MacAddress station = ts::mac("00:50:56:12:34:56");
  ts::FrameBuilder b;
  b.source(station).destination(ts::mac("00:00:0c:07:ac:01"));
  switch (kind) {
    case 0: return b.udp(ts::ipv4("10.0.0.1"), ts::ipv4("10.99.0.1"), 40000, 8125, 18).build();
    case 1: return b.vlan(10).udp(ts::ipv4("10.0.0.1"), ts::ipv4("10.99.0.1"), 40000, 8125, 18).build();
    case 2: return b.destination(ts::kBroadcast).garp_request(station, ts::ipv4("10.0.0.1")).build();
    case 3: return b.destination(ts::kBroadcast).rarp_request(station).build();
    default: {
      ts::FrameBuilder::NeighborAdvert na;
      na.source_ip = ts::ipv6("fe80::250:56ff:fe12:3456");
      na.target = na.source_ip;
      na.target_lla = station;
      return b.destination(ts::mac("33:33:00:00:00:01")).neighbor_advert(na).build();
    }
  }
}

void Decode(benchmark::State& state) {
  const ts::Bytes frame = frame_of_kind(static_cast<int>(state.range(0)));
  const std::span<const std::uint8_t> bytes(frame);
  const auto wire = static_cast<std::uint32_t>(frame.size() + 4);
  for (auto _ : state) {
    benchmark::DoNotOptimize(bytes.data());
    capture::DecodedFrame d = capture::decode_frame(bytes, wire);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(Decode)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Arg(4)->ArgName("kind");  // untagged, tagged, GARP, RARP, NA

// ---- tracker -----------------------------------------------------------------------------------

class NullSink final : public cam::EventSink {
 public:
  void on_event(const cam::Event&) override {}
};

// Observations of the bench generator's mix (bench/gen_bench_pcap.cc): 100k stations, 80% of the
// frames from the hottest 1%, every 4th station on a VLAN, 1% GARP, 0.1% RARP, one uplink.
std::vector<cam::Observation> bench_mix(std::size_t frames) {
  ts::Prng rng(1);
  const std::vector<std::uint64_t> keys = random_keys(100'000, 7);
  const std::size_t hot = keys.size() / 100;
  std::vector<cam::Observation> out(frames);
  for (std::size_t i = 0; i < frames; ++i) {
    const std::size_t s = rng.below(100) < 80 ? rng.below(hot) : hot + rng.below(keys.size() - hot);
    const cam::StationKey key = cam::StationKey::unpack(keys[s]);
    cam::Observation& o = out[i];
    o.time = ts::at_seconds(1'346'328'000) + std::chrono::microseconds(i);
    o.source = key.mac;
    o.vlan = key.vlan;
    o.uplink = 0;
    const auto kind = rng.below(100'000);
    if (kind < 1'100) {
      o.notification = kind < 1'000 ? cam::Notification::garp : cam::Notification::rarp;
      o.notified = key.mac;
    }
  }
  return out;
}

// Arg 0: the bench mix, replayed pass after pass (packet time shifted on), after one untimed pass
// so that every station is learned and its page of the table touched (the steady state). Arg 1:
// a flood of new random MACs against the default table (cap 1M) already full of 1M random
// stations: every frame is a miss that probes to an empty slot and is refused.
void Tracker_Observe(benchmark::State& state) {
  const bool flood = state.range(0) != 0;
  static const std::vector<cam::Observation> mix = bench_mix(1'000'000);
  NullSink sink;
  cam::Tracker tracker(cam::TrackerConfig{}, sink);
  const cam::Duration pass = std::chrono::microseconds(mix.size()) + std::chrono::seconds(1);
  cam::Duration shift{};
  ts::Prng rng(5);
  std::uint64_t n = 0;
  auto next_flood = [&] {
    cam::Observation o;
    o.time = mix[0].time + std::chrono::microseconds(n++);
    o.source = cam::MacAddress::from_u64((rng.next() & 0xFEFF'FFFF'FFFFULL) | 1);
    o.uplink = 0;
    return o;
  };
  if (flood) {
    while (tracker.stats().stations < tracker.config().max_entries) tracker.observe(next_flood());
  } else {
    for (const cam::Observation& o : mix) tracker.observe(o);
    shift += pass;
  }
  std::size_t i = 0;
  for (auto _ : state) {
    if (flood) {
      tracker.observe(next_flood());
      continue;
    }
    cam::Observation o = mix[i];
    o.time += shift;
    tracker.observe(o);
    if (++i == mix.size()) {
      i = 0;
      shift += pass;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["stations"] = static_cast<double>(tracker.stats().stations);
}
BENCHMARK(Tracker_Observe)->Arg(0)->Arg(1)->ArgName("flood");

// ---- recently-seen filter ------------------------------------------------------------------------

// RecentlySeenFilter::pass_batch() (refresh 1 s, the default 2 MiB of records) over 512-observation
// batches, as LiveCapture's flush_batch() and replay call it. Arg 0: the bench mix (steady state
// after one untimed pass); arg 1: new random MACs, every observation a first sighting.
void Filter_PassBatch(benchmark::State& state) {
  const bool flood = state.range(0) != 0;
  static const std::vector<cam::Observation> mix = bench_mix(1'000'000);
  capture::RecentlySeenFilter filter(std::chrono::seconds(1));
  std::vector<cam::Observation> batch(512);
  ts::Prng rng(11);
  std::size_t i = 0;
  cam::Duration shift{};
  const auto fill = [&] {
    for (cam::Observation& o : batch) {
      if (flood) {
        o = cam::Observation{};
        o.time = mix[0].time + std::chrono::microseconds(i++);
        o.source = cam::MacAddress::from_u64((rng.next() & 0xFEFF'FFFF'FFFFULL) | 1);
        o.uplink = 0;
        continue;
      }
      o = mix[i];
      o.time += shift;
      if (++i == mix.size()) {
        i = 0;
        shift += std::chrono::seconds(2);
      }
    }
  };
  for (std::size_t j = 0; j < mix.size() / batch.size(); ++j) {
    fill();
    filter.pass_batch(batch.data(), batch.size());
  }
  std::uint64_t kept = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fill();
    state.ResumeTiming();
    kept += filter.pass_batch(batch.data(), batch.size());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch.size()));
  state.counters["passed_per_frame"] =
      static_cast<double>(kept) / static_cast<double>(state.iterations() * batch.size());
}
BENCHMARK(Filter_PassBatch)->Arg(0)->Arg(1)->ArgName("flood");

}  // namespace

BENCHMARK_MAIN();
