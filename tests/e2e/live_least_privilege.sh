#!/usr/bin/env bash
# Least privilege, as the running daemon shows it (the drop to [daemon] user and exit 4 without
# CAP_NET_RAW are in live_ops.sh):
#  - with no [metrics] section the exporter listens on 127.0.0.1:9842 only: not reachable on the
#    namespace's other address;
#  - optional basic auth on /metrics, the password read from a file: 401 without it, 200 with;
#  - a password file every user can read is refused with a clear error: exit 6, for `run` and
#    `check-config`;
#  - files it creates, even under umask 000: events 0640, state 0600, control socket 0660;
#  - it never runs another program: no exec/system/popen/fork in the sources, none imported by
#    the binary, and under strace a whole run (start, capture, scrapes, `camwatch table`,
#    SIGHUP, stop) makes no execve and clones threads only.
set -uo pipefail
camwatch=$(realpath "$1") src=$(realpath "$2")
inject=$(dirname "$camwatch")/../tools/camwatch-inject
tmp=$(mktemp -d)
. "$src/tests/e2e/lib_live.sh"
live_require
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
trap live_cleanup EXIT
live_setup v2
chmod 0755 "$tmp"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
in_ns() { ip netns exec "$ns" "$@"; }
ip -n "$ns" addr add 10.99.0.1/24 dev v2a  # an address besides loopback that a scraper could try

# ---- the exporter's default address ----------------------------------------------------------
write_config "$tmp/camwatch.toml" vmnic2=v2b
start_daemon "$tmp/camwatch.toml" "$tmp/run.log" || { cat "$tmp/run.log"; exit 1; }
listening=$(in_ns ss -ltnH "sport = :9842" | awk '{print $4}' | sort -u | tr '\n' ' ')
if [ "$listening" = "127.0.0.1:9842 " ] && in_ns curl -fsS -o /dev/null http://127.0.0.1:9842/metrics &&
  ! in_ns curl -fsS --max-time 2 -o /dev/null http://10.99.0.1:9842/metrics 2>/dev/null; then
  ok "no [metrics] listen: the exporter is on 127.0.0.1:9842 only, not on 10.99.0.1"
else
  fail "default listen: sockets '$listening'"
fi
stop_daemon || fail "unclean stop"

# ---- basic auth, the password in a file ------------------------------------------------------
printf 's3cret-%s\n' "$RANDOM" >"$tmp/metrics.password"
chmod 0640 "$tmp/metrics.password"
password=$(head -1 "$tmp/metrics.password")
cat >>"$tmp/camwatch.toml" <<CFG
[metrics]
listen = "127.0.0.1:9842"
basic_auth_username = "prometheus"
basic_auth_password_file = "$tmp/metrics.password"
CFG
start_daemon "$tmp/camwatch.toml" "$tmp/auth.log" || { cat "$tmp/auth.log"; exit 1; }
code_none=$(in_ns curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9842/metrics)
code_wrong=$(in_ns curl -s -o /dev/null -w '%{http_code}' -u prometheus:wrong http://127.0.0.1:9842/metrics)
code_right=$(in_ns curl -s -o /dev/null -w '%{http_code}' -u "prometheus:$password" http://127.0.0.1:9842/metrics)
[ "$code_none $code_wrong $code_right" = "401 401 200" ] &&
  ok "basic auth: 401 without credentials, 401 with a wrong password, 200 with the one from the file" ||
  fail "basic auth answers: none $code_none, wrong $code_wrong, right $code_right"
stop_daemon || fail "unclean stop"

# ---- a secret every user can read is refused -------------------------------------------------
chmod 0644 "$tmp/metrics.password"
for cmd in run check-config; do
  rc=0
  in_ns "$camwatch" $cmd --config "$tmp/camwatch.toml" >"$tmp/refused.log" 2>&1 || rc=$?
  if [ $rc -eq 6 ] && grep -q "^camwatch: error: $tmp/metrics.password: metrics.basic_auth_password_file: the secret is readable by every user (mode 0644)" "$tmp/refused.log"; then
    ok "camwatch $cmd refuses a world-readable password file: exit 6, $(head -1 "$tmp/refused.log" | cut -c1-60)..."
  else
    fail "camwatch $cmd with a world-readable secret: exit $rc: $(cat "$tmp/refused.log")"
  fi
done
chmod 0640 "$tmp/metrics.password"

# ---- modes of the files it creates, whatever the umask ----------------------------------------
write_config "$tmp/camwatch.toml" vmnic2=v2b
rm -f "$tmp/events.jsonl" "$tmp/cam.state"
saved_umask=$(umask)
umask 000
start_daemon "$tmp/camwatch.toml" "$tmp/modes.log" || { cat "$tmp/modes.log"; exit 1; }
umask "$saved_umask"
in_ns "$inject" --topspeed v2a="$src/pcaps/incident-vmnic2.pcap" 2>/dev/null
sock_mode=$(stat -c %a "$tmp/control.sock" 2>/dev/null)
stop_daemon || fail "unclean stop"
events_mode=$(stat -c %a "$tmp/events.jsonl" 2>/dev/null) state_mode=$(stat -c %a "$tmp/cam.state" 2>/dev/null)
[ "$events_mode $state_mode $sock_mode" = "640 600 660" ] &&
  ok "under umask 000: events file 0640, state file 0600, control socket 0660" ||
  fail "modes under umask 000: events $events_mode, state $state_mode, socket $sock_mode"

# ---- no other program, ever -----------------------------------------------------------------
calls=$(grep -rnE '\b(system|popen|execl|execlp|execle|execv|execvp|execvpe|execve|execveat|fexecve|fork|vfork|posix_spawnp?|wordexp)[[:space:]]*\(' \
  "$src/daemon" "$src/capture" "$src/exporters" "$src/cam" --include='*.cc' --include='*.h' | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)
[ -z "$calls" ] && ok "the daemon's sources call no exec*, system, popen, fork or posix_spawn" || fail "process-spawning calls: $calls"
if command -v nm >/dev/null; then
  imported=$(nm -D --undefined-only "$camwatch" | awk '{print $NF}' | sed 's/@.*//' |
    grep -xE '(system|popen|execl|execlp|execle|execv|execvp|execvpe|execve|execveat|fexecve|fork|vfork|posix_spawnp?|wordexp)' || true)
  # Sanitizer runtimes bring their own interceptors for these: check only plain builds.
  if sanitized_build; then
    echo "skip: imported symbols of a sanitizer build (its runtime intercepts exec and fork)"
  else
    [ -z "$imported" ] && ok "the binary imports none of them" || fail "the binary imports: $imported"
  fi
fi
if command -v strace >/dev/null; then
  # LeakSanitizer cannot run under ptrace (it clones a tracer of its own at exit): off here.
  ip netns exec "$ns" env ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
    strace -f -qq -o "$tmp/strace.txt" -e trace=execve,execveat,fork,vfork,clone,clone3 \
    "$camwatch" run --config "$tmp/camwatch.toml" >"$tmp/strace-run.log" 2>&1 &
  daemon_pid=$!
  wait_for "daemon start under strace" 30 grep -q "started:" "$tmp/strace-run.log" || cat "$tmp/strace-run.log"
  in_ns "$inject" --topspeed v2a="$src/pcaps/incident-vmnic2.pcap" 2>/dev/null
  in_ns curl -fsS -o /dev/null http://127.0.0.1:9842/metrics || fail "scrape under strace"
  "$camwatch" table --socket "$tmp/control.sock" >/dev/null || fail "table under strace"
  pid=$(pgrep -f "^$camwatch run --config $tmp/camwatch.toml" | head -1)
  kill -HUP "$pid"
  wait_for "reload under strace" 20 grep -q "configuration reloaded" "$tmp/strace-run.log" || fail "no reload under strace"
  kill -TERM "$pid"
  wait "$daemon_pid" || fail "camwatch under strace exited $?"
  daemon_pid=
  execs=$(grep -cE 'execve(at)?\(' "$tmp/strace.txt")
  processes=$(grep -E '(fork|vfork|clone3?)\(' "$tmp/strace.txt" | grep -vc 'CLONE_THREAD')
  threads=$(grep -E 'clone3?\(' "$tmp/strace.txt" | grep -c 'CLONE_THREAD')
  if [ "$execs" = 1 ] && [ "$processes" = 0 ] && [ "$threads" -gt 0 ]; then
    ok "under strace: one execve (strace starting camwatch), $threads threads cloned, no other process"
  else
    fail "under strace: $execs execve, $processes non-thread clones/forks"; grep -E 'exec|fork|clone' "$tmp/strace.txt" | grep -v CLONE_THREAD | head
  fi
else
  echo "skip: strace is not installed (the run-time check of no execve)"
fi
echo "$fails failures"
[ $fails -eq 0 ]
