#!/usr/bin/env bash
# Link state: an uplink's interface going down and up, and being deleted and re-created, is
# reported (uplink_down / uplink_up) and survived: the daemon keeps running and its capture
# resumes on the re-created interface. Runs in a private network namespace.
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
check() {  # description, command...
  local what=$1
  shift
  if "$@"; then echo "ok:   $what"; else fails=$((fails + 1)); fi
}
has_event() {  # event name, uplink, minimum count
  test "$( (grep "\"event\":\"$1\"" "$tmp/events.jsonl" 2>/dev/null || true) | grep -c "\"uplink\":\"$2\"")" -ge "$3"
}

start_daemon "$tmp/camwatch.toml" "$tmp/run.log" || exit 1

ip -n "$ns" link set v2a down  # the peer loses carrier: vmnic2's link is down
check "link down reported" wait_for "uplink_down vmnic2" 10 has_event uplink_down vmnic2 1
ip -n "$ns" link set v2a up
check "link up reported" wait_for "uplink_up vmnic2" 10 has_event uplink_up vmnic2 1

# A station learned on vmnic3 ...
ip netns exec "$ns" "$inject" --topspeed v3a="$src/pcaps/incident-vmnic3.pcap" 2>/dev/null

ip -n "$ns" link del v2a  # deletes both ends: vmnic2's interface disappears
check "deleted interface reported down" wait_for "second uplink_down vmnic2" 10 has_event uplink_down vmnic2 2
kill -0 "$daemon_pid" 2>/dev/null || { echo "FAIL: the daemon died when an interface disappeared"; fails=$((fails + 1)); }

ip -n "$ns" link add v2a type veth peer name v2b
ip -n "$ns" link set v2a up
ip -n "$ns" link set v2b up
check "re-created interface reported up" wait_for "second uplink_up vmnic2" 10 has_event uplink_up vmnic2 2
check "capture reopened" wait_for "capture to reopen on v2b" 10 lines_at_least "$tmp/run.log" "uplink vmnic2: capturing on v2b" 2

# ... then seen on the re-created vmnic2: the capture resumed, so the move is caught.
ip netns exec "$ns" "$inject" --topspeed v2a="$src/pcaps/incident-vmnic2.pcap" 2>/dev/null
check "capture resumed on the re-created interface" wait_for "moves to vmnic2" 10 \
  grep -q '"to":"vmnic2"' "$tmp/events.jsonl"

# vmnic3 was never disturbed.
if grep '"uplink":"vmnic3"' "$tmp/events.jsonl" | grep -q uplink_down; then echo "FAIL: vmnic3 reported down"; fails=$((fails + 1)); fi
stop_daemon || fails=$((fails + 1))
echo "$fails failures"
[ $fails -eq 0 ]
