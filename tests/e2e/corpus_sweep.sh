#!/usr/bin/env bash
# Every real and malformed capture of ../shared/corpus replays without crashing: exit 0, or
# exit 1 with a "camwatch: error:" line. Under a sanitizer build any report aborts the process,
# which this test sees as a crash. Skips (77) when the corpus is not there.
set -uo pipefail
camwatch=$1 corpus=$3
if [ ! -d "$corpus/real" ] || [ ! -d "$corpus/malformed" ]; then
  echo "SKIP: corpus not found at $corpus (it lives in ../shared/corpus beside the repo)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
total=0 ok=0 refused=0 bad=0
for f in "$corpus"/real/* "$corpus"/malformed/*; do
  case "$f" in *.json|*.md|*SUMS) continue ;; esac
  [ -f "$f" ] || continue
  total=$((total + 1))
  "$camwatch" replay --uplink A="$f" --events "$tmp/events.jsonl" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ $rc -eq 0 ]; then
    ok=$((ok + 1))
  elif [ $rc -eq 1 ] && grep -q '^camwatch: error: ' "$tmp/err"; then
    refused=$((refused + 1))
  else
    bad=$((bad + 1))
    echo "FAIL: $f: exit $rc"
    tail -5 "$tmp/err"
  fi
  # Every line written must be a JSON object with the SPEC keys.
  if [ -s "$tmp/events.jsonl" ] && grep -qv '^{"event":"[a-z_]*","time":"[0-9T:.Z-]*","mac":"[0-9a-f:]*","vlan":[0-9]*' "$tmp/events.jsonl"; then
    bad=$((bad + 1))
    echo "FAIL: $f: malformed event line"
  fi
done
echo "corpus sweep: $total files, $ok replayed cleanly, $refused refused or damaged (exit 1 with a message), $bad failures"
[ $bad -eq 0 ] && [ $total -gt 200 ]
