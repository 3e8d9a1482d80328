#!/usr/bin/env bash
# Detection on real public captures (../shared/corpus/real, see its INDEX.md): the events camwatch
# writes for Windows NLB heartbeats (whole and cut by a 20-byte snaplen), ARP poisoning, a host
# re-announcing its address every 11 s, and VMware guests announcing themselves at boot.
# Skips (77) when the corpus is not there.
set -uo pipefail
camwatch=$1 corpus=$3
if [ ! -d "$corpus/real" ]; then
  echo "SKIP: corpus not found at $corpus (it lives in ../shared/corpus beside the repo)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# expect FILE PYTHON-ASSERTIONS: replays FILE as uplink A; `events` is the list of event objects.
expect() {
  local file=$1 check=$2
  if ! "$camwatch" replay --uplink A="$corpus/real/$file" --events "$tmp/events.jsonl" 2>"$tmp/err"; then
    echo "FAIL: $file: camwatch exited non-zero"; tail -3 "$tmp/err"; fails=$((fails + 1)); return
  fi
  if python3 - "$tmp/events.jsonl" "$check" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
kinds = [e["event"] for e in events]
try:
    exec(sys.argv[2])
except AssertionError as e:
    print("  assertion failed:", e)
    for ev in events:
        print("   ", json.dumps(ev))
    sys.exit(1)
PY
  then
    echo "ok:   $file"
  else
    echo "FAIL: $file"; fails=$((fails + 1))
  fi
}

# Two unicast NLB hosts of cluster 192.168.100.80 (masked sources 02:0N:c0:a8:64:50): named at
# their first heartbeat, with the dedicated IPs the heartbeat bodies carry.
expect tcpdump__msnlb.pcap '
assert kinds == ["nlb_unicast_host", "nlb_unicast_host"], kinds
assert [(e["mac"], e["nlb_host"], e["nlb_cluster"], e["nlb_dedicated_ip"], e["nlb_mode"]) for e in events] == [
    ("02:02:c0:a8:64:50", 2, "192.168.100.80", "192.168.100.82", "unicast"),
    ("02:01:c0:a8:64:50", 1, "192.168.100.80", "192.168.100.81", "unicast")], events
'
# The same heartbeats cut to 20 bytes: host and cluster come from the masked MAC alone.
expect tcpdump__msnlb2.pcapng '
assert kinds == ["nlb_unicast_host", "nlb_unicast_host"], kinds
assert [(e["mac"], e["nlb_host"], e["nlb_cluster"]) for e in events] == [
    ("02:02:c0:a8:64:50", 2, "192.168.100.80"), ("02:01:c0:a8:64:50", 1, "192.168.100.80")], events
assert all("nlb_dedicated_ip" not in e for e in events)
'
# ARP poisoning: 00:25:b3:bf:91:ee claims the gateway 172.16.0.1 (the real gateway never ARPs in
# this capture, so it is a new binding, not a change) and 172.16.0.105.
expect chrissanders__arppoison.pcapng '
assert kinds == ["new_binding"] * 3, kinds
assert [(e["ip"], e["mac"], e["claim"]) for e in events] == [
    ("172.16.0.1", "00:25:b3:bf:91:ee", "arp_request"),
    ("172.16.0.107", "00:21:70:c0:56:f0", "arp_reply"),
    ("172.16.0.105", "00:25:b3:bf:91:ee", "arp_request")], events
'
# A host re-probing and re-announcing 192.168.0.13 with GARP and unsolicited NA every ~11 s: its
# own address, so nothing after the first binding (the rate limit and the owner checks agree).
expect suricata-verify__output-eve-ftp-data.pcap '
assert kinds == ["new_binding"] * 3, kinds
assert [e["ip"] for e in events] == ["192.168.0.13", "192.168.0.1", "192.168.0.10"], events
'
# VMware guests booting: each announces itself (GARP, first for a 169.254 address): bindings with
# the claim that made them, and no move on one uplink.
expect suricata-verify__smb2-ntlmssp-negotiateflags.pcap '
assert set(kinds) == {"new_binding"}, kinds
assert ("169.254.145.153", "00:0c:29:61:f5:5f", "arp_announcement") in [(e["ip"], e["mac"], e["claim"]) for e in events]
'
# Two routers answering with gratuitous ARP replies on VLAN 123: bindings on that VLAN.
expect zeek__icmp_dot1q.pcap '
assert kinds and set(kinds) == {"new_binding"}, kinds
assert all(e["vlan"] == 123 for e in events), events
'
[ $fails -eq 0 ]
