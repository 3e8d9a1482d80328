// The live daemon — `camwatch run`: capture threads per interface, one tracker loop.
//
//   capture threads                      tracker loop (main thread)
//   LiveCapture::run(): pcap batch  ──►  SpscRing ──► ObservationMerger (hold-back) ──► Tracker
//   decode ─► Observation ─► ring.write    (a ring per thread)  ▲ link events     │
//                                                       signals (signalfd)         ▼
//                                                 state file, sd_notify    JSON events, log
//
// Capture sources. An uplink with an `interface` is captured by `threads` LiveCaptures (1 by
// default; more share the interface through a PACKET_FANOUT group). A [[collector]] interface is
// captured the same way, but its captures decapsulate ERSPAN / GRE mirrors and mark each
// observation with the uplink its session maps to (every uplink fed by a collector, whatever
// collector). Each capture thread has its own ring, one source of the merger; an interface's
// threads are opened, restarted after the interface went away, and stopped as one unit. A
// collector's link state is logged and exported but not told to the analysis: the mirrored
// switch ports may be up while the collector is not. Unmapped sessions are logged once per
// collector (again after a reload).
//
// The loop runs every few milliseconds: it pulls every ring, releases observations older than
// `merge_holdback` in packet-time order to the tracker (so decisions match a replay of the same
// frames), applies link changes at their time, saves the table every `save_interval`, and pings
// the systemd watchdog — from this loop, so a wedged tracker stops the pings and gets restarted.
//
// Signals: SIGTERM/SIGINT stop cleanly (captures stopped, rings drained, pending moves decided,
// table saved); SIGHUP reloads the config file (thresholds, uplinks and collectors added, removed
// or changed, log level, events path) keeping the learned table, and reopens the events file for
// logrotate; a reload that fails validation keeps the running configuration and logs why.
//
// An uplink whose interface is missing, goes down or disappears does not stop the daemon: it
// is reported (uplink_down), its capture ends, and it is reopened when the interface returns.
//
// Thread-safety: run_daemon() owns the process; call it once.
#pragma once

#include <string>

#include "daemon/config.h"

namespace camwatch::daemon {

// Runs until SIGTERM/SIGINT. Returns the process exit code (SPEC): 0 after a clean stop,
// 4 when capture is not permitted, 1 on other start-up failures. Config errors at start-up are
// thrown as ConfigError by the caller's load_config(); `config_path` is re-read on SIGHUP.
int run_daemon(const Config& config, const std::string& config_path);

}  // namespace camwatch::daemon
