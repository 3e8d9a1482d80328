#!/usr/bin/env python3
"""The watchdog scenarios of live_watchdog.sh (a helper, not a test itself).

A fake systemd: it owns a NOTIFY_SOCKET, starts `camwatch run` with NOTIFY_SOCKET, WATCHDOG_USEC
and WATCHDOG_PID (the daemon's own pid, as systemd sets it after fork) and, as systemd does with
WatchdogSec=, sends SIGABRT when no WATCHDOG=1 arrived for WATCHDOG_USEC, then restarts it
(Restart=on-failure).

  lib_watchdog.py stdout   NS CAMWATCH INJECT FRAMES DIR   events to stdout ("-"), a pipe we stop
                                                           reading: the tracker loop blocks in
                                                           write(2), the pings stop, SIGABRT,
                                                           restart
  lib_watchdog.py fifo     NS CAMWATCH INJECT FRAMES DIR   events to a FIFO we stop reading: the
                                                           loop must go on (the file is opened
                                                           non-blocking), events wait in the
                                                           backlog and all arrive once we read

Prints "ok: ..." / "FAIL: ..." lines and one "FIGURES ..." line; exit 1 on any FAIL.
"""
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

WATCHDOG_USEC = 2_000_000
LIMIT = WATCHDOG_USEC / 1e6
F_SETPIPE_SZ = 1031

failures = []
# The largest gap between pings a healthy daemon may show: 80% of the limit, so a loop that is
# merely slow fails before systemd would kill it. A sanitizer build runs the loop many times
# slower on a shared CI machine; there the bound is the limit itself (systemd's own verdict).
HEALTHY_GAP = LIMIT * 0.8


def set_sanitized(camwatch):
    global HEALTHY_GAP
    with open(camwatch, "rb") as f:
        data = f.read()
    if b"__tsan_init" in data or b"__asan_init" in data:
        HEALTHY_GAP = LIMIT * 0.95


def ok(msg):
    print("ok:   " + msg, flush=True)


def fail(msg):
    print("FAIL: " + msg, flush=True)
    failures.append(msg)


class FakeSystemd:
    def __init__(self, ns, camwatch, config, log_path, sock_path, stdout=None):
        self.ns, self.camwatch, self.config, self.log_path = ns, camwatch, config, log_path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if os.path.exists(sock_path):
            os.unlink(sock_path)
        self.sock.bind(sock_path)
        self.sock.settimeout(0.05)
        self.sock_path = sock_path
        self.stdout = stdout
        self.pings = []
        self.ready = None
        self.aborted_at = None
        self.proc = None

    def start(self):
        env = dict(os.environ, NOTIFY_SOCKET=self.sock_path, WATCHDOG_USEC=str(WATCHDOG_USEC))
        # WATCHDOG_PID is the daemon's pid: sh sets it to its own and execs, via ip netns exec
        # (which execs too), into camwatch. No core file for the SIGABRT.
        cmd = ["sh", "-c", 'ulimit -c 0; WATCHDOG_PID=$$ exec "$@"', "sh",
               "ip", "netns", "exec", self.ns, self.camwatch, "run", "--config", self.config]
        log = open(self.log_path, "a")
        self.pings, self.ready, self.aborted_at = [], None, None
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.stdout or subprocess.DEVNULL, stderr=log)
        return self.proc

    def poll(self, seconds, until=None):
        """Receives notifications for up to `seconds`; SIGABRTs on a missed watchdog."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if until and until():
                return True
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                msg = ""
            now = time.monotonic()
            for line in msg.split("\n"):
                if line == "READY=1" and self.ready is None:
                    self.ready = now
                elif line == "WATCHDOG=1":
                    self.pings.append(now)
            if self.proc.poll() is not None:
                return False
            last = self.pings[-1] if self.pings else self.ready
            if last is not None and now - last > LIMIT and self.aborted_at is None:
                # systemd: "Watchdog timeout (limit 2s)!", then WatchdogSignal= (SIGABRT).
                self.aborted_at = now
                self.proc.send_signal(signal.SIGABRT)
        return until() if until else True

    def max_gap(self, since, until=None):
        """The longest time without a ping from `since` to `until` (now)."""
        until = time.monotonic() if until is None else until
        times = [since] + [t for t in self.pings if since <= t <= until] + [until]
        return max(b - a for a, b in zip(times, times[1:]))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return self.proc.returncode if self.proc else None


def inject(ns, injector, frames, directory, first, count):
    a, b = os.path.join(directory, "a.pcap"), os.path.join(directory, "b.pcap")
    subprocess.run([sys.executable, frames, "moves", a, b, str(count), str(first)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ip", "netns", "exec", ns, injector, "--topspeed", "v2a=" + a, "v3a=" + b], check=True,
                   stderr=subprocess.DEVNULL)


def metrics(ns):
    out = subprocess.run(["ip", "netns", "exec", ns, "curl", "-fsS", "--max-time", "3", "http://127.0.0.1:9842/metrics"],
                         capture_output=True, text=True)
    values = {}
    for line in out.stdout.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values if out.returncode == 0 else None


class Reader(threading.Thread):
    """Reads event lines from `stream` while `reading` is set."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.lines, self.reading = stream, [], threading.Event()
        self.reading.set()

    def run(self):
        while True:
            self.reading.wait()
            line = self.stream.readline()
            if not line:
                return
            self.lines.append(line)


def healthy_phase(systemd, ns, injector, frames, directory, first, count, reader):
    start = time.monotonic()
    lines_wanted = len(reader.lines) + count
    inject(ns, injector, frames, directory, first, count)
    systemd.poll(3.5)
    pings = [t for t in systemd.pings if t >= start]
    gap = systemd.max_gap(start, pings[-1] if pings else None)
    expected = int(3.5 / (LIMIT / 2)) - 1
    if len(pings) >= expected and gap <= HEALTHY_GAP:
        ok("healthy: %d WATCHDOG=1 in 3.5 s (every %.2f s at most; WATCHDOG_USEC %.1f s asks for half of it)"
           % (len(pings), gap, LIMIT))
    else:
        fail("healthy: %d pings in 3.5 s, largest gap %.2f s" % (len(pings), gap))
    systemd.poll(5, lambda: len(reader.lines) >= lines_wanted)
    return len(pings), gap


def scenario_stdout(ns, camwatch, injector, frames, directory):
    config = os.path.join(directory, "camwatch.toml")
    log = os.path.join(directory, "run.log")
    systemd = FakeSystemd(ns, camwatch, config, log, os.path.join(directory, "notify.sock"), subprocess.PIPE)
    proc = systemd.start()
    fcntl.fcntl(proc.stdout.fileno(), F_SETPIPE_SZ, 4096)  # fills after ~20 events, not ~370
    reader = Reader(proc.stdout)
    reader.start()
    if not systemd.poll(15, lambda: systemd.ready is not None):
        fail("no READY=1")
        return
    ok("READY=1 %.2f s after the start" % (systemd.ready - systemd.started_at))
    pings, gap = healthy_phase(systemd, ns, injector, frames, directory, 0, 20, reader)
    if len(reader.lines) == 20:
        ok("20 events read from stdout while healthy")
    else:
        fail("%d of 20 events read while healthy" % len(reader.lines))

    # Stall: stop reading; 300 more events fill the pipe and the tracker loop blocks in write(2).
    reader.reading.clear()
    time.sleep(0.2)  # the reader may be inside one last readline()
    stall_start = time.monotonic()
    inject(ns, injector, frames, directory, 20, 300)
    scrapes = []  # (wall time, camwatch_last_update_timestamp_seconds) while no ping came

    def scrape_while_stalled():
        last = systemd.pings[-1] if systemd.pings else systemd.ready
        if systemd.aborted_at is None and time.monotonic() - last > LIMIT * 0.5:
            m = metrics(ns)
            scrapes.append((time.time(), m["camwatch_last_update_timestamp_seconds"] if m else None))
        return systemd.aborted_at is not None

    systemd.poll(20, scrape_while_stalled)
    if systemd.aborted_at is None:
        fail("the pings never stopped after the events output blocked")
        systemd.stop()
        return
    last_ping = max(t for t in systemd.pings) if systemd.pings else systemd.ready
    ok("stalled: the last WATCHDOG=1 came %.2f s after the output stopped being read; SIGABRT %.2f s after it"
       % (max(0.0, last_ping - stall_start), systemd.aborted_at - last_ping))
    # The loop publishes a snapshot every 100 ms: the last two scrapes before the SIGABRT showing
    # the same one, more than half a second old, mean it is stuck, while the HTTP threads still
    # answer. (Earlier scrapes may predate the stall: pings are a second apart.)
    last_two = scrapes[-2:]
    if (len(last_two) == 2 and None not in [u for _, u in last_two] and last_two[0][1] == last_two[1][1]
            and last_two[1][0] - last_two[1][1] > 0.5):
        ok("while stalled /metrics still answered (%d scrapes); camwatch_last_update_timestamp_seconds stood still, "
           "%.1f s old" % (len(scrapes), last_two[1][0] - last_two[1][1]))
    else:
        fail("while stalled, /metrics (wall time, last update): %s" % scrapes)
    try:
        rc = proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    if rc == -signal.SIGABRT:
        ok("the daemon died of SIGABRT, as under systemd's WatchdogSec=")
    else:
        fail("after SIGABRT the daemon's status is %s" % rc)
        if rc is None:
            proc.kill()

    # Restart=on-failure: a fresh daemon, read again; it must come back healthy.
    with open(log) as f:
        before = len(f.read())
    proc = systemd.start()
    reader = Reader(proc.stdout)
    reader.start()
    if not systemd.poll(15, lambda: systemd.ready is not None):
        fail("no READY=1 after the restart")
        return
    restart_pings, restart_gap = healthy_phase(systemd, ns, injector, frames, directory, 320, 10, reader)
    with open(log) as f:
        restored = [l for l in f.read()[before:].splitlines() if "restored " in l]
    if restored:
        ok("restarted: " + restored[0].split("info: ")[-1])
    else:
        fail("the restart restored no stations (saved every second, so it should)")
    rc = systemd.stop()
    if rc != 0:
        fail("the restarted daemon exited %s on SIGTERM" % rc)
    print("FIGURES watchdog pings_healthy=%d max_gap_s=%.2f aborted=1 restart_pings=%d"
          % (pings, gap, restart_pings), flush=True)


def scenario_fifo(ns, camwatch, injector, frames, directory):
    config = os.path.join(directory, "camwatch-fifo.toml")
    log = os.path.join(directory, "fifo.log")
    fifo = os.path.join(directory, "events.fifo")
    os.mkfifo(fifo, 0o600)
    # The reader end first: camwatch opens the FIFO without blocking, which needs a reader.
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    fcntl.fcntl(rfd, F_SETPIPE_SZ, 4096)
    os.set_blocking(rfd, True)
    # A writer of our own that never writes: without one, reads see end-of-file until camwatch
    # has opened the FIFO.
    keep_open = os.open(fifo, os.O_WRONLY)
    stream = os.fdopen(rfd, "rb")
    reader = Reader(stream)
    reader.start()
    systemd = FakeSystemd(ns, camwatch, config, log, os.path.join(directory, "notify-fifo.sock"))
    systemd.start()
    if not systemd.poll(15, lambda: systemd.ready is not None):
        fail("fifo: no READY=1")
        return
    healthy_phase(systemd, ns, injector, frames, directory, 1000, 20, reader)
    if len(reader.lines) != 20:
        fail("fifo: %d of 20 events read while healthy" % len(reader.lines))
    reader.reading.clear()
    time.sleep(0.2)
    start = time.monotonic()
    inject(ns, injector, frames, directory, 1020, 300)
    held = {}

    def backlog_seen():
        m = metrics(ns)
        if m and m.get("camwatch_event_backlog", 0) > 0:
            held.update(m)
        return bool(held) and time.monotonic() - start > 3
    systemd.poll(15, backlog_seen)
    gap = systemd.max_gap(start)
    if systemd.aborted_at is None and gap <= HEALTHY_GAP and held:
        ok("fifo nobody reads: the loop went on (WATCHDOG=1 at most %.2f s apart), %d events held in the backlog"
           % (gap, held["camwatch_event_backlog"]))
    else:
        fail("fifo nobody reads: aborted %s, largest ping gap %.2f s, backlog %s"
             % (systemd.aborted_at is not None, gap, held.get("camwatch_event_backlog")))
    reader.reading.set()
    systemd.poll(10, lambda: len(reader.lines) >= 320)
    macs = [json.loads(l)["mac"] for l in reader.lines]
    want = ["02:4d:00:%02x:%02x:%02x" % ((i >> 16) & 255, (i >> 8) & 255, i & 255) for i in range(1000, 1320)]
    if macs == want:
        ok("once read again the FIFO delivered all 320 events, in order")
    else:
        fail("the FIFO delivered %d of 320 events (in order: %s)" % (len(macs), macs == want[:len(macs)]))
    m = {}

    def drained():  # the snapshot /metrics serves is up to 100 ms old
        m.clear()
        m.update(metrics(ns) or {})
        return m.get("camwatch_event_backlog") == 0
    systemd.poll(5, drained)
    if m.get("camwatch_event_backlog") == 0 and m.get("camwatch_events_dropped_total") == 0:
        ok("backlog empty again, nothing dropped")
    else:
        fail("after reading: %s" % ({k: v for k, v in m.items() if "event" in k}))
    rc = systemd.stop()
    if rc != 0:
        fail("fifo: exit %s on SIGTERM" % rc)
    os.close(keep_open)
    print("FIGURES watchdog_fifo held=%d delivered=%d/320 aborted=%d max_gap_s=%.2f"
          % (held.get("camwatch_event_backlog", 0), len(macs), systemd.aborted_at is not None, gap), flush=True)


def main(argv):
    if len(argv) != 7 or argv[1] not in ("stdout", "fifo"):
        sys.stderr.write(__doc__)
        return 2
    scenario = scenario_stdout if argv[1] == "stdout" else scenario_fifo
    set_sanitized(argv[3])
    scenario(*argv[2:])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
