// Config: camwatch's configuration file (TOML), loaded and validated in one place.
//
// load_config() parses the file with toml11 and checks every key: unknown keys, wrong types and
// out-of-range values are errors that name the file, the line and the key
// ("/etc/camwatch/camwatch.toml:12: cam.max_entries: must be between 1 and 100000000").
// Every key and its default is documented in config/camwatch.toml; defaults live only in the
// structs below and in cam::TrackerConfig.
//
// Durations are written as strings with a unit ("500ms", "2s", "5m", "1h") or as a number of
// seconds (2, 0.5).
//
// Thread-safety: load_config() is reentrant; a Config is a plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cam/tracker.h"

namespace camwatch::daemon {

// Thrown by load_config(). what() is one line: "FILE:LINE: KEY: problem" (LINE omitted when
// the problem has no line, e.g. an unreadable file).
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
};

struct Config {
  std::string source_path;  // the file it was read from; empty for built-in defaults
  std::vector<UplinkConfig> uplinks;
  std::string events_path = "/var/lib/camwatch/events.jsonl";
  std::string metrics_listen = "127.0.0.1:9842";
  std::string state_path = "/var/lib/camwatch/cam.state";
  cam::TrackerConfig tracker;
  std::string log_level = "info";
};

// Default location of the daemon's config file.
inline constexpr const char* kDefaultConfigPath = "/etc/camwatch/camwatch.toml";

// Reads and validates `path`. Throws ConfigError (see above).
Config load_config(const std::string& path);

// Parses a duration string ("500ms", "2s", "1.5s", "5m", "1h", "250us"). Returns nullopt on
// anything else, including negative values.
std::optional<cam::Duration> parse_duration(const std::string& text);

}  // namespace camwatch::daemon
