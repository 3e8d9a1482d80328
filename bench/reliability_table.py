#!/usr/bin/env python3
"""Writes docs/RELIABILITY.md from the results bench/reliability.sh collected.

usage: reliability_table.py RESULTS OUT STARTED MACHINE COMMIT COMMAND

RESULTS holds lines "TEST name status seconds oks=N", "FIG name kind key=value ...",
"SWEEP corpus sweep: ...", "FUZZ target result executions", "FUZZREG count". Exit 1 when a
test failed or a figure is missing.
"""
import re
import sys


def num(v):
    """12345 -> 12,345; floats kept as they are."""
    try:
        return f"{int(v):,}"
    except (TypeError, ValueError):
        return str(v)


def main(argv):
    results, out, started, machine, commit, command = argv[1:7]
    tests, figs, fuzz, sweep, regressions = {}, {}, [], None, None
    for line in open(results):
        kind, _, rest = line.rstrip("\n").partition(" ")
        if kind == "TEST":
            name, status, secs, oks = rest.split()
            tests[name] = (status, secs, oks.split("=")[1])
        elif kind == "FIG":
            name, fig, *pairs = rest.split()
            figs[fig] = dict(p.split("=", 1) for p in pairs)
        elif kind == "FUZZ":
            fuzz.append(rest.split())
        elif kind == "SWEEP":
            sweep = rest
        elif kind == "FUZZREG":
            regressions = int(rest)

    rows, bad = [], []

    def status(test):
        s = tests.get(test)
        if s is None:
            bad.append(test)
            return "not run", "?"
        if s[0] != "ok":
            bad.append(test)
        return s[0], s[1]

    def row(test, what, load, faults, inputs, lost):
        st, secs = status(test)
        mark = "" if st == "ok" else f" **{st.upper()}**"
        rows.append(f"| {what}{mark} (`e2e.{test}`, {secs} s) | {load} | {faults} | {inputs} | {lost} |")

    def fig(kind, key, default="?"):
        return figs.get(kind, {}).get(key, default)

    f = "flood"
    row("live_flood", "MAC flood",
        f"{num(fig(f, 'frames_sent'))} frames at {num(fig(f, 'rate_fps'))} frames/s into a table capped at "
        f"{num(fig(f, 'max_entries'))}; peak RSS {num(fig(f, 'peak_rss_kib'))} KiB (bound {num(fig(f, 'bound_kib'))} KiB)",
        f"table full: {num(fig(f, 'replaced', 0))} probationary (flood) stations replaced by newer ones, "
        f"{num(fig(f, 'refused'))} frames of new stations refused; `table_full` event and counters",
        f"{num(fig(f, 'frames_sent'))} frames, almost all from a new random MAC",
        f"real stations kept {fig(f, 'real_stations_kept')}; silent move during the flood caught "
        f"({fig(f, 'move_caught')}/1); frames dropped: {num(int(fig(f, 'kernel_drops', 0)) + int(fig(f, 'ring_drops', 0)))}")
    f = "disk_full"
    row("live_disk_full", "Full disk",
        f"{num(fig(f, 'frames_sent'))} frames, 350 silent moves, events and state on a 1 MiB tmpfs filled up twice",
        f"{num(fig(f, 'events_failed'))} event writes and {fig(f, 'state_saves_failed')} state saves failed (ENOSPC), "
        f"logged in {fig(f, 'log_lines').replace('+', ' + ')} lines; a stop while full",
        f"{num(fig(f, 'frames_seen'))} frames counted while full",
        f"events in the file once space returned {fig(f, 'events_in_file')}, in order, no half line; "
        f"dropped {fig(f, 'events_dropped')}; the last good state loaded")
    f = "state_kill"
    row("live_state_kill", "kill -9 during a state save",
        f"{num(fig(f, 'stations'))} stations ({num(int(fig(f, 'stations', 0)) * 40 // 1_000_000)} MB), saved every second",
        f"{fig(f, 'mid_write')} SIGKILLs that landed mid-write ({fig(f, 'kills')} sent)",
        f"{fig(f, 'kills')} restarts",
        f"nothing: every restart restored the last complete save ({fig(f, 'restarts_restored')}), its temporary file removed")
    f, g = "watchdog", "watchdog_fifo"
    row("live_watchdog", "Tracker loop stalled (watchdog)",
        f"WATCHDOG=1 every {fig(f, 'max_gap_s')} s at most with WATCHDOG_USEC=2 s",
        "loop blocked on a stdout nobody reads: pings stop, SIGABRT after 2 s, restart; "
        f"a FIFO nobody reads: no stall ({fig(g, 'held')} events held)",
        "330 events to stdout (20 healthy, 300 into the stall, 10 after the restart), 320 to the FIFO",
        f"FIFO: {fig(g, 'delivered')} events delivered in order once read; restart restored its table")
    f = "scrape_load"
    row("live_scrape_load", "/metrics hammered while capturing",
        f"{num(fig(f, 'frames'))} frames at {num(fig(f, 'rate_fps'))} frames/s",
        f"{num(fig(f, 'scrapes'))} scrapes by 2 clients back to back, p99 {fig(f, 'p99_ms')} ms",
        f"{num(fig(f, 'frames'))} frames, {num(fig(f, 'scrapes'))} scrapes",
        f"frames not counted: {num(int(fig(f, 'frames', 0)) - int(fig(f, 'frames_seen', 0)))} "
        f"(ring drops {fig(f, 'ring_drops')}, kernel drops {fig(f, 'kernel_drops')}); bad scrapes {fig(f, 'bad_scrapes')}")
    f = "sighup_burst"
    row("live_sighup_burst", "SIGHUP burst",
        "500 silent moves over 5 s",
        f"{num(fig(f, 'sighups'))} SIGHUPs: {num(fig(f, 'reloads_ok'))} reloads applied, "
        f"{num(fig(f, 'reloads_refused'))} broken files refused",
        f"{fig(f, 'frames').split('/')[-1]} frames",
        f"frames counted {fig(f, 'frames')}, moves caught in order {fig(f, 'moves')}, descriptors before/after {fig(f, 'fds')}")
    f = "random_frames"
    row("live_random_frames", "Random frames, live and replayed",
        f"{num(fig(f, 'frames'))} frames at top speed on 2 uplinks",
        f"{num(fig(f, 'malformed'))} malformed frames (counted, skipped)",
        f"{num(fig(f, 'frames'))} random frames (seed {fig(f, 'seed')}), the same replayed",
        f"nothing: {num(fig(f, 'counted'))} counted, {num(fig(f, 'events'))} well-formed events "
        f"(replay {num(fig(f, 'replay_events'))})")
    st = tests.get("live_links", ("?", "?", "?"))
    row("live_links", "Uplink interface down, deleted and re-created", "the incident's 3,551 frames",
        "link down/up; interface deleted and re-created (capture reopened)", f"{st[2]} checks",
        "nothing: uplink_down/up reported, moves onto the re-created interface caught, the other uplink untouched")
    st = tests.get("live_ops", ("?", "?", "?"))
    row("live_ops", "Operations", "the incident, several times",
        "corrupt state file at start (moved aside), SIGHUP adding an uplink, logrotate, broken reload refused, "
        "5 SIGHUPs, privilege drop, no CAP_NET_RAW (exit 4)", f"{st[2]} checks",
        "nothing: the table survives reloads, events reach the reopened file")
    st = tests.get("live_least_privilege", ("?", "?", "?"))
    row("live_least_privilege", "Least privilege", "-",
        "world-readable secret (exit 6), umask 000, a scraper without or with wrong credentials, strace of a run",
        f"{st[2]} checks",
        "-: loopback only by default, 401 without credentials, files 0640/0600/0660, no process started")
    m = re.search(r"(\d+) files, (\d+) replayed cleanly, (\d+) refused", sweep or "")
    row("corpus_sweep", "Malformed and real capture files", "-",
        "damaged, truncated and hostile capture files",
        f"{num(m.group(1))} files ({num(m.group(2))} replayed, {num(m.group(3))} refused with a message)" if m else "corpus absent",
        "nothing: no crash, no sanitizer report, every event line well-formed" if m else "-")
    for target, result, execs in fuzz:
        mark = "" if result == "ok" else " **FAILED**"
        if result != "ok":
            bad.append(target)
        rows.append(f"| libFuzzer `{target}`{mark} (ASan+UBSan) | - | - | {num(execs)} executions"
                    f"{'' if regressions is None else ', plus ' + str(regressions) + ' saved crash inputs replayed'} | "
                    f"{'no crash, leak, timeout or sanitizer report' if result == 'ok' else 'CRASH: see fuzz/regressions/'} |")
    if not fuzz:
        bad.append("fuzz")
        rows.append("| libFuzzer targets **NOT RUN** | - | - | - | - |")

    text = f"""# camwatch reliability figures

camwatch reads untrusted frames from the wire and runs unattended for months. This is what it was
put through, and what it held. **Generated** by `bench/reliability.sh`; do not edit by hand.

- Command (as root, from the repository): `{command}`
- Build: `build/` (RelWithDebInfo, gcc) at commit {commit}; fuzzers in `build-fuzz/` (clang, ASan+UBSan)
- Machine: {machine}; started {started}

| test | load held | faults survived | inputs tried | lost |
|---|---|---|---|---|
""" + "\n".join(rows) + """

"Lost" is what a user would miss: a real station pushed out of the table, a move not reported, an
event not in the events file, a corrupt line or state file, a leaked descriptor. Frames the
kernel or the capture ring dropped would count too (each test asserts the number it shows).

The same tests run in CI at a smaller size (`.ci/run`: the gcc build and the ASan+UBSan build run
every test, TSan the live ones, and each fuzz target runs 20 s); each script in `tests/e2e/` says
what it asserts. Not covered here: a power cut (the state file's fsync of the file and of its
directory are for that), a disk that lies about fsync, and a real switch's mirror port (the
veth pairs carry what a mirror would).
"""
    open(out, "w").write(text)
    if bad:
        sys.stderr.write("failed or missing: %s\n" % ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
