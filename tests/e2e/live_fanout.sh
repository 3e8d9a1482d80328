#!/usr/bin/env bash
# PACKET_FANOUT: every uplink captured by 4 threads on a veth with 4 queues, in a private network
# namespace. The incident is injected; every frame must be seen exactly once across an uplink's
# threads (their counts add up to the frames sent: none lost, none twice), more than one thread
# must have had frames, and the events must equal a replay of the same files. Then the group is
# handled as one unit: the interface goes down and up (one capture end, one restart of all 4
# threads), and a reload to 2 threads restarts it with 2.
set -uo pipefail
camwatch=$1 src=$2
inject=$(dirname "$camwatch")/../tools/camwatch-inject
tmp=$(mktemp -d)
. "$src/tests/e2e/lib_live.sh"
live_require
trap live_cleanup EXIT
live_setup  # the namespace alone; the veths get 4 queues each way
for name in v2 v3; do
  ip -n "$ns" link add "${name}a" numtxqueues 4 numrxqueues 4 type veth peer name "${name}b" numtxqueues 4 numrxqueues 4
  ip -n "$ns" link set "${name}a" up
  ip -n "$ns" link set "${name}b" up
done
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
[ "$(ip -n "$ns" -d link show v3b | grep -o 'numrxqueues [0-9]*')" = "numrxqueues 4" ] && ok "v3b has 4 receive queues" ||
  fail "v3b: $(ip -n "$ns" -d link show v3b)"
write_config "$tmp/camwatch.toml" vmnic2=v2b vmnic3=v3b
sed -i 's/^\[capture\]$/[capture]\nthreads_per_interface = 4/' "$tmp/camwatch.toml"

start_daemon "$tmp/camwatch.toml" "$tmp/run.log" || exit 1
grep -q "uplink vmnic3: capturing on v3b with 4 threads (PACKET_FANOUT group [0-9]*)" "$tmp/run.log" &&
  ok "4 capture threads joined in a PACKET_FANOUT group per uplink" || fail "no fanout group: $(cat "$tmp/run.log")"
ip netns exec "$ns" "$inject" --speed 40 v2a="$src/pcaps/incident-vmnic2.pcap" v3a="$src/pcaps/incident-vmnic3.pcap" \
  2>"$tmp/inject.log" || { echo "FAIL: injection failed"; cat "$tmp/inject.log"; exit 1; }
wait_for "4 silent moves" 20 events_at_least "$tmp/events.jsonl" silent_move 4 || fails=$((fails + 1))
wait_for "12 announced moves" 10 events_at_least "$tmp/events.jsonl" announced_move 12 || fails=$((fails + 1))
cp "$tmp/events.jsonl" "$tmp/incident-events.jsonl"

# The group as one unit: down and up again, then a reload to 2 threads.
ip -n "$ns" link set v3b down
wait_for "the capture of v3b to end" 10 grep -q "uplink vmnic3: capture on v3b ended" "$tmp/run.log" || fails=$((fails + 1))
ip -n "$ns" link set v3b up
wait_for "v3b captured again" 10 lines_at_least "$tmp/run.log" "uplink vmnic3: capturing on v3b with 4 threads" 2 ||
  fails=$((fails + 1))
[ "$(grep -c "uplink vmnic3: capture on v3b ended" "$tmp/run.log")" -eq 1 ] &&
  ok "the interface going down ended the group once; it reopened as a group of 4" ||
  fail "capture ends logged: $(grep -c "capture on v3b ended" "$tmp/run.log")"
wait_for "uplink_down and uplink_up" 10 events_at_least "$tmp/events.jsonl" uplink_up 1 || fails=$((fails + 1))
sed -i 's/^threads_per_interface = 4$/threads_per_interface = 2/' "$tmp/camwatch.toml"
kill -HUP "$daemon_pid"
wait_for "the reload" 10 grep -q "configuration reloaded" "$tmp/run.log" || fails=$((fails + 1))
wait_for "2 threads after the reload" 10 lines_at_least "$tmp/run.log" "uplink vmnic2: capturing on v2b with 2 threads" 1 &&
  ok "a reload to threads_per_interface = 2 restarted the group with 2 threads" || fails=$((fails + 1))
stop_daemon || fails=$((fails + 1))

# Exactly once: each uplink's threads add up to the frames of its file.
for pair in vmnic2:661 vmnic3:2890; do
  uplink=${pair%:*} sent=${pair#*:}
  line=$(grep "uplink $uplink: [0-9]* frames" "$tmp/run.log" | tail -1)
  if python3 - "$line" "$sent" <<'PY'
import re, sys
line, sent = sys.argv[1], int(sys.argv[2])
total = int(re.search(r": (\d+) frames,", line).group(1))
drops = [int(n) for n in re.findall(r"(\d+) (?:kernel|interface|ring) drops", line)]
threads = [int(n) for n in re.search(r"threads: ([\d + ]+) frames\)", line).group(1).split(" + ")]
ok = total == sent and sum(threads) == sent and sum(drops) == 0 and sum(1 for t in threads if t > 0) >= (2 if sent > 1000 else 1)
print(f"{total} frames of {sent} sent, per thread {threads}, drops {drops}")
sys.exit(0 if ok else 1)
PY
  then
    ok "$uplink: every frame exactly once across its threads"
  else
    fail "$uplink: $line"
  fi
done

"$camwatch" replay --uplink vmnic2="$src/pcaps/incident-vmnic2.pcap" --uplink vmnic3="$src/pcaps/incident-vmnic3.pcap" \
  --events "$tmp/replay.jsonl" 2>/dev/null
if diff <(moves_of "$tmp/replay.jsonl") <(moves_of "$tmp/incident-events.jsonl") >"$tmp/diff"; then
  ok "4 threads per uplink found the same $(moves_of "$tmp/replay.jsonl" | wc -l) moves as the replay"
else
  fail "live moves differ from the replay (< replay, > live):"; cat "$tmp/diff"
fi
echo "$fails failures"
[ $fails -eq 0 ]
