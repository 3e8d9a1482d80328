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
#include "capture/mirror_session_map.h"
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

// One uplink: captured on its own interface, or fed by the [[collector]]s through a mirror
// session (ERSPAN session ID, optionally with an index; a GRE key; or the unkeyed GRE stream).
// Exactly one of `interface` and `mirror` is set.
struct UplinkConfig {
  std::string name;       // short user-chosen name: events and metrics use it
  std::string interface;  // live capture interface; empty when a collector feeds the uplink
  CaptureDirection direction = CaptureDirection::in;
  bool promiscuous = true;
  bool both_ways = false;  // mirror = "both": the mirror carries both directions of the port
  int threads = 0;  // capture threads on `interface` (PACKET_FANOUT); 0: [capture] threads_per_interface
  std::optional<capture::MirrorSessionKey> mirror;  // erspan_session / erspan_index / gre_key

  bool fed_by_collector() const { return mirror.has_value(); }
  friend bool operator==(const UplinkConfig&, const UplinkConfig&) = default;
};

// An interface receiving ERSPAN / GRE mirrors ([[collector]]): its frames are decapsulated and
// handed to the uplinks whose mirror session they carry.
struct CollectorConfig {
  std::string name;       // metric label and log name; the interface's name unless set
  std::string interface;
  bool promiscuous = false;  // mirrors are addressed to the collector's own IP
  int threads = 0;           // 0: [capture] threads_per_interface

  friend bool operator==(const CollectorConfig&, const CollectorConfig&) = default;
};

// How live capture is set up ([capture]); see capture::LiveCaptureOptions.
struct CaptureConfig {
  int snaplen = 256;                                // bytes kept per frame
  std::int64_t buffer_bytes = 64LL << 20;           // kernel ring per uplink
  std::int64_t ring_entries = 65536;                // capture -> tracker ring per uplink
  cam::Duration merge_holdback = std::chrono::milliseconds(200);  // cross-uplink ordering delay
  int threads_per_interface = 1;                    // capture threads per interface (PACKET_FANOUT)
  cam::Duration refresh = capture::RecentlySeenFilter::kDefaultRefresh;  // recently-seen filter; 0: off
};

// Capture threads for an interface whose own `threads` setting is `own` (0: not set).
inline int capture_threads(int own, const CaptureConfig& capture) {
  return own > 0 ? own : capture.threads_per_interface;
}

struct Config {
  std::string source_path;  // the file it was read from; empty for built-in defaults
  std::vector<UplinkConfig> uplinks;
  std::vector<CollectorConfig> collectors;
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
  bool bindings_enabled = true;  // [bindings] enabled
  cam::BindingConfig bindings;
  std::string log_level = "info";
};

// The analyses' settings out of a configuration. `uplink_names[id]` names uplink id (the order
// the caller gave its uplinks ids in): uplinks configured with mirror = "both" are found by name.
inline cam::AnalyzerConfig analyzer_config(const Config& c, const std::vector<std::string>& uplink_names) {
  cam::AnalyzerConfig a;
  a.tracker = c.tracker;
  a.tracker.both_ways_uplinks.clear();
  for (std::size_t id = 0; id < uplink_names.size() && id < cam::kNoUplink; ++id) {
    for (const UplinkConfig& u : c.uplinks) {
      if (u.both_ways && u.name == uplink_names[id]) a.tracker.both_ways_uplinks.push_back(static_cast<cam::UplinkId>(id));
    }
  }
  a.bindings_enabled = c.bindings_enabled;
  a.bindings = c.bindings;
  return a;
}

// Default location of the daemon's config file.
inline constexpr const char* kDefaultConfigPath = "/etc/camwatch/camwatch.toml";

// Reads and validates `path`. Throws ConfigError (see above).
Config load_config(const std::string& path);

// What `camwatch run` needs beyond a valid file: at least one uplink, and a [[collector]] when an
// uplink is fed by one. Throws ConfigError ("PATH: uplink: ...") otherwise.
void check_runnable(const Config& config, const std::string& path);

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
