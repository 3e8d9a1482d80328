#!/usr/bin/env bash
# The command-line contract of SPEC: help, version, exit codes, diagnostics.
set -uo pipefail
camwatch=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
expect() {  # description, expected exit code, command...
  local what=$1 want=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL: $what: exit $rc, expected $want"; sed 's/^/    /' "$tmp/err"; fails=$((fails + 1))
  else
    echo "ok:   $what"
  fi
}
stderr_has() {
  if ! grep -q -- "$1" "$tmp/err"; then echo "FAIL: stderr lacks '$1':"; sed 's/^/    /' "$tmp/err"; fails=$((fails + 1)); fi
}
stdout_has() {
  if ! grep -q -- "$1" "$tmp/out"; then echo "FAIL: stdout lacks '$1':"; sed 's/^/    /' "$tmp/out"; fails=$((fails + 1)); fi
}

expect "--help goes to stdout, exit 0" 0 "$camwatch" --help
stdout_has "usage: camwatch"
expect "--version" 0 "$camwatch" --version
stdout_has "^camwatch [0-9]"
expect "no command is a usage error" 2 "$camwatch"
stderr_has "^camwatch: error: "
expect "unknown command" 2 "$camwatch" frobnicate
expect "replay without uplinks" 2 "$camwatch" replay
stderr_has "needs at least one --uplink"
expect "--uplink without =" 2 "$camwatch" replay --uplink vmnic2
expect "duplicate uplink names" 2 "$camwatch" replay --uplink a=x --uplink a=y
expect "bad uplink name" 2 "$camwatch" replay --uplink 'a b=x'
expect "unknown replay option" 2 "$camwatch" replay --uplink a=x --bogus
expect "missing capture file" 1 "$camwatch" replay --uplink a="$tmp/nope.pcap"
stderr_has "^camwatch: error: .*nope.pcap"

# A capture with a non-Ethernet link type (LINUX_SLL, 113) is refused, naming the link type.
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x71\x00\x00\x00' >"$tmp/sll.pcap"
expect "non-Ethernet link type" 1 "$camwatch" replay --uplink a="$tmp/sll.pcap"
stderr_has "LINUX_SLL"

# A bad config names file, line and key, exit 6.
printf '[detection]\nflap_moves = 4\nnotify_window_after = "soon"\n' >"$tmp/bad.toml"
expect "invalid config in replay" 6 "$camwatch" replay --uplink a="$src/pcaps/incident-vmnic2.pcap" --config "$tmp/bad.toml"
stderr_has "bad.toml:3:.*notify_window_after"
expect "check-config on a bad file" 6 "$camwatch" check-config --config "$tmp/bad.toml"
stderr_has "^camwatch: error: .*bad.toml:3"
expect "check-config on the shipped config" 0 "$camwatch" check-config --config "$src/config/camwatch.toml"
stdout_has "valid"
printf '[[uplink]]\nname = "a"\nerspan_session = 7\n' >"$tmp/fed.toml"
expect "run with an uplink fed by a collector but no [[collector]]" 6 "$camwatch" run --config "$tmp/fed.toml"
stderr_has "^camwatch: error: .*fed.toml: uplink: uplink \"a\" is fed by ERSPAN session 7 but no \[\[collector\]\]"

# A truncated capture: events before the damage are written, then an error and exit 1.
size=$(stat -c %s "$src/pcaps/incident-vmnic3.pcap")
head -c $((size * 3 / 4 + 7)) "$src/pcaps/incident-vmnic3.pcap" >"$tmp/cut.pcap"
expect "truncated capture" 1 "$camwatch" replay --uplink vmnic2="$src/pcaps/incident-vmnic2.pcap" \
  --uplink vmnic3="$tmp/cut.pcap" --events "$tmp/cut.jsonl"
stderr_has "^camwatch: error: .*cut.pcap: record [0-9]* at byte [0-9]*"
if ! grep -q '"silent_move"' "$tmp/cut.jsonl"; then echo "FAIL: no events written before the damage"; fails=$((fails + 1)); fi

# Events to stdout by default, summary to stderr.
expect "events to stdout" 0 "$camwatch" replay --uplink vmnic2="$src/pcaps/incident-vmnic2.pcap" \
  --uplink vmnic3="$src/pcaps/incident-vmnic3.pcap"
stdout_has '^{"event":"silent_move"'
stderr_has "4 silent"
expect "events file not writable" 1 "$camwatch" replay --uplink a="$src/pcaps/incident-vmnic2.pcap" --events "$tmp/no/such/dir/e.jsonl"

echo "$fails failures"
[ "$fails" -eq 0 ]
