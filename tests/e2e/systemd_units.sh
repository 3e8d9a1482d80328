#!/usr/bin/env bash
# The systemd integration files in systemd/, checked with systemd's own tools (no running
# systemd needed): both units pass `systemd-analyze verify` without a single complaint and
# `systemd-analyze security --offline` at exposure 2.0 or lower; their hardening is the same;
# the sysusers.d and tmpfiles.d snippets parse and create what the units expect; every exit
# status in RestartPreventExitStatus= is the one camwatch really returns for that reason; the
# shipped configuration's default paths lie in the unit's state and runtime directories.
set -uo pipefail
camwatch=$(realpath "$1") src=$2
units=$src/systemd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
max_exposure=2.0

command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze is not installed"; exit 77; }
for f in camwatch.service camwatch@.service camwatch.sysusers.conf camwatch.tmpfiles.conf; do
  [ -f "$units/$f" ] || fail "systemd/$f is missing"
done
[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "systemd $(systemd-analyze --version | head -1 | cut -d' ' -f2)"

# The units as installed, except that ExecStart= runs the binary just built: verify checks
# that every command exists and is executable, and /usr/bin/camwatch is not installed here.
mkdir "$tmp/units"
for f in camwatch.service camwatch@.service; do
  sed "s#^ExecStart=/usr/bin/camwatch #ExecStart=$camwatch #" "$units/$f" >"$tmp/units/$f"
  grep -q "^ExecStart=$camwatch run --config /etc/camwatch/" "$tmp/units/$f" ||
    fail "$f: ExecStart= is not '/usr/bin/camwatch run --config /etc/camwatch/...'"
done
cd "$tmp/units" || exit 1

# --- systemd-analyze verify -------------------------------------------------------------------
# verify prints unit file problems (unknown keys, values it cannot parse and ignores, missing
# commands) on stderr and may still exit 0, so any line naming a camwatch unit or this
# directory fails. --man=no: Documentation=man:camwatch(8) is not installed in a build tree.
# Lines about other units (the host's own unit files, pulled in through After=/WantedBy=) are
# shown but are not ours to fix.
verify() {  # description, unit files...
  local what=$1 rc=0
  shift
  systemd-analyze verify --man=no "$@" >"$tmp/verify.out" 2>&1 || rc=$?
  local ours
  ours=$(grep -E "camwatch|$tmp" "$tmp/verify.out")
  if [ $rc -ne 0 ] || [ -n "$ours" ]; then
    fail "systemd-analyze verify $what: exit $rc"; sed 's/^/    /' "$tmp/verify.out"
  else
    ok "systemd-analyze verify $what: no complaints"
    [ -s "$tmp/verify.out" ] && sed 's/^/    note (not about camwatch): /' "$tmp/verify.out"
  fi
}
verify camwatch.service ./camwatch.service
verify "camwatch@.service (as camwatch@lab.service)" ./camwatch@lab.service

# The check above must be able to fail: a misspelt key and an unparsable value exit 0 too.
mkdir "$tmp/broken"
sed '/^\[Service\]/a ProtectSytem=strict\nRestartSec=5 parsecs' camwatch.service >"$tmp/broken/camwatch.service"
rc=0
systemd-analyze verify --man=no "$tmp/broken/camwatch.service" >"$tmp/broken.out" 2>&1 || rc=$?
if grep -q "ProtectSytem" "$tmp/broken.out" && grep -q "parsecs" "$tmp/broken.out"; then
  ok "a broken unit is caught from verify's output (exit $rc)"
else
  fail "verify said nothing about a broken unit:"; sed 's/^/    /' "$tmp/broken.out"
fi

# --- systemd-analyze security --offline -------------------------------------------------------
# --threshold takes the exposure times 10; the "Overall exposure level" line is parsed as well,
# so that the score appears in the test log. Parse warnings fail as in verify.
threshold=$(awk -v m="$max_exposure" 'BEGIN { printf "%d", m * 10 }')
for unit in camwatch.service camwatch@lab.service; do
  rc=0
  systemd-analyze security --offline=true --threshold="$threshold" --no-pager "./$unit" >"$tmp/security.out" 2>"$tmp/security.err" || rc=$?
  score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$tmp/security.out")
  if [ -z "$score" ]; then
    fail "security $unit: no 'Overall exposure level' line (exit $rc)"; sed 's/^/    /' "$tmp/security.out" "$tmp/security.err"
  elif [ $rc -ne 0 ] || awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s > m) }'; then
    fail "security $unit: exposure $score, more than $max_exposure (exit $rc); what is left open:"
    grep '✗' "$tmp/security.out" | sed 's/^/    /'
  elif [ -s "$tmp/security.err" ]; then
    fail "security $unit: complaints about the unit file:"; sed 's/^/    /' "$tmp/security.err"
  else
    ok "security $unit: exposure $score (at most $max_exposure); left open: $(grep '✗' "$tmp/security.out" | awk '{print $2}' | tr '\n' ' ')"
  fi
done

# --- the two units stay in step -----------------------------------------------------------------
# The hardening block is byte for byte the same (comments included). Every other [Service]
# setting is the same once the template's camwatch/%i and %i.toml are read as camwatch and
# camwatch.toml; only RuntimeDirectoryPreserve= differs on purpose (see the units).
block() { sed -n '/^# ---- BEGIN HARDENING/,/^# ---- END HARDENING/p' "$1"; }
block "$units/camwatch.service" >"$tmp/h1"
block "$units/camwatch@.service" >"$tmp/h2"
if [ "$(wc -l <"$tmp/h1")" -lt 10 ]; then
  fail "camwatch.service has no BEGIN/END HARDENING block"
elif diff "$tmp/h1" "$tmp/h2" >"$tmp/h.diff"; then
  ok "the hardening blocks are identical ($(grep -c '^[A-Za-z]' "$tmp/h1") settings)"
else
  fail "the hardening blocks differ (< camwatch.service, > camwatch@.service):"; sed 's/^/    /' "$tmp/h.diff"
fi
service_settings() {  # the [Service] key=value lines, without the ones that differ on purpose
  sed -n '/^\[Service\]/,/^\[/p' "$1" | grep -E '^[A-Za-z]+=' | grep -v '^RuntimeDirectoryPreserve=' |
    sed 's#/etc/camwatch/%i\.toml#/etc/camwatch/camwatch.toml#; s#camwatch/%i#camwatch#g'
}
if diff <(service_settings "$units/camwatch.service") <(service_settings "$units/camwatch@.service") >"$tmp/s.diff"; then
  ok "every other [Service] setting matches, with camwatch/%i for camwatch"
else
  fail "[Service] settings differ (< camwatch.service, > camwatch@.service):"; sed 's/^/    /' "$tmp/s.diff"
fi
for d in StateDirectory RuntimeDirectory; do
  grep -qx "$d=camwatch/%i" "$units/camwatch@.service" || fail "camwatch@.service: $d= is not camwatch/%i"
done
grep -qx 'ExecStart=/usr/bin/camwatch run --config /etc/camwatch/%i.toml' "$units/camwatch@.service" ||
  fail "camwatch@.service: ExecStart= does not read /etc/camwatch/%i.toml"

# --- sysusers.d and tmpfiles.d ------------------------------------------------------------------
# The user the units run as is the one sysusers.d creates; tmpfiles.d creates the directories
# the units would, with the same owner and mode.
unit_value() { sed -n "s/^$2=//p" "$units/$1" | tail -1; }
user=$(unit_value camwatch.service User)
group=$(unit_value camwatch.service Group)
if command -v systemd-sysusers >/dev/null; then
  rc=0
  systemd-sysusers --dry-run "$units/camwatch.sysusers.conf" >"$tmp/sysusers.out" 2>&1 || rc=$?
  if [ $rc -ne 0 ] || grep -q "camwatch.sysusers.conf:" "$tmp/sysusers.out"; then
    fail "systemd-sysusers --dry-run: exit $rc"; sed 's/^/    /' "$tmp/sysusers.out"
  else
    ok "systemd-sysusers --dry-run accepts camwatch.sysusers.conf"
  fi
  # Into an empty root: the user and its group must come out as the units' User=/Group=.
  mkdir -p "$tmp/root/etc"
  rc=0
  systemd-sysusers --root="$tmp/root" "$units/camwatch.sysusers.conf" >"$tmp/sysusers.out" 2>&1 || rc=$?
  uid=$(awk -F: -v u="$user" '$1 == u {print $3}' "$tmp/root/etc/passwd" 2>/dev/null)
  gid=$(awk -F: -v g="$group" '$1 == g {print $3}' "$tmp/root/etc/group" 2>/dev/null)
  home=$(awk -F: -v u="$user" '$1 == u {print $6}' "$tmp/root/etc/passwd" 2>/dev/null)
  if [ $rc -eq 0 ] && [ -n "$uid" ] && [ -n "$gid" ] && [ "$uid" -lt 1000 ] && [ "$home" = /var/lib/camwatch ]; then
    ok "sysusers.d creates system user $user ($uid) and group $group ($gid), home $home"
  else
    fail "sysusers.d did not create user '$user' and group '$group' (exit $rc, uid '$uid', gid '$gid', home '$home')"
    sed 's/^/    /' "$tmp/sysusers.out"
  fi
else
  echo "skip: systemd-sysusers is not installed; camwatch.sysusers.conf not checked"
fi
if ! command -v systemd-tmpfiles >/dev/null; then
  echo "skip: systemd-tmpfiles is not installed; camwatch.tmpfiles.conf not checked"
elif [ "$(id -u)" -ne 0 ] || [ -z "${uid:-}" ]; then
  # systemd 252's tmpfiles has no --dry-run; --create into a scratch root has to chown.
  echo "skip: camwatch.tmpfiles.conf is checked by creating it in a scratch root, which needs root and the sysusers.d user"
else
  rc=0
  systemd-tmpfiles --root="$tmp/root" --create "$units/camwatch.tmpfiles.conf" >"$tmp/tmpfiles.out" 2>&1 || rc=$?
  if [ $rc -ne 0 ] || [ -s "$tmp/tmpfiles.out" ]; then
    fail "systemd-tmpfiles --create: exit $rc"; sed 's/^/    /' "$tmp/tmpfiles.out"
  else
    ok "systemd-tmpfiles --create accepts camwatch.tmpfiles.conf"
  fi
  # Each directory it creates is the one a unit names, with the unit's mode, owned by User=.
  while read -r type path mode owner grp _; do
    [ "$type" = d ] || { fail "tmpfiles.d: unexpected line type '$type' for $path"; continue; }
    case "$path" in
      /var/lib/*) kind=StateDirectory unit_path=/var/lib/$(unit_value camwatch.service StateDirectory) ;;
      /run/*) kind=RuntimeDirectory unit_path=/run/$(unit_value camwatch.service RuntimeDirectory) ;;
      *) kind='' unit_path='' ;;
    esac
    want_mode=$(unit_value camwatch.service "${kind}Mode")
    got=$(stat -c '%a %u %g' "$tmp/root$path" 2>/dev/null)
    if [ -z "$kind" ] || [ "$path" != "$unit_path" ]; then
      fail "tmpfiles.d creates $path, which is not camwatch.service's StateDirectory= or RuntimeDirectory="
    elif [ "$mode" != "$want_mode" ] || [ "$owner" != "$user" ] || [ "$grp" != "$group" ] ||
      [ "$got" != "${want_mode#0} $uid $gid" ]; then
      fail "tmpfiles.d: $path is $mode $owner:$grp (created: '$got'), the unit's $kind= is $want_mode $user:$group ($uid $gid)"
    else
      ok "tmpfiles.d creates $path as the unit's $kind= would: mode $want_mode, $user:$group"
    fi
  done < <(grep -Ev '^\s*(#|$)' "$units/camwatch.tmpfiles.conf")
fi

# --- RestartPreventExitStatus= against the exit codes camwatch returns --------------------------
# The statuses that must not restart are exactly usage (2), missing CAP_NET_RAW (4) and invalid
# configuration (6), as daemon/include/daemon/cli.h numbers them; 1 (runtime failure, e.g. the
# metrics port still taken) must restart. Then camwatch is made to fail each way for real.
code() { sed -n "s/^ *$1 = \([0-9]*\),.*/\1/p" "$src/daemon/include/daemon/cli.h"; }
usage=$(code kExitUsage) privilege=$(code kExitPrivilege) config=$(code kExitConfig) failure=$(code kExitFailure)
if [ -z "$usage" ] || [ -z "$privilege" ] || [ -z "$config" ] || [ -z "$failure" ]; then
  fail "could not read kExitUsage/kExitPrivilege/kExitConfig/kExitFailure from daemon/include/daemon/cli.h"
else
  want=$(printf '%s\n' "$usage" "$privilege" "$config" | sort -n | tr '\n' ' ')
  want=${want% }
  for f in camwatch.service camwatch@.service; do
    got=$(unit_value "$f" RestartPreventExitStatus | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
    got=${got% }
    if [ "$got" = "$want" ]; then
      ok "$f: RestartPreventExitStatus=$got is kExitUsage, kExitPrivilege, kExitConfig"
    else
      fail "$f: RestartPreventExitStatus is '$got', cli.h says usage $usage, privilege $privilege, config $config"
    fi
  done
  expect_exit() {  # description, expected code, command...
    local what=$1 want=$2 rc=0
    shift 2
    "$@" >"$tmp/exit.out" 2>&1 || rc=$?
    if [ $rc -eq "$want" ]; then ok "$what: exit $rc"; else fail "$what: exit $rc, expected $want"; sed 's/^/    /' "$tmp/exit.out"; fi
  }
  expect_exit "camwatch run with an unknown option (usage)" "$usage" "$camwatch" run --frobnicate
  printf '[[uplink]]\nname = "a"\ninterface = "lo"\n[detection]\nflap_moves = "many"\n' >"$tmp/bad.toml"
  expect_exit "camwatch run with an invalid configuration" "$config" "$camwatch" run --config "$tmp/bad.toml"
  expect_exit "camwatch run with a missing configuration file" "$config" "$camwatch" run --config "$tmp/nonexistent.toml"
  if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
    # Without CAP_NET_RAW the first capture cannot open; lo exists everywhere and nothing is
    # captured or bound before the refusal.
    mkdir -m 0777 "$tmp/noperm"
    printf '[[uplink]]\nname = "a"\ninterface = "lo"\n[events]\npath = "%s/events.jsonl"\n[state]\npath = "%s/cam.state"\n[metrics]\nlisten = ""\n[daemon]\ncontrol_socket = ""\n' \
      "$tmp/noperm" "$tmp/noperm" >"$tmp/noperm/camwatch.toml"
    chmod 0755 "$tmp"
    expect_exit "camwatch run without CAP_NET_RAW" "$privilege" setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
      --inh-caps=-all --bounding-set=-all "$camwatch" run --config "$tmp/noperm/camwatch.toml"
  else
    echo "skip: the exit status without CAP_NET_RAW is produced only as root with setpriv(1)"
  fi
fi

# --- the shipped defaults fit camwatch.service's directories ------------------------------------
# events.path and state.path must be writable under ProtectSystem=strict (StateDirectory=),
# control_socket must be in RuntimeDirectory=; the config file in ConfigurationDirectory=.
if command -v python3 >/dev/null && python3 -c 'import tomllib' 2>/dev/null; then
  read -r events state socket < <(python3 -c '
import sys, tomllib
c = tomllib.load(open(sys.argv[1], "rb"))
print(c["events"]["path"], c["state"]["path"], c["daemon"]["control_socket"])' "$src/config/camwatch.toml")
  sd=/var/lib/$(unit_value camwatch.service StateDirectory)
  rd=/run/$(unit_value camwatch.service RuntimeDirectory)
  cd_=/etc/$(unit_value camwatch.service ConfigurationDirectory)
  if [ "$(dirname "$events")" = "$sd" ] && [ "$(dirname "$state")" = "$sd" ] && [ "$(dirname "$socket")" = "$rd" ] &&
    grep -q "^ExecStart=.* --config $cd_/camwatch.toml\$" "$units/camwatch.service"; then
    ok "default events ($events), state ($state) and control socket ($socket) are in the unit's directories"
  else
    fail "config/camwatch.toml defaults ($events, $state, $socket) are not under $sd and $rd, or the config is not in $cd_"
  fi
else
  echo "skip: python3 with tomllib (3.11) is needed to read config/camwatch.toml's defaults"
fi

echo "$fails failures"
[ $fails -eq 0 ]
