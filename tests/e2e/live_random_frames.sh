#!/usr/bin/env bash
# Random frames from the wire: RANDOM_FRAMES (default 100000) frames per uplink, two uplinks, of
# raw random bytes and of headers right up to a random depth (stacked VLAN tags, ARP/RARP, IPv4,
# IPv6 and ICMPv6, NLB) with random bytes after, plus well-formed frames and notifications from
# 64 MACs both uplinks share (moves, flaps, announcements), sent at top speed into a live
# camwatch. Asserts: it survives, counts every frame (malformed ones as malformed), writes only
# well-formed event lines, stops cleanly with a state file that loads; `camwatch replay` of the
# same files does the same. SEED (default: a new one each run, printed) repeats a run.
set -uo pipefail
camwatch=$1 src=$2
inject=$(dirname "$camwatch")/../tools/camwatch-inject
tmp=$(mktemp -d)
. "$src/tests/e2e/lib_live.sh"
live_require
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
trap live_cleanup EXIT
live_setup v2 v3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
n=${RANDOM_FRAMES:-100000}
seed=${SEED:-$(( (RANDOM << 15) | RANDOM ))}
echo "seed $seed (SEED=$seed repeats this run)"

python3 "$src/tests/e2e/lib_frames.py" random "$tmp/a.pcap" "$n" "$seed" >/dev/null
python3 "$src/tests/e2e/lib_frames.py" random "$tmp/b.pcap" "$n" $((seed + 1)) >/dev/null
write_config "$tmp/camwatch.toml" vmnic2=v2b vmnic3=v3b
sed -i 's/^merge_holdback = .*/merge_holdback = "200ms"/' "$tmp/camwatch.toml"  # ring + staging hold rate x hold-back
start_daemon "$tmp/camwatch.toml" "$tmp/run.log" || { cat "$tmp/run.log"; exit 1; }
ip netns exec "$ns" "$inject" --topspeed v2a="$tmp/a.pcap" v3a="$tmp/b.pcap" 2>"$tmp/inject.log" || { fail "inject"; cat "$tmp/inject.log"; }
echo "$(tail -1 "$tmp/inject.log")"
sent=$(grep -oE '[0-9]+ sent' "$tmp/inject.log" | awk '{s += $1} END {print s + 0}')
kill -0 "$daemon_pid" 2>/dev/null || { fail "camwatch died on random frames"; tail -20 "$tmp/run.log"; exit 1; }
sleep 1
stop_daemon || fail "unclean stop after random frames"

seen=0 malformed=0 drops=0
while read -r line; do
  seen=$((seen + $(sed -E 's/.*: ([0-9]+) frames.*/\1/' <<<"$line")))
  malformed=$((malformed + $(sed -E 's/.* ([0-9]+) malformed.*/\1/' <<<"$line")))
  drops=$((drops + $(sed -E 's/.* ([0-9]+) kernel drops.*/\1/' <<<"$line") + $(sed -E 's/.* ([0-9]+) ring drops.*/\1/' <<<"$line")))
done < <(grep -E "uplink vmnic[23]: [0-9]+ frames" "$tmp/run.log")
[ "$seen" = "$sent" ] && ok "survived $sent random frames, counted every one ($malformed malformed, skipped)" ||
  fail "$seen of $sent random frames counted ($drops dropped)"
check_events() {  # file: every line a JSON event with the SPEC keys; prints the count
  python3 - "$1" <<'PY'
import json, sys
n = 0
for i, line in enumerate(open(sys.argv[1], "rb")):
    e = json.loads(line)
    assert line.endswith(b"\n") and {"event", "time", "mac", "vlan"} <= set(e), "line %d: %r" % (i + 1, line)
    n += 1
print(n)
PY
}
events=$(check_events "$tmp/events.jsonl") && ok "$events well-formed events ($(moves_of "$tmp/events.jsonl" | awk '{print $1}' | sort | uniq -c | tr -s ' ' | tr '\n' ','))" ||
  fail "bad events file: $events"
stations=$("$camwatch" table --state "$tmp/cam.state" --json | wc -l) && ok "the saved state loads: $stations stations" || fail "state file"

rc=0
"$camwatch" replay --uplink vmnic2="$tmp/a.pcap" --uplink vmnic3="$tmp/b.pcap" --events "$tmp/replay.jsonl" 2>"$tmp/replay.log" || rc=$?
replayed=$(check_events "$tmp/replay.jsonl")
[ $rc = 0 ] && [ -n "$replayed" ] && ok "camwatch replay of the same files: exit 0, $replayed well-formed events" ||
  { fail "replay: exit $rc, events $replayed"; tail -5 "$tmp/replay.log"; }
echo "FIGURES random_frames seed=$seed frames=$sent counted=$seen malformed=$malformed events=$events replay_events=$replayed"
echo "$fails failures"
[ $fails -eq 0 ]
