#!/usr/bin/env bash
# camwatch developer entry point: installs what is missing, builds, and runs the demo or the tests.
#
#   tools/dev.sh demo    install deps, build, run the daemon live on throwaway veth interfaces in
#                        a network namespace, play the bundled incident into them, show the alerts
#   tools/dev.sh replay  install deps, build, replay the bundled incident offline
#   tools/dev.sh test    install deps, then every build CI runs (warnings as errors, ASan+UBSan:
#                        the whole test suite in each; TSan: the threaded parts; libFuzzer: a
#                        short run of each fuzz target, FUZZ_SECONDS each, default 20)
#   tools/dev.sh deps    only install missing Debian packages (needs root)
#
# Build trees go to build/ (release), build-asan/, build-tsan/ and build-fuzz/ (sanitizers). Set JOBS to limit parallelism.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
jobs=${JOBS:-$(nproc)}

# Debian 12 packages camwatch needs to build and test (runtime libraries come with the -dev ones).
packages=(
  build-essential cmake ninja-build pkg-config clang
  libpcap-dev libnl-3-dev libnl-route-3-dev libspdlog-dev libfmt-dev prometheus-cpp-dev libtoml11-dev
  libsystemd-dev libcap-ng-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  tcpdump iproute2 procps python3 curl
  valgrind                            # bench.path_smoke: callgrind's client requests (ctest -L bench)
  strace                              # e2e.live_least_privilege: a whole run starts no other program
  prometheus prometheus-alertmanager  # the real-server test, promtool, amtool
  ieee-data                           # OUI vendor names (optional at run time)
  dpkg-dev lintian man-db groff-base  # the .deb (dpkg-shlibdeps), its lint, the man page checks
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

deps() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "all build dependencies are installed"
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "camwatch: error: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_and_build() {  # dir, extra cmake args...
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

demo() {
  deps
  log "building camwatch (release)"
  configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
  if [ "$(id -u)" -ne 0 ]; then
    log "not root: no network namespace for the live demo, replaying the incident instead"
    demo_replay
    return
  fi
  demo_live
}

# The incident replayed offline: what an engineer does with captures after the fact.
demo_replay() {
  build/daemon/camwatch replay \
    --uplink vmnic2=pcaps/incident-vmnic2.pcap \
    --uplink vmnic3=pcaps/incident-vmnic3.pcap \
    --events build/incident-events.jsonl
  log "the silent moves in build/incident-events.jsonl (the alerts):"
  grep '"silent_move"' build/incident-events.jsonl
}

# The daemon live: two throwaway veth pairs in a network namespace stand in for the ESXi host's
# uplinks; the incident is played into them at 40x speed while `camwatch run` captures.
demo_live() {
  local dir
  demo_ns=camwatch-demo-$$
  dir=$(mktemp -d)
  demo_dir=$dir
  # errexit applies inside traps too: every step of the clean-up must be allowed to fail.
  demo_cleanup() {
    pkill -KILL -f "camwatch run --config $demo_dir/camwatch.toml" 2>/dev/null || true
    ip netns del "$demo_ns" 2>/dev/null || true
    rm -rf "$demo_dir" || true
  }
  trap demo_cleanup EXIT
  local ns=$demo_ns
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
  for n in vmnic2 vmnic3; do
    ip -n "$ns" link add "$n-sw" type veth peer name "$n"
    ip -n "$ns" link set "$n-sw" up
    ip -n "$ns" link set "$n" up
  done
  cat >"$dir/camwatch.toml" <<CFG
[[uplink]]
name = "vmnic2"
interface = "vmnic2"

[[uplink]]
name = "vmnic3"
interface = "vmnic3"

[events]
path = "$dir/events.jsonl"

[state]
path = "$dir/cam.state"
CFG
  log "starting: camwatch run (in network namespace $ns, capturing vmnic2 and vmnic3)"
  ip netns exec "$ns" build/daemon/camwatch run --config "$dir/camwatch.toml" 2>&1 | tee "$dir/log" | sed 's/^/  [camwatch] /' &
  for _ in $(seq 100); do grep -q "started:" "$dir/log" 2>/dev/null && break; sleep 0.1; done
  log "playing the incident into the uplinks at 40x (12.6 minutes in about 19 s): vmnic2 fails, then returns"
  ip netns exec "$ns" build/tools/camwatch-inject --speed 40 \
    vmnic2-sw=pcaps/incident-vmnic2.pcap vmnic3-sw=pcaps/incident-vmnic3.pcap
  sleep 3  # the last move is decided 2 s after it happened (the notify window)
  pkill -TERM -f "camwatch run --config $dir/camwatch.toml" || true
  wait %1 2>/dev/null || true
  log "events written by the daemon; the silent moves are the alerts:"
  grep -c '"announced_move"' "$dir/events.jsonl" | sed 's/^/  announced moves (VMs that sent a RARP): /'
  grep '"silent_move"' "$dir/events.jsonl"
  log "the same captures replayed offline give the same moves: bash tools/dev.sh replay"
}

run_ctest() {  # dir, label
  log "tests: $2"
  ctest --test-dir "$1" --output-on-failure -j "$jobs" --timeout 600
}

test_all() {
  deps
  log "build 1/4: gcc, warnings as errors"
  configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAMWATCH_WERROR=ON
  run_ctest build "gcc release"
  log "build 2/4: clang, AddressSanitizer + UndefinedBehaviorSanitizer"
  CC=clang CXX=clang++ configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DCAMWATCH_WERROR=ON \
    -DCAMWATCH_SANITIZE=address,undefined -DCAMWATCH_BUILD_BENCH=OFF
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest build-asan "clang ASan+UBSan"
  log "build 3/4: clang, ThreadSanitizer: the ring, live capture, link monitor, merger and live daemon"
  CC=clang CXX=clang++ configure_and_build build-tsan -DCMAKE_BUILD_TYPE=Debug -DCAMWATCH_WERROR=ON \
    -DCAMWATCH_SANITIZE=thread -DCAMWATCH_BUILD_BENCH=OFF
  log "tests: clang TSan (threaded parts)"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --test-dir build-tsan --output-on-failure \
    -j "$jobs" --timeout 600 -R 'SpscRing|LiveCapture|LinkMonitor|ObservationMerger|MetricsServer|ControlSocket|e2e[.]live_'
  log "build 4/4: clang libFuzzer (ASan+UBSan): decoder, mirror decapsulation, capture files, state file, config"
  CC=clang CXX=clang++ configure_and_build build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCAMWATCH_WERROR=ON \
    -DCAMWATCH_SANITIZE=address,undefined -DCAMWATCH_BUILD_FUZZERS=ON -DCAMWATCH_BUILD_BENCH=OFF \
    -DCAMWATCH_BUILD_TESTS=OFF
  log "fuzzing each target for ${FUZZ_SECONDS:-20} s (long runs: fuzz/run.sh build-fuzz 3600)"
  bash fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-20}"
  log "all builds and tests passed"
}

case "${1:-}" in
  demo) demo ;;
  replay) deps; configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; demo_replay ;;
  test) test_all ;;
  deps) deps ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
