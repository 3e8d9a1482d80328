# Shared by the live bench scripts (sourced): a throwaway network namespace with one veth pair
# (cwtx: traffic in, cwrx: captured), camwatch's config for it, the bench capture file, and the
# parsing of camwatch's per-uplink stop line. Callers set: repo, build_dir, camwatch, frames;
# THREADS (default 1) > 1 gives the veth that many queues and camwatch that many capture threads
# in a PACKET_FANOUT group (`[capture] threads_per_interface`).

bench_gen=${BENCH_GEN:-$build_dir/bench/camwatch-bench-gen}
out_dir=${OUT_DIR:-$repo/bench/out}

bench_require() {  # script name, tools...
  local name=$1
  shift
  [ "$(id -u)" -eq 0 ] || { echo "$name: needs root (network namespace, capture)" >&2; exit 1; }
  for tool in ip "$@"; do
    command -v "$tool" >/dev/null || { echo "$name: $tool is not installed" >&2; exit 1; }
  done
  [ -x "$camwatch" ] || { echo "$name: no camwatch at $camwatch" >&2; exit 1; }
}

bench_file() {  # prints the path of the FRAMES-frame bench capture, generating it once
  mkdir -p "$out_dir"
  local file=$out_dir/bench-${frames}f-100000m-s1.pcap
  if [ ! -s "$file" ]; then
    [ -x "$bench_gen" ] || { echo "no camwatch-bench-gen at $bench_gen" >&2; exit 1; }
    "$bench_gen" --frames "$frames" "$file" >&2
  fi
  echo "$file"
}

bench_netns() {  # sets ns and dir, creates the namespace and veth, writes $dir/camwatch.toml
  ns=camwatch-bench-$$
  dir=$(mktemp -d)
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
  threads=${THREADS:-1}
  ip -n "$ns" link add name cwtx numtxqueues "$threads" numrxqueues "$threads" type veth \
    peer name cwrx numtxqueues "$threads" numrxqueues "$threads"
  ip -n "$ns" link set cwtx up
  ip -n "$ns" link set cwrx up
  ip -n "$ns" link set lo up
  cat >"$dir/camwatch.toml" <<CFG
[[uplink]]
name = "bench"
interface = "cwrx"
[events]
path = "$dir/events.jsonl"
[state]
path = "$dir/cam.state"
[metrics]
listen = "127.0.0.1:9842"
[capture]
threads_per_interface = $threads
[daemon]
control_socket = "$dir/control.sock"
CFG
}

bench_netns_cleanup() {
  ip netns del "$ns" 2>/dev/null
  rm -rf "$dir"
}

# From camwatch's "uplink bench: N frames, ... K kernel drops, ... R ring drops, F filtered,
# W ring writes" line in LOG: sets cw_frames, cw_kdrops, cw_rdrops, cw_filtered, cw_writes.
bench_camwatch_counts() {
  local line
  line=$(grep "uplink bench:" "$1" | tail -1)
  cw_frames=$(sed -E 's/.*bench: ([0-9]+) frames.*/\1/' <<<"$line")
  cw_kdrops=$(sed -E 's/.* ([0-9]+) kernel drops.*/\1/' <<<"$line")
  cw_rdrops=$(sed -E 's/.* ([0-9]+) ring drops.*/\1/' <<<"$line")
  cw_filtered=$(sed -nE 's/.* ([0-9]+) filtered.*/\1/p' <<<"$line")
  cw_writes=$(sed -nE 's/.* ([0-9]+) ring writes.*/\1/p' <<<"$line")
}
