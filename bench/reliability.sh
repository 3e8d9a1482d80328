#!/usr/bin/env bash
# reliability.sh: the robustness figures. Runs the fault and flood tests at full size, every
# fuzz target for a while, the malformed-corpus sweep and a random-frame run, and writes the one
# table of docs/RELIABILITY.md: each test, the load it held, the faults it survived, the inputs
# it tried and what was lost (which must be nothing).
#
#   bench/reliability.sh [BUILD_DIR [FUZZ_BUILD_DIR]]      (as root: network namespaces)
#
# BUILD_DIR (default build/) holds camwatch and camwatch-inject (a release build with tests);
# FUZZ_BUILD_DIR (default build-fuzz/) the libFuzzer targets: configured and built here when
# missing (fuzz/README.md). Environment:
#   FUZZ_SECONDS   per fuzz target (default 600; CI runs 20 s of each); 0 skips fuzzing (the
#                  table then says so, and the exit status is 1)
#   FLOOD          MAC flood frames (default 2000000; CI 1000000)
#   STATIONS       stations in the killed saves (default 400000; CI 200000), KILLS (default 10)
#   RANDOM_FRAMES  random frames per uplink (default 1000000; CI 100000)
#   FRAMES         frames under /metrics scraping (default 1000000; CI 300000)
#   SIGHUPS        (default 1000; CI 200)
#   OUT            the document written (default docs/RELIABILITY.md); LOG_DIR keeps each
#                  test's output (default bench/out/reliability/)
# Exit status 0 only when every test passed; the document is written either way, with FAIL rows.
set -uo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$script_dir")
build_dir=$(realpath "${1:-$repo/build}")
fuzz_dir=${2:-$repo/build-fuzz}
camwatch=$build_dir/daemon/camwatch
corpus=$(realpath -m "$repo/../shared/corpus")
out=${OUT:-$repo/docs/RELIABILITY.md}
logs=${LOG_DIR:-$repo/bench/out/reliability}
export FUZZ_SECONDS=${FUZZ_SECONDS:-600} FLOOD=${FLOOD:-2000000} STATIONS=${STATIONS:-400000} KILLS=${KILLS:-10}
export RANDOM_FRAMES=${RANDOM_FRAMES:-1000000} FRAMES=${FRAMES:-1000000} SIGHUPS=${SIGHUPS:-1000}

[ "$(id -u)" -eq 0 ] || { echo "reliability.sh: needs root (network namespaces, captures, tmpfs)" >&2; exit 1; }
[ -x "$camwatch" ] || { echo "reliability.sh: no camwatch at $camwatch (cmake --build $build_dir)" >&2; exit 1; }
[ -x "$build_dir/tools/camwatch-inject" ] || { echo "reliability.sh: no camwatch-inject in $build_dir/tools" >&2; exit 1; }
mkdir -p "$logs"
results=$logs/results.txt
: >"$results"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo" status --porcelain 2>/dev/null | grep -v '^??' | grep -qv 'docs/RELIABILITY.md' && echo " (with local changes)")
overall=0

# One test: its name, then the script in tests/e2e/. Records "name status seconds" and the
# script's FIGURES line (or its ok: count) in $results.
run_e2e() {
  local name=$1 t0 rc=0
  echo "== $name" >&2
  t0=$(date +%s.%N)
  bash "$repo/tests/e2e/$name.sh" "$camwatch" "$repo" "$corpus" >"$logs/$name.log" 2>&1 || rc=$?
  local secs status
  secs=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
  case $rc in 0) status=ok ;; 77) status=skipped ;; *) status=FAIL; overall=1 ;; esac
  echo "   $status in ${secs}s" >&2
  {
    printf 'TEST %s %s %s oks=%s\n' "$name" "$status" "$secs" "$(grep -c '^ok:' "$logs/$name.log")"
    grep '^FIGURES ' "$logs/$name.log" | sed "s/^FIGURES /FIG $name /"
  } >>"$results"
}

run_e2e live_flood
run_e2e live_disk_full
run_e2e live_state_kill
run_e2e live_watchdog
run_e2e live_scrape_load
run_e2e live_sighup_burst
run_e2e live_random_frames
run_e2e live_links
run_e2e live_ops
run_e2e live_least_privilege
run_e2e corpus_sweep
grep -o 'corpus sweep: .*' "$logs/corpus_sweep.log" | sed 's/^/SWEEP /' >>"$results"

# The fuzz targets, for FUZZ_SECONDS each.
if [ "$FUZZ_SECONDS" = 0 ]; then
  echo "== fuzzing skipped (FUZZ_SECONDS=0)" >&2
elif [ ! -x "$fuzz_dir/fuzz/fuzz_decoder" ]; then
  echo "== building the fuzz targets in $fuzz_dir" >&2
  (cd "$repo" && CC=clang CXX=clang++ cmake -S . -B "$fuzz_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCAMWATCH_SANITIZE=address,undefined -DCAMWATCH_BUILD_FUZZERS=ON -DCAMWATCH_BUILD_BENCH=OFF \
    -DCAMWATCH_BUILD_TESTS=OFF >/dev/null && cmake --build "$fuzz_dir" -j "${JOBS:-$(nproc)}" >"$logs/fuzz-build.log" 2>&1) ||
    { echo "   fuzz build failed: $logs/fuzz-build.log" >&2; overall=1; }
fi
if [ "$FUZZ_SECONDS" != 0 ] && [ -x "$fuzz_dir/fuzz/fuzz_decoder" ]; then
  echo "== fuzzing each target for ${FUZZ_SECONDS}s" >&2
  rc=0
  bash "$repo/fuzz/run.sh" "$fuzz_dir" "$FUZZ_SECONDS" >"$logs/fuzz.log" 2>&1 || rc=$?
  [ $rc -eq 0 ] || overall=1
  awk '/^fuzz_[a-z_]+ +(ok|FAILED)/ {print "FUZZ", $1, $2, $NF}' "$logs/fuzz.log" >>"$results"
  # Regression inputs replayed on every run (crashes found earlier, fixed).
  echo "FUZZREG $(find "$repo/fuzz/regressions" -type f 2>/dev/null | wc -l)" >>"$results"
fi

machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
python3 "$script_dir/reliability_table.py" "$results" "$out" "$started" "$machine" "$commit${dirty:-}" \
  "FUZZ_SECONDS=$FUZZ_SECONDS FLOOD=$FLOOD STATIONS=$STATIONS KILLS=$KILLS RANDOM_FRAMES=$RANDOM_FRAMES FRAMES=$FRAMES SIGHUPS=$SIGHUPS bench/reliability.sh" ||
  overall=1
echo "wrote $out (logs in $logs)" >&2
exit $overall
