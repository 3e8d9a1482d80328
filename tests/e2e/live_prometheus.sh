#!/usr/bin/env bash
# A real Prometheus and Alertmanager over a live camwatch. In a private network namespace:
# camwatch captures two veths, Prometheus (Debian `prometheus`) scrapes it every second with the
# shipped alert rules and sends alerts to Alertmanager (Debian `prometheus-alertmanager`); all
# three listen on the namespace's loopback on ports picked free at run time. The incident is
# injected; through their HTTP APIs we assert that camwatch_silent_moves_total rose and that
# CamwatchSilentMove reached Alertmanager. The scraped text passes `promtool check metrics`,
# every Grafana dashboard query names only metrics the daemon exports and evaluates in
# Prometheus, and `camwatch table` reads the daemon's table over its control socket.
set -uo pipefail
camwatch=$(realpath "$1") src=$(realpath "$2")
inject=$(dirname "$camwatch")/../tools/camwatch-inject
tmp=$(mktemp -d)
. "$src/tests/e2e/lib_live.sh"
live_require
for tool in prometheus prometheus-alertmanager promtool curl python3; do
  command -v $tool >/dev/null || { echo "SKIP: $tool is not installed (Debian: prometheus prometheus-alertmanager curl python3)"; exit 77; }
done
rules=$src/config/prometheus/camwatch-rules.yml
dashboard=$src/config/grafana/camwatch-dashboard.json

cleanup() {
  for pid in ${prom_pid:-} ${am_pid:-}; do kill "$pid" 2>/dev/null; done
  for pid in ${prom_pid:-} ${am_pid:-}; do wait "$pid" 2>/dev/null; done
  live_cleanup
}
trap cleanup EXIT
live_setup v2 v3
fails=0
in_ns() { ip netns exec "$ns" "$@"; }

free_port() {  # a port nothing in the namespace listens on
  in_ns python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
cw_port=$(free_port) am_port=$(free_port) prom_port=$(free_port)
while [ "$am_port" = "$cw_port" ]; do am_port=$(free_port); done
while [ "$prom_port" = "$cw_port" ] || [ "$prom_port" = "$am_port" ]; do prom_port=$(free_port); done
echo "ports: camwatch $cw_port, alertmanager $am_port, prometheus $prom_port"

write_config "$tmp/camwatch.toml" vmnic2=v2b vmnic3=v3b
cat >>"$tmp/camwatch.toml" <<CFG
[metrics]
listen = "127.0.0.1:$cw_port"
CFG

cat >"$tmp/alertmanager.yml" <<'CFG'
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
CFG
cat >"$tmp/prometheus.yml" <<CFG
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $rules
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$am_port"]
scrape_configs:
  - job_name: camwatch
    static_configs:
      - targets: ["127.0.0.1:$cw_port"]
        labels:
          sensor: e2e-sensor
CFG
promtool check config "$tmp/prometheus.yml" >"$tmp/promtool-config.log" 2>&1 \
  || { echo "FAIL: promtool check config:"; cat "$tmp/promtool-config.log"; exit 1; }

start_daemon "$tmp/camwatch.toml" "$tmp/camwatch.log" || { cat "$tmp/camwatch.log"; exit 1; }
ip netns exec "$ns" prometheus-alertmanager --config.file="$tmp/alertmanager.yml" --storage.path="$tmp/am" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$tmp/alertmanager.log" 2>&1 &
am_pid=$!
ip netns exec "$ns" prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom" \
  --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!

# PromQL through the HTTP API; prints the first sample's value, or nothing.
query() {
  in_ns curl -fsS --max-time 5 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
value_at_least() { local v; v=$(query "$1"); [ -n "$v" ] && python3 -c "import sys; sys.exit(0 if float('$v') >= $2 else 1)"; }
alert_in_alertmanager() {
  in_ns curl -fsS --max-time 5 "http://127.0.0.1:$am_port/api/v2/alerts?filter=alertname%3D%22$1%22" 2>/dev/null |
    python3 -c 'import json,sys
alerts = json.load(sys.stdin)
sys.exit(0 if alerts else 1)' 2>/dev/null
}

wait_for "Prometheus to scrape camwatch (up == 1)" 60 value_at_least 'up{job="camwatch",sensor="e2e-sensor"}' 1 \
  || { echo "FAIL: prometheus never scraped camwatch"; tail -20 "$tmp/prometheus.log"; exit 1; }
wait_for "the rules to load" 30 value_at_least 'count(camwatch_silent_moves_total)' 2 || fails=$((fails + 1))
before=$(query 'sum(camwatch_silent_moves_total)')
echo "ok:   Prometheus scrapes camwatch; silent moves before the incident: $before"
[ "$before" = "0" ] || { echo "FAIL: expected 0 silent moves before the incident"; fails=$((fails + 1)); }
if alert_in_alertmanager CamwatchSilentMove; then echo "FAIL: CamwatchSilentMove before any move"; fails=$((fails + 1)); fi

in_ns "$inject" --speed 40 v2a="$src/pcaps/incident-vmnic2.pcap" v3a="$src/pcaps/incident-vmnic3.pcap" 2>"$tmp/inject.log" \
  || { echo "FAIL: injection failed"; cat "$tmp/inject.log"; exit 1; }
wait_for "4 silent moves in the events file" 30 events_at_least "$tmp/events.jsonl" silent_move 4 || fails=$((fails + 1))
if wait_for "camwatch_silent_moves_total to reach 4 in Prometheus" 30 value_at_least 'sum(camwatch_silent_moves_total)' 4; then
  echo "ok:   Prometheus sees camwatch_silent_moves_total = $(query 'sum(camwatch_silent_moves_total)')" \
    "(vmnic2 -> vmnic3: $(query 'camwatch_silent_moves_total{from="vmnic2",to="vmnic3"}'))"
else
  fails=$((fails + 1))
fi
if wait_for "CamwatchSilentMove in Alertmanager" 60 alert_in_alertmanager CamwatchSilentMove; then
  in_ns curl -fsS "http://127.0.0.1:$am_port/api/v2/alerts?filter=alertname%3D%22CamwatchSilentMove%22" |
    python3 -c 'import json,sys
for a in json.load(sys.stdin):
    l = a["labels"]
    print("ok:   Alertmanager has %s %s -> %s (sensor %s, severity %s)" % (l["alertname"], l.get("from"), l.get("to"), l.get("sensor"), l.get("severity")))'
else
  echo "prometheus alerts:"; in_ns curl -fsS "http://127.0.0.1:$prom_port/api/v1/alerts"; echo
  fails=$((fails + 1))
fi
# The incident's NLB unicast hosts are a standing risk: CamwatchNlbUnicastHosts is pending (it
# fires after 15 minutes). A healthy daemon raises nothing else.
alerts_json=$(in_ns curl -fsS "http://127.0.0.1:$prom_port/api/v1/alerts")
nlb_state=$(printf '%s' "$alerts_json" | python3 -c 'import json,sys
print(" ".join(sorted({a["state"] for a in json.load(sys.stdin)["data"]["alerts"] if a["labels"]["alertname"] == "CamwatchNlbUnicastHosts"})))')
if [ "$nlb_state" = "pending" ]; then
  echo "ok:   CamwatchNlbUnicastHosts pending for the incident's NLB unicast hosts"
else
  echo "FAIL: expected CamwatchNlbUnicastHosts pending, state: '${nlb_state:-absent}'"; fails=$((fails + 1))
fi
others=$(printf '%s' "$alerts_json" | python3 -c 'import json,sys
names = sorted({a["labels"]["alertname"] for a in json.load(sys.stdin)["data"]["alerts"]} - {"CamwatchSilentMove", "CamwatchNlbUnicastHosts"})
print(" ".join(names))')
[ -z "$others" ] || { echo "FAIL: unexpected alerts on a healthy sensor: $others"; fails=$((fails + 1)); }

# The exposition itself: promtool's linter, and the dashboard's queries against it.
in_ns curl -fsS "http://127.0.0.1:$cw_port/metrics" >"$tmp/metrics.txt" || { echo "FAIL: GET /metrics"; fails=$((fails + 1)); }
if promtool check metrics <"$tmp/metrics.txt" >"$tmp/lint.log" 2>&1 && [ ! -s "$tmp/lint.log" ]; then
  echo "ok:   promtool check metrics: clean ($(grep -c '^# TYPE' "$tmp/metrics.txt") families)"
else
  echo "FAIL: promtool check metrics:"; cat "$tmp/lint.log"; fails=$((fails + 1))
fi
grep -q 'camwatch_frames_total{uplink="vmnic2"}' "$tmp/metrics.txt" || { echo "FAIL: no frames counter for vmnic2"; fails=$((fails + 1)); }
if grep -Eq '([0-9a-f]{2}:){5}[0-9a-f]{2}' "$tmp/metrics.txt"; then echo "FAIL: a MAC address in /metrics"; fails=$((fails + 1)); fi
if python3 "$src/tools/check_dashboard.py" "$dashboard" "$tmp/metrics.txt" >"$tmp/dash.log" 2>&1; then
  echo "ok:   dashboard: $(tail -1 "$tmp/dash.log")"
else
  echo "FAIL: dashboard names metrics camwatch does not export:"; cat "$tmp/dash.log"; fails=$((fails + 1))
fi
# Every dashboard query must also be valid PromQL that Prometheus evaluates.
bad=$(python3 - "$dashboard" <<'PY' | while IFS= read -r expr; do
import json, sys
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "expr" and isinstance(v, str) and v:
                yield v
            else:
                yield from walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)
for e in walk(json.load(open(sys.argv[1]))):
    for var, val in (("$__rate_interval", "1m"), ("$__interval", "15s"), ("$__range", "1h"), ("${sensor:regex}", ".*"),
                     ("$sensor", ".*"), ("${sensor}", ".*"), ("${uplink:regex}", ".*"), ("$uplink", ".*"), ("${uplink}", ".*")):
        e = e.replace(var, val)
    print(" ".join(e.split()))
PY
  status=$(in_ns curl -sS --max-time 5 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$expr" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null)
  [ "$status" = "success" ] || echo "$expr"
done)
if [ -z "$bad" ]; then echo "ok:   every dashboard query evaluates in Prometheus"; else echo "FAIL: queries Prometheus rejects:"; echo "$bad"; fails=$((fails + 1)); fi

# The learned table over the control socket.
if "$camwatch" table --socket "$tmp/control.sock" --json >"$tmp/table.jsonl" 2>"$tmp/table.err"; then
  n=$(wc -l <"$tmp/table.jsonl")
  moved=$(grep -c '"last_move":"' "$tmp/table.jsonl")
  movers=$(moves_of "$tmp/events.jsonl" | awk '{print $2, $3}' | sort -u | wc -l)
  echo "ok:   camwatch table: $n stations, $moved moved"
  [ "$n" -eq 14 ] || { echo "FAIL: expected the incident's 14 stations"; fails=$((fails + 1)); }
  [ "$moved" -eq "$movers" ] || { echo "FAIL: $moved stations moved in the table, $movers in the events"; fails=$((fails + 1)); }
else
  echo "FAIL: camwatch table:"; cat "$tmp/table.err"; fails=$((fails + 1))
fi
"$camwatch" table --socket "$tmp/control.sock" --uplink vmnic2 >"$tmp/table.txt" 2>&1 || { echo "FAIL: table text"; fails=$((fails + 1)); }
grep -q "stations shown" "$tmp/table.txt" || { echo "FAIL: table text has no summary:"; cat "$tmp/table.txt"; fails=$((fails + 1)); }

# Reload health: a broken file is refused and says so in the metrics; a good one recovers.
metric() { in_ns curl -fsS "http://127.0.0.1:$cw_port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
cp "$tmp/camwatch.toml" "$tmp/good.toml"
echo 'bogus_key = 1' >>"$tmp/camwatch.toml"
kill -HUP "$daemon_pid"
if wait_for "the failed reload in the metrics" 10 metric_is camwatch_config_last_reload_successful 0 &&
  metric_is 'camwatch_config_reloads_total{result="failure"}' 1; then
  echo "ok:   a refused reload shows as camwatch_config_last_reload_successful 0"
else
  fails=$((fails + 1))
fi
cp "$tmp/good.toml" "$tmp/camwatch.toml"
kill -HUP "$daemon_pid"
wait_for "the good reload in the metrics" 10 metric_is camwatch_config_last_reload_successful 1 || fails=$((fails + 1))

stop_daemon || fails=$((fails + 1))
echo "$fails failures"
[ $fails -eq 0 ]
