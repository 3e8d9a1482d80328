#!/usr/bin/env bash
# A burst of SIGHUPs while capturing: 200 SIGHUPs 0-40 ms apart, the configuration switching
# each time between two good variants and a broken one, while 500 stations move silently
# between the uplinks, one every 10 ms, all through the burst. Asserts: the daemon survives,
# applies the good files and refuses the broken one (SIGHUPs that arrive while one is pending
# merge into one reload), ends on the good configuration, counts every frame, catches all 500
# moves in order, and holds no more file descriptors than before (the events file is reopened
# on every reload).
set -uo pipefail
camwatch=$1 src=$2
inject=$(dirname "$camwatch")/../tools/camwatch-inject
tmp=$(mktemp -d)
. "$src/tests/e2e/lib_live.sh"
live_require
for tool in python3 curl; do command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }; done
trap live_cleanup EXIT
live_setup v2 v3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
signals=${SIGHUPS:-200}

write_config "$tmp/good-a.toml" vmnic2=v2b vmnic3=v3b
cp "$tmp/good-a.toml" "$tmp/good-b.toml"
printf '[detection]\nnotify_window_after = "3s"\n' >>"$tmp/good-b.toml"
cp "$tmp/good-a.toml" "$tmp/broken.toml"
printf '[detection]\nnotify_window_after = "soon"\n' >>"$tmp/broken.toml"
cp "$tmp/good-a.toml" "$tmp/camwatch.toml"
# Station i: on vmnic2 at i x 10 ms, on vmnic3 5 ms later.
for i in $(seq 0 499); do printf '%d 02:4d:00:00:%02x:%02x udp\n' $((i * 10000)) $((i >> 8)) $((i & 255)); done |
  python3 "$src/tests/e2e/lib_frames.py" script "$tmp/a.pcap" >/dev/null
for i in $(seq 0 499); do printf '%d 02:4d:00:00:%02x:%02x udp\n' $((i * 10000 + 5000)) $((i >> 8)) $((i & 255)); done |
  python3 "$src/tests/e2e/lib_frames.py" script "$tmp/b.pcap" >/dev/null
metrics() { ip netns exec "$ns" curl -fsS --max-time 5 http://127.0.0.1:9842/metrics; }
metric() { metrics | awk -v m="$1" '$1 == m {print $2}'; }

start_daemon "$tmp/camwatch.toml" "$tmp/run.log" || { cat "$tmp/run.log"; exit 1; }
fds_before=$(ls "/proc/$daemon_pid/fd" | wc -l)

( for i in $(seq "$signals"); do
    case $((i % 3)) in 0) cp "$tmp/good-a.toml" "$tmp/camwatch.toml" ;; 1) cp "$tmp/good-b.toml" "$tmp/camwatch.toml" ;;
      2) cp "$tmp/broken.toml" "$tmp/camwatch.toml" ;; esac
    kill -HUP "$daemon_pid" 2>/dev/null || exit 1
    sleep 0.0$((RANDOM % 5))
  done ) &
burst=$!
ip netns exec "$ns" "$inject" v2a="$tmp/a.pcap" v3a="$tmp/b.pcap" 2>"$tmp/inject.log" || fail "inject"
wait $burst || fail "the daemon was gone before the burst ended"
cp "$tmp/good-a.toml" "$tmp/camwatch.toml"
kill -HUP "$daemon_pid"
last_reload_ok() { [ "$(metric camwatch_config_last_reload_successful)" = 1 ]; }
wait_for "the last (good) reload" 10 last_reload_ok || fail "did not end on the good configuration"
kill -0 "$daemon_pid" 2>/dev/null && ok "survived $signals SIGHUPs while capturing" || { fail "died in the SIGHUP burst"; tail "$tmp/run.log"; exit 1; }
wait_for "500 moves" 15 events_at_least "$tmp/events.jsonl" silent_move 500 || true  # the last ones' notify window
metrics >"$tmp/metrics.txt"
ok_reloads=$(awk '$1 == "camwatch_config_reloads_total{result=\"success\"}" {print $2}' "$tmp/metrics.txt")
bad_reloads=$(awk '$1 == "camwatch_config_reloads_total{result=\"failure\"}" {print $2}' "$tmp/metrics.txt")
seen=$(awk '$1 ~ /^camwatch_frames_total/ {s += $2} END {print s + 0}' "$tmp/metrics.txt")
fds_after=$(ls "/proc/$daemon_pid/fd" | wc -l)
echo "reloads: $ok_reloads applied, $bad_reloads refused (broken file), for $((signals + 1)) SIGHUPs"
[ "${ok_reloads%.*}" -ge 10 ] && [ "${bad_reloads%.*}" -ge 1 ] && ok "reloads applied and refused during the burst" || fail "too few reloads"
[ "$seen" = 1000 ] && ok "every frame counted (1000)" || fail "$seen of 1000 frames counted"
python3 - "$tmp/events.jsonl" <<'PY' && ok "all 500 silent moves caught, in order" || fail "moves lost or reordered in the burst"
import json, sys
want = ["02:4d:00:%02x:%02x:%02x" % ((i >> 16) & 255, (i >> 8) & 255, i & 255) for i in range(500)]
got = [e["mac"] for e in map(json.loads, open(sys.argv[1])) if e["event"] == "silent_move"]
print("      %d silent moves" % len(got))
sys.exit(0 if got == want else 1)
PY
[ "$fds_after" -le "$fds_before" ] && ok "open descriptors: $fds_before before, $fds_after after" || fail "descriptors leaked: $fds_before -> $fds_after"
stop_daemon || fail "unclean stop after the burst"
echo "FIGURES sighup_burst sighups=$((signals + 1)) reloads_ok=$ok_reloads reloads_refused=$bad_reloads frames=$seen/1000 moves=$(count_events "$tmp/events.jsonl" silent_move)/500 fds=$fds_before/$fds_after"
echo "$fails failures"
[ $fails -eq 0 ]
