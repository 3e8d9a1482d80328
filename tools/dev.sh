#!/usr/bin/env bash
# camwatch developer entry point: installs what is missing, builds, and runs the demo or the tests.
#
#   tools/dev.sh demo    install deps, build, replay the bundled incident (pcaps/) and show alerts
#   tools/dev.sh test    install deps, then every build CI runs (warnings as errors, ASan+UBSan)
#                        and the whole test suite in each
#   tools/dev.sh deps    only install missing Debian packages (needs root)
#
# Build trees go to build/ (release) and build-asan/ (sanitizers). Set JOBS to limit parallelism.
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
  tcpdump iproute2 python3
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
  log "replaying the bundled incident: vmnic2 fails, then comes back 9.5 minutes later"
  set -x
  build/daemon/camwatch replay \
    --uplink vmnic2=pcaps/incident-vmnic2.pcap \
    --uplink vmnic3=pcaps/incident-vmnic3.pcap \
    --events build/incident-events.jsonl
  { set +x; } 2>/dev/null
  log "the silent moves in build/incident-events.jsonl (the alerts):"
  grep '"silent_move"' build/incident-events.jsonl
}

run_ctest() {  # dir, label
  log "tests: $2"
  ctest --test-dir "$1" --output-on-failure -j "$jobs" --timeout 600
}

test_all() {
  deps
  log "build 1/2: gcc, warnings as errors"
  configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAMWATCH_WERROR=ON
  run_ctest build "gcc release"
  log "build 2/2: clang, AddressSanitizer + UndefinedBehaviorSanitizer"
  CC=clang CXX=clang++ configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DCAMWATCH_WERROR=ON \
    -DCAMWATCH_SANITIZE=address,undefined -DCAMWATCH_BUILD_BENCH=OFF
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest build-asan "clang ASan+UBSan"
  log "all builds and tests passed"
}

case "${1:-}" in
  demo) demo ;;
  test) test_all ;;
  deps) deps ;;
  *) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
