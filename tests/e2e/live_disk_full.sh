#!/usr/bin/env bash
# A full disk under the events file and the state file. Both live on a 1 MiB tmpfs mounted in
# this test's own mount namespace; a filler file takes every free block while stations keep
# moving. Asserts: capture and detection go on (every frame counted, every move in the
# metrics), the failures are counted (camwatch_event_write_errors_total, camwatch_event_backlog,
# camwatch_state_saves_total{result="failure"}) and logged a few times, not once per event or
# save; the events file never holds half a line; once the filler is removed the held events are
# written, in order, and a save succeeds: nothing was lost. Then the disk fills again and the
# daemon is stopped while it is full: the events it could not write are said to be lost, the
# file still ends with a whole line, the last good state file is untouched and a restart loads
# it.
set -uo pipefail
camwatch=$(realpath "$1") src=$(realpath "$2")
inject=$(dirname "$camwatch")/../tools/camwatch-inject
. "$src/tests/e2e/lib_live.sh"
live_require
for tool in unshare mount python3 curl dd; do command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }; done
# The tmpfs must not appear on the host: run the rest in a private mount namespace, which the
# network namespace's processes (ip netns exec) inherit.
if [ -z "${CAMWATCH_E2E_PRIVATE_MOUNTS:-}" ]; then
  CAMWATCH_E2E_PRIVATE_MOUNTS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
tmp=$(mktemp -d)
disk=$tmp/disk
mkdir "$disk"
mount -t tmpfs -o size=1m,mode=0755 camwatch-e2e "$disk" || { echo "SKIP: cannot mount a tmpfs"; exit 77; }
cleanup() {
  umount "$disk" 2>/dev/null
  live_cleanup
}
trap cleanup EXIT
live_setup v2 v3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
frames=$src/tests/e2e/lib_frames.py
events=$disk/events.jsonl
state=$disk/cam.state

write_config "$tmp/camwatch.toml" vmnic2=v2b vmnic3=v3b
sed -i -e "s|^path = \"$tmp/events.jsonl\"|path = \"$events\"|" \
  -e "s|^path = \"$tmp/cam.state\"|path = \"$state\"\nsave_interval = \"1s\"|" "$tmp/camwatch.toml"
# The counts below are of move events only: a failover story (traffic_stopped, told when the
# daemon stops) would add an event whose presence depends on how the two injectors interleave.
printf '\n[detection]\nfailover_stories = false\n' >>"$tmp/camwatch.toml"
"$camwatch" check-config --config "$tmp/camwatch.toml" >/dev/null || { echo "FAIL: test config"; cat "$tmp/camwatch.toml"; exit 1; }

metrics() { ip netns exec "$ns" curl -fsS --max-time 5 http://127.0.0.1:9842/metrics; }
metric() { metrics | awk -v m="$1" '$1 == m {print $2}'; }
metric_sum() { metrics | awk -v m="$1" 'index($1, m) == 1 {s += $2} END {print s + 0}'; }
at_least() { python3 -c "import sys; sys.exit(0 if float('${1:-0}') >= float('$2') else 1)"; }
metric_at_least() { at_least "$(metric "$1")" "$2"; }
sum_at_least() { at_least "$(metric_sum "$1")" "$2"; }
# Every line a JSON event with the SPEC keys, the file ending in a newline; prints the count.
check_events_file() {
  python3 - "$events" <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
if data and not data.endswith(b"\n"):
    sys.exit("half a line at the end: %r" % data[-60:])
n = 0
for i, line in enumerate(data.split(b"\n")[:-1]):
    try:
        e = json.loads(line)
        assert {"event", "time", "mac", "vlan"} <= set(e)
    except Exception as err:
        sys.exit("line %d is not an event (%s): %r" % (i + 1, err, line[:80]))
    n += 1
print(n)
PY
}
# The silent moves of stations FIRST..FIRST+COUNT-1 (lib_frames.py moves), in order, once each.
moves_in_order() {  # first, count
  python3 - "$events" "$1" "$2" <<'PY'
import json, sys
path, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
want = ["02:4d:00:%02x:%02x:%02x" % ((i >> 16) & 255, (i >> 8) & 255, i & 255) for i in range(first, first + count)]
got = [e["mac"] for e in map(json.loads, open(path)) if e["event"] == "silent_move" and e["mac"] in set(want)]
sys.exit(0 if got == want else "moves %d..%d: %d in the file, in order: %s" % (first, first + count - 1, len(got), got == sorted(got)))
PY
}
play_moves() {  # first, count: stations first.. heard on vmnic2, then on vmnic3; adds to $sent
  python3 "$frames" moves "$tmp/a.pcap" "$tmp/b.pcap" "$2" "$1" >/dev/null
  ip netns exec "$ns" "$inject" --topspeed v2a="$tmp/a.pcap" v3a="$tmp/b.pcap" 2>>"$tmp/inject.log" || fail "inject"
  sent=$((sent + 2 * $2))
}
fill_disk() { dd if=/dev/zero of="$disk/filler" bs=4k 2>/dev/null; sync; }
sent=0

start_daemon "$tmp/camwatch.toml" "$tmp/run.log" || { cat "$tmp/run.log"; exit 1; }
play_moves 0 50
wait_for "50 moves written" 15 events_at_least "$events" silent_move 50 || fail "round 1 not written"
wait_for "a state save" 10 metric_at_least 'camwatch_state_saves_total{result="success"}' 1 || fail "no save"
echo "before: $(check_events_file) events, $(stat -c %s "$events") bytes; state $(stat -c %s "$state") bytes"

# ---- the disk fills up; stations keep moving ---------------------------------------------------
fill_disk
saves_failed_before=$(metric 'camwatch_state_saves_total{result="failure"}')
play_moves 50 300
wait_for "the moves to be decided" 15 sum_at_least camwatch_silent_moves_total 350 || fail "moves not decided on a full disk"
wait_for "three failed saves" 10 metric_at_least 'camwatch_state_saves_total{result="failure"}' $((saves_failed_before + 3)) ||
  fail "saves did not fail (is the disk full?)"
metrics >"$tmp/m-full.txt"
m() { awk -v m="$1" '$1 == m {print $2}' "$tmp/m-full.txt"; }
seen=$(awk '$1 ~ /^camwatch_frames_total/ {s += $2} END {print s + 0}' "$tmp/m-full.txt") sent_full=$sent
[ "$seen" = "$sent" ] && ok "capture went on: $seen of $sent frames counted on a full disk" || fail "$seen of $sent frames counted"
errors=$(m camwatch_event_write_errors_total) backlog=$(m camwatch_event_backlog) dropped=$(m camwatch_events_dropped_total)
at_least "$errors" 1 && at_least "$backlog" 1 && [ "$dropped" = 0 ] &&
  ok "write failures counted: camwatch_event_write_errors_total $errors, camwatch_event_backlog $backlog, dropped $dropped" ||
  fail "metrics on a full disk: errors $errors, backlog $backlog, dropped $dropped"
echo "state saves: $(m 'camwatch_state_saves_total{result="failure"}') failed, $(m 'camwatch_state_saves_total{result="success"}') succeeded"
n=$(check_events_file) && ok "while full, the events file holds $n whole events and no half line" || fail "events file on a full disk: $n"
event_lines=$(grep -c "events file $events: write failed: No space left on device" "$tmp/run.log")
save_lines=$(grep -c "saving the table failed: .*No space left on device" "$tmp/run.log")
saves_failed=$(metric 'camwatch_state_saves_total{result="failure"}')  # after the log: never fewer than it shows
# One line when the events file starts failing (a reminder a minute later); a failed save is
# logged the first time and then every tenth time in a row.
[ "$event_lines" = 1 ] && [ "$save_lines" -ge 1 ] && [ "$save_lines" -le $((1 + ${saves_failed%.*} / 10)) ] &&
  ok "logged rate-limited: $event_lines events-file line for $errors failed events, $save_lines state line(s) for $saves_failed failed saves" ||
  fail "log lines on a full disk: $event_lines events, $save_lines state for $saves_failed failed saves"
kill -0 "$daemon_pid" || fail "the daemon died on a full disk"

# ---- space returns ---------------------------------------------------------------------------
rm -f "$disk/filler"
backlog_empty() { [ "$(metric camwatch_event_backlog)" = 0 ]; }
wait_for "the backlog to drain" 10 backlog_empty ||
  fail "backlog not written after space returned"
saves_ok=$(metric 'camwatch_state_saves_total{result="success"}')
wait_for "a save after space returned" 10 metric_at_least 'camwatch_state_saves_total{result="success"}' $((${saves_ok%.*} + 1)) ||
  fail "no save after space returned"
n=$(check_events_file) || fail "events file after recovery: $n"
if [ "$n" = 350 ] && moves_in_order 0 350; then
  ok "after space returned: all 350 events in the file, in order, each once; nothing lost"
else
  fail "after space returned the file holds $n events"
fi
grep -q "events file $events: writable again; [0-9]* held events written, 0 dropped" "$tmp/run.log" &&
  ok "$(grep -o 'events file .*: writable again.*' "$tmp/run.log")" || fail "no recovery line in the log"
stations=$("$camwatch" table --state "$state" --json | wc -l)
[ "$stations" = 350 ] && ok "the state file saved after recovery loads: $stations stations" || fail "state file holds $stations stations"

# ---- full again, and stopped while full ------------------------------------------------------
# 100 more moves: more than the events file's last block has room for.
fill_disk
play_moves 350 100
wait_for "the last moves to be decided" 15 sum_at_least camwatch_silent_moves_total 450 || fail "round 3 not decided"
sleep 1.2  # at least one periodic save fails on the full disk
stop_daemon || fail "unclean stop on a full disk"
lost=$(sed -n "s|.*events file $events: \([0-9]*\) events could not be written (No space left on device) and are lost.*|\1|p" "$tmp/run.log")
n=$(check_events_file) || fail "events file after a stop on a full disk: $n"
if [ -n "$lost" ] && [ "$((n + lost))" = 450 ] && moves_in_order 0 "$n"; then
  ok "stopped while full: $n events in the file, each line whole and in order; the $lost unwritten ones are reported lost"
else
  fail "stopped while full: $n events in the file, ${lost:-no} reported lost"; tail -5 "$tmp/run.log"
fi
grep -q "saving the table failed: .*No space left on device; the next start loads the last good save" "$tmp/run.log" &&
  grep -q "stopped: 450 stations NOT saved" "$tmp/run.log" && ok "the failed save at stop is reported" ||
  fail "the failed save at stop is not reported"
rm -f "$disk/filler"
[ -z "$(ls "$disk" | grep '\.tmp-')" ] || fail "temporary state files left: $(ls "$disk")"
start_daemon "$tmp/camwatch.toml" "$tmp/run2.log" || fail "restart"
grep -q "restored 350 of 350 stations" "$tmp/run2.log" && ok "restart loads the last good state: $(grep -o 'restored .*' "$tmp/run2.log")" ||
  { fail "restart did not restore the last good state"; cat "$tmp/run2.log"; }
stop_daemon || fail "unclean stop"
echo "FIGURES disk_full frames_sent=$sent_full frames_seen=$seen events_failed=$errors events_held=$backlog events_dropped=$dropped" \
  "events_in_file=350/350 state_saves_failed=$(awk '$1 == "camwatch_state_saves_total{result=\"failure\"}" {print $2}' "$tmp/m-full.txt")" \
  "log_lines=$event_lines+$save_lines"
echo "$fails failures"
[ $fails -eq 0 ]
