#!/usr/bin/env bash
# Runs every camwatch fuzzer for a while from seed corpora; exit 1 when any target crashes.
#
# usage: fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET
#   BUILD_DIR: a build configured with -DCAMWATCH_BUILD_FUZZERS=ON (see fuzz/README.md).
#
# Seeds are written to a temporary directory (fuzz/seeds.py) and thrown away afterwards, with
# whatever the run added to them. Inputs in fuzz/regressions/<target>/ are replayed too (a
# second, read-only corpus directory), so a regression that still crashes fails the run.
# A crash is minimised and copied to fuzz/regressions/<target>/ for a human to look at.
set -euo pipefail

if [[ $# -ne 2 || ! $2 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 BUILD_DIR SECONDS_PER_TARGET" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
seconds=$2
fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$fuzz_dir")
targets=(fuzz_decoder fuzz_mirror_decap fuzz_capture_file fuzz_state_file fuzz_config)

for target in "${targets[@]}"; do
  if [[ ! -x $build_dir/fuzz/$target ]]; then
    echo "camwatch: error: $build_dir/fuzz/$target missing; configure with -DCAMWATCH_BUILD_FUZZERS=ON and build" >&2
    exit 2
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/camwatch-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$fuzz_dir/seeds.py" "$repo_dir" "$work/corpus"

declare -A execs result
failed=0
for target in "${targets[@]}"; do
  bin=$build_dir/fuzz/$target
  corpus=$work/corpus/$target
  artifacts=$work/artifacts/$target
  regressions=$fuzz_dir/regressions/$target
  mkdir -p "$artifacts" "$regressions"
  max_len=()
  case $target in
    fuzz_capture_file|fuzz_config) max_len=(-max_len=65536) ;;
  esac
  log=$work/$target.log
  echo "== $target: ${seconds}s"
  set +e
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    "${max_len[@]}" -artifact_prefix="$artifacts/" "$corpus" "$regressions" >"$log" 2>&1
  rc=$?
  set -e
  execs[$target]=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [[ $rc -eq 0 ]]; then
    result[$target]=ok
    continue
  fi
  failed=1
  result[$target]="FAILED (exit $rc)"
  grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5 || true
  for crash in "$artifacts"/*; do
    [[ -f $crash ]] || continue
    name=$(basename "$crash")
    "$bin" -minimize_crash=1 -max_total_time=60 -runs=100000 -timeout=10 \
      -exact_artifact_path="$regressions/$name" "$crash" >"$work/$target.minimize.log" 2>&1 || true
    [[ -f $regressions/$name ]] || cp "$crash" "$regressions/$name"
    echo "   crash input: $regressions/$name"
    # The full report (stack trace) of the minimised input.
    "$bin" "$regressions/$name" 2>&1 | sed -n '/ERROR\|runtime error\|deadly signal/,/SUMMARY/p' | head -n 60 || true
  done
  if [[ ! -d $artifacts || -z $(ls -A "$artifacts") ]]; then
    # No artifact: the crash came from an input already in regressions/, or the run broke.
    tail -n 40 "$log"
  fi
done

echo
printf '%-20s %-16s %s\n' target result executions
for target in "${targets[@]}"; do
  printf '%-20s %-16s %s\n' "$target" "${result[$target]}" "${execs[$target]:-n/a}"
done
exit "$failed"
