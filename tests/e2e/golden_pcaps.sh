#!/usr/bin/env bash
# Golden events: every scenario in pcaps/ replays to exactly the events in pcaps/expected/.
# A scenario is pcaps/<scenario>-<uplink>.pcap (uplink names without '-'), or a collector scenario
# pcaps/<scenario>.collector.pcap (replayed with --collector; ERSPAN / GRE mirrors of several
# uplinks), with pcaps/<scenario>.toml as --config when there is one (its sessions); the expected file
# holds the SPEC keys (event, time, mac, vlan, from, to, notification) and, for the events that
# have them, uplink, cause, stations, announced, silent, nlb_cluster, nlb_host, ip, old_mac,
# other_mac and claim; those are compared (address-binding events only where the expected file
# has some). Other keys camwatch writes are ignored, so adding keys never breaks this test.
set -uo pipefail
camwatch=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 count=0
for expected in "$src"/pcaps/expected/*.jsonl; do
  scenario=$(basename "$expected" .jsonl)
  args=()
  for f in "$src"/pcaps/"$scenario"-*.pcap; do
    uplink=$(basename "$f" .pcap)
    uplink=${uplink#"$scenario"-}
    [[ $uplink =~ ^[A-Za-z0-9_]+$ ]] || continue
    args+=(--uplink "$uplink=$f")
  done
  for f in "$src"/pcaps/"$scenario".collector*.pcap; do
    [ -f "$f" ] && args+=(--collector "$f")
  done
  [ ${#args[@]} -gt 0 ] && [ -f "$src/pcaps/$scenario.toml" ] && args+=(--config "$src/pcaps/$scenario.toml")
  if [ ${#args[@]} -eq 0 ]; then
    echo "FAIL: $scenario: no pcaps/$scenario-<uplink>.pcap or pcaps/$scenario.collector.pcap files"
    fails=$((fails + 1))
    continue
  fi
  count=$((count + 1))
  if ! "$camwatch" replay "${args[@]}" --events "$tmp/$scenario.jsonl" 2>"$tmp/$scenario.err"; then
    echo "FAIL: $scenario: camwatch exited non-zero"; cat "$tmp/$scenario.err"; fails=$((fails + 1)); continue
  fi
  if python3 - "$expected" "$tmp/$scenario.jsonl" <<'PY'
import json, sys
keys = ("event", "time", "mac", "vlan", "from", "to", "notification", "uplink", "cause", "stations", "announced",
        "silent", "nlb_cluster", "nlb_host", "ip", "old_mac", "other_mac", "claim")
def load(path):
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            obj = json.loads(line)
            out.append({k: obj[k] for k in keys if k in obj})
    return out
want, got = load(sys.argv[1]), load(sys.argv[2])
# Address-binding events are compared only in scenarios that expect some (the bindings scenario):
# the others are about moves, and their ARP traffic would otherwise have to be restated in full.
binding_events = {"new_binding", "changed_mac", "flip_flop", "ip_conflict"}
if not any(e["event"] in binding_events for e in want):
    got = [e for e in got if e["event"] not in binding_events]
if want == got:
    sys.exit(0)
print("  expected:"); [print("   ", json.dumps(e)) for e in want]
print("  got:"); [print("   ", json.dumps(e)) for e in got]
sys.exit(1)
PY
  then
    echo "ok:   $scenario ($(wc -l <"$expected") events)"
  else
    echo "FAIL: $scenario: events differ"; fails=$((fails + 1))
  fi
done
echo "$count scenarios, $fails failures"
[ $fails -eq 0 ] && [ $count -ge 4 ]
