// The live daemon — `camwatch run`: one capture thread per configured uplink, one tracker loop.
//
//   capture thread (per uplink)          tracker loop (main thread)
//   LiveCapture::run(): pcap batch  ──►  SpscRing ──► ObservationMerger (hold-back) ──► Tracker
//   decode ─► Observation ─► ring.write                 ▲ link events (LinkMonitor)      │
//                                                       signals (signalfd)               ▼
//                                                 state file, sd_notify          JSON events, log
//
// The loop runs every few milliseconds: it pulls every ring, releases observations older than
// `merge_holdback` in packet-time order to the tracker (so decisions match a replay of the same
// frames), applies link changes at their time, saves the table every `save_interval`, and pings
// the systemd watchdog — from this loop, so a wedged tracker stops the pings and gets restarted.
//
// Signals: SIGTERM/SIGINT stop cleanly (captures stopped, rings drained, pending moves decided,
// table saved); SIGHUP reloads the config file (thresholds, uplinks added/removed/changed, log
// level, events path) keeping the learned table, and reopens the events file for logrotate; a
// reload that fails validation keeps the running configuration and logs why.
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
