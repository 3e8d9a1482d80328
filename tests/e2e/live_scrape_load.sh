#!/usr/bin/env bash
# /metrics hammered while capturing: the CI-sized version of bench/scrape_load.sh. FRAMES
# (default 300000) frames from as many stations go into a live camwatch at up to 100,000
# frames/s (camwatch-inject --speed 0.1; the rate reached is printed; a sanitizer build gets
# 60000 frames at up to 10,000 frames/s) while two clients fetch
# /metrics back to back over keep-alive. Asserts: every frame counted,
# no ring drops (a scrape never waits for the tracker loop, which never waits for a scrape),
# every scrape answered 200 and parsed as Prometheus text with the expected series, and the
# counters it showed never went backwards.
set -uo pipefail
camwatch=$1 src=$2
inject=$(dirname "$camwatch")/../tools/camwatch-inject
tmp=$(mktemp -d)
. "$src/tests/e2e/lib_live.sh"
live_require
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
cleanup() {
  [ -n "${scraper_pid:-}" ] && kill "$scraper_pid" 2>/dev/null
  live_cleanup
}
trap cleanup EXIT
live_setup v2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
n=${FRAMES:-300000}
speed=0.1
# A sanitizer build's tracker loop is many times slower: at 100,000 new stations a second its
# ring overflows whether or not anyone scrapes. There the load is 10,000 frames/s, which it
# holds, and the test is about the scrapes racing the snapshot (TSan) rather than throughput.
if sanitized_build; then n=${FRAMES:-60000} speed=0.01; fi

write_config "$tmp/camwatch.toml" vmnic2=v2b
sed -i 's/^merge_holdback = .*/merge_holdback = "200ms"/' "$tmp/camwatch.toml"  # one uplink: nothing to reorder
python3 "$src/tests/e2e/lib_frames.py" flood "$tmp/frames.pcap" "$n" 3 >/dev/null  # frames 1 us apart
start_daemon "$tmp/camwatch.toml" "$tmp/run.log" || { cat "$tmp/run.log"; exit 1; }

ip netns exec "$ns" python3 - "$tmp/stop" >"$tmp/scrapes.txt" 2>&1 <<'PY' &
import http.client, os, re, sys, threading, time
stop = sys.argv[1]
series = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})?$')
def parses(line):  # "series value": the value as Prometheus reads it (Go's ParseFloat: NaN in any case)
    name, _, value = line.rpartition(" ")
    try:
        float(value)
    except ValueError:
        return False
    return bool(series.match(name))
lock = threading.Lock()
lat, bad, frames_seen = [], [], []
def run():
    c = http.client.HTTPConnection("127.0.0.1", 9842, timeout=10)
    last_frames = -1
    while not os.path.exists(stop):
        t = time.perf_counter()
        try:
            c.request("GET", "/metrics")
            r = c.getresponse()
            body = r.read().decode()
        except Exception as e:  # a refused or broken scrape is a failure, counted
            with lock:
                bad.append("error: %r" % e)
            c = http.client.HTTPConnection("127.0.0.1", 9842, timeout=10)
            continue
        dt = time.perf_counter() - t
        problems = [] if r.status == 200 else ["status %d" % r.status]
        frames = None
        for line in body.splitlines():
            if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
                continue
            if not parses(line):
                problems.append("unparsable: %r" % line[:80])
            elif line.startswith('camwatch_frames_total{uplink="vmnic2"} '):
                frames = float(line.split()[-1])
        if frames is None:
            problems.append("no camwatch_frames_total for vmnic2")
        elif frames < last_frames:
            problems.append("camwatch_frames_total went back from %d to %d" % (last_frames, frames))
        else:
            last_frames = frames
        with lock:
            lat.append(dt)
            bad.extend(problems[:3])
threads = [threading.Thread(target=run) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
lat.sort()
print("scrapes", len(lat), "bad", len(bad), "p50_ms %.2f p99_ms %.2f max_ms %.2f" % (
    1000 * lat[len(lat) // 2], 1000 * lat[int(len(lat) * 0.99)], 1000 * lat[-1]))
for b in bad[:10]:
    print("  ", b)
PY
scraper_pid=$!
sleep 0.5
started=$(date +%s.%N)
ip netns exec "$ns" "$inject" --speed "$speed" v2a="$tmp/frames.pcap" 2>"$tmp/inject.log" || { fail "inject"; cat "$tmp/inject.log"; }
ended=$(date +%s.%N)
sleep 1  # the last frames through the ring, still scraped
touch "$tmp/stop"
wait "$scraper_pid"
scraper_pid=
stop_daemon || fail "unclean stop"

read -r _ scrapes _ bad _ p50 _ p99 _ pmax < <(head -1 "$tmp/scrapes.txt")
line=$(grep "uplink vmnic2:" "$tmp/run.log" | tail -1)
seen=$(sed -E 's/.*vmnic2: ([0-9]+) frames.*/\1/' <<<"$line")
kdrops=$(sed -E 's/.* ([0-9]+) kernel drops.*/\1/' <<<"$line")
rdrops=$(sed -E 's/.* ([0-9]+) ring drops.*/\1/' <<<"$line")
rate=$(python3 -c "print(int($n / ($ended - $started)))")
echo "load: $n frames in $(python3 -c "print(round($ended - $started, 2))") s ($rate frames/s); $seen captured, $kdrops kernel drops, $rdrops ring drops"
echo "scrapes: $scrapes by 2 clients, p50 ${p50} ms, p99 ${p99} ms, max ${pmax} ms"
[ "${rdrops:-x}" = 0 ] && ok "no ring drops while /metrics was hammered" || fail "$rdrops ring drops"
[ "$seen" = "$n" ] && ok "every frame counted ($seen)" || fail "$seen of $n frames counted ($kdrops kernel drops)"
[ "${bad:-x}" = 0 ] && [ "${scrapes:-0}" -ge 100 ] && ok "all $scrapes scrapes answered 200 and parsed; counters never went back" ||
  { fail "$bad bad scrapes of $scrapes"; cat "$tmp/scrapes.txt"; }
echo "FIGURES scrape_load frames=$n rate_fps=$rate frames_seen=$seen kernel_drops=$kdrops ring_drops=$rdrops scrapes=$scrapes bad_scrapes=$bad p99_ms=$p99"
echo "$fails failures"
[ $fails -eq 0 ]
