#!/usr/bin/env bash
# replay_vs_tcpdump.sh: camwatch replay throughput against tcpdump reading the same file.
#
#   bench/replay_vs_tcpdump.sh [CAMWATCH [BUILD_DIR]]
#
# CAMWATCH   camwatch binary      (env CAMWATCH,  default BUILD_DIR/daemon/camwatch)
# BUILD_DIR  build tree           (env BUILD_DIR, default <repo>/build); camwatch-bench-gen is
#            taken from BUILD_DIR/bench/ (env BENCH_GEN overrides) when the file must be made.
# Env: FRAMES (5000000), MACS (100000), SEED (1): the capture; RUNS (5): runs per tool;
#      OUT_DIR (<repo>/bench/out): where the capture is cached between runs.
#
# Both tools read the same cached file (the page cache is warmed first) in one invocation:
#   camwatch replay --uplink A=FILE --events /dev/null
#   tcpdump -r FILE -w /dev/null 'arp or rarp'
# and the table gives the median (and best) CPU time, user + sys, of RUNS runs each, the wall
# time and the peak RSS (with GNU /usr/bin/time). Installs nothing: missing tools are named and
# skipped. Exit 0 when both were measured, 1 otherwise.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$script_dir")
build_dir=${2:-${BUILD_DIR:-$repo/build}}
camwatch=${1:-${CAMWATCH:-$build_dir/daemon/camwatch}}
bench_gen=${BENCH_GEN:-$build_dir/bench/camwatch-bench-gen}
frames=${FRAMES:-5000000}
macs=${MACS:-100000}
seed=${SEED:-1}
runs=${RUNS:-5}
out_dir=${OUT_DIR:-$repo/bench/out}

case "$runs" in '' | *[!0-9]* | 0) echo "replay_vs_tcpdump: RUNS must be a positive integer" >&2; exit 2 ;; esac

missing=()
have_gnu_time=no
if [[ -x /usr/bin/time ]] && /usr/bin/time -f '%U' -o /dev/null true 2>/dev/null; then
  have_gnu_time=yes
fi

# --- the capture ------------------------------------------------------------------------------
mkdir -p "$out_dir"
capture=$out_dir/bench-${frames}f-${macs}m-s${seed}.pcap
if [[ ! -s $capture ]]; then
  if [[ ! -x $bench_gen ]]; then
    echo "replay_vs_tcpdump: no cached $capture and no generator at $bench_gen" >&2
    echo "  build it: cmake --build $build_dir --target camwatch-bench-gen (or set BENCH_GEN)" >&2
    exit 1
  fi
  echo "generating $capture ..."
  "$bench_gen" --frames "$frames" --macs "$macs" --seed "$seed" "$capture.tmp"
  mv "$capture.tmp" "$capture"
fi
bytes=$(stat -c %s "$capture")
cat "$capture" >/dev/null  # warm the page cache: both tools then read from memory

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# --- timing -----------------------------------------------------------------------------------
# measure NAME CMD...: runs CMD $runs times; sets cpu_median, cpu_best, wall_median, rss_mb,
# status (exit code of the first failing run, else 0). CPU = user + sys of the child, from bash's
# `time` (millisecond resolution; GNU time prints only hundredths), max RSS from GNU time.
measure() {
  local name=$1
  shift
  local i rc user sys wall rss TIMEFORMAT='%3U %3S %3R'
  local -a wrap=()
  [[ $have_gnu_time == yes ]] && wrap=(/usr/bin/time -f '%M' -o "$scratch/$name.rss")
  : >"$scratch/$name.cpu"
  : >"$scratch/$name.wall"
  rss_mb=-
  status=0
  for ((i = 1; i <= runs; i++)); do
    rc=0
    { time "${wrap[@]}" "$@" >/dev/null 2>"$scratch/$name.log"; } 2>"$scratch/$name.time" || rc=$?
    if ((rc != 0)); then
      status=$rc
      return 0
    fi
    read -r user sys wall <"$scratch/$name.time"
    awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f\n", u + s }' >>"$scratch/$name.cpu"
    echo "$wall" >>"$scratch/$name.wall"
    if [[ $have_gnu_time == yes ]]; then
      rss=$(tail -n 1 "$scratch/$name.rss")
      rss_mb=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
    fi
  done
  cpu_median=$(sort -n "$scratch/$name.cpu" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  cpu_best=$(sort -n "$scratch/$name.cpu" | head -n 1)
  wall_median=$(sort -n "$scratch/$name.wall" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
}

rows=()
camwatch_cpu=
tcpdump_cpu=

if [[ -x $camwatch ]]; then
  echo "camwatch: $runs runs ..."
  measure camwatch "$camwatch" replay --uplink "A=$capture" --events /dev/null
  if ((status == 0)); then
    camwatch_cpu=$cpu_median
    rows+=("camwatch $cpu_median $cpu_best $wall_median $rss_mb")
  else
    echo "camwatch: replay failed (exit $status); its stderr:" >&2
    sed -n '1,20p' "$scratch/camwatch.log" >&2
    missing+=("camwatch replay (failed, exit $status)")
  fi
else
  missing+=("camwatch (no executable at $camwatch; build: cmake --build $build_dir --target camwatch)")
fi

if command -v tcpdump >/dev/null 2>&1; then
  echo "tcpdump: $runs runs ..."
  measure tcpdump tcpdump -r "$capture" -w /dev/null 'arp or rarp'
  if ((status == 0)); then
    tcpdump_cpu=$cpu_median
    rows+=("tcpdump $cpu_median $cpu_best $wall_median $rss_mb")
  else
    echo "tcpdump failed (exit $status); its stderr:" >&2
    sed -n '1,20p' "$scratch/tcpdump.log" >&2
    missing+=("tcpdump (failed, exit $status)")
  fi
else
  missing+=("tcpdump (not on PATH)")
fi

# --- report -----------------------------------------------------------------------------------
echo
echo "capture: $capture ($frames frames, $macs MACs, seed $seed, $bytes bytes)"
echo "CPU seconds = user + sys of the process, median (best) of $runs runs; M frames/s from the median"
[[ $have_gnu_time == yes ]] || echo "(no GNU /usr/bin/time: max RSS not measured)"
printf '%-9s %10s %14s %9s %12s %11s %16s\n' tool frames "cpu s (best)" "wall s" "M frames/s" "max RSS MB" "camwatch/tcpdump"
for row in "${rows[@]}"; do
  read -r tool cpu best wall rss <<<"$row"
  mfps=$(awk -v f="$frames" -v c="$cpu" 'BEGIN { if (c > 0) printf "%.2f", f / c / 1e6; else print "inf" }')
  ratio=-
  if [[ $tool == camwatch && -n $tcpdump_cpu ]]; then
    ratio=$(awk -v a="$cpu" -v b="$tcpdump_cpu" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  elif [[ $tool == tcpdump && -n $camwatch_cpu ]]; then
    ratio=1.00
  fi
  printf '%-9s %10s %14s %9s %12s %11s %16s\n' "$tool" "$frames" "$cpu ($best)" "$wall" "$mfps" "$rss" "$ratio"
done
echo "(ratio = camwatch CPU time / tcpdump CPU time: below 1 means camwatch is cheaper)"

if ((${#missing[@]} != 0)); then
  echo
  echo "not measured:"
  printf '  %s\n' "${missing[@]}"
  exit 1
fi
