#!/usr/bin/env bash
# live_tcpreplay.sh: the live capture path under the fastest load this machine can make.
#
#   bench/live_tcpreplay.sh [CAMWATCH [BUILD_DIR]]      (as root)
#
# In a throwaway network namespace, tcpreplay --topspeed sends the bench capture (FRAMES frames,
# default 2000000, of the 100k-MAC mix) into one end of a veth pair while, on the other end,
# `camwatch run` and `tcpdump -w /dev/null` capture the identical load in the same run. Prints
# frames sent, and for each capturer frames seen and kernel drops, plus camwatch's ring drops,
# and CPU per frame: camwatch's capture thread and tracker (main) thread, and tcpdump's one
# thread, from each thread's /proc/PID/task/TID/schedstat (nanoseconds on the CPU) read after the
# load, divided by the frames that capturer saw. camwatch's capture thread is its busiest thread
# other than the main one (the HTTP, control and link threads sleep). Last, camwatch's ring
# traffic: observations into the ring and ring write() calls per frame (the recently-seen filter
# and the batching at work), from the daemon's stop line. THREADS=N (default 1): a veth with N
# queues captured by N threads in one PACKET_FANOUT group; the capture CPU is then their sum,
# and the busiest thread and each thread's frame count are printed too.
# Needs tcpreplay and tcpdump (apt-get install tcpreplay tcpdump); installs nothing itself.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$script_dir")
build_dir=${2:-${BUILD_DIR:-$repo/build}}
camwatch=${1:-${CAMWATCH:-$build_dir/daemon/camwatch}}
frames=${FRAMES:-2000000}
. "$script_dir/lib_live_bench.sh"

bench_require live_tcpreplay tcpreplay tcpdump
file=$(bench_file)
cleanup() {
  [ -n "${cw_pid:-}" ] && kill -KILL "$cw_pid" 2>/dev/null
  [ -n "${td_pid:-}" ] && kill -KILL "$td_pid" 2>/dev/null
  bench_netns_cleanup
}
trap cleanup EXIT
bench_netns

ip netns exec "$ns" "$camwatch" run --config "$dir/camwatch.toml" >"$dir/camwatch.log" 2>&1 &
cw_pid=$!
ip netns exec "$ns" tcpdump -i cwrx -w /dev/null -s 256 >"$dir/tcpdump.log" 2>&1 &
td_pid=$!
for _ in $(seq 100); do
  grep -q "started:" "$dir/camwatch.log" && grep -q "listening on" "$dir/tcpdump.log" && break
  sleep 0.1
done

echo "sending $frames frames at top speed (tcpreplay --topspeed --preload-pcap) ..." >&2
ip netns exec "$ns" tcpreplay --topspeed --preload-pcap -i cwtx "$file" >"$dir/tcpreplay.log" 2>&1
sleep 1  # let both capturers empty their kernel rings
# Nanoseconds each thread has run, before the stop adds its drain.
thread_ns() { awk '{ print $1 }' "/proc/$1/task/$2/schedstat" 2>/dev/null || echo 0; }
cw_main_ns=$(thread_ns "$cw_pid" "$cw_pid")
# The capture threads are the THREADS busiest ones other than main; their sum, and the busiest.
mapfile -t busy < <(for task in /proc/"$cw_pid"/task/*; do
  tid=${task##*/}
  [ "$tid" = "$cw_pid" ] || thread_ns "$cw_pid" "$tid"
done | sort -rn | head -n "$threads")
cw_capture_ns=0
for ns_run in "${busy[@]}"; do cw_capture_ns=$((cw_capture_ns + ns_run)); done
cw_busiest_ns=${busy[0]:-0}
td_ns=$(thread_ns "$td_pid" "$td_pid")
kill -TERM "$cw_pid"
wait "$cw_pid" || true
cw_pid=
kill -INT "$td_pid"
wait "$td_pid" || true
td_pid=

sent=$(awk '/Actual:/ {print $2; exit}' "$dir/tcpreplay.log")
rate=$(awk '/Rated:/ {for (i = 1; i <= NF; i++) if ($i ~ /pps/) {print $(i-1); exit}}' "$dir/tcpreplay.log")
bench_camwatch_counts "$dir/camwatch.log"
td_frames=$(awk '/packets captured/ {print $1}' "$dir/tcpdump.log")
td_kdrops=$(awk '/dropped by kernel/ {print $1}' "$dir/tcpdump.log")

printf '\nlive capture on a veth, %s frames sent by tcpreplay --topspeed at %s frames/s\n' "${sent:-?}" "${rate:-?}"
[ "$threads" -gt 1 ] && grep -o "capturing on cwrx with .*" "$dir/camwatch.log" | head -1
per_frame() { awk -v ns="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", ns / n; else print "?" }'; }
printf '%-10s %14s %14s %12s %22s %22s\n' capturer "frames seen" "kernel drops" "ring drops" "capture thread ns/fr" "tracker thread ns/fr"
printf '%-10s %14s %14s %12s %22s %22s\n' camwatch "${cw_frames:-?}" "${cw_kdrops:-?}" "${cw_rdrops:-?}" \
  "$(per_frame "$cw_capture_ns" "${cw_frames:-0}")" "$(per_frame "$cw_main_ns" "${cw_frames:-0}")"
printf '%-10s %14s %14s %12s %22s %22s\n' tcpdump "${td_frames:-?}" "${td_kdrops:-?}" "-" "$(per_frame "$td_ns" "${td_frames:-0}")" "-"
# Ring traffic: observations written to the ring (frames - malformed - filtered, drops included)
# and ring write() calls, per frame seen.
ratio4() { awk -v a="$1" -v n="$2" 'BEGIN { if (n > 0 && a != "") printf "%.4f", a / n; else print "?" }'; }
entries=$(( ${cw_frames:-0} - ${cw_filtered:-0} ))
[ "$threads" -gt 1 ] && printf 'camwatch capture threads: %s, busiest %s ns/frame of all frames, counts %s\n' "$threads" \
  "$(per_frame "$cw_busiest_ns" "${cw_frames:-0}")" "$(grep "uplink bench:" "$dir/camwatch.log" | grep -o '[0-9]* threads: [^)]*' | tail -1)"
printf 'camwatch ring: %s entries/frame (%s of %s frames filtered), %s ring operations/frame (%s writes)\n' \
  "$(ratio4 "$entries" "${cw_frames:-0}")" "${cw_filtered:-?}" "${cw_frames:-?}" "$(ratio4 "${cw_writes:-}" "${cw_frames:-0}")" "${cw_writes:-?}"
