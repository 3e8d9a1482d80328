#!/usr/bin/env bash
# camwatch replay --collector on the generated ERSPAN scenario: without a configuration every
# session replays as an uplink of its own and the incident's moves come out between them; with
# one, unmapped sessions are listed and skipped; --collector and --uplink combine; usage errors.
set -uo pipefail
camwatch=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
has() {  # file, fixed text
  grep -qF -- "$2" "$1" || { fail "$(basename "$1") lacks '$2':"; sed 's/^/    /' "$1"; }
}
moves_of() {  # events file [sed script]: moves without times, sorted
  python3 - "$1" <<'PY' | sed -e "${2:-}"
import json, sys
for row in sorted((e["event"], e["mac"], e["vlan"], e["from"], e["to"], e.get("notification", ""))
                  for e in map(json.loads, open(sys.argv[1])) if e["event"].endswith("_move") or e["event"] == "flap"):
    print(*row)
PY
}
collector=$src/pcaps/erspan.collector.pcap
"$camwatch" replay --uplink vmnic2="$src/pcaps/incident-vmnic2.pcap" --uplink vmnic3="$src/pcaps/incident-vmnic3.pcap" \
  --events "$tmp/incident.jsonl" 2>/dev/null || fail "replay of the incident"

# Without a configuration: one uplink per session, named by the replay.
if "$camwatch" replay --collector "$collector" --events "$tmp/invented.jsonl" 2>"$tmp/invented.err"; then
  if diff <(moves_of "$tmp/incident.jsonl" 's/vmnic2/erspan-2/g; s/vmnic3/erspan-3/g') <(moves_of "$tmp/invented.jsonl") >"$tmp/diff"; then
    ok "without --config: the incident's $(moves_of "$tmp/invented.jsonl" | wc -l) moves, between erspan-2 and erspan-3"
  else
    fail "without --config the moves differ from the incident's (< incident renamed, > collector):"; cat "$tmp/diff"
  fi
  has "$tmp/invented.err" "replayed 3,731 frames from 3 uplinks (1 collector capture)"
  has "$tmp/invented.err" "uplink erspan-99  152 frames"
  has "$tmp/invented.err" "[ERSPAN session 2, named by the replay: no --config maps it]"
  has "$tmp/invented.err" "erspan_ii 3,703, not mirrored 27, fragments 1"
else
  fail "replay --collector without --config exited non-zero:"; cat "$tmp/invented.err"
fi

# With the scenario's configuration: the daemon's view; session 99 is listed, not replayed.
if "$camwatch" replay --collector "$collector" --config "$src/pcaps/erspan.toml" --events "$tmp/mapped.jsonl" 2>"$tmp/mapped.err"; then
  cmp -s "$tmp/incident.jsonl" "$tmp/mapped.jsonl" && ok "with --config: byte for byte the incident's events" ||
    fail "with --config the events differ from the incident's"
  has "$tmp/mapped.err" "uplink vmnic2     661 frames"
  has "$tmp/mapped.err" "ERSPAN session 99: 152 frames not replayed, no uplink maps it (erspan_session = 99 in an [[uplink]])"
else
  fail "replay --collector --config exited non-zero:"; cat "$tmp/mapped.err"
fi

# --uplink and --collector together: vmnic2 from its own file, vmnic3 from the collector.
printf '[[uplink]]\nname = "vmnic3"\nerspan_session = 3\n' >"$tmp/only3.toml"
if "$camwatch" replay --uplink vmnic2="$src/pcaps/incident-vmnic2.pcap" --collector "$collector" --config "$tmp/only3.toml" \
  --events "$tmp/mixed.jsonl" 2>"$tmp/mixed.err"; then
  diff <(moves_of "$tmp/incident.jsonl") <(moves_of "$tmp/mixed.jsonl") >"$tmp/diff" &&
    ok "--uplink vmnic2=FILE with --collector mapping vmnic3: the incident's moves" ||
    { fail "--uplink with --collector: moves differ:"; cat "$tmp/diff"; }
  has "$tmp/mixed.err" "ERSPAN session 2: 661 frames not replayed"
else
  fail "--uplink with --collector exited non-zero:"; cat "$tmp/mixed.err"
fi

# An invented name never takes an --uplink's: session 2 becomes erspan-2.2 beside --uplink erspan-2.
"$camwatch" replay --uplink erspan-2="$src/pcaps/incident-vmnic2.pcap" --collector "$collector" \
  --events "$tmp/named.jsonl" 2>"$tmp/named.err" && grep -qF "uplink erspan-2.2 661 frames" "$tmp/named.err" &&
  ok "an invented name taken by an --uplink gets a suffix (erspan-2.2)" || { fail "invented name clash:"; cat "$tmp/named.err"; }

# Usage and runtime errors.
"$camwatch" replay --collector= >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "^camwatch: error: --collector needs a file" "$tmp/err" && ok "--collector without a file: exit 2" ||
  fail "--collector without a file: exit $rc, $(cat "$tmp/err")"
"$camwatch" replay --collector "$tmp/none.pcap" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "^camwatch: error: .*none.pcap" "$tmp/err" && ok "missing collector capture: exit 1" ||
  fail "missing collector capture: exit $rc, $(cat "$tmp/err")"
printf '[[uplink]]\nname = "a"\nerspan_session = 2\n[[uplink]]\nname = "b"\nerspan_session = 2\n' >"$tmp/dup.toml"
"$camwatch" replay --collector "$collector" --config "$tmp/dup.toml" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 6 ] && grep -q "dup.toml:6: uplink\[1\].erspan_session: ERSPAN session 2 is already mapped" "$tmp/err" &&
  ok "a session mapped twice: exit 6 naming file, line and key" || fail "duplicate session: exit $rc, $(cat "$tmp/err")"
head -c 100000 "$collector" >"$tmp/cut.pcap"
"$camwatch" replay --collector "$tmp/cut.pcap" --events "$tmp/cut.jsonl" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "^camwatch: error: .*cut.pcap: .*frames before the damage were replayed" "$tmp/err" &&
  ok "a damaged collector capture: exit 1 after replaying what came before" || fail "damaged collector capture: exit $rc, $(cat "$tmp/err")"

echo "$fails failures"
[ $fails -eq 0 ]
