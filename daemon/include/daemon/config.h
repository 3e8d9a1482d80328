// Config: camwatch's configuration file (TOML), loaded and validated in one place.
//
// load_config() parses the file with toml11 and checks every key: unknown keys (typos), wrong
// types and out-of-range values are errors that name the file, the line and the key
// ("/etc/camwatch/camwatch.toml:12: cam.max_entries: must be between 1 and 100000000, got 0").
// Every key and its default is documented in config/camwatch.toml; defaults live only in the
// structs below and in cam::TrackerConfig (a test loads the documented file and compares).
//
// Durations are written as strings with a unit ("250us", "500ms", "2s", "1.5s", "5m", "1h";
// also "ns") or as a number of seconds (2, 0.5).
//
// Not for: deciding whether the configuration suits a command (`camwatch run` needs at least one
// uplink; an empty list is valid here), touching the network or the files it names.
//
// Thread-safety: load_config() is reentrant; a Config is a plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cam/analyzer.h"
#include "cam/tracker.h"
#include "capture/recent_filter.h"

namespace camwatch::daemon {

// Thrown by load_config(). what() is one line, never more:
//   "FILE:LINE: KEY: problem"         a value: KEY fully qualified, `detection.flap_moves`, or
//                                     `uplink[1].name` (uplinks counted from 0, file order);
//   "FILE:LINE: syntax error: reason" the file is not TOML;
//   "FILE: cannot read: reason"       no line: missing, unreadable, a directory.
// FILE is the path as given to load_config().
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class CaptureDirection : std::uint8_t { in, out, inout };

struct UplinkConfig {
  std::string name;       // short user-chosen name: events and metrics use it
  std::string interface;  // live capture interface
  CaptureDirection direction = CaptureDirection::in;
  bool promiscuous = true;

  friend bool operator==(const UplinkConfig&, const UplinkConfig&) = default;
};

// How live capture is set up ([capture]); see capture::LiveCaptureOptions.
struct CaptureConfig {
  int snaplen = 256;                                // bytes kept per frame
  std::int64_t buffer_bytes = 64LL << 20;           // kernel ring per uplink
  std::int64_t ring_entries = 65536;                // capture -> tracker ring per uplink
  cam::Duration merge_holdback = std::chrono::milliseconds(200);  // cross-uplink ordering delay
  cam::Duration refresh = capture::RecentlySeenFilter::kDefaultRefresh;  // recently-seen filter; 0: off
};

struct Config {
  std::string source_path;  // the file it was read from; empty for built-in defaults
  std::vector<UplinkConfig> uplinks;
  CaptureConfig capture;
  std::string events_path = "/var/lib/camwatch/events.jsonl";
  std::string metrics_listen = "127.0.0.1:9842";
  std::string metrics_auth_username;       // HTTP basic auth on /metrics when set ...
  std::string metrics_auth_password_file;  // ... with the password in this file (read_secret_file)
  std::string state_path = "/var/lib/camwatch/cam.state";
  cam::Duration state_save_interval = std::chrono::minutes(5);
  std::string user;  // [daemon] user: drop to it after opening captures; empty = stay
  std::string control_socket = "/run/camwatch/control.sock";  // `camwatch table`; empty = none
  cam::TrackerConfig tracker;
  std::string log_level = "info";
};

// The analyses' settings out of a configuration.
inline cam::AnalyzerConfig analyzer_config(const Config& c) {
  cam::AnalyzerConfig a;
  a.tracker = c.tracker;
  return a;
}

// Default location of the daemon's config file.
inline constexpr const char* kDefaultConfigPath = "/etc/camwatch/camwatch.toml";

// Reads and validates `path`. Throws ConfigError (see above).
Config load_config(const std::string& path);

// The rule for uplink names, in the config file and on the command line: 1-32 characters of
// A-Z a-z 0-9 _ . -
bool is_valid_uplink_name(std::string_view name);

// Parses a duration string: DIGITS[.DIGITS]UNIT with UNIT one of ns, us, ms, s, m, h
// ("500ms", "2s", "1.5s", "5m", "1h", "250us"); exact decimal, rounded to the nanosecond.
// Returns nullopt on anything else: no unit, unknown unit, sign, spaces, overflow.
std::optional<cam::Duration> parse_duration(const std::string& text);

// Reads a secret (the metrics password) from `path`: the first line, without its line end.
// Refuses, with ConfigError naming `key` and the file, a file that is not a regular file, that
// every user may read (mode o+r: chmod 0640 and chgrp to the daemon's group), or whose first
// line is empty.
std::string read_secret_file(const std::string& path, const std::string& key);

// Every key load_config() accepts, fully qualified ("events.path", "uplink.name"), in the
// order of config/camwatch.toml. For tests that keep the documentation complete.
std::vector<std::string> known_config_keys();

}  // namespace camwatch::daemon
