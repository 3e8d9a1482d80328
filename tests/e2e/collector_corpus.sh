#!/usr/bin/env bash
# The ERSPAN and GRE captures of ../shared/corpus through `camwatch replay --collector`: what each
# holds (by encapsulation), the uplinks its sessions become, and a configuration mapping some of
# them. The ERSPAN counts agree with tshark's (ERSPAN(N) in the corpus's real_manifest.json). Skips (77)
# when the corpus is not there.
set -uo pipefail
camwatch=$1 corpus=$3
if [ ! -d "$corpus/real" ]; then
  echo "SKIP: corpus not found at $corpus (it lives in ../shared/corpus beside the repo)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 files=0
expect() {  # file, then fixed texts the summary must have
  local file=$corpus/real/$1
  shift
  files=$((files + 1))
  if ! "$camwatch" replay --collector "$file" --events "$tmp/events.jsonl" 2>"$tmp/err" >/dev/null; then
    echo "FAIL: $(basename "$file"): exit non-zero"; cat "$tmp/err"; fails=$((fails + 1)); return
  fi
  local text missing=0
  for text in "$@"; do
    grep -qF -- "$text" "$tmp/err" || { echo "FAIL: $(basename "$file"): summary lacks '$text'"; missing=1; }
  done
  if [ $missing -eq 0 ]; then echo "ok:   $(basename "$file"): $*"; else sed 's/^/    /' "$tmp/err"; fails=$((fails + 1)); fi
}
expect tcpdump__erspan-type-i-4.pcap "erspan_i 88, not mirrored 31" "uplink gre        88 frames" "[unkeyed GRE, named by the replay"
expect tcpdump__erspan-type-ii-3.pcap "erspan_ii 108" "uplink erspan-101 108 frames" "3 in the table"
expect tcpdump__erspan-type-iii-ft-0.pcap "erspan_iii 9" "uplink erspan-0   9 frames"
expect tcpdump__erspan-type-iii-ft-7.pcap "not Ethernet 58" "from 0 uplinks"
expect zeek__erspan.pcap "gre_teb 232, fragments 55" "uplink gre-0      125 frames" "uplink gre-33554432 107 frames"
expect zeek__erspanIII.pcap "erspan_iii 2" "uplink erspan-0   2 frames"
expect zeek__tunnels_gre-erspan3-dot1q.pcap "erspan_iii 2" "uplink erspan-0   2 frames"
expect suricata-verify__bug-5437-02.pcap "erspan_ii 60" "uplink erspan-2   34 frames" "uplink erspan-5   15 frames" \
  "uplink erspan-6   1 frames" "uplink erspan-7   10 frames"
expect suricata-verify__decode-erspan-typeI-02.pcap "erspan_i 42" "uplink gre        42 frames"
expect arkime__gre-erspan-vxlan.pcap "erspan_ii 7" "uplink erspan-20  7 frames"
expect tcpdump__various_gre.pcap "not mirrored 100" "from 0 uplinks"
expect pcapplusplus__GrePackets.cap "not mirrored 28" "from 0 uplinks"

# The stations keep the inner frames' VLANs (the ERSPAN header's VLAN field is information only).
"$camwatch" replay --collector "$corpus/real/zeek__tunnels_gre-erspan3-dot1q.pcap" --table "$tmp/t.state" \
  --events "$tmp/e.jsonl" 2>/dev/null
if "$camwatch" table --state "$tmp/t.state" --json | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
sys.exit(0 if len(rows) == 2 and all(r["vlan"] == 10 and r["uplink"] == "erspan-0" for r in rows) else 1)'; then
  echo "ok:   type III with 802.1Q inside: 2 stations on VLAN 10"
else
  echo "FAIL: type III with 802.1Q inside: $("$camwatch" table --state "$tmp/t.state" 2>&1)"; fails=$((fails + 1))
fi

# A configuration naming two of the four sessions: those replay under their names, the others
# are listed with their frame counts and skipped.
printf '[[uplink]]\nname = "leaf-a"\nerspan_session = 2\n\n[[uplink]]\nname = "leaf-b"\nerspan_session = 7\n' >"$tmp/map.toml"
if "$camwatch" replay --collector "$corpus/real/suricata-verify__bug-5437-02.pcap" --config "$tmp/map.toml" \
  --events "$tmp/e.jsonl" 2>"$tmp/err" >/dev/null &&
  grep -qF "uplink leaf-a     34 frames" "$tmp/err" && grep -qF "uplink leaf-b     10 frames" "$tmp/err" &&
  grep -qF "ERSPAN session 5: 15 frames not replayed" "$tmp/err" && grep -qF "ERSPAN session 6: 1 frames not replayed" "$tmp/err" &&
  grep -qF "from 2 uplinks" "$tmp/err"; then
  echo "ok:   bug-5437-02 with sessions 2 and 7 mapped: 34 + 10 frames replayed, sessions 5 and 6 listed"
else
  echo "FAIL: bug-5437-02 with a mapping:"; sed 's/^/    /' "$tmp/err"; fails=$((fails + 1))
fi
# A keyed TEB mapping by key, the other key left out.
printf '[[uplink]]\nname = "vswitch"\ngre_key = 33554432\n' >"$tmp/key.toml"
if "$camwatch" replay --collector "$corpus/real/zeek__erspan.pcap" --config "$tmp/key.toml" --events "$tmp/e.jsonl" 2>"$tmp/err" >/dev/null &&
  grep -qF "uplink vswitch    107 frames" "$tmp/err" && grep -qF "GRE key 0 (0x00000000): 125 frames not replayed" "$tmp/err"; then
  echo "ok:   zeek erspan.pcap with gre_key = 33554432 mapped: 107 frames replayed, key 0 listed"
else
  echo "FAIL: zeek erspan.pcap with a key mapping:"; sed 's/^/    /' "$tmp/err"; fails=$((fails + 1))
fi
echo "$files corpus captures, $fails failures"
[ $fails -eq 0 ]
