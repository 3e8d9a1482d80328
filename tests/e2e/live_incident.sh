#!/usr/bin/env bash
# Live equals replay: camwatch run captures two veth interfaces in a private network namespace
# while the incident is injected into them; it must find the same moves as `camwatch replay` of
# the same files. Then SIGTERM, restart from the saved table, inject only vmnic3's traffic: the
# moves are caught against the restored table and no station is learned anew.
set -uo pipefail
camwatch=$1 src=$2
inject=$(dirname "$camwatch")/../tools/camwatch-inject
tmp=$(mktemp -d)
. "$src/tests/e2e/lib_live.sh"
live_require
trap live_cleanup EXIT
live_setup v2 v3
write_config "$tmp/camwatch.toml" vmnic2=v2b vmnic3=v3b
fails=0

start_daemon "$tmp/camwatch.toml" "$tmp/run1.log" || exit 1
ip netns exec "$ns" "$inject" --speed 40 v2a="$src/pcaps/incident-vmnic2.pcap" v3a="$src/pcaps/incident-vmnic3.pcap" 2>"$tmp/inject.log" \
  || { echo "FAIL: injection failed"; cat "$tmp/inject.log"; exit 1; }
wait_for "4 silent moves in the events file" 20 events_at_least "$tmp/events.jsonl" silent_move 4 || fails=$((fails + 1))
wait_for "12 announced moves" 10 events_at_least "$tmp/events.jsonl" announced_move 12 || fails=$((fails + 1))
stop_daemon || fails=$((fails + 1))

"$camwatch" replay --uplink vmnic2="$src/pcaps/incident-vmnic2.pcap" --uplink vmnic3="$src/pcaps/incident-vmnic3.pcap" \
  --events "$tmp/replay.jsonl" 2>/dev/null
if diff <(moves_of "$tmp/replay.jsonl") <(moves_of "$tmp/events.jsonl") >"$tmp/diff"; then
  echo "ok:   live capture found the same $(moves_of "$tmp/events.jsonl" | wc -l) moves as the replay"
else
  echo "FAIL: live moves differ from replay (< replay, > live):"; cat "$tmp/diff"; fails=$((fails + 1))
fi
[ -s "$tmp/cam.state" ] || { echo "FAIL: no state file after SIGTERM"; fails=$((fails + 1)); }

# Restart: the table comes back; vmnic3's traffic alone moves vmnic2's stations again.
: >"$tmp/events.jsonl"
start_daemon "$tmp/camwatch.toml" "$tmp/run2.log" || exit 1
grep -q "restored 14 of 14 stations" "$tmp/run2.log" || { echo "FAIL: table not restored:"; cat "$tmp/run2.log"; fails=$((fails + 1)); }
ip netns exec "$ns" "$inject" --speed 40 --max-gap 0.5 v3a="$src/pcaps/incident-vmnic3.pcap" 2>>"$tmp/inject.log"
wait_for "the NLB hosts' silent moves after restart" 20 events_at_least "$tmp/events.jsonl" silent_move 2 || fails=$((fails + 1))
wait_for "the VMs' announced moves after restart" 10 events_at_least "$tmp/events.jsonl" announced_move 6 || fails=$((fails + 1))
stop_daemon || fails=$((fails + 1))
if grep -q "learned 0 new stations" "$tmp/run2.log"; then
  echo "ok:   after the restart no station was learned anew"
else
  echo "FAIL: stations were learned anew after the restart:"; tail -3 "$tmp/run2.log"; fails=$((fails + 1))
fi
echo "after restart: $(count_events "$tmp/events.jsonl" silent_move) silent, $(count_events "$tmp/events.jsonl" announced_move) announced"
[ "$(count_events "$tmp/events.jsonl" announced_move)" -eq 6 ] || { echo "FAIL: expected the 6 VMs' announced moves"; fails=$((fails + 1)); }
echo "$fails failures"
[ $fails -eq 0 ]
