#!/usr/bin/env bash
# kill -9 during a state write. A live camwatch learns STATIONS stations (default 200,000, an
# 8 MB state file; 50,000 in a sanitizer build) and saves them every second; a watcher waits for
# a save's temporary file to appear and SIGKILLs the daemon while it is being written, until
# KILLS (default 3) kills have landed mid-write (the temporary file is still there after the
# process is gone). Between kills 10,000 more stations arrive, so the table (and the file)
# changes from kill to kill. After each kill: the state file is the last complete save (its CRC
# checks, it loads), the restart restores exactly its stations, and the start removes the dead
# save's temporary file. (A power cut is not simulated: the fsync of the file and of its
# directory are for that.)
set -uo pipefail
camwatch=$1 src=$2
inject=$(dirname "$camwatch")/../tools/camwatch-inject
tmp=$(mktemp -d)
. "$src/tests/e2e/lib_live.sh"
live_require
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
trap live_cleanup EXIT
live_setup v2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
frames=$src/tests/e2e/lib_frames.py
kills_wanted=${KILLS:-3}
stations=${STATIONS:-200000}
sanitized_build && stations=${STATIONS:-50000}
state=$tmp/cam.state

write_config "$tmp/camwatch.toml" vmnic2=v2b
sed -i "s|^path = \"$state\"|path = \"$state\"\nsave_interval = \"1s\"|" "$tmp/camwatch.toml"
printf '[cam]\nmax_entries = %d\n' $((stations * 2)) >>"$tmp/camwatch.toml"
# One uplink, nothing to reorder: the shipped hold-back, so that ring and staging (2 x 65,536)
# hold the frames sent at top speed.
sed -i 's/^merge_holdback = .*/merge_holdback = "200ms"/' "$tmp/camwatch.toml"

# Station count in a state file's header (docs/STATE_FILE.md): after the names.
stations_in_file() {
  python3 - "$state" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
off = 24
for _ in range(struct.unpack_from("<I", b, 20)[0]):
    off += 2 + struct.unpack_from("<H", b, off)[0]
print(struct.unpack_from("<Q", b, off)[0])
PY
}

# SIGKILLs PID as soon as a temporary file of the state appears (after a random 0-3 ms, to
# land at different points of the write); prints "mid NAME BYTES" when the file is still there
# once the process is gone, "late" when the save had finished, "none" when no save began.
kill_during_save() {  # pid
  python3 - "$tmp" "cam.state.tmp-" "$1" <<'PY'
import os, random, signal, sys, time
directory, prefix, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    temps = [n for n in os.listdir(directory) if n.startswith(prefix)]
    if temps:
        time.sleep(random.uniform(0, 0.003))
        os.kill(pid, signal.SIGKILL)
        while os.path.exists("/proc/%d/status" % pid) and "zombie" not in open("/proc/%d/status" % pid).read():
            time.sleep(0.001)
        left = [n for n in os.listdir(directory) if n.startswith(prefix)]
        print("mid %s %d" % (left[0], os.path.getsize(os.path.join(directory, left[0]))) if left else "late")
        sys.exit(0)
    time.sleep(0.0002)
print("none")
PY
}

start_daemon "$tmp/camwatch.toml" "$tmp/run.log" || { cat "$tmp/run.log"; exit 1; }
python3 "$frames" flood "$tmp/stations.pcap" "$stations" 1 >/dev/null
ip netns exec "$ns" "$inject" --topspeed v2a="$tmp/stations.pcap" 2>"$tmp/inject.log" || { fail "inject"; cat "$tmp/inject.log"; }
saved_all() { [ -s "$state" ] && [ "$(stations_in_file)" = "$stations" ]; }
wait_for "a save of the $stations stations" 30 saved_all ||
  fail "the first save never came"

kills=0 landed=0 restored_ok=0 seed=2 last=0
while [ $landed -lt "$kills_wanted" ] && [ $kills -lt 20 ]; do
  # New stations, so that the save about to be killed differs from the file it would replace.
  python3 "$frames" flood "$tmp/more.pcap" 10000 $seed >/dev/null
  seed=$((seed + 1))
  ip netns exec "$ns" "$inject" --topspeed v2a="$tmp/more.pcap" 2>>"$tmp/inject.log" || fail "inject"
  sleep 0.3  # past the hold-back: the stations are in the table
  result=$(kill_during_save "$daemon_pid")
  kills=$((kills + 1))
  wait "$daemon_pid" 2>/dev/null
  daemon_pid=
  in_file=$(stations_in_file)
  echo "kill $kills: $result; the state file holds $in_file stations"
  case $result in
    mid*) landed=$((landed + 1)); temp=${result#mid }; temp=${temp%% *} ;;
    none) fail "no save began within 15 s"; break ;;
    *) temp= ;;
  esac
  : >"$tmp/restart.log"
  start_daemon "$tmp/camwatch.toml" "$tmp/restart.log" || { fail "no restart after kill $kills"; cat "$tmp/restart.log"; break; }
  if grep -q "restored $in_file of $in_file stations" "$tmp/restart.log" && ! grep -q "state file unusable" "$tmp/restart.log"; then
    restored_ok=$((restored_ok + 1))
    last=$in_file
  else
    fail "after kill $kills the restart did not restore the $in_file stations of the file:"; cat "$tmp/restart.log"
  fi
  if [ -n "$temp" ]; then
    if [ -e "$tmp/$temp" ]; then
      fail "the killed save's $temp is still there after the restart"
    elif grep -q "removed 1 temporary files of saves that were interrupted" "$tmp/restart.log"; then
      ok "kill $kills landed mid-write (${result##* } bytes of $temp written); restart restored the last good save ($in_file stations) and removed $temp"
    else
      fail "the restart did not say it removed $temp"
    fi
  fi
done
[ $landed -ge "$kills_wanted" ] || fail "only $landed of $kills kills landed during a write"
stop_daemon || fail "unclean stop"
[ -z "$(ls "$tmp" | grep 'cam\.state\.tmp-')" ] || fail "temporary files left after a clean stop: $(ls "$tmp")"
echo "FIGURES state_kill kills=$kills mid_write=$landed restarts_restored=$restored_ok/$kills stations=$last"
echo "$fails failures"
[ $fails -eq 0 ]
