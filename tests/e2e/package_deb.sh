#!/usr/bin/env bash
# The Debian package, end to end, as README.md's Install section makes it: a fresh configure of the
# sources (Release, prefix /usr, no tests/benchmarks/fuzzers; 2 jobs), `cpack -G DEB`, lintian (no
# E: line; W: and I: lines are shown), the control fields (Depends: from dpkg-shlibdeps, conffiles),
# then `dpkg -i`: the installed camwatch runs and accepts the shipped configuration, the camwatch
# user exists, man pages, completion and alert rules are in place, the service is neither enabled
# nor started; a modified conffile survives a reinstall; `dpkg -r` keeps configuration and state,
# `dpkg --purge` removes them. The machine is left as it was, also when a check fails (trap): the
# package purged, the camwatch user and group removed if this test created them.
#
# Skips (77): not root; dpkg, cpack, lintian or dpkg-shlibdeps (dpkg-dev) missing; a camwatch
# package or camwatch files already on the machine (not ours to touch); a sanitizer build (the
# package is built from the sources, not from that build: checked once, in the release build).
set -uo pipefail
camwatch=$1 src=$2
build_of_binary=$(cd "$(dirname "$camwatch")/.." && pwd)

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (dpkg -i, dpkg --purge)"
for tool in dpkg dpkg-deb dpkg-query cpack cmake lintian dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || skip "$tool not found (Debian: apt-get install dpkg-dev lintian cmake)"
done
sanitize=$(sed -n 's/^CAMWATCH_SANITIZE:[A-Z]*=//p' "$build_of_binary/CMakeCache.txt" 2>/dev/null)
case $sanitize in
  "" | OFF) ;;
  *) skip "sanitizer build ($sanitize): the package is built from the sources and checked in the release build's run" ;;
esac
status=$(dpkg-query -W -f='${Status}' camwatch 2>/dev/null)
case $status in
  "" | *not-installed) ;;
  *) skip "a camwatch package is already on this machine ($status); this test installs and purges its own" ;;
esac
for path in /usr/bin/camwatch /etc/camwatch /var/lib/camwatch /lib/systemd/system/camwatch.service \
    /usr/lib/systemd/system/camwatch.service; do
  [ -e "$path" ] && skip "$path exists (camwatch installed without the package?); not touching it"
done

tmp=$(mktemp -d)
user_existed=0 group_existed=0
getent passwd camwatch >/dev/null && user_existed=1
getent group camwatch >/dev/null && group_existed=1
installed_by_us=0
cleanup() {
  # errexit is off; every step may fail without stopping the others.
  if [ "$installed_by_us" = 1 ]; then
    dpkg-query -W -f='${Status}' camwatch 2>/dev/null | grep -qv not-installed &&
      dpkg --purge camwatch >/dev/null 2>&1
  fi
  # Debian keeps system users on purge (packaging/deb/postrm); this test leaves no trace.
  [ "$user_existed" = 0 ] && getent passwd camwatch >/dev/null && userdel camwatch
  [ "$group_existed" = 0 ] && getent group camwatch >/dev/null && groupdel camwatch
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
check() {  # description, command...: the command must succeed
  local what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then ok "$what"; else fail "$what"; sed 's/^/    /' "$tmp/out"; fi
}
step() { printf '==> %s\n' "$*"; }
started=$SECONDS

# ---- build --------------------------------------------------------------------------------------------
build=$tmp/build
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
step "configure and build the sources (Release, prefix /usr, 2 jobs)"
if ! cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DCAMWATCH_BUILD_TESTS=OFF -DCAMWATCH_BUILD_BENCH=OFF -DCAMWATCH_BUILD_FUZZERS=OFF >"$tmp/configure.log" 2>&1; then
  cat "$tmp/configure.log"; echo "FAIL: configure"; exit 1
fi
if ! cmake --build "$build" -j 2 >"$tmp/build.log" 2>&1; then
  tail -50 "$tmp/build.log"; echo "FAIL: build"; exit 1
fi
step "cpack -G DEB ($((SECONDS - started)) s so far)"
if ! (cd "$build" && cpack -G DEB) >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log"; echo "FAIL: cpack -G DEB"; exit 1
fi
debs=("$build"/camwatch_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || { echo "FAIL: cpack made no single camwatch_*.deb: ${debs[*]}"; exit 1; }
deb=${debs[0]}
version=$("$camwatch" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "camwatch_${version}-1_${arch}.deb" ] && ok "cpack made $(basename "$deb")" ||
  fail "the package is $(basename "$deb"), expected camwatch_${version}-1_${arch}.deb"

# ---- lintian and the control fields -------------------------------------------------------------------------
step "lintian $(basename "$deb")"
lintian --display-info "$deb" >"$tmp/lintian" 2>&1
sed 's/^/    /' "$tmp/lintian"
if grep -q '^E:' "$tmp/lintian"; then
  fail "lintian reports errors (E: lines above)"
else
  ok "lintian: no errors ($(grep -c '^W:' "$tmp/lintian") warnings, $(grep -c '^I:' "$tmp/lintian") info)"
fi

dpkg-deb -I "$deb" >"$tmp/info"
field() { dpkg-deb -f "$deb" "$1"; }
depends=$(field Depends)
for lib in libpcap0.8 libprometheus-cpp-core libprometheus-cpp-pull libsystemd0 libc6; do
  grep -qE "(^|, )$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
grep -qE '(^|, )libpcap0\.8 \(>= ' <<<"$depends" && ok "Depends (dpkg-shlibdeps): $depends" ||
  fail "Depends is not what dpkg-shlibdeps makes (versioned libpcap0.8): $depends"
[ "$(field Package)" = camwatch ] && [ "$(field Version)" = "${version}-1" ] && [ "$(field Architecture)" = "$arch" ] &&
  [ "$(field Section)" = net ] && [ "$(field Priority)" = optional ] && [ "$(field Recommends)" = ieee-data ] &&
  [ "$(field Suggests)" = prometheus ] && [ -n "$(field Maintainer)" ] &&
  ok "Package, Version, Architecture, Section, Priority, Recommends, Suggests, Maintainer" ||
  { fail "control fields:"; sed 's/^/    /' "$tmp/info"; }
description=$(field Description)
[ "$(wc -l <<<"$description")" -ge 3 ] && ok "Description has a synopsis and a long description" ||
  fail "Description: $description"
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles 2>/dev/null)
[ "$conffiles" = /etc/camwatch/camwatch.toml ] && ok "conffiles: /etc/camwatch/camwatch.toml" || fail "conffiles: '$conffiles'"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/contents"
for path in /usr/bin/camwatch /etc/camwatch/camwatch.toml /lib/systemd/system/camwatch.service \
    /lib/systemd/system/camwatch@.service /usr/lib/sysusers.d/camwatch.conf /usr/lib/tmpfiles.d/camwatch.conf \
    /usr/share/camwatch/prometheus/camwatch-rules.yml /usr/share/man/man8/camwatch.8.gz \
    /usr/share/man/man5/camwatch.toml.5.gz /usr/share/bash-completion/completions/camwatch \
    /usr/share/doc/camwatch/copyright /usr/share/doc/camwatch/changelog.Debian.gz; do
  grep -qxF "$path" "$tmp/contents" || fail "the package lacks $path"
done
dpkg-deb -x "$deb" "$tmp/extracted"
if readelf -S "$tmp/extracted/usr/bin/camwatch" 2>/dev/null | grep -qE '\.(debug_info|symtab)'; then
  fail "/usr/bin/camwatch in the package is not stripped"
else
  ok "/usr/bin/camwatch in the package is stripped"
fi

# ---- install --------------------------------------------------------------------------------------------------
step "dpkg -i $(basename "$deb")"
installed_by_us=1
if ! dpkg -i "$deb" </dev/null >"$tmp/dpkg-i.log" 2>&1; then
  sed 's/^/    /' "$tmp/dpkg-i.log"; echo "FAIL: dpkg -i"; exit 1
fi
sed 's/^/    /' "$tmp/dpkg-i.log"
grep -q 'systemctl enable --now camwatch' "$tmp/dpkg-i.log" && ok "postinst prints how to configure and enable" ||
  fail "postinst printed no hint"
check "the installed /usr/bin/camwatch --version is $version" sh -c "/usr/bin/camwatch --version | grep -qx 'camwatch $version'"
check "camwatch check-config --config /etc/camwatch/camwatch.toml" /usr/bin/camwatch check-config --config /etc/camwatch/camwatch.toml
check "the installed configuration is config/camwatch.toml" cmp "$src/config/camwatch.toml" /etc/camwatch/camwatch.toml
check "id camwatch (the system user, from sysusers.d)" id camwatch
uid=$(id -u camwatch 2>/dev/null)
[ -n "$uid" ] && [ "$uid" -lt 1000 ] && ok "camwatch is a system user (uid $uid)" || fail "camwatch uid '$uid' is not a system uid"
[ "$(stat -c '%U:%G %a' /var/lib/camwatch 2>/dev/null)" = "camwatch:camwatch 750" ] &&
  ok "/var/lib/camwatch: camwatch:camwatch 750 (tmpfiles.d)" || fail "/var/lib/camwatch: $(stat -c '%U:%G %a' /var/lib/camwatch 2>&1)"
if grep -qs '^path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
  echo "note: dpkg excludes /usr/share/man here (a minimal image): man -w not checked"
elif command -v man >/dev/null; then
  check "man -w camwatch" sh -c 'man -w camwatch | grep -qx /usr/share/man/man8/camwatch.8.gz'
  check "man -w 5 camwatch.toml" sh -c 'man -w 5 camwatch.toml | grep -qx /usr/share/man/man5/camwatch.toml.5.gz'
fi
check "alert rules in /usr/share/camwatch/prometheus/camwatch-rules.yml" test -s /usr/share/camwatch/prometheus/camwatch-rules.yml
if command -v promtool >/dev/null; then
  check "promtool check rules on the installed rules" promtool check rules /usr/share/camwatch/prometheus/camwatch-rules.yml
fi
check "the completion loads from /usr/share/bash-completion/completions/camwatch" bash --norc -c \
  'source /usr/share/bash-completion/completions/camwatch && complete -p camwatch | grep -q _camwatch'
check "dpkg --verify camwatch (no packaged file changed by the scripts)" dpkg --verify camwatch
enabled=$(find /etc/systemd/system -name 'camwatch*.service' 2>/dev/null)
[ -z "$enabled" ] && ok "the service is not enabled" || fail "the package enabled the service: $enabled"
pgrep -f '^/usr/bin/camwatch' >/dev/null && fail "a /usr/bin/camwatch process runs after the install" || ok "no camwatch process started"

# ---- a modified conffile survives a reinstall ---------------------------------------------------------------------
step "modify /etc/camwatch/camwatch.toml, dpkg -i again"
printf '\n# changed by package_deb.sh\n' >>/etc/camwatch/camwatch.toml
cp /etc/camwatch/camwatch.toml "$tmp/modified.toml"
if dpkg -i "$deb" </dev/null >"$tmp/dpkg-i2.log" 2>&1; then
  ok "dpkg -i of the same version again (stdin closed: it must not ask)"
else
  fail "dpkg -i again"; sed 's/^/    /' "$tmp/dpkg-i2.log"
fi
check "the modified conffile is kept" cmp "$tmp/modified.toml" /etc/camwatch/camwatch.toml
leftovers=$(ls /etc/camwatch/*.dpkg-* 2>/dev/null)
[ -z "$leftovers" ] && ok "no .dpkg-new/.dpkg-dist beside it" || fail "dpkg left $leftovers"
check "the camwatch user survives the reinstall" id camwatch

# ---- remove, then purge ---------------------------------------------------------------------------------------
step "dpkg -r camwatch"
echo "saved table" >/var/lib/camwatch/cam.state  # stands in for the daemon's state
check "dpkg -r camwatch" dpkg -r camwatch
[ ! -e /usr/bin/camwatch ] && ok "remove: /usr/bin/camwatch is gone" || fail "remove: /usr/bin/camwatch is still there"
check "remove: the modified configuration stays" cmp "$tmp/modified.toml" /etc/camwatch/camwatch.toml
check "remove: the state stays" test -f /var/lib/camwatch/cam.state
step "dpkg --purge camwatch"
check "dpkg --purge camwatch" dpkg --purge camwatch
for path in /usr/bin/camwatch /etc/camwatch /var/lib/camwatch /run/camwatch /lib/systemd/system/camwatch.service \
    /usr/share/camwatch /usr/share/doc/camwatch /usr/lib/sysusers.d/camwatch.conf; do
  [ -e "$path" ] && fail "purge: $path is still there"
done
status=$(dpkg-query -W -f='${Status}' camwatch 2>/dev/null)
case $status in
  "" | *not-installed) ok "purge: camwatch package, /usr/bin/camwatch, /etc/camwatch, /var/lib/camwatch gone" ;;
  *) fail "purge: dpkg still knows camwatch: $status" ;;
esac
getent passwd camwatch >/dev/null && echo "note: the camwatch user stays after a purge (Debian practice; see packaging/deb/postrm); this test removes it"

echo "package_deb.sh took $((SECONDS - started)) s"
[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all package checks passed"
