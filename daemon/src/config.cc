#include "daemon/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <span>
#include <sstream>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include <toml.hpp>

namespace camwatch::daemon {
namespace {

using Value = toml::value;
using namespace std::chrono_literals;

// The schema's key names, in the order of config/camwatch.toml. The readers below use the same
// literals; known_config_keys() and the unknown-key check are built from these lists.
constexpr std::string_view kUplinkKeys[] = {"name",    "interface",      "direction",    "promiscuous", "mirror",
                                            "threads", "erspan_session", "erspan_index", "gre_key"};
constexpr std::string_view kCollectorKeys[] = {"name", "interface", "promiscuous", "threads"};
constexpr std::string_view kCaptureKeys[] = {"snaplen", "buffer_size", "ring_entries", "merge_holdback",
                                             "threads_per_interface", "refresh"};
constexpr std::string_view kEventsKeys[] = {"path"};
constexpr std::string_view kMetricsKeys[] = {"listen", "basic_auth_username", "basic_auth_password_file"};
constexpr std::string_view kStateKeys[] = {"path", "save_interval"};
constexpr std::string_view kCamKeys[] = {"max_entries", "idle_timeout", "probation"};
constexpr std::string_view kDetectionKeys[] = {"notify_window_before", "notify_window_after",
                                               "flap_moves", "flap_window", "flap_damping",
                                               "failover_stories", "failover_gap", "both_ways_confirm"};
constexpr std::string_view kBindingsKeys[] = {"enabled", "max_entries", "idle_timeout", "conflict_window",
                                              "conflict_memory", "flip_flop_memory", "report_interval",
                                              "probation", "new_binding_events_per_minute", "ipv4",
                                              "ipv4_link_local", "ipv6", "ipv6_link_local"};
constexpr std::string_view kLogKeys[] = {"level"};
constexpr std::string_view kDaemonKeys[] = {"user", "control_socket"};

struct SectionSchema {
  std::string_view name;
  std::span<const std::string_view> keys;
};
constexpr SectionSchema kSchema[] = {
    {"uplink", kUplinkKeys}, {"collector", kCollectorKeys}, {"capture", kCaptureKeys}, {"events", kEventsKeys},
    {"metrics", kMetricsKeys}, {"state", kStateKeys}, {"cam", kCamKeys},
    {"detection", kDetectionKeys}, {"bindings", kBindingsKeys}, {"log", kLogKeys}, {"daemon", kDaemonKeys},
};

constexpr std::string_view kDirections[] = {"in", "out", "inout"};
constexpr std::string_view kAddressPolicies[] = {"ignore", "watch", "report"};
constexpr std::string_view kMirrorKinds[] = {"received", "both"};
constexpr std::string_view kLogLevels[] = {"trace", "debug",    "info", "warn",
                                           "error", "critical", "off"};

constexpr std::size_t kMaxUplinkNameLength = 32;
constexpr std::size_t kMaxInterfaceNameLength = 15;  // IFNAMSIZ - 1
constexpr std::int64_t kMinMaxEntries = 1;
constexpr std::int64_t kMaxMaxEntries = 100'000'000;
constexpr std::int64_t kMaxCaptureThreads = 64;
constexpr std::int64_t kMaxErspanSession = 1023;            // 10 bits
constexpr std::int64_t kMaxMirrorId = 0xFFFF'FFFFLL;        // GRE key, type II index / type III port ID
constexpr std::int64_t kMinFlapMoves = 2;
constexpr std::int64_t kMaxFlapMoves = 1000;
// A config file is a few kilobytes; the cap keeps `--config /dev/zero` from eating memory.
constexpr std::size_t kMaxFileBytes = 1 << 20;

// ---- text helpers ------------------------------------------------------------------------

// Escapes control characters so that no value from the file can break the one-line message.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : printable(text)) {
    if (c == '"') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

bool is_bare_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

// "detection" + "flap_moves" -> "detection.flap_moves"; keys that TOML would need to quote are
// shown quoted, as the user had to write them.
std::string qualify(std::string_view prefix, std::string_view key) {
  std::string out(prefix);
  if (!out.empty()) out += '.';
  out += is_bare_key(key) ? std::string(key) : quote(key);
  return out;
}

std::string join(std::span<const std::string_view> words) {
  std::string out;
  for (const auto word : words) {
    if (!out.empty()) out += ", ";
    out += word;
  }
  return out;
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions, the usual typo),
// case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const auto lower = [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  };
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  const auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(n, m);
}

// The closest candidate if it is close enough to be a plausible typo, else empty. A lone
// candidate that is a prefix of the word or the other way round counts too ("warning" -> warn,
// "crit" -> critical).
std::string_view closest(std::string_view word, std::span<const std::string_view> candidates) {
  if (word.size() >= 3) {
    std::string_view only;
    int matches = 0;
    for (const auto candidate : candidates) {
      if (candidate.starts_with(word) || word.starts_with(candidate)) {
        only = candidate;
        ++matches;
      }
    }
    if (matches == 1) return only;
  }
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  const std::size_t tolerance = std::max<std::size_t>(1, best.size() / 3);
  return best_distance <= tolerance ? best : std::string_view();
}

// "2" for a whole number of the largest unit that divides it: bounds in messages read "1h".
std::string format_duration(cam::Duration d) {
  struct Unit {
    cam::Duration size;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {{1h, "h"}, {1min, "m"}, {1s, "s"},
                                    {1ms, "ms"}, {1us, "us"}, {1ns, "ns"}};
  if (d == cam::Duration::zero()) return "0s";
  for (const auto& unit : kUnits) {
    if (d % unit.size == cam::Duration::zero()) {
      return std::to_string(d / unit.size) + unit.suffix;
    }
  }
  return std::to_string(d.count()) + "ns";
}

std::string format_double(double x) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, result.ptr);
}

// ---- durations ---------------------------------------------------------------------------

enum class DurationStatus : std::uint8_t { ok, malformed, negative, overflow };

struct DurationUnit {
  std::string_view suffix;
  std::int64_t ns;
  // Fraction digits that still give whole nanoseconds (the power of ten dividing `ns`);
  // digits past these are rounded.
  int exact_fraction_digits;
};
constexpr DurationUnit kDurationUnits[] = {
    {"ns", 1, 0},
    {"us", 1'000, 3},
    {"ms", 1'000'000, 6},
    {"s", 1'000'000'000, 9},
    {"m", 60'000'000'000, 10},
    {"h", 3'600'000'000'000, 11},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// DIGITS [ "." DIGITS ] UNIT, nothing else (no sign, no spaces, no exponent). Exact decimal
// arithmetic: "0.1s" is 100000000ns, not what a double makes of it.
DurationStatus parse_duration_text(std::string_view text, cam::Duration& out) {
  if (!text.empty() && text.front() == '-') {
    cam::Duration ignored{};
    const auto rest = parse_duration_text(text.substr(1), ignored);
    return rest == DurationStatus::malformed ? rest : DurationStatus::negative;
  }
  std::size_t i = 0;
  while (i < text.size() && is_digit(text[i])) ++i;
  const std::string_view whole = text.substr(0, i);
  std::string_view fraction;
  if (i < text.size() && text[i] == '.') {
    const std::size_t start = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    fraction = text.substr(start, i - start);
    if (fraction.empty()) return DurationStatus::malformed;
  }
  if (whole.empty()) return DurationStatus::malformed;
  const std::string_view suffix = text.substr(i);
  const auto unit = std::find_if(std::begin(kDurationUnits), std::end(kDurationUnits),
                                 [&](const DurationUnit& u) { return u.suffix == suffix; });
  if (unit == std::end(kDurationUnits)) return DurationStatus::malformed;

  std::int64_t ns = 0;
  for (const char c : whole) {
    if (__builtin_mul_overflow(ns, 10, &ns) || __builtin_add_overflow(ns, c - '0', &ns)) {
      return DurationStatus::overflow;
    }
  }
  if (__builtin_mul_overflow(ns, unit->ns, &ns)) return DurationStatus::overflow;

  std::int64_t fraction_ns = 0;
  std::int64_t place = unit->ns;
  for (std::size_t k = 0; k < fraction.size(); ++k) {
    const int digit = fraction[k] - '0';
    if (static_cast<int>(k) < unit->exact_fraction_digits) {
      place /= 10;
      fraction_ns += digit * place;
    } else {
      if (digit >= 5) ++fraction_ns;  // round half up to the nanosecond
      break;
    }
  }
  if (__builtin_add_overflow(ns, fraction_ns, &ns)) return DurationStatus::overflow;
  out = cam::Duration(ns);
  return DurationStatus::ok;
}

// ---- the loader --------------------------------------------------------------------------

const char* type_name(const Value& v) {
  switch (v.type()) {
    case toml::value_t::boolean: return "a boolean";
    case toml::value_t::integer: return "an integer";
    case toml::value_t::floating: return "a float";
    case toml::value_t::string: return "a string";
    case toml::value_t::offset_datetime: return "a date-time";
    case toml::value_t::local_datetime: return "a local date-time";
    case toml::value_t::local_date: return "a date";
    case toml::value_t::local_time: return "a time";
    case toml::value_t::array: return "an array";
    case toml::value_t::table: return "a table";
    case toml::value_t::empty: return "nothing";
  }
  return "an unknown type";
}

bool is_table_like(const Value& v) {
  if (v.is_table()) return true;
  if (!v.is_array() || v.as_array().empty()) return false;
  const auto& items = v.as_array();
  return std::all_of(items.begin(), items.end(), [](const Value& e) { return e.is_table(); });
}

std::uint_least32_t line_of(const Value& v) { return v.location().line(); }

// Turns toml11's multi-line, ascii-art syntax error into one line: its headline without the
// "[error] toml::function:" prefix, plus the note under the caret of the last location shown
// (the offending one), e.g. "missing value after key-value separator '=' (expected value, but
// got nothing)".
std::string syntax_reason(const std::string& what) {
  std::vector<std::string_view> lines;
  std::string_view rest = what;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  const auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '.' ||
                          s.back() == ':' || s.back() == '\r')) {
      s.remove_suffix(1);
    }
    return s;
  };

  std::string_view headline = lines.empty() ? std::string_view() : lines.front();
  if (headline.starts_with("[error]")) headline.remove_prefix(7);
  headline = trim(headline);
  while (headline.starts_with("toml::")) {
    const auto colon = headline.find(": ");
    headline = colon == std::string_view::npos ? std::string_view()
                                               : trim(headline.substr(colon + 2));
  }

  // Caret lines look like "   |     ^--- note" or "   | ~~~~ note": spaces, '|', the marker.
  std::string_view note;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    const auto bar = line.find('|');
    if (bar == std::string_view::npos ||
        line.substr(0, bar).find_first_not_of(' ') != std::string_view::npos) {
      continue;
    }
    line.remove_prefix(bar + 1);
    line = trim(line);
    if (line.starts_with("^")) {
      line.remove_prefix(line.find_first_not_of("^-") == std::string_view::npos
                             ? line.size()
                             : line.find_first_not_of("^-"));
    } else if (line.starts_with("~")) {
      line.remove_prefix(line.find_first_not_of('~') == std::string_view::npos
                             ? line.size()
                             : line.find_first_not_of('~'));
    } else {
      continue;
    }
    note = trim(line);
  }

  std::string reason(headline);
  if (reason.empty()) {
    reason = note;
  } else if (!note.empty() && note != "here") {
    reason += " (";
    reason += note;
    reason += ')';
  }
  if (reason.empty()) reason = "invalid TOML";
  return printable(reason);
}

class Loader {
 public:
  explicit Loader(std::string path) : path_(std::move(path)), file_(printable(path_)) {}

  Config load() {
    const std::string text = read_file();
    Value root;
    try {
      std::istringstream in(text);
      root = toml::parse(in, path_);
    } catch (const toml::exception& e) {
      throw ConfigError(file_ + ":" + std::to_string(e.location().line()) +
                        ": syntax error: " + syntax_reason(e.what()));
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      // toml11 throws std::domain_error and friends for a few malformed inputs, without a
      // location.
      throw ConfigError(file_ + ": syntax error: " + syntax_reason(e.what()));
    }

    // Every key is checked on its own and the problem earliest in the file is reported, so
    // that fixing a file top to bottom meets its errors in order.
    Config config;
    config.source_path = path_;
    attempt([&] { reject_unknown_keys(root, "", section_names()); });
    read_uplinks(root, config);
    read_collectors(root, config);
    if (const Value* capture = section(root, "capture")) {
      CaptureConfig& c = config.capture;
      attempt([&] { reject_unknown_keys(*capture, "capture", kCaptureKeys); });
      attempt([&] {
        if (const Value* v = find(*capture, "snaplen")) {
          c.snaplen = static_cast<int>(read_integer(*v, "capture.snaplen", 96, 65535));
        }
      });
      attempt([&] {
        if (const Value* v = find(*capture, "buffer_size")) {
          c.buffer_bytes = read_integer(*v, "capture.buffer_size", 1LL << 20, 2047LL << 20);
        }
      });
      attempt([&] {
        if (const Value* v = find(*capture, "ring_entries")) {
          c.ring_entries = read_integer(*v, "capture.ring_entries", 1024, 16LL << 20);
        }
      });
      attempt([&] {
        read_duration(*capture, "capture", "merge_holdback", {10ms, 10s}, c.merge_holdback);
      });
      attempt([&] {
        if (const Value* v = find(*capture, "threads_per_interface")) {
          c.threads_per_interface =
              static_cast<int>(read_integer(*v, "capture.threads_per_interface", 1, kMaxCaptureThreads));
        }
      });
      attempt([&] { read_duration(*capture, "capture", "refresh", {0s, 1h}, c.refresh); });
    }
    if (const Value* events = section(root, "events")) {
      attempt([&] { reject_unknown_keys(*events, "events", kEventsKeys); });
      attempt([&] { read_path(*events, "events", "path", config.events_path); });
    }
    if (const Value* metrics = section(root, "metrics")) {
      attempt([&] { reject_unknown_keys(*metrics, "metrics", kMetricsKeys); });
      attempt([&] { read_listen(*metrics, "metrics", "listen", config.metrics_listen); });
      attempt([&] {
        const Value* user = find(*metrics, "basic_auth_username");
        const Value* file = find(*metrics, "basic_auth_password_file");
        if (user != nullptr) {
          config.metrics_auth_username = read_string(*user, "metrics.basic_auth_username");
          const std::string& u = config.metrics_auth_username;
          // RFC 7617: the user-id cannot contain a colon; keep it printable ASCII.
          if (u.empty() || u.size() > 64 || u.find(':') != std::string::npos ||
              !std::all_of(u.begin(), u.end(), [](char c) { return c > ' ' && c < 127; })) {
            fail(*user, "metrics.basic_auth_username", "must be 1-64 printable characters without ':' or spaces");
          }
        }
        if (file != nullptr) {
          read_path(*metrics, "metrics", "basic_auth_password_file", config.metrics_auth_password_file);
          if (config.metrics_auth_password_file.front() != '/') {
            fail(*file, "metrics.basic_auth_password_file", "must be an absolute path");
          }
        }
        if (user != nullptr && file == nullptr) {
          fail(*user, "metrics.basic_auth_username", "needs metrics.basic_auth_password_file as well");
        }
        if (file != nullptr && user == nullptr) {
          fail(*file, "metrics.basic_auth_password_file", "needs metrics.basic_auth_username as well");
        }
      });
    }
    if (const Value* state = section(root, "state")) {
      attempt([&] { reject_unknown_keys(*state, "state", kStateKeys); });
      attempt([&] { read_path(*state, "state", "path", config.state_path); });
      attempt([&] {
        read_duration(*state, "state", "save_interval", {1s, 24h}, config.state_save_interval);
      });
    }
    cam::TrackerConfig& tracker = config.tracker;
    if (const Value* cam = section(root, "cam")) {
      attempt([&] { reject_unknown_keys(*cam, "cam", kCamKeys); });
      attempt([&] {
        if (const Value* v = find(*cam, "max_entries")) {
          tracker.max_entries = static_cast<std::uint64_t>(
              read_integer(*v, "cam.max_entries", kMinMaxEntries, kMaxMaxEntries));
        }
      });
      attempt([&] {
        read_duration(*cam, "cam", "idle_timeout", {1ns, std::nullopt}, tracker.idle_timeout);
      });
      attempt([&] { read_duration(*cam, "cam", "probation", {0s, 24h}, tracker.probation); });
    }
    if (const Value* detection = section(root, "detection")) {
      attempt([&] { reject_unknown_keys(*detection, "detection", kDetectionKeys); });
      attempt([&] {
        read_duration(*detection, "detection", "notify_window_before", {0s, 1h},
                      tracker.notify_window_before);
      });
      attempt([&] {
        read_duration(*detection, "detection", "notify_window_after", {0s, 1h},
                      tracker.notify_window_after);
      });
      attempt([&] {
        if (const Value* v = find(*detection, "flap_moves")) {
          tracker.flap_moves = static_cast<std::uint32_t>(
              read_integer(*v, "detection.flap_moves", kMinFlapMoves, kMaxFlapMoves));
        }
      });
      attempt([&] {
        read_duration(*detection, "detection", "flap_window", {1ns, 24h}, tracker.flap_window);
      });
      attempt([&] {
        read_duration(*detection, "detection", "flap_damping", {0s, 24h}, tracker.flap_damping);
      });
      attempt([&] {
        if (const Value* v = find(*detection, "failover_stories")) {
          if (!v->is_boolean()) fail(*v, "detection.failover_stories", "must be true or false");
          tracker.failover.enabled = v->as_boolean();
        }
      });
      attempt([&] {
        read_duration(*detection, "detection", "failover_gap", {1s, 1h}, tracker.failover.gap);
      });
      attempt([&] {
        read_duration(*detection, "detection", "both_ways_confirm", {1s, 1h}, tracker.both_ways_confirm);
      });
    }
    if (const Value* bindings = section(root, "bindings")) {
      read_bindings(*bindings, config);
    }
    if (const Value* log = section(root, "log")) {
      attempt([&] { reject_unknown_keys(*log, "log", kLogKeys); });
      attempt([&] {
        if (const Value* v = find(*log, "level")) {
          config.log_level = read_choice(*v, "log.level", kLogLevels);
        }
      });
    }
    if (const Value* daemon = section(root, "daemon")) {
      attempt([&] { reject_unknown_keys(*daemon, "daemon", kDaemonKeys); });
      attempt([&] {
        if (const Value* v = find(*daemon, "user")) {
          std::string user = read_string(*v, "daemon.user");
          const bool ok = user.size() <= 32 && std::all_of(user.begin(), user.end(), [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                   ch == '_' || ch == '-' || ch == '.';
          });
          if (!ok) fail(*v, "daemon.user", "must be a user name (letters, digits, _ - .), got " + quote(user));
          config.user = std::move(user);
        }
      });
      attempt([&] {
        if (const Value* v = find(*daemon, "control_socket")) {
          std::string path = read_string(*v, "daemon.control_socket");
          // sockaddr_un holds 107 bytes and a NUL; "" turns the socket off.
          if (path.size() > 107) fail(*v, "daemon.control_socket", "must be at most 107 bytes long (a Unix socket path)");
          if (!path.empty() && path.front() != '/') fail(*v, "daemon.control_socket", "must be an absolute path, got " + quote(path));
          if (path.find('\0') != std::string::npos) fail(*v, "daemon.control_socket", "must not contain a NUL character");
          config.control_socket = std::move(path);
        }
      });
    }
    if (first_problem_) throw ConfigError(first_problem_->message);
    return config;
  }

 private:
  struct DurationRange {
    cam::Duration min;  // 1ns reads as "greater than 0"
    std::optional<cam::Duration> max;
  };

  // Thrown by fail() inside one attempt(): a problem and where it is.
  struct Problem {
    std::uint_least32_t line;
    std::string message;
  };

  [[noreturn]] void fail(const Value& at, const std::string& key,
                         const std::string& problem) const {
    throw Problem{line_of(at),
                  file_ + ":" + std::to_string(line_of(at)) + ": " + key + ": " + problem};
  }

  // Runs one check; returns false (and keeps the problem if it is the earliest) when it failed.
  template <typename Check>
  bool attempt(Check&& check) {
    try {
      check();
      return true;
    } catch (Problem& problem) {
      if (!first_problem_ || problem.line < first_problem_->line) {
        first_problem_ = std::move(problem);
      }
      return false;
    }
  }

  std::string read_file() const {
    if (path_.empty()) throw ConfigError("config file path is empty");
    const auto cannot_read = [&](int error) {
      return ConfigError(file_ + ": cannot read: " + std::generic_category().message(error));
    };
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) throw cannot_read(errno);
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};

    struct stat st {};
    if (::fstat(fd, &st) != 0) throw cannot_read(errno);
    if (S_ISDIR(st.st_mode)) throw cannot_read(EISDIR);
    std::string text;
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw cannot_read(errno);
      }
      if (n == 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      if (text.size() > kMaxFileBytes) {
        throw ConfigError(file_ + ": cannot read: larger than 1 MiB, not a config file");
      }
    }
    return text;
  }

  static std::vector<std::string_view> section_names() {
    std::vector<std::string_view> names;
    for (const auto& s : kSchema) names.push_back(s.name);
    return names;
  }

  static const Value* find(const Value& table, std::string_view key) {
    const auto& map = table.as_table();
    const auto it = map.find(std::string(key));
    return it == map.end() ? nullptr : &it->second;
  }

  // A top-level table such as [detection]; nullptr when absent or not a table (a problem).
  const Value* section(const Value& root, std::string_view name) {
    const Value* v = find(root, name);
    if (v == nullptr) return nullptr;
    const bool ok = attempt([&] {
      if (!v->is_table()) {
        fail(*v, std::string(name), std::string("expected a table, got ") + type_name(*v));
      }
    });
    return ok ? v : nullptr;
  }

  // Typo protection. Of several unknown keys the first in the file is reported (the table's
  // iteration order is unspecified).
  void reject_unknown_keys(const Value& table, std::string_view prefix,
                           std::span<const std::string_view> known) const {
    const std::string* worst_key = nullptr;
    const Value* worst = nullptr;
    for (const auto& [key, value] : table.as_table()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      if (worst == nullptr || line_of(value) < line_of(*worst) ||
          (line_of(value) == line_of(*worst) && key < *worst_key)) {
        worst_key = &key;
        worst = &value;
      }
    }
    if (worst == nullptr) return;

    std::string problem = is_table_like(*worst) ? "unknown table" : "unknown key";
    if (const auto guess = closest(*worst_key, known); !guess.empty()) {
      problem += " (did you mean ";
      problem += guess;
      problem += "?)";
    } else if (!prefix.empty()) {
      // A right key in the wrong section, e.g. flap_moves under [cam]. Only when one other
      // section has the key ("path" could be events or state), or only the two arrays of tables
      // (an interface belongs to an uplink or a collector).
      const auto header = [](std::string_view home) {
        return home == "uplink" || home == "collector" ? "[[" + std::string(home) + "]]" : "[" + std::string(home) + "]";
      };
      std::vector<std::string_view> homes;
      for (const auto& s : kSchema) {
        if (s.name != prefix && !prefix.starts_with(std::string(s.name) + "[") &&
            std::find(s.keys.begin(), s.keys.end(), *worst_key) != s.keys.end()) {
          homes.push_back(s.name);
        }
      }
      if (homes.size() == 1) {
        problem += " (" + *worst_key + " belongs in " + header(homes[0]) + ")";
      } else if (homes.size() == 2 && homes[0] == "uplink" && homes[1] == "collector") {
        problem += " (" + *worst_key + " belongs in [[uplink]] or [[collector]])";
      }
    }
    fail(*worst, qualify(prefix, *worst_key), problem);
  }

  // An array of tables ([[NAME]]) or nullptr (absent, or not one: a problem).
  const Value* array_of_tables(const Value& root, const char* name) {
    const Value* items = find(root, name);
    if (items == nullptr) return nullptr;
    const std::string header = std::string("[[") + name + "]]";
    const bool is_array = attempt([&] {
      if (items->is_table()) {
        fail(*items, name, "must be an array of tables: write " + header + ", not [" + name + "]");
      }
      if (!items->is_array()) {
        fail(*items, name, "expected an array of tables (" + header + "), got " + type_name(*items));
      }
    });
    return is_array ? items : nullptr;
  }

  void read_uplinks(const Value& root, Config& config) {
    const Value* uplinks = array_of_tables(root, "uplink");
    if (uplinks == nullptr) return;
    // mirror session -> the uplink that first mapped it, for the duplicate message.
    struct Mapped {
      std::size_t index;
      std::string name;
      std::uint_least32_t line;
    };
    std::vector<std::pair<capture::MirrorSessionKey, Mapped>> sessions;

    // name -> the uplink and the value that first used it, for the duplicate message.
    std::unordered_map<std::string, std::pair<std::size_t, const Value*>> names;
    const auto& items = uplinks->as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const Value& item = items[i];
      const std::string prefix = "uplink[" + std::to_string(i) + "]";
      const bool is_table = attempt([&] {
        if (!item.is_table()) {
          fail(item, prefix, std::string("expected a table, got ") + type_name(item));
        }
      });
      if (!is_table) continue;
      // A missing required key next to an unknown one is most likely its typo: then the typo
      // is the problem to report, though the [[uplink]] header line comes first.
      const bool all_known = attempt([&] { reject_unknown_keys(item, prefix, kUplinkKeys); });
      UplinkConfig uplink;

      attempt([&] {
        const std::string key = prefix + ".name";
        const Value* found = required(item, key, "name", all_known);
        if (found == nullptr) return;
        const Value& name = *found;
        uplink.name = read_string(name, key);
        check_uplink_name(name, key, uplink.name);
        const auto [first, inserted] = names.try_emplace(uplink.name, i, &name);
        if (!inserted) {
          fail(name, key,
               "duplicate uplink name " + quote(uplink.name) + " (first used by uplink[" +
                   std::to_string(first->second.first) + "] on line " +
                   std::to_string(line_of(*first->second.second)) + ")");
        }
      });
      // Captured on its own interface, or fed by a collector through a mirror session.
      const Value* interface = find(item, "interface");
      const Value* session = find(item, "erspan_session");
      const Value* gre_key = find(item, "gre_key");
      const Value* mirror = session != nullptr ? session : gre_key;
      attempt([&] {
        const std::string key = prefix + ".interface";
        if (interface == nullptr) {
          if (mirror == nullptr && all_known) {
            fail(item, key,
                 "required key is missing (or erspan_session or gre_key, for an uplink fed by a [[collector]])");
          }
          return;
        }
        uplink.interface = read_string(*interface, key);
        check_interface_name(*interface, key, uplink.interface);
      });
      attempt([&] { read_mirror_session(item, prefix, uplink); });
      attempt([&] {
        if (!uplink.mirror) return;
        const auto known = std::find_if(sessions.begin(), sessions.end(),
                                        [&](const auto& s) { return s.first == *uplink.mirror; });
        const Value& at = *mirror;
        const std::string key = prefix + (session != nullptr ? ".erspan_session" : ".gre_key");
        if (known != sessions.end()) {
          const Mapped& first = known->second;
          fail(at, key,
               uplink.mirror->to_string() + " is already mapped to uplink " + quote(first.name) + " (uplink[" +
                   std::to_string(first.index) + "] on line " + std::to_string(first.line) +
                   "): a session feeds one uplink");
        }
        sessions.emplace_back(*uplink.mirror, Mapped{i, uplink.name, line_of(at)});
      });
      // Keys of a capture interface do not go with a mirror session, and the other way round.
      const auto interface_only = [&](const char* name) {
        attempt([&] {
          const Value* v = find(item, name);
          if (v == nullptr || interface != nullptr || mirror == nullptr) return;
          fail(*v, prefix + "." + name,
               "applies to an uplink captured on its own interface; this one is fed by a [[collector]] (" +
                   std::string(session != nullptr ? "erspan_session" : "gre_key") + " on line " +
                   std::to_string(line_of(*mirror)) + ")");
        });
      };
      interface_only("direction");
      interface_only("promiscuous");
      interface_only("threads");
      attempt([&] {
        if (interface == nullptr || mirror == nullptr) return;
        const bool mirror_later = line_of(*mirror) >= line_of(*interface);
        const Value& at = mirror_later ? *mirror : *interface;
        const std::string key =
            prefix + (!mirror_later ? ".interface" : session != nullptr ? ".erspan_session" : ".gre_key");
        fail(at, key,
             "an uplink is captured on its own interface or fed by a [[collector]]'s mirror session, not both "
             "(interface on line " +
                 std::to_string(line_of(*interface)) + ", " +
                 (session != nullptr ? "erspan_session" : "gre_key") + " on line " + std::to_string(line_of(*mirror)) +
                 ")");
      });
      attempt([&] {
        if (const Value* v = find(item, "threads")) {
          uplink.threads = static_cast<int>(read_integer(*v, prefix + ".threads", 1, kMaxCaptureThreads));
        }
      });
      attempt([&] {
        if (const Value* v = find(item, "direction")) {
          const std::string direction = read_choice(*v, prefix + ".direction", kDirections);
          uplink.direction = direction == "in"    ? CaptureDirection::in
                             : direction == "out" ? CaptureDirection::out
                                                  : CaptureDirection::inout;
        }
      });
      attempt([&] {
        if (const Value* v = find(item, "promiscuous")) {
          if (!v->is_boolean()) {
            fail(*v, prefix + ".promiscuous",
                 std::string("expected a boolean, got ") + type_name(*v));
          }
          uplink.promiscuous = v->as_boolean();
        }
      });
      attempt([&] {
        if (const Value* v = find(item, "mirror")) uplink.both_ways = read_choice(*v, prefix + ".mirror", kMirrorKinds) == "both";
      });
      config.uplinks.push_back(std::move(uplink));
    }
  }

  // erspan_session (0-1023) with an optional erspan_index, or gre_key (a number or "none").
  void read_mirror_session(const Value& item, const std::string& prefix, UplinkConfig& uplink) const {
    const Value* session = find(item, "erspan_session");
    const Value* index = find(item, "erspan_index");
    const Value* gre_key = find(item, "gre_key");
    if (index != nullptr && session == nullptr) {
      fail(*index, prefix + ".erspan_index",
           "needs erspan_session: the index (type II) or port ID (type III) narrows an ERSPAN session");
    }
    if (session != nullptr && gre_key != nullptr) {
      const bool key_later = line_of(*gre_key) >= line_of(*session);
      fail(key_later ? *gre_key : *session, prefix + (key_later ? ".gre_key" : ".erspan_session"),
           "erspan_session (ERSPAN types II and III) and gre_key (type I and GRE transparent Ethernet bridging) "
           "name two different sessions; an uplink is fed by one");
    }
    if (session != nullptr) {
      const auto id = static_cast<std::uint16_t>(read_integer(*session, prefix + ".erspan_session", 0, kMaxErspanSession));
      if (index != nullptr) {
        const auto n = static_cast<std::uint32_t>(read_integer(*index, prefix + ".erspan_index", 0, kMaxMirrorId));
        uplink.mirror = capture::MirrorSessionKey::erspan(id, n);
      } else {
        uplink.mirror = capture::MirrorSessionKey::erspan(id);
      }
    } else if (gre_key != nullptr) {
      const std::string key = prefix + ".gre_key";
      if (gre_key->is_string()) {
        if (gre_key->as_string().str != "none") {
          fail(*gre_key, key,
               "expected a key from 0 to 4294967295, or \"none\" for the GRE stream without a key, got " +
                   quote(gre_key->as_string().str));
        }
        uplink.mirror = capture::MirrorSessionKey::unkeyed();
      } else if (gre_key->is_integer()) {
        uplink.mirror = capture::MirrorSessionKey::gre(static_cast<std::uint32_t>(read_integer(*gre_key, key, 0, kMaxMirrorId)));
      } else {
        fail(*gre_key, key,
             std::string("expected an integer from 0 to 4294967295 or \"none\", got ") + type_name(*gre_key));
      }
    }
  }

  void read_collectors(const Value& root, Config& config) {
    const Value* collectors = array_of_tables(root, "collector");
    if (collectors == nullptr) return;
    std::unordered_map<std::string, std::pair<std::size_t, const Value*>> names, interfaces;
    const auto& items = collectors->as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const Value& item = items[i];
      const std::string prefix = "collector[" + std::to_string(i) + "]";
      const bool is_table = attempt([&] {
        if (!item.is_table()) fail(item, prefix, std::string("expected a table, got ") + type_name(item));
      });
      if (!is_table) continue;
      const bool all_known = attempt([&] { reject_unknown_keys(item, prefix, kCollectorKeys); });
      CollectorConfig collector;
      attempt([&] {
        const std::string key = prefix + ".interface";
        const Value* found = required(item, key, "interface", all_known);
        if (found == nullptr) return;
        collector.interface = read_string(*found, key);
        check_interface_name(*found, key, collector.interface);
        const auto [first, inserted] = interfaces.try_emplace(collector.interface, i, found);
        if (!inserted) {
          fail(*found, key,
               "interface " + quote(collector.interface) + " is already the collector[" +
                   std::to_string(first->second.first) + "] on line " + std::to_string(line_of(*first->second.second)) +
                   " (more threads on one interface: threads)");
        }
        const auto uplink = std::find_if(config.uplinks.begin(), config.uplinks.end(),
                                         [&](const UplinkConfig& u) { return u.interface == collector.interface; });
        if (uplink != config.uplinks.end()) {
          fail(*found, key,
               "interface " + quote(collector.interface) + " is captured by uplink " + quote(uplink->name) +
                   " already: a collector's interface carries mirrors, an uplink's its own frames");
        }
      });
      attempt([&] {
        const Value* v = find(item, "name");
        if (v == nullptr) return;
        collector.name = read_string(*v, prefix + ".name");
        check_uplink_name(*v, prefix + ".name", collector.name);
        const auto [first, inserted] = names.try_emplace(collector.name, i, v);
        if (!inserted) {
          fail(*v, prefix + ".name",
               "duplicate collector name " + quote(collector.name) + " (first used by collector[" +
                   std::to_string(first->second.first) + "] on line " +
                   std::to_string(line_of(*first->second.second)) + ")");
        }
      });
      attempt([&] {
        if (const Value* v = find(item, "promiscuous")) {
          if (!v->is_boolean()) {
            fail(*v, prefix + ".promiscuous", std::string("expected a boolean, got ") + type_name(*v));
          }
          collector.promiscuous = v->as_boolean();
        }
      });
      attempt([&] {
        if (const Value* v = find(item, "threads")) {
          collector.threads = static_cast<int>(read_integer(*v, prefix + ".threads", 1, kMaxCaptureThreads));
        }
      });
      config.collectors.push_back(std::move(collector));
    }
    // An unnamed collector is called after its interface, unless another collector has that name.
    for (CollectorConfig& c : config.collectors) {
      if (!c.name.empty()) continue;
      c.name = c.interface;
      const bool taken = names.contains(c.name);
      if (taken) c.name += "-" + std::to_string(&c - config.collectors.data());
      names.try_emplace(c.name, 0, nullptr);
    }
  }

  // A missing required key is reported on the line of its [[uplink]] header, unless `report`
  // is false; nullptr then.
  const Value* required(const Value& table, const std::string& qualified, std::string_view key,
                        bool report) const {
    const Value* v = find(table, key);
    if (v == nullptr && report) fail(table, qualified, "required key is missing");
    return v;
  }

  void read_bindings(const Value& table, Config& config) {
    cam::BindingConfig& b = config.bindings;
    attempt([&] { reject_unknown_keys(table, "bindings", kBindingsKeys); });
    attempt([&] {
      if (const Value* v = find(table, "enabled")) {
        if (!v->is_boolean()) fail(*v, "bindings.enabled", "must be true or false");
        config.bindings_enabled = v->as_boolean();
      }
    });
    attempt([&] {
      if (const Value* v = find(table, "max_entries")) {
        b.max_entries = static_cast<std::uint64_t>(read_integer(*v, "bindings.max_entries", 1, 10'000'000));
      }
    });
    // The bindings refuse durations over 10 years (their arithmetic stays in range): say so here,
    // with the file and line, not at start or on a reload.
    constexpr cam::Duration kTenYears = 87'600h;
    attempt([&] { read_duration(table, "bindings", "idle_timeout", {1s, kTenYears}, b.idle_timeout); });
    attempt([&] { read_duration(table, "bindings", "conflict_window", {0s, 1h}, b.conflict_window); });
    attempt([&] { read_duration(table, "bindings", "conflict_memory", {0s, 24h}, b.conflict_memory); });
    attempt([&] { read_duration(table, "bindings", "flip_flop_memory", {0s, kTenYears}, b.flip_flop_memory); });
    attempt([&] { read_duration(table, "bindings", "report_interval", {0s, 24h}, b.report_interval); });
    attempt([&] { read_duration(table, "bindings", "probation", {0s, 24h}, b.probation); });
    attempt([&] {
      if (const Value* v = find(table, "new_binding_events_per_minute")) {
        b.new_binding_events_per_minute =
            static_cast<std::uint32_t>(read_integer(*v, "bindings.new_binding_events_per_minute", 0, 1'000'000));
      }
    });
    const std::pair<const char*, cam::AddressPolicy*> policies[] = {
        {"ipv4", &b.ipv4}, {"ipv4_link_local", &b.ipv4_link_local}, {"ipv6", &b.ipv6},
        {"ipv6_link_local", &b.ipv6_link_local}};
    for (const auto& [key, policy] : policies) {
      attempt([&, key = key, policy = policy] {
        if (const Value* v = find(table, key)) {
          const std::string text = read_choice(*v, std::string("bindings.") + key, kAddressPolicies);
          cam::parse_address_policy(text, *policy);
        }
      });
    }
  }

  std::string read_string(const Value& v, const std::string& key) const {
    if (!v.is_string()) fail(v, key, std::string("expected a string, got ") + type_name(v));
    return v.as_string().str;
  }

  std::string read_choice(const Value& v, const std::string& key,
                          std::span<const std::string_view> choices) const {
    std::string text = read_string(v, key);
    if (std::find(choices.begin(), choices.end(), text) != choices.end()) return text;
    std::string problem = "must be one of " + join(choices) + ", got " + quote(text);
    if (const auto guess = closest(text, choices); !guess.empty()) {
      problem += " (did you mean ";
      problem += guess;
      problem += "?)";
    }
    fail(v, key, problem);
  }

  std::int64_t read_integer(const Value& v, const std::string& key, std::int64_t min,
                            std::int64_t max) const {
    if (!v.is_integer()) fail(v, key, std::string("expected an integer, got ") + type_name(v));
    const std::int64_t n = v.as_integer();
    if (n < min || n > max) {
      fail(v, key,
           "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
               std::to_string(n));
    }
    return n;
  }

  void read_path(const Value& table, std::string_view section_name, std::string_view key,
                 std::string& out) const {
    const Value* v = find(table, key);
    if (v == nullptr) return;
    const std::string qualified = qualify(section_name, key);
    std::string path = read_string(*v, qualified);
    if (path.empty()) fail(*v, qualified, "must not be empty");
    if (path.find('\0') != std::string::npos) {
      fail(*v, qualified, "must not contain a NUL character, got " + quote(path));
    }
    out = std::move(path);
  }

  // "HOST:PORT": HOST an IPv4 literal, a bracketed IPv6 literal or "localhost"; PORT 1-65535.
  void read_listen(const Value& table, std::string_view section_name, std::string_view key,
                   std::string& out) const {
    const Value* v = find(table, key);
    if (v == nullptr) return;
    const std::string qualified = qualify(section_name, key);
    const std::string text = read_string(*v, qualified);
    const auto bad = [&](const std::string& problem) {
      fail(*v, qualified, problem + ", got " + quote(text));
    };
    if (text.empty()) {  // no endpoint
      out.clear();
      return;
    }

    std::string host;
    std::string_view port;
    bool ipv6 = false;
    if (text.starts_with('[')) {
      const auto close = text.find(']');
      if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
        bad("must be \"HOST:PORT\", IPv6 as \"[::1]:9842\"");
      }
      host = text.substr(1, close - 1);
      port = std::string_view(text).substr(close + 2);
      ipv6 = true;
    } else {
      const auto colon = text.rfind(':');
      if (colon == std::string::npos) bad("must be \"HOST:PORT\", e.g. \"127.0.0.1:9842\"");
      host = text.substr(0, colon);
      port = std::string_view(text).substr(colon + 1);
      if (host.find(':') != std::string::npos) {
        bad("an IPv6 address must be in brackets, e.g. \"[::1]:9842\"");
      }
    }

    unsigned char addr[sizeof(in6_addr)];
    const bool host_ok = ipv6 ? ::inet_pton(AF_INET6, host.c_str(), addr) == 1
                              : host == "localhost" || ::inet_pton(AF_INET, host.c_str(), addr) == 1;
    if (!host_ok) {
      bad(ipv6 ? "host must be an IPv6 address" : "host must be an IP address or localhost");
    }

    unsigned number = 0;
    const auto parsed = std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit) ||
        parsed.ptr != port.data() + port.size() || number < 1 || number > 65535) {
      bad("port must be between 1 and 65535");
    }
    out = text;
  }

  void read_duration(const Value& table, std::string_view section_name, std::string_view key,
                     const DurationRange& range, cam::Duration& out) const {
    const Value* v = find(table, key);
    if (v == nullptr) return;
    const std::string qualified = qualify(section_name, key);
    const std::string expected =
        "expected a duration like \"500ms\", \"2s\", \"5m\" or a number of seconds";

    cam::Duration d{};
    std::string given;  // the value as written, for messages
    DurationStatus status = DurationStatus::ok;
    if (v->is_string()) {
      given = quote(v->as_string().str);
      status = parse_duration_text(v->as_string().str, d);
    } else if (v->is_integer()) {
      const std::int64_t seconds = v->as_integer();
      given = std::to_string(seconds);
      if (seconds < 0) {
        status = DurationStatus::negative;
      } else if (seconds > std::numeric_limits<std::int64_t>::max() / 1'000'000'000) {
        status = DurationStatus::overflow;
      } else {
        d = std::chrono::seconds(seconds);
      }
    } else if (v->is_floating()) {
      const double seconds = v->as_floating();
      given = format_double(seconds);
      const double ns = seconds * 1e9;
      if (std::isnan(seconds)) {
        status = DurationStatus::malformed;
      } else if (seconds < 0) {
        status = DurationStatus::negative;
      } else if (!(ns < 9.2e18)) {
        status = DurationStatus::overflow;
      } else {
        d = cam::Duration(std::llround(ns));
      }
    } else {
      fail(*v, qualified, expected + ", got " + type_name(*v));
    }

    switch (status) {
      case DurationStatus::ok: break;
      case DurationStatus::malformed: fail(*v, qualified, expected + ", got " + given);
      case DurationStatus::negative: fail(*v, qualified, "must not be negative, got " + given);
      case DurationStatus::overflow: fail(*v, qualified, "is too large, got " + given);
    }

    const bool too_small = d < range.min;
    const bool too_large = range.max && d > *range.max;
    if (too_small || too_large) {
      std::string problem;
      if (range.min == 1ns) {
        problem = "must be greater than 0";
        if (range.max) problem += " and at most " + format_duration(*range.max);
      } else if (range.max) {
        problem = "must be between " + format_duration(range.min) + " and " +
                  format_duration(*range.max);
      } else {
        problem = "must be at least " + format_duration(range.min);
      }
      fail(*v, qualified, problem + ", got " + given);
    }
    out = d;
  }

  void check_uplink_name(const Value& v, const std::string& key, const std::string& name) const {
    if (name.empty()) fail(v, key, "must not be empty");
    if (name.size() > kMaxUplinkNameLength) {
      fail(v, key,
           "must be at most " + std::to_string(kMaxUplinkNameLength) + " characters, got " +
               std::to_string(name.size()));
    }
    if (!is_valid_uplink_name(name)) {
      fail(v, key, "may contain only letters, digits, '_', '.' and '-', got " + quote(name));
    }
  }

  // The kernel's rules for a network device name (dev_valid_name()).
  void check_interface_name(const Value& v, const std::string& key,
                            const std::string& name) const {
    if (name.empty()) fail(v, key, "must not be empty");
    if (name.size() > kMaxInterfaceNameLength) {
      fail(v, key,
           "must be at most " + std::to_string(kMaxInterfaceNameLength) +
               " characters (a Linux interface name), got " + quote(name));
    }
    if (name == "." || name == "..") fail(v, key, "is not an interface name, got " + quote(name));
    const bool ok = std::none_of(name.begin(), name.end(), [](char c) {
      return c == '/' || c == '\0' || c == ' ' || (c >= '\t' && c <= '\r');
    });
    if (!ok) {
      fail(v, key, "must not contain '/' or whitespace (a Linux interface name), got " +
                       quote(name));
    }
  }

  std::string path_;  // as given, to open
  std::string file_;  // as printed in messages
  std::optional<Problem> first_problem_;
};

}  // namespace

Config load_config(const std::string& path) { return Loader(path).load(); }

std::optional<cam::Duration> parse_duration(const std::string& text) {
  cam::Duration d{};
  if (parse_duration_text(text, d) != DurationStatus::ok) return std::nullopt;
  return d;
}

void check_runnable(const Config& config, const std::string& path) {
  if (config.uplinks.empty()) {
    throw ConfigError(path + ": uplink: 'camwatch run' needs at least one [[uplink]] (see config/camwatch.toml)");
  }
  if (config.collectors.empty()) {
    for (const UplinkConfig& u : config.uplinks) {
      if (u.fed_by_collector()) {
        throw ConfigError(path + ": uplink: uplink " + quote(u.name) + " is fed by " + u.mirror->to_string() +
                          " but no [[collector]] receives the mirrors");
      }
    }
  }
}

bool is_valid_uplink_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxUplinkNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

std::string read_secret_file(const std::string& path, const std::string& key) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw ConfigError(path + ": " + key + ": cannot read the secret: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw ConfigError(path + ": " + key + ": not a regular file");
  }
  if ((st.st_mode & S_IROTH) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw ConfigError(path + ": " + key + ": the secret is readable by every user (mode " + mode +
                      "); chmod o-r it (0640, group of the camwatch user)");
  }
  std::string text(4096, '\0');
  const ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n < 0) throw ConfigError(path + ": " + key + ": cannot read the secret: " + std::strerror(errno));
  text.resize(static_cast<std::size_t>(n));
  const auto end = text.find_first_of("\r\n");
  if (end != std::string::npos) text.resize(end);
  if (text.empty()) throw ConfigError(path + ": " + key + ": the first line (the secret) is empty");
  return text;
}

std::vector<std::string> known_config_keys() {
  std::vector<std::string> keys;
  for (const auto& section : kSchema) {
    for (const auto key : section.keys) keys.push_back(qualify(section.name, key));
  }
  return keys;
}

}  // namespace camwatch::daemon
