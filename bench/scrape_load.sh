#!/usr/bin/env bash
# scrape_load.sh: does hammering /metrics cost the capture anything?
#
#   bench/scrape_load.sh [CAMWATCH [BUILD_DIR]]      (as root)
#
# Two runs in one network namespace, the same FRAMES frames (default 2000000, the 100k-MAC bench
# mix) sent by tcpreplay into a veth that `camwatch run` captures: first with nobody scraping,
# then with SCRAPERS (default 2) clients fetching /metrics back to back over keep-alive for the
# whole capture. Prints, for each run, frames seen, kernel drops, ring drops, and for the loaded
# run the scrapes done and their latency (median, 99th percentile). PPS (frames/s, default:
# tcpreplay --topspeed) sets the send rate.
# Needs tcpreplay and python3; installs nothing.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$script_dir")
build_dir=${2:-${BUILD_DIR:-$repo/build}}
camwatch=${1:-${CAMWATCH:-$build_dir/daemon/camwatch}}
frames=${FRAMES:-2000000}
scrapers=${SCRAPERS:-2}
. "$script_dir/lib_live_bench.sh"

bench_require scrape_load tcpreplay python3
file=$(bench_file)
cleanup() {
  [ -n "${cw_pid:-}" ] && kill -KILL "$cw_pid" 2>/dev/null
  [ -n "${sc_pid:-}" ] && kill -KILL "$sc_pid" 2>/dev/null
  bench_netns_cleanup
}
trap cleanup EXIT
bench_netns
if [ -n "${PPS:-}" ]; then speed=(--pps "$PPS"); else speed=(--topspeed); fi

# Scrapes /metrics from N threads until the stop file appears; prints count, p50, p99 (ms).
scraper() {
  ip netns exec "$ns" python3 - "$scrapers" "$dir/stop" <<'PY'
import http.client, os, sys, threading, time
n, stop = int(sys.argv[1]), sys.argv[2]
lat, lock = [], threading.Lock()
def run():
    c = http.client.HTTPConnection("127.0.0.1", 9842, timeout=10)
    mine = []
    while not os.path.exists(stop):
        t = time.perf_counter()
        c.request("GET", "/metrics")
        body = c.getresponse().read()
        assert b"camwatch_frames_total" in body
        mine.append(time.perf_counter() - t)
    with lock:
        lat.extend(mine)
threads = [threading.Thread(target=run) for _ in range(n)]
for t in threads: t.start()
for t in threads: t.join()
lat.sort()
print(len(lat), "%.2f" % (1000 * lat[len(lat) // 2]), "%.2f" % (1000 * lat[int(len(lat) * 0.99)]))
PY
}

one_run() {  # label, scrape (yes/no)
  rm -f "$dir/stop" "$dir/scrapes"
  : >"$dir/camwatch.log"
  ip netns exec "$ns" "$camwatch" run --config "$dir/camwatch.toml" >"$dir/camwatch.log" 2>&1 &
  cw_pid=$!
  for _ in $(seq 100); do grep -q "started:" "$dir/camwatch.log" && break; sleep 0.1; done
  if [ "$2" = yes ]; then
    scraper >"$dir/scrapes" &
    sc_pid=$!
    sleep 0.5
  fi
  local started=$SECONDS
  ip netns exec "$ns" tcpreplay "${speed[@]}" --preload-pcap -i cwtx "$file" >"$dir/tcpreplay.log" 2>&1
  sleep 1
  if [ "$2" = yes ]; then
    touch "$dir/stop"
    wait "$sc_pid" || true
    sc_pid=
  fi
  kill -TERM "$cw_pid"
  wait "$cw_pid" || true
  cw_pid=
  bench_camwatch_counts "$dir/camwatch.log"
  local rate scrapes="-" p50="-" p99="-"
  rate=$(awk '/Rated:/ {for (i = 1; i <= NF; i++) if ($i ~ /pps/) {print $(i-1); exit}}' "$dir/tcpreplay.log")
  if [ -s "$dir/scrapes" ]; then read -r scrapes p50 p99 <"$dir/scrapes"; fi
  printf '%-16s %12s %12s %12s %12s %10s %10s %10s\n' "$1" "${rate:-?}" "${cw_frames:-?}" "${cw_kdrops:-?}" \
    "${cw_rdrops:-?}" "$scrapes" "$p50" "$p99"
}

echo "sending $frames frames per run (${speed[*]}), $scrapers scrapers in the loaded run ..." >&2
printf '\n%-16s %12s %12s %12s %12s %10s %10s %10s\n' run "sent f/s" "frames seen" "kernel drops" "ring drops" \
  scrapes "p50 ms" "p99 ms"
one_run "no scraping" no
one_run "scraping" yes
