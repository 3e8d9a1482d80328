#!/usr/bin/env bash
# callgrind_path.sh: instructions per frame of replay's per-frame path, counted by callgrind.
#
#   bench/callgrind_path.sh [--smoke] [BENCH_PATH [BENCH_GEN]]
#
# BENCH_PATH  camwatch-bench-path (env BENCH_PATH, default BUILD_DIR/bench/camwatch-bench-path)
# BENCH_GEN   camwatch-bench-gen  (env BENCH_GEN,  default BUILD_DIR/bench/camwatch-bench-gen)
# Env: BUILD_DIR (<repo>/build); FRAMES (5000000) and MACS (100000): the hot-mix file (the
#      issue's 5M-frame file; a 500k-frame one has a fifth of its frames first sightings);
#      FLOOD (500000): the random-MAC flood file, replayed against a table capped at FLOOD_CAP
#      (default FLOOD/10: the ratio of the issue's 10M-frame flood to the default 1M cap, so 90%
#      of the flood's frames meet a full table); OUT_DIR (<repo>/bench/out): cached files.
# --smoke: 20,000 frames of each in a temporary directory (CI: checks that the instrumentation
#      and this script work; the figures are printed, not compared with the targets).
#
# Runs `valgrind --tool=callgrind --collect-atstart=no` on camwatch-bench-path, which turns
# collection on only around its two measured loops and dumps each (client requests): the reader
# (CaptureFile::next() over every record) and decode + track (capture::to_observation into
# batches of 512, through the recently-seen filter, then Analyzer::observe(span), over the frames
# held in memory: replay's per-frame body). The mix is measured twice: with replay's default
# filter (refresh 1 s), and without it (refresh 0: every frame decoded and tracked). Prints Ir
# per frame
# of each, the decode + track figure split by where the instructions are (callgrind_annotate,
# exclusive cost per function), and the issue's targets: <= 80 on the hot mix, <= 150 on the
# flood. Instruction counts do not depend on machine load: compare them across commits.
# Exit: 0 measured (targets met or not), 1 failure, 77 valgrind is not installed.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$script_dir")
smoke=no
if [[ ${1:-} == --smoke ]]; then
  smoke=yes
  shift
fi
build_dir=${BUILD_DIR:-$repo/build}
bench_path=${1:-${BENCH_PATH:-$build_dir/bench/camwatch-bench-path}}
bench_gen=${2:-${BENCH_GEN:-$build_dir/bench/camwatch-bench-gen}}
frames=${FRAMES:-5000000}
macs=${MACS:-100000}
flood=${FLOOD:-500000}
out_dir=${OUT_DIR:-$repo/bench/out}

if ! command -v valgrind >/dev/null 2>&1; then
  echo "callgrind_path: valgrind is not installed (apt-get install valgrind); nothing measured" >&2
  exit 77
fi
for tool in "$bench_path" "$bench_gen"; do
  [[ -x $tool ]] || { echo "callgrind_path: no executable at $tool (cmake --build BUILD --target $(basename "$tool"))" >&2; exit 1; }
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [[ $smoke == yes ]]; then
  frames=20000 macs=2000 flood=20000
  out_dir=$scratch
fi
flood_cap=${FLOOD_CAP:-$((flood / 10 > 0 ? flood / 10 : 1))}
mkdir -p "$out_dir"

make_file() {  # path, generator arguments...
  local path=$1
  shift
  [[ -s $path ]] && return 0
  "$bench_gen" "$@" "$path.tmp" >/dev/null
  mv "$path.tmp" "$path"
}
mix_file=$out_dir/bench-${frames}f-${macs}m-s1.pcap
flood_file=$out_dir/flood-${flood}f-s1.pcap
make_file "$mix_file" --frames "$frames" --macs "$macs"
make_file "$flood_file" --flood "$flood"

# Exclusive Ir of a dump split into decode (decode_batch with to_observation inlined, and the
# full decoder's functions) / tracker (Tracker, Analyzer) ; the rest of the summary is the loop
# (callgrind also lists the frames below main at 100%: not summed).
split_costs() {  # dump file, summary -> "decode filter tracker other"
  callgrind_annotate --threshold=100 --inclusive=no "$1" 2>/dev/null | awk -v total="$2" '
    /file:function/ { on = 1; next }
    on && /^$/ { exit }
    on && $1 ~ /^[0-9,]+$/ && $0 !~ /below main|libc_start_main|ld-linux/ {
      n = $1; gsub(/,/, "", n)
      if ($0 ~ /decode_batch|to_observation|decode_frame|decode_rest|decode_arp|decode_ipv6|decode_nlb|announce|claim|frame_decoder/) d += n
      else if ($0 ~ /RecentlySeenFilter|filter_batch|recent_filter/) f += n
      else if ($0 ~ /Tracker|Analyzer|StationTable/) t += n
    }
    END { printf "%d %d %d %d\n", d, f, t, total - d - f - t }'
}

# measure NAME FILE [bench-path args...]: sets read_ir, track_ir, frames_n, and the split.
measure() {
  local name=$1 file=$2
  shift 2
  local out=$scratch/$name
  if ! valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out.cg" \
    "$bench_path" "$@" "$file" >"$out.txt" 2>"$out.err"; then
    echo "callgrind_path: camwatch-bench-path failed under valgrind on $file:" >&2
    sed -n '1,20p' "$out.err" >&2
    exit 1
  fi
  frames_n=$(awk '$1 == "frames" { print $2 }' "$out.txt")
  local read_dump track_dump
  read_dump=$(grep -l '^desc: Trigger: Client Request: read$' "$out.cg".* | head -n 1)
  track_dump=$(grep -l '^desc: Trigger: Client Request: decode+track$' "$out.cg".* | head -n 1)
  if [[ -z $read_dump || -z $track_dump || -z $frames_n ]]; then
    echo "callgrind_path: no per-loop dumps from callgrind (was camwatch-bench-path built with valgrind's callgrind.h?)" >&2
    exit 1
  fi
  read_ir=$(awk '/^summary:/ { print $2 }' "$read_dump")
  track_ir=$(awk '/^summary:/ { print $2 }' "$track_dump")
  read -r split_decode split_filter split_track split_other <<<"$(split_costs "$track_dump" "$track_ir")"
  forwarded_n=$(awk '$1 == "forwarded" { print $2 }' "$out.txt")
}

per_frame() { awk -v a="$1" -v n="$2" 'BEGIN { printf "%.1f", a / n }'; }

echo "callgrind (valgrind $(valgrind --version | sed 's/valgrind-//')), camwatch-bench-path: $bench_path"
printf '%-34s %9s %12s %14s %8s %5s   %s\n' input frames "read Ir/fr" "dec+track Ir/fr" target met \
  "split Ir/frame: decode (+observation, counters) | filter | tracker | loop; tracked/frame"
row() {  # label target
  local label=$1 target=$2 ours met
  ours=$(per_frame "$track_ir" "$frames_n")
  met=-
  [[ -n $target ]] && met=$(awk -v o="$ours" -v t="$target" 'BEGIN { print (o <= t) ? "yes" : "no" }')
  printf '%-34s %9s %12s %14s %8s %5s   %s | %s | %s | %s; %s\n' "$label" "$frames_n" "$(per_frame "$read_ir" "$frames_n")" \
    "$ours" "${target:+<= }${target:--}" "$met" "$(per_frame "$split_decode" "$frames_n")" \
    "$(per_frame "$split_filter" "$frames_n")" "$(per_frame "$split_track" "$frames_n")" "$(per_frame "$split_other" "$frames_n")" \
    "$(awk -v a="$forwarded_n" -v n="$frames_n" 'BEGIN { printf "%.3f", a / n }')"
  echo "$label|$frames_n|$(per_frame "$read_ir" "$frames_n")|$ours|$(awk -v a="$forwarded_n" -v n="$frames_n" 'BEGIN { printf "%.3f", a / n }')" >>"$scratch/rows"
}
measure mix "$mix_file"
row "hot mix, replay's filter (1 s)" 80
measure mix0 "$mix_file" --refresh 0
row "hot mix, no filter (every frame)" ""
measure flood "$flood_file" --max-entries "$flood_cap"
row "flood (${flood} new MACs, cap ${flood_cap})" 150
echo "(Ir = instructions executed; read = CaptureFile::next() per record; decode+track = replay's per-frame"
echo " body: to_observation into a batch of 512, the recently-seen filter, then Analyzer::observe(batch);"
echo " loop = the driver's loop; tracked/frame = observations the filter passed to the analysis per frame)"
if [[ $smoke == yes ]]; then echo "smoke run: small files, targets not judged"; fi
# For bench/run_all.sh: machine-readable copy.
if [[ -n ${CALLGRIND_PATH_RESULTS:-} ]]; then cp "$scratch/rows" "$CALLGRIND_PATH_RESULTS"; fi
