# Shared helpers for the live end-to-end tests (sourced, not a test itself).
# Everything happens inside a network namespace this script creates and deletes: veth pairs
# and traffic never touch the host's interfaces.

live_require() {  # skips (77) unless root with ip(8) and the injector
  if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root to create network namespaces and capture"; exit 77; fi
  command -v ip >/dev/null || { echo "SKIP: ip (iproute2) is not installed"; exit 77; }
  [ -x "$inject" ] || { echo "SKIP: camwatch-inject not built at $inject"; exit 77; }
}

sanitized_build() {  # true when $camwatch carries a sanitizer runtime (ASan or TSan): slower, more memory
  grep -qa -e __asan_init -e __tsan_init "$camwatch"
}

live_setup() {  # creates the namespace $ns with veth pairs: for each NAME, NAMEa (inject) <-> NAMEb (capture)
  ns=camwatch-e2e-$$-$RANDOM
  ip netns add "$ns"
  # No IPv6 on the test links: the kernel's own router solicitations and MLD reports from the
  # veths would be extra stations that a replay of the same captures does not have.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
  for name in "$@"; do
    ip -n "$ns" link add "${name}a" type veth peer name "${name}b"
    ip -n "$ns" link set "${name}a" up
    ip -n "$ns" link set "${name}b" up
  done
  ip -n "$ns" link set lo up
}

live_cleanup() {
  if [ -n "${daemon_pid:-}" ] && kill -0 "$daemon_pid" 2>/dev/null; then kill -KILL "$daemon_pid" 2>/dev/null; fi
  [ -n "${ns:-}" ] && ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}

start_daemon() {  # config, log file
  ip netns exec "$ns" "$camwatch" run --config "$1" >>"$2" 2>&1 &
  daemon_pid=$!
  wait_for "daemon start" 15 grep -q "started:" "$2"
}

stop_daemon() {  # expects a clean exit 0
  kill -TERM "$daemon_pid"
  local rc=0
  wait "$daemon_pid" || rc=$?
  daemon_pid=
  if [ $rc -ne 0 ]; then echo "FAIL: camwatch run exited $rc after SIGTERM"; return 1; fi
}

wait_for() {  # description, seconds, command...: polls the condition, bounded
  local what=$1 limit=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then echo "FAIL: timed out after ${limit}s waiting for $what"; return 1; fi
    sleep 0.1
  done
}

count_events() {  # file, event name
  grep -c "\"event\":\"$2\"" "$1" 2>/dev/null || true
}

events_at_least() {  # file, event name, n: for wait_for, which re-runs it until true
  test "$(count_events "$1" "$2")" -ge "$3"
}

lines_at_least() {  # file, fixed text, n
  test "$(grep -cF -- "$2" "$1" 2>/dev/null || true)" -ge "$3"
}

write_config() {  # path, then NAME=IFACE pairs
  local path=$1
  shift
  : >"$path"
  for pair in "$@"; do
    printf '[[uplink]]\nname = "%s"\ninterface = "%s"\n\n' "${pair%%=*}" "${pair#*=}" >>"$path"
  done
  cat >>"$path" <<CFG
[events]
path = "$tmp/events.jsonl"
[state]
path = "$tmp/cam.state"
[capture]
buffer_size = 4194304
merge_holdback = "1s"  # generous: CI machines are loaded and sanitizer builds slow
[daemon]  # last, so a test can append more [daemon] keys
control_socket = "$tmp/control.sock"
CFG
}

# The moves of an events file without times, sorted: what live and replay must agree on.
moves_of() {
  python3 - "$1" <<'PY'
import json, sys
rows = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"].endswith("_move") or e["event"] == "flap":
        rows.append((e["event"], e["mac"], e["vlan"], e["from"], e["to"], e.get("notification", "")))
for r in sorted(rows):
    print(*r)
PY
}
