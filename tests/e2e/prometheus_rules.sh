#!/usr/bin/env bash
# The Prometheus side of camwatch: the alerting rules pass `promtool check rules` and their unit
# tests, every alert has a test where it fires and one where it stays quiet, every camwatch_* metric
# the rules and the Grafana dashboard name is documented in docs/METRICS.md, the dashboard's queries
# pass tools/check_dashboard.py, and the example prometheus.yml and alertmanager.yml are valid.
# Skips (77) without promtool (Debian package prometheus); amtool (prometheus-alertmanager) is
# used when installed.
set -uo pipefail
src=$2
if ! command -v promtool >/dev/null; then
  echo "SKIP: promtool not found (Debian: apt-get install prometheus); the rules are not checked"
  exit 77
fi
rules=$src/config/prometheus/camwatch-rules.yml
rule_tests=$src/tests/prometheus/camwatch-rules.test.yml
dashboard=$src/config/grafana/camwatch-dashboard.json
metrics_doc=$src/docs/METRICS.md
checker=$src/tools/check_dashboard.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() {  # description, command...: the command must succeed
  local what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    echo "ok:   $what"
  else
    fail "$what"
    sed 's/^/    /' "$tmp/out"
  fi
}
check_fails() {  # description, command...: the command must fail
  local what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    fail "$what (it succeeded)"
    sed 's/^/    /' "$tmp/out"
  else
    echo "ok:   $what"
  fi
}

# ---- the rules and their unit tests
check "promtool check rules $rules" promtool check rules "$rules"
check "promtool test rules $rule_tests" promtool test rules "$rule_tests"

# Every alert has a test where it fires (a block `exp_alerts:` list) and one where it does not
# (`exp_alerts: []`). In the test file `alertname:` comes before `exp_alerts:` in each case.
alerts=$(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\).*/\1/p' "$rules")
[ -n "$alerts" ] || fail "no alerts found in $rules"
awk '
  /alertname:/ { match($0, /alertname: *[A-Za-z0-9_]+/); a = substr($0, RSTART, RLENGTH); sub(/alertname: */, "", a) }
  /exp_alerts: *$/ { print "fires " a }
  /exp_alerts: *\[ *\]/ { print "quiet " a }
' "$rule_tests" | sort -u >"$tmp/cases"
untested=0
for a in $alerts; do
  grep -qx "fires $a" "$tmp/cases" || { fail "alert $a has no test where it fires"; untested=1; }
  grep -qx "quiet $a" "$tmp/cases" || { fail "alert $a has no test where it stays quiet"; untested=1; }
done
[ $untested -eq 0 ] && echo "ok:   every alert ($(echo $alerts | wc -w)) has a firing and a quiet test"

# ---- metric names: the rules and the dashboard use documented metrics only
grep -o '`camwatch_[A-Za-z0-9_:]*' "$metrics_doc" | tr -d '`' | sort -u >"$tmp/documented"
[ -s "$tmp/documented" ] || fail "no camwatch_* metric found in $metrics_doc"
for f in "$rules" "$dashboard"; do
  unknown=0
  for name in $(grep -oE '\bcamwatch_[A-Za-z0-9_:]*' "$f" | sort -u); do
    if ! grep -qxF "$name" "$tmp/documented"; then
      fail "$(basename "$f") names $name, which docs/METRICS.md does not document"
      unknown=1
    fi
  done
  [ $unknown -eq 0 ] && echo "ok:   every camwatch_* metric in $(basename "$f") is in docs/METRICS.md"
done

# ---- the dashboard
if ! command -v python3 >/dev/null; then
  fail "python3 not found: tools/check_dashboard.py cannot run"
else
  before=$fails
  check "check_dashboard.py: every metric of the dashboard is in docs/METRICS.md" \
    python3 "$checker" "$dashboard" "$metrics_doc"
  [ "$fails" -eq "$before" ] && sed 's/^/      /' "$tmp/out"
  # The checker itself: it refuses an unknown metric and reads an exposition file.
  python3 - "$dashboard" "$tmp/bad.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["panels"].append({"type": "timeseries", "title": "typo", "id": 9999,
                    "targets": [{"refId": "A", "expr": 'sum by (uplink) (rate(camwatch_frame_total{sensor=~"$sensor"}[5m]))'}]})
json.dump(d, open(sys.argv[2], "w"))
EOF
  check_fails "check_dashboard.py refuses a dashboard querying an undocumented metric" \
    python3 "$checker" "$tmp/bad.json" "$metrics_doc"
  grep -q "camwatch_frame_total" "$tmp/out" || fail "check_dashboard.py did not name the unknown metric"
  printf '%s\n' '# HELP camwatch_frames_total Frames.' '# TYPE camwatch_frames_total counter' \
    'camwatch_frames_total{uplink="a"} 1' 'camwatch_build_info{version="0.1.0",libpcap="x"} 1' >"$tmp/metrics.txt"
  cat >"$tmp/small.json" <<'EOF'
{"panels": [{"type": "timeseries", "title": "frames", "targets": [{"refId": "A",
  "expr": "sum by (uplink) (rate(camwatch_frames_total{sensor=~\"$sensor\"}[$__rate_interval])) and on () camwatch_build_info"}]}],
 "templating": {"list": [{"type": "query", "name": "sensor", "query": "label_values(camwatch_build_info, sensor)"}]}}
EOF
  check "check_dashboard.py reads an exposition file" python3 "$checker" "$tmp/small.json" "$tmp/metrics.txt"
  check_fails "check_dashboard.py refuses a metric missing from an exposition file" \
    python3 "$checker" "$dashboard" "$tmp/metrics.txt"

  # House rules of the dashboard: Grafana 9/10 schema, the datasource variable, the sensor and
  # uplink variables, unique panel ids, and every panel and annotation query filtered by sensor.
  check "dashboard structure (datasource and variables, ids, sensor filter on every query)" python3 - "$dashboard" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
problems = []
if not 36 <= d.get("schemaVersion", 0) <= 39:
    problems.append(f"schemaVersion {d.get('schemaVersion')} is not Grafana 9/10's")
variables = {v["name"]: v for v in d["templating"]["list"]}
for name in ("DS_PROMETHEUS", "sensor", "uplink"):
    if name not in variables:
        problems.append(f"template variable {name} missing")
if variables.get("DS_PROMETHEUS", {}).get("type") != "datasource":
    problems.append("DS_PROMETHEUS is not a datasource variable")
ids = []
def walk(node, where):
    if isinstance(node, dict):
        if "title" in node and "type" in node:
            where = node["title"]
            if "id" in node:
                ids.append(node["id"])
            if node["type"] != "row" and node.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
                problems.append(f"panel {where!r}: datasource is not ${{DS_PROMETHEUS}}")
        expr = node.get("expr")
        if isinstance(expr, str) and 'sensor=~"$sensor"' not in expr:
            problems.append(f"{where!r}: query not filtered by sensor: {expr}")
        for v in node.values():
            walk(v, where)
    elif isinstance(node, list):
        for v in node:
            walk(v, where)
walk(d["panels"], "")
walk(d["annotations"], "annotation")
if len(ids) != len(set(ids)):
    problems.append("duplicate panel ids")
print(f"{len(ids)} panels")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
EOF
fi

# ---- the example Prometheus configuration, with its paths pointed at this tree
mkdir -p "$tmp/targets"
cat >"$tmp/targets/site.yml" <<'EOF'
- targets: ['10.1.2.11:9842']
  labels:
    sensor: esx01
- targets: ['10.1.2.12:9842', '[2001:db8::12]:9842']
EOF
sed -e "s#/usr/share/camwatch/prometheus/camwatch-rules.yml#$rules#" \
    -e "s#/etc/prometheus/targets/camwatch/#$tmp/targets/#" \
    "$src/config/prometheus/prometheus.example.yml" >"$tmp/prometheus.yml"
grep -qF "$rules" "$tmp/prometheus.yml" || fail "prometheus.example.yml does not load /usr/share/camwatch/prometheus/camwatch-rules.yml"
check "promtool check config prometheus.example.yml (rules and file_sd targets included)" \
  promtool check config "$tmp/prometheus.yml"
grep -q "SUCCESS: 1 rule files found" "$tmp/out" || fail "promtool check config did not load the rules file"

# ---- the example Alertmanager configuration
am=$src/config/prometheus/alertmanager.example.yml
if command -v amtool >/dev/null; then
  check "amtool check-config alertmanager.example.yml" amtool check-config "$am"
  route() {  # expected receivers, labels...
    local want=$1
    shift
    check "alertmanager routes $* to $want" \
      amtool config routes test --config.file="$am" --verify.receivers="$want" "$@"
  }
  route network-oncall alertname=CamwatchSilentMove severity=critical sensor=esx01 from=vmnic2 to=vmnic3
  route network-oncall,camwatch-owners alertname=CamwatchTableFull severity=critical sensor=esx01
  route network-team alertname=CamwatchMacFlapping severity=warning sensor=esx01
  route camwatch-owners alertname=CamwatchStale severity=warning sensor=esx01
  route camwatch-owners alertname=CamwatchCaptureDrops severity=warning sensor=esx01
else
  echo "skip: amtool not found (Debian: prometheus-alertmanager); alertmanager.example.yml not checked"
fi

echo "$fails failures"
[ "$fails" -eq 0 ]
