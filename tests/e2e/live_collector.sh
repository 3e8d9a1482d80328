#!/usr/bin/env bash
# A live ERSPAN collector. camwatch run captures the collector veth in a private network
# namespace while the erspan scenario's capture (the incident's vmnic2 and vmnic3 mirrored as
# ERSPAN type II sessions 2 and 3 of one collector, with the collector's own traffic, an unmapped
# session 99 and a fragmented mirror) is injected into it. It must find the moves a replay of the
# same capture with the same configuration finds, log the unmapped session once with its ID, and
# count the collector's frames by result and each uplink's frames.
set -uo pipefail
camwatch=$1 src=$2
inject=$(dirname "$camwatch")/../tools/camwatch-inject
tmp=$(mktemp -d)
. "$src/tests/e2e/lib_live.sh"
live_require
trap live_cleanup EXIT
live_setup col
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
capture=$src/pcaps/erspan.collector.pcap

port=$(ip netns exec "$ns" python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/camwatch.toml" <<CFG
[[uplink]]
name = "vmnic2"
erspan_session = 2

[[uplink]]
name = "vmnic3"
erspan_session = 3

[[collector]]
name = "erspan0"
interface = "colb"

[capture]
buffer_size = 4194304
merge_holdback = "1s"  # generous: CI machines are loaded and sanitizer builds slow
[events]
path = "$tmp/events.jsonl"
[state]
path = "$tmp/cam.state"
[metrics]
listen = "127.0.0.1:$port"
[daemon]
control_socket = "$tmp/control.sock"
CFG

# The value of one series of the daemon's /metrics ("" when absent or unreachable).
metric() {
  ip netns exec "$ns" python3 - "$port" "$1" <<'PY'
import sys, urllib.request
try:
    text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode()
except OSError:
    sys.exit(0)
for line in text.splitlines():
    if line.startswith(sys.argv[2] + " "):
        print(int(float(line.split()[-1])))
PY
}
metric_is() { test "$(metric "$1")" = "$2"; }

start_daemon "$tmp/camwatch.toml" "$tmp/run.log" || exit 1
grep -q "collector erspan0: capturing on colb" "$tmp/run.log" && ok "the collector captures on colb" ||
  fail "no capture on the collector: $(cat "$tmp/run.log")"
ip netns exec "$ns" "$inject" --speed 40 cola="$capture" 2>"$tmp/inject.log" ||
  { echo "FAIL: injection failed"; cat "$tmp/inject.log"; exit 1; }
wait_for "4 silent moves" 20 events_at_least "$tmp/events.jsonl" silent_move 4 || fails=$((fails + 1))
wait_for "12 announced moves" 10 events_at_least "$tmp/events.jsonl" announced_move 12 || fails=$((fails + 1))

c='camwatch_collector_frames_total{collector="erspan0",result='
if wait_for "all 3731 frames counted by the collector" 10 metric_is "${c}\"mapped\"}" 3551; then
  ok "metrics: 3551 mirrored frames mapped"
else
  fail "collector frames in /metrics: mapped $(metric "${c}\"mapped\"}")"
fi
for pair in unmapped=152 not_mirrored=27 fragment=1 malformed=0 truncated=0; do
  metric_is "${c}\"${pair%=*}\"}" "${pair#*=}" && ok "metrics: ${pair%=*} ${pair#*=}" ||
    fail "metrics: ${pair%=*} is $(metric "${c}\"${pair%=*}\"}"), expected ${pair#*=}"
done
metric_is 'camwatch_collector_mirrored_frames_total{collector="erspan0",encap="erspan_ii"}' 3703 ||
  fail "metrics: erspan_ii frames $(metric 'camwatch_collector_mirrored_frames_total{collector="erspan0",encap="erspan_ii"}')"
metric_is 'camwatch_frames_total{uplink="vmnic2"}' 661 && metric_is 'camwatch_frames_total{uplink="vmnic3"}' 2890 &&
  ok "metrics: per uplink 661 and 2890 frames, as in the uplinks' own captures" ||
  fail "per-uplink frames: $(metric 'camwatch_frames_total{uplink="vmnic2"}') and $(metric 'camwatch_frames_total{uplink="vmnic3"}')"
metric_is 'camwatch_collector_dropped_frames_total{collector="erspan0",where="kernel"}' 0 || fail "kernel drops on the collector"
stop_daemon || fails=$((fails + 1))

"$camwatch" replay --collector "$capture" --config "$tmp/camwatch.toml" --events "$tmp/replay.jsonl" 2>/dev/null
if diff <(moves_of "$tmp/replay.jsonl") <(moves_of "$tmp/events.jsonl") >"$tmp/diff"; then
  ok "the live collector found the same $(moves_of "$tmp/events.jsonl" | wc -l) moves as the replay"
else
  fail "live moves differ from the replay (< replay, > live):"; cat "$tmp/diff"
fi
unmapped=$(grep -c "collector erspan0: frames of ERSPAN session 99 map to no uplink" "$tmp/run.log")
[ "$unmapped" -eq 1 ] && grep -q "add erspan_session = 99 to an \[\[uplink\]\]" "$tmp/run.log" &&
  ok "the unmapped session 99 is logged once, with the key to add" || fail "unmapped session logged $unmapped times"
grep -q "collector erspan0: 3731 frames: 3551 mapped, 152 unmapped, 27 not mirrored, 1 fragments, 0 malformed; 0 kernel drops" \
  "$tmp/run.log" && ok "the stop line accounts for every frame" || fail "stop line: $(grep 'collector erspan0: [0-9]' "$tmp/run.log")"
if grep -q '"vmnic2"\|"vmnic3"' "$tmp/events.jsonl" && ! grep -q 'uplink_down' "$tmp/events.jsonl"; then
  ok "events name the configured uplinks; no uplink_down for uplinks fed by a collector"
else
  fail "unexpected events: $(grep -v '_move' "$tmp/events.jsonl" | head -3)"
fi
echo "$fails failures"
[ $fails -eq 0 ]
