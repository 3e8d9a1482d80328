#!/usr/bin/env bash
# Operating the daemon: SIGHUP reload (thresholds, uplinks added and removed, a broken file
# keeps the running configuration), the events file reopened after logrotate moved it, a
# corrupt state file moved aside at start, privileges dropped to a configured user, exit 4
# without permission to capture, and the sd_notify protocol (READY, STATUS, WATCHDOG).
set -uo pipefail
camwatch=$1 src=$2
inject=$(dirname "$camwatch")/../tools/camwatch-inject
tmp=$(mktemp -d)
. "$src/tests/e2e/lib_live.sh"
live_require
trap live_cleanup EXIT
live_setup v2 v3
chmod 0755 "$tmp"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }

# --- a corrupt state file is moved aside; the daemon starts with an empty table -------------
write_config "$tmp/camwatch.toml" vmnic2=v2b
printf 'CAMWSTAT garbage' >"$tmp/cam.state"
start_daemon "$tmp/camwatch.toml" "$tmp/run.log" || exit 1
if grep -q "state file unusable" "$tmp/run.log" && ls "$tmp"/cam.state.corrupt-* >/dev/null 2>&1; then
  ok "corrupt state file reported and moved aside"
else
  fail "corrupt state not moved aside"; cat "$tmp/run.log"
fi

# --- SIGHUP: add vmnic3, change a threshold; the table is kept -----------------------------
ip netns exec "$ns" "$inject" --topspeed v2a="$src/pcaps/incident-vmnic2.pcap" 2>/dev/null
write_config "$tmp/camwatch.toml" vmnic2=v2b vmnic3=v3b
printf '[detection]\nnotify_window_after = "3s"\n' >>"$tmp/camwatch.toml"
kill -HUP "$daemon_pid"
wait_for "reload" 10 grep -q "configuration reloaded" "$tmp/run.log" || fail "no reload"
wait_for "capture on the added uplink" 10 grep -q "uplink vmnic3: capturing on v3b" "$tmp/run.log" || fail "vmnic3 not started"
ip netns exec "$ns" "$inject" --topspeed v3a="$src/pcaps/incident-vmnic3.pcap" 2>/dev/null
if wait_for "moves onto the added uplink" 10 events_at_least "$tmp/events.jsonl" silent_move 2; then
  ok "uplink added by SIGHUP captures, and moves against the table learned before the reload are caught"
else
  fail "no moves after adding vmnic3"
fi

# --- logrotate: move the events file away, SIGHUP, new events go to a new file --------------
mv "$tmp/events.jsonl" "$tmp/events.jsonl.1"
kill -HUP "$daemon_pid"
wait_for "second reload" 10 lines_at_least "$tmp/run.log" "configuration reloaded" 2 || fail "no second reload"
ip netns exec "$ns" "$inject" --topspeed v2a="$src/pcaps/incident-vmnic2.pcap" 2>/dev/null
if wait_for "events in the reopened file" 10 test -s "$tmp/events.jsonl"; then
  ok "events file reopened after logrotate"
else
  fail "events not written to the reopened file"
fi

# --- a broken reload keeps the running configuration ----------------------------------------
cp "$tmp/camwatch.toml" "$tmp/good.toml"
sed -i 's/notify_window_after = "3s"/notify_window_after = "soon"/' "$tmp/camwatch.toml"
kill -HUP "$daemon_pid"
if wait_for "reload refusal" 10 grep -q "reload failed, keeping the running configuration: .*camwatch.toml:[0-9]*: " "$tmp/run.log"; then
  ok "broken reload refused with file, line and key; still running"
else
  fail "broken reload not reported"; tail -3 "$tmp/run.log"
fi
kill -0 "$daemon_pid" 2>/dev/null || fail "daemon died on a broken reload"
for _ in 1 2 3 4 5; do kill -HUP "$daemon_pid"; done  # a burst of SIGHUPs
sleep 0.5
kill -0 "$daemon_pid" 2>/dev/null && ok "survived a burst of SIGHUPs" || fail "died on a SIGHUP burst"
cp "$tmp/good.toml" "$tmp/camwatch.toml"
stop_daemon || fail "unclean stop"

# --- privileges: started as root with [daemon] user, keeps only CAP_NET_RAW ----------------
write_config "$tmp/camwatch.toml" vmnic2=v2b
printf 'user = "nobody"\n' >>"$tmp/camwatch.toml"  # write_config ends in [daemon]
chown nobody "$tmp" "$tmp/events.jsonl" "$tmp/cam.state" 2>/dev/null
start_daemon "$tmp/camwatch.toml" "$tmp/priv.log" || exit 1
status=/proc/$(pgrep -f "camwatch run --config $tmp/camwatch.toml" | head -1)/status
uid=$(awk '/^Uid:/ {print $3}' "$status")
capeff=$(awk '/^CapEff:/ {print $2}' "$status")
capprm=$(awk '/^CapPrm:/ {print $2}' "$status")
capbnd=$(awk '/^CapBnd:/ {print $2}' "$status")
# CAP_NET_RAW is bit 13: 0x2000. The bounding set is emptied: nothing can be regained.
if [ "$uid" = "$(id -u nobody)" ] && [ "$capeff" = "0000000000002000" ] && [ "$capprm" = "0000000000002000" ] &&
  [ "$capbnd" = "0000000000000000" ]; then
  ok "runs as nobody with CAP_NET_RAW only (CapEff $capeff, CapBnd $capbnd)"
else
  fail "privileges not dropped: uid $uid CapEff $capeff CapPrm $capprm CapBnd $capbnd"
fi
ip netns exec "$ns" "$inject" --topspeed v2a="$src/pcaps/incident-vmnic2.pcap" 2>/dev/null
stop_daemon || fail "unclean stop after dropping privileges"
grep -q "uplink vmnic2: 661 frames" "$tmp/priv.log" && ok "captured after dropping privileges" || { fail "no capture as nobody"; grep "uplink vmnic2:" "$tmp/priv.log"; }

# --- no permission to capture: exit 4 --------------------------------------------------------
if command -v setpriv >/dev/null; then
  write_config "$tmp/camwatch.toml" vmnic2=v2b
  rc=0
  ip netns exec "$ns" setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
    "$camwatch" run --config "$tmp/camwatch.toml" >"$tmp/noperm.log" 2>&1 || rc=$?
  if [ $rc -eq 4 ] && grep -q "camwatch: error: .*CAP_NET_RAW" "$tmp/noperm.log"; then
    ok "exit 4 with a clear message without CAP_NET_RAW"
  else
    fail "without permission: exit $rc"; cat "$tmp/noperm.log"
  fi
fi

# --- sd_notify: READY=1, STATUS=, WATCHDOG=1 on a notify socket ------------------------------
sock=$tmp/notify.sock
python3 - "$sock" >"$tmp/notify.txt" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(8)
end = time.time() + 8
seen = set()
while time.time() < end and not {"READY=1", "WATCHDOG=1", "STATUS"} <= seen:
    try:
        msg = s.recv(4096).decode()
    except socket.timeout:
        break
    for line in msg.split("\n"):
        seen.add("STATUS" if line.startswith("STATUS=") else line)
print(" ".join(sorted(seen)))
PY
listener=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$sock WATCHDOG_USEC=400000 ip netns exec "$ns" env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=400000 \
  "$camwatch" run --config "$tmp/camwatch.toml" >>"$tmp/notify.log" 2>&1 &
daemon_pid=$!
wait "$listener"
stop_daemon || fail "unclean stop under notify"
if grep -q "READY=1" "$tmp/notify.txt" && grep -q "WATCHDOG=1" "$tmp/notify.txt" && grep -q "STATUS" "$tmp/notify.txt"; then
  ok "sd_notify: $(cat "$tmp/notify.txt")"
else
  fail "sd_notify messages missing: $(cat "$tmp/notify.txt")"
fi

echo "$fails failures"
[ $fails -eq 0 ]
