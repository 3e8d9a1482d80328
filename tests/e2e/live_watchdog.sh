#!/usr/bin/env bash
# The systemd watchdog, tested as systemd runs it (there is no systemd as PID 1 here): a fake
# systemd (tests/e2e/lib_watchdog.py) owns NOTIFY_SOCKET, starts `camwatch run` with
# WATCHDOG_USEC=2000000 and WATCHDOG_PID, and sends SIGABRT when no WATCHDOG=1 came for 2 s.
#  1. Events to stdout, a pipe the supervisor reads. Healthy: WATCHDOG=1 at least every 1.6 s,
#     events arrive. Then it stops reading: the tracker loop blocks in write(2) (stdout is left
#     blocking: it is shared with stderr), the pings stop, /metrics still answers but
#     camwatch_last_update_timestamp_seconds goes stale, SIGABRT kills the daemon, and the
#     restarted daemon is healthy again with its table restored.
#  2. Events to a FIFO the supervisor stops reading: the events file is opened non-blocking, so
#     the loop goes on (pings continue, no SIGABRT), events wait in camwatch_event_backlog, and
#     all of them arrive, in order, once the reader reads again.
set -uo pipefail
camwatch=$(realpath "$1") src=$(realpath "$2")
inject=$(dirname "$camwatch")/../tools/camwatch-inject
tmp=$(mktemp -d)
. "$src/tests/e2e/lib_live.sh"
live_require
for tool in python3 curl; do command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }; done
trap live_cleanup EXIT
live_setup v2 v3
write_config "$tmp/camwatch.toml" vmnic2=v2b vmnic3=v3b
sed -i -e "s|^path = \"$tmp/events.jsonl\"|path = \"-\"|" \
  -e "s|^path = \"$tmp/cam.state\"|path = \"$tmp/cam.state\"\nsave_interval = \"1s\"|" "$tmp/camwatch.toml"
sed "s|^path = \"-\"|path = \"$tmp/events.fifo\"|" "$tmp/camwatch.toml" >"$tmp/camwatch-fifo.toml"
rc=0
python3 "$src/tests/e2e/lib_watchdog.py" stdout "$ns" "$camwatch" "$inject" "$src/tests/e2e/lib_frames.py" "$tmp" || rc=1
python3 "$src/tests/e2e/lib_watchdog.py" fifo "$ns" "$camwatch" "$inject" "$src/tests/e2e/lib_frames.py" "$tmp" || rc=1
if [ $rc -ne 0 ]; then echo "--- daemon log"; tail -20 "$tmp/run.log"; tail -20 "$tmp/fifo.log" 2>/dev/null; fi
exit $rc
