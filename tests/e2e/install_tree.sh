#!/usr/bin/env bash
# `cmake --install` of the build that made CAMWATCH_BINARY, with the prefix /usr into a throwaway
# DESTDIR (no root needed): every file where README.md's Install section says and nothing else (no
# test, benchmark or library files); a modified /etc/camwatch/camwatch.toml survives a second
# install; the prefix /usr/local puts the configuration under /usr/local/etc; the man pages render
# without a warning and document every command, option and exit code of `camwatch --help` and
# every key of config/camwatch.toml; the bash completion completes commands, per-command options
# (the same as the usage text's), --sort keys and files, also after `--uplink NAME=`.
set -uo pipefail
camwatch=$1 src=$2
build=$(cd "$(dirname "$camwatch")/.." && pwd)
if [ ! -f "$build/cmake_install.cmake" ] || [ ! -f "$build/CMakeCache.txt" ]; then
  echo "SKIP: $build (two levels above $camwatch) is not a CMake build directory"
  exit 77
fi
cmake=$(sed -n 's/^CMAKE_COMMAND:INTERNAL=//p' "$build/CMakeCache.txt")
[ -x "$cmake" ] || cmake=cmake
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok:   $*"; }
check() {  # description, command...: the command must succeed
  local what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then ok "$what"; else fail "$what"; sed 's/^/    /' "$tmp/out"; fi
}

root=$tmp/root
install_into() {  # destdir prefix log
  DESTDIR=$1 "$cmake" --install "$build" --prefix "$2" >"$3" 2>&1
}

# ---- the tree ------------------------------------------------------------------------------------
if ! install_into "$root" /usr "$tmp/install.log"; then
  fail "cmake --install $build --prefix /usr (DESTDIR=$root)"
  sed 's/^/    /' "$tmp/install.log"
  exit 1
fi
ok "cmake --install --prefix /usr into DESTDIR"

# The units go where pkg-config systemd says for a build configured with the prefix /usr
# (Debian 12: /lib/systemd/system), else under the prefix given to --install.
unitdir=usr/lib/systemd/system
[ -e "$root/lib/systemd/system/camwatch.service" ] && unitdir=lib/systemd/system
expected=(
  usr/bin/camwatch
  "$unitdir/camwatch.service" "$unitdir/camwatch@.service"
  usr/lib/sysusers.d/camwatch.conf usr/lib/tmpfiles.d/camwatch.conf
  etc/camwatch/camwatch.toml
  usr/share/camwatch/prometheus/camwatch-rules.yml
  usr/share/camwatch/prometheus/prometheus.example.yml
  usr/share/camwatch/prometheus/alertmanager.example.yml
  usr/share/camwatch/grafana/camwatch-dashboard.json
  usr/share/man/man8/camwatch.8.gz usr/share/man/man5/camwatch.toml.5.gz
  usr/share/bash-completion/completions/camwatch
  usr/share/doc/camwatch/README.md usr/share/doc/camwatch/CHANGELOG.md usr/share/doc/camwatch/copyright
)
for doc in "$src"/docs/*.md; do expected+=("usr/share/doc/camwatch/$(basename "$doc")"); done
printf '%s\n' "${expected[@]}" | sort >"$tmp/expected"
(cd "$root" && find . ! -type d | sed 's|^\./||' | sort) >"$tmp/installed"
if diff -u "$tmp/expected" "$tmp/installed" >"$tmp/diff"; then
  ok "installed exactly the ${#expected[@]} expected files"
else
  fail "installed files differ from the expected list (- missing, + unexpected):"
  grep '^[-+][^-+]' "$tmp/diff" | sed 's/^/    /'
fi
leaks=$(cd "$root" && find . \( -name '*.a' -o -name '*.so*' -o -name '*.h' -o -name '*.hpp' -o -name '*.cmake' \
  -o -name '*.pc' -o -iname '*gtest*' -o -iname '*gmock*' -o -iname '*benchmark*' -o -name 'camwatch-*' \
  \) ! -path './usr/share/camwatch/*' ! -name 'camwatch-rules.yml' ! -name 'camwatch-dashboard.json')
[ -z "$leaks" ] && ok "no libraries, headers, CMake files or test/bench tools" || fail "leaked into the install: $leaks"
[ -x "$root/usr/bin/camwatch" ] && ok "usr/bin/camwatch is executable" || fail "usr/bin/camwatch is not executable"
mode=$(stat -c %a "$root/etc/camwatch/camwatch.toml" 2>/dev/null)
[ "$mode" = 644 ] && ok "etc/camwatch/camwatch.toml is mode 644" || fail "etc/camwatch/camwatch.toml is mode $mode, not 644"
check "the installed configuration is config/camwatch.toml" cmp "$src/config/camwatch.toml" "$root/etc/camwatch/camwatch.toml"
check "the installed camwatch runs (--version)" "$root/usr/bin/camwatch" --version
check "the installed configuration passes check-config" "$root/usr/bin/camwatch" check-config --config "$root/etc/camwatch/camwatch.toml"
copyright=$root/usr/share/doc/camwatch/copyright
if head -1 "$copyright" | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' &&
   grep -q '^License: MIT$' "$copyright" && grep -q '^ Permission is hereby granted' "$copyright"; then
  ok "copyright is DEP-5 (License: MIT) and holds LICENSE"
else
  fail "usr/share/doc/camwatch/copyright is not DEP-5 with the text of LICENSE"
fi

# ---- the configuration is never overwritten ---------------------------------------------------------
install_into "$root" /usr "$tmp/again.log" || fail "a second install failed: $(cat "$tmp/again.log")"
if cmp -s "$src/config/camwatch.toml" "$root/etc/camwatch/camwatch.toml" && [ ! -e "$root/etc/camwatch/camwatch.toml.dist" ]; then
  ok "reinstall over an unchanged configuration: nothing beside it"
else
  fail "reinstall over an unchanged configuration changed it or left a camwatch.toml.dist"
fi
printf '\n[log]\nlevel = "debug"  # changed by install_tree.sh\n' >>"$root/etc/camwatch/camwatch.toml"
cp "$root/etc/camwatch/camwatch.toml" "$tmp/modified.toml"
install_into "$root" /usr "$tmp/third.log" || fail "an install over a modified configuration failed: $(cat "$tmp/third.log")"
check "a modified etc/camwatch/camwatch.toml survives a second install" cmp "$tmp/modified.toml" "$root/etc/camwatch/camwatch.toml"
check "the shipped default goes beside it as camwatch.toml.dist" cmp "$src/config/camwatch.toml" "$root/etc/camwatch/camwatch.toml.dist"
grep -q "Keeping: .*camwatch.toml" "$tmp/third.log" && ok "the install says it kept the configuration" ||
  fail "the install does not say it kept the configuration: $(cat "$tmp/third.log")"

# Another prefix: the configuration goes to PREFIX/etc, decided when installing.
if install_into "$tmp/local" /usr/local "$tmp/local.log"; then
  [ -f "$tmp/local/usr/local/etc/camwatch/camwatch.toml" ] && [ -x "$tmp/local/usr/local/bin/camwatch" ] &&
    [ ! -e "$tmp/local/etc" ] && ok "--prefix /usr/local: usr/local/bin/camwatch, usr/local/etc/camwatch/camwatch.toml" ||
    fail "--prefix /usr/local: $(cd "$tmp/local" && find . -name 'camwatch*.toml' -o -name camwatch -type f | tr '\n' ' ')"
else
  fail "cmake --install --prefix /usr/local: $(cat "$tmp/local.log")"
fi

# ---- man pages ---------------------------------------------------------------------------------------
man8=$root/usr/share/man/man8/camwatch.8.gz
man5=$root/usr/share/man/man5/camwatch.toml.5.gz
gzip_n() {  # gzip -9n: valid, no file name stored (FLG bit 3), no time stamp (MTIME 0)
  gzip -t "$1" && [ "$(od -An -tu4 -j4 -N4 "$1" | tr -d ' ')" = 0 ] && [ $(($(od -An -tu1 -j3 -N1 "$1") & 8)) = 0 ]
}
for page in "$man8" "$man5"; do check "$(basename "$page") is gzip -9n (no name, no time stamp)" gzip_n "$page"; done
version=$("$camwatch" --version | awk '{print $2}')
if command -v man >/dev/null && command -v groff >/dev/null; then
  for page in "$man8" "$man5"; do
    name=$(basename "$page" .gz)
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
    [ -z "$warnings" ] && ok "man --warnings -l $name: no warnings" || fail "man --warnings -l $name: $warnings"
    warnings=$(gzip -dc "$page" | groff -ww -man -z 2>&1)
    [ -z "$warnings" ] && ok "groff -ww -man -z $name: no warnings" || fail "groff -ww -man -z $name: $warnings"
    th=$(gzip -dc "$page" | sed -n 's/^\.TH .*"camwatch \([^"]*\)".*/\1/p')
    [ "$th" = "$version" ] && ok "$name is for camwatch $version" || fail "$name says camwatch '$th', the binary is $version"
  done
  LC_ALL=C.UTF-8 MANWIDTH=1000 man -l "$man8" 2>/dev/null >"$tmp/camwatch.8.txt"
  LC_ALL=C.UTF-8 MANWIDTH=1000 man -l "$man5" 2>/dev/null >"$tmp/camwatch.toml.5.txt"

  # camwatch(8) against the usage text: every command, option and exit code.
  "$camwatch" --help >"$tmp/usage"
  commands=$(awk '/^commands:/ {on = 1; next} /^$/ {on = 0} on && /^  [a-z]/ {print $1}' "$tmp/usage")
  options=$(grep -oE -- '(^|[ [,|])(--[a-z][a-z-]*|-[a-zA-Z])\b' "$tmp/usage" | grep -oE -- '-.*' | sort -u)
  [ "$(echo "$commands" | wc -w)" -ge 4 ] && [ "$(echo "$options" | wc -w)" -ge 10 ] ||
    fail "could not read the commands and options from camwatch --help"
  synopsis=$(sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' "$tmp/camwatch.8.txt")
  described=$(sed -n '/^COMMANDS/,/^EXIT STATUS/p' "$tmp/camwatch.8.txt")
  for c in $commands; do
    grep -qE "camwatch $c( |$)" <<<"$synopsis" && grep -qE "^       $c( |$)" <<<"$described" ||
      fail "camwatch(8) lacks the command $c in SYNOPSIS or COMMANDS"
  done
  for o in $options; do
    grep -qE -- "(^|[^a-z-])$o([^a-z-]|$)" <<<"$described" || fail "camwatch(8) OPTIONS lacks $o"
  done
  for o in $(grep -oE -- '(^|[^a-z-])--[a-z][a-z-]*' <<<"$synopsis$described" | grep -oE -- '--.*' | sort -u); do
    grep -qxF -- "$o" <<<"$options" || fail "camwatch(8) names $o, which camwatch --help does not know"
  done
  codes=$(sed -n '/^exit codes:/,$p' "$tmp/usage" | grep -oE '(^|[ :,])[0-9]+ [a-z]' | grep -oE '[0-9]+')
  exits=$(sed -n '/^EXIT STATUS/,/^SIGNALS/p' "$tmp/camwatch.8.txt")
  for code in $codes; do grep -qE "^       $code( |$)" <<<"$exits" || fail "camwatch(8) EXIT STATUS lacks $code"; done
  for s in SIGHUP SIGTERM; do grep -q "$s" "$tmp/camwatch.8.txt" || fail "camwatch(8) does not describe $s"; done
  grep -q 'camwatch.toml(5)' <<<"$(sed -n '/^SEE ALSO/,$p' "$tmp/camwatch.8.txt")" || fail "camwatch(8) SEE ALSO lacks camwatch.toml(5)"
  ok "camwatch(8) has the $(echo $commands | wc -w) commands, $(echo $options | wc -w) options and exit codes $(echo $codes) of camwatch --help"

  # camwatch.toml(5) against config/camwatch.toml: its keys, found as the config unit test finds
  # them (commented examples "# key = value" and "# [[uplink]]" switched on), each documented
  # under its section, and no key documented that the file does not have.
  sed -E 's/^# ((\[\[(uplink|collector)\]\])|([a-z0-9_]+ = .+))$/\1/' "$src/config/camwatch.toml" |
    awk '/^\[\[?[a-z_]+\]\]?[ \t]*$/ {s = $1; gsub(/[][]/, "", s); next}
         /^[a-z0-9_]+ = / {print s "." $1}' | sort -u >"$tmp/config-keys"
  awk '/^\[\[?[a-z_]+\]\]?$/ {s = $1; gsub(/[][]/, "", s); next} /^[^ ]/ {s = ""; next}
       s != "" && /^       [a-z0-9_]+ \(/ {print s "." $1}' "$tmp/camwatch.toml.5.txt" | sort -u >"$tmp/man-keys"
  if [ "$(wc -l <"$tmp/config-keys")" -lt 20 ]; then
    fail "found only $(wc -l <"$tmp/config-keys") keys in config/camwatch.toml"
  elif diff "$tmp/config-keys" "$tmp/man-keys" >"$tmp/diff"; then
    ok "camwatch.toml(5) documents the $(wc -l <"$tmp/config-keys") keys of config/camwatch.toml, each under its section"
  else
    fail "camwatch.toml(5) and config/camwatch.toml differ (< only in the file, > only in the man page):"
    grep '^[<>]' "$tmp/diff" | sed 's/^/    /'
  fi
  while read -r key; do  # every key also with its type and default (or "required")
    k=${key#*.}
    grep -qE "^       $k \((string|integer|boolean|duration)[^)]*(default|required)" "$tmp/camwatch.toml.5.txt" ||
      fail "camwatch.toml(5): $key has no type and default"
  done <"$tmp/config-keys"
else
  echo "note: man or groff not installed: the man pages are not rendered or compared"
fi

# ---- bash completion ----------------------------------------------------------------------------------
completion=$root/usr/share/bash-completion/completions/camwatch
mkdir -p "$tmp/files/states"
touch "$tmp/files/a.pcap" "$tmp/files/b.pcap" "$tmp/files/site.toml" "$tmp/files/states/cam.state"
default_wordbreaks=$' \t\n"\'><=;|&(:'  # bash's COMP_WORDBREAKS
# Runs the completion function in $tmp/files for COMP_WORDS as bash splits them (at '=' unless
# $wordbreaks says not), the last word being completed; prints COMPREPLY sorted.
complete_words() {
  (cd "$tmp/files" && wb=${wordbreaks-$default_wordbreaks} bash --norc --noprofile -c '
    source "$1" || exit 1
    shift
    COMP_WORDBREAKS=$wb
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _camwatch camwatch "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$completion" "$@")
}
expect_completion() {  # description, expected words (space-separated, any order), COMP_WORDS...
  local what=$1 want
  want=$(tr ' ' '\n' <<<"$2" | sed '/^$/d' | sort -u)
  shift 2
  local got
  got=$(complete_words "$@" | sed '/^$/d')
  if [ "$got" = "$want" ]; then ok "completion: $what"; else fail "completion: $what: got [$(echo $got)], want [$(echo $want)]"; fi
}
f=$tmp/files
expect_completion "commands" "run replay check-config table" camwatch ""
expect_completion "a command by its start" "check-config" camwatch ch
expect_completion "global options" "-h --help -V --version" camwatch -
expect_completion "--uplink NAME=FILE completes the file after '='" "a.pcap" camwatch replay --uplink vmnic2 = a
expect_completion "--uplink NAME=FILE in another directory" "$f/a.pcap $f/b.pcap $f/site.toml $f/states" camwatch replay --uplink vmnic2 = "$f/"
wordbreaks=$' \t\n' expect_completion "--uplink NAME=FILE, '=' not a word break" "vmnic2=a.pcap vmnic2=b.pcap vmnic2=site.toml vmnic2=states" \
  camwatch replay --uplink vmnic2=
expect_completion "--uplink NAME= (no name completion)" "" camwatch replay --uplink ""
expect_completion "replay --config FILE" "site.toml" camwatch replay --uplink a = a.pcap --config si
expect_completion "--config=FILE" "site.toml" camwatch check-config --config = si
expect_completion "replay --events FILE or -" "- a.pcap b.pcap site.toml states" camwatch replay --events ""
expect_completion "replay --table FILE" "states" camwatch replay --table st
expect_completion "table --state FILE" "states/cam.state" camwatch table --state states/
expect_completion "table --socket FILE" "$f/site.toml" camwatch table --socket "$f/si"
expect_completion "table --sort KEY" "last-move last-seen" camwatch table --sort la
expect_completion "table --sort=KEY" "mac" camwatch table --sort = m
# Options per command: exactly those of the usage text (plus --help), without those already given
# except replay's repeatable --uplink and --collector.
for c in $commands; do
  want=$(awk -v c="$c" '/^commands:/ {on = 1; next} /^$/ {on = 0}
    on && /^  [a-z]/ {cur = $1} on && cur == c' "$tmp/usage" | grep -oE -- '--[a-z][a-z-]*' | sort -u)
  expect_completion "options of $c (as in camwatch --help)" "$want --help" camwatch "$c" --
done
sorts=$(tr -s ' \n' ' ' <"$tmp/usage" | grep -oE 'KEY: [a-z-]+ \(default\)(, [a-z-]+)*' | sed 's/KEY: //; s/(default)//; s/,/ /g')
expect_completion "--sort offers the KEYs of camwatch --help" "$sorts" camwatch table --json --sort ""
expect_completion "options already given are not offered again" "--collector --help --table --uplink" camwatch replay --uplink a = "$f/a.pcap" \
  --config "$f/site.toml" --events - ""
expect_completion "table: --uplink, --vlan and --limit take values, nothing to offer" "" camwatch table --vlan ""

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all install tree checks passed"
