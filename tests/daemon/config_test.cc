#include "daemon/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace camwatch::daemon {
namespace {

using namespace std::chrono_literals;
using cam::Duration;

const std::string kShippedConfig = std::string(CAMWATCH_SOURCE_DIR) + "/config/camwatch.toml";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Every setting compared field by field: TrackerConfig has no operator==.
void expect_same_settings(const Config& actual, const Config& expected) {
  EXPECT_EQ(actual.uplinks, expected.uplinks);
  EXPECT_EQ(actual.collectors, expected.collectors);
  EXPECT_EQ(actual.events_path, expected.events_path);
  EXPECT_EQ(actual.metrics_listen, expected.metrics_listen);
  EXPECT_EQ(actual.state_path, expected.state_path);
  EXPECT_EQ(actual.state_save_interval, expected.state_save_interval);
  EXPECT_EQ(actual.log_level, expected.log_level);
  EXPECT_EQ(actual.user, expected.user);
  EXPECT_EQ(actual.capture.snaplen, expected.capture.snaplen);
  EXPECT_EQ(actual.capture.buffer_bytes, expected.capture.buffer_bytes);
  EXPECT_EQ(actual.capture.ring_entries, expected.capture.ring_entries);
  EXPECT_EQ(actual.capture.merge_holdback, expected.capture.merge_holdback);
  EXPECT_EQ(actual.capture.threads_per_interface, expected.capture.threads_per_interface);
  EXPECT_EQ(actual.capture.refresh, expected.capture.refresh);
  const cam::TrackerConfig& a = actual.tracker;
  const cam::TrackerConfig& e = expected.tracker;
  EXPECT_EQ(a.notify_window_before, e.notify_window_before);
  EXPECT_EQ(a.notify_window_after, e.notify_window_after);
  EXPECT_EQ(a.flap_moves, e.flap_moves);
  EXPECT_EQ(a.flap_window, e.flap_window);
  EXPECT_EQ(a.flap_damping, e.flap_damping);
  EXPECT_EQ(a.idle_timeout, e.idle_timeout);
  EXPECT_EQ(a.probation, e.probation);
  EXPECT_EQ(a.max_entries, e.max_entries);
  EXPECT_EQ(a.failover.enabled, e.failover.enabled);
  EXPECT_EQ(a.failover.gap, e.failover.gap);
  EXPECT_EQ(a.both_ways_confirm, e.both_ways_confirm);
  EXPECT_EQ(actual.bindings_enabled, expected.bindings_enabled);
  const cam::BindingConfig& ab = actual.bindings;
  const cam::BindingConfig& eb = expected.bindings;
  EXPECT_EQ(ab.max_entries, eb.max_entries);
  EXPECT_EQ(ab.idle_timeout, eb.idle_timeout);
  EXPECT_EQ(ab.conflict_window, eb.conflict_window);
  EXPECT_EQ(ab.conflict_memory, eb.conflict_memory);
  EXPECT_EQ(ab.flip_flop_memory, eb.flip_flop_memory);
  EXPECT_EQ(ab.report_interval, eb.report_interval);
  EXPECT_EQ(ab.probation, eb.probation);
  EXPECT_EQ(ab.new_binding_events_per_minute, eb.new_binding_events_per_minute);
  EXPECT_EQ(ab.ipv4, eb.ipv4);
  EXPECT_EQ(ab.ipv4_link_local, eb.ipv4_link_local);
  EXPECT_EQ(ab.ipv6, eb.ipv6);
  EXPECT_EQ(ab.ipv6_link_local, eb.ipv6_link_local);
}

// The documented examples switched on: "# key = value", "# [[uplink]]" and "# [[collector]]"
// lose their "# ". Prose comments never have that shape.
std::string uncomment_examples(const std::string& text) {
  static const std::regex example(R"(^# ((\[\[(uplink|collector)\]\])|([a-z_]+ = .+))$)");
  std::istringstream in(text);
  std::ostringstream out;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    out << (std::regex_match(line, m, example) ? m[1].str() : line) << '\n';
  }
  return out.str();
}

// "section.key" for every `key = value` line, in file order, each once.
std::vector<std::string> keys_set_in(const std::string& text) {
  static const std::regex header(R"(^\[\[?([a-z_]+)\]\]?\s*$)");
  static const std::regex assignment(R"(^([a-z0-9_]+) = .*$)");
  std::vector<std::string> keys;
  std::string section;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, header)) {
      section = m[1];
    } else if (std::regex_match(line, m, assignment)) {
      const std::string key = section + "." + m[1].str();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
  }
  return keys;
}

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "camwatch-config-XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string write(const std::string& text, const std::string& name = "camwatch.toml") {
    const std::string path = dir_ + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    EXPECT_TRUE(out.good());
    return path;
  }

  Config load(const std::string& text) { return load_config(write(text)); }

  // The message of the ConfigError the file makes, or a test failure when it loads.
  std::string error_of_path(const std::string& path) {
    try {
      load_config(path);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << path << " loaded without error";
    return "";
  }
  std::string error_of(const std::string& text) { return error_of_path(write(text)); }

  // `text` fails with exactly "PATH" + suffix, e.g. ":3: cam.max_entries: ...".
  void expect_error(const std::string& text, const std::string& suffix) {
    const std::string path = dir_ + "/camwatch.toml";
    EXPECT_EQ(error_of(text), path + suffix) << text;
  }

  std::string dir_;
};

// ---- defaults and the shipped file -------------------------------------------------------

TEST_F(ConfigFile, LoadsAnEmptyFileAsTheBuiltInDefaults) {
  const std::string path = write("");
  const Config config = load_config(path);
  EXPECT_EQ(config.source_path, path);
  expect_same_settings(config, Config{});
  EXPECT_TRUE(config.uplinks.empty());
}

TEST_F(ConfigFile, LoadsACommentOnlyFileAsTheBuiltInDefaults) {
  expect_same_settings(load("# nothing here\n\n   # still nothing\n"), Config{});
}

TEST(ConfigDefaults, MatchTheDocumentedValues) {
  // The values config/camwatch.toml documents, restated: a change of a default must be a
  // deliberate edit of the code, the file and this test.
  const Config defaults;
  EXPECT_TRUE(defaults.uplinks.empty());
  EXPECT_EQ(defaults.events_path, "/var/lib/camwatch/events.jsonl");
  EXPECT_EQ(defaults.metrics_listen, "127.0.0.1:9842");
  EXPECT_EQ(defaults.state_path, "/var/lib/camwatch/cam.state");
  EXPECT_EQ(defaults.state_save_interval, 5min);
  EXPECT_EQ(defaults.log_level, "info");
  EXPECT_EQ(defaults.user, "");
  EXPECT_EQ(defaults.capture.snaplen, 256);
  EXPECT_EQ(defaults.capture.buffer_bytes, 64 << 20);
  EXPECT_EQ(defaults.capture.ring_entries, 65536);
  EXPECT_EQ(defaults.capture.merge_holdback, 200ms);
  EXPECT_EQ(defaults.capture.threads_per_interface, 1);
  EXPECT_TRUE(defaults.collectors.empty());
  EXPECT_EQ(UplinkConfig{}.threads, 0) << "0: [capture] threads_per_interface";
  EXPECT_EQ(CollectorConfig{}.promiscuous, false);
  EXPECT_EQ(defaults.capture.refresh, 1s);
  EXPECT_EQ(defaults.tracker.max_entries, 1'000'000U);
  EXPECT_EQ(defaults.tracker.idle_timeout, 300s);
  EXPECT_EQ(defaults.tracker.probation, 10s);
  EXPECT_EQ(defaults.tracker.notify_window_before, 1s);
  EXPECT_EQ(defaults.tracker.notify_window_after, 2s);
  EXPECT_EQ(defaults.tracker.flap_moves, 4U);
  EXPECT_EQ(defaults.tracker.flap_window, 10s);
  EXPECT_EQ(defaults.tracker.flap_damping, 60s);
  EXPECT_TRUE(defaults.tracker.failover.enabled);
  EXPECT_EQ(defaults.tracker.failover.gap, 10s);
  EXPECT_EQ(defaults.tracker.both_ways_confirm, 10s);
  EXPECT_TRUE(defaults.bindings_enabled);
  EXPECT_EQ(defaults.bindings.max_entries, 262'144U);
  EXPECT_EQ(defaults.bindings.idle_timeout, 24h);
  EXPECT_EQ(defaults.bindings.conflict_window, 5s);
  EXPECT_EQ(defaults.bindings.conflict_memory, 5min);
  EXPECT_EQ(defaults.bindings.flip_flop_memory, 24h);
  EXPECT_EQ(defaults.bindings.report_interval, 5min);
  EXPECT_EQ(defaults.bindings.probation, 60s);
  EXPECT_EQ(defaults.bindings.new_binding_events_per_minute, 1000U);
  EXPECT_EQ(defaults.bindings.ipv4, cam::AddressPolicy::report);
  EXPECT_EQ(defaults.bindings.ipv4_link_local, cam::AddressPolicy::report);
  EXPECT_EQ(defaults.bindings.ipv6, cam::AddressPolicy::report);
  EXPECT_EQ(defaults.bindings.ipv6_link_local, cam::AddressPolicy::watch);
}

TEST_F(ConfigFile, ReadsBothWaysMirrorsAndGivesTheAnalysisTheirIdsByName) {
  const Config c = load("[[uplink]]\nname = \"a\"\ninterface = \"eth1\"\nmirror = \"both\"\n"
                        "[[uplink]]\nname = \"b\"\ninterface = \"eth2\"\n"
                        "[[uplink]]\nname = \"c\"\ninterface = \"eth3\"\nmirror = \"both\"\n"
                        "[detection]\nboth_ways_confirm = \"4s\"\n");
  EXPECT_TRUE(c.uplinks[0].both_ways);
  EXPECT_FALSE(c.uplinks[1].both_ways);
  EXPECT_EQ(c.tracker.both_ways_confirm, 4s);
  // Ids follow the names given: here c is id 0, b id 1, a id 2.
  EXPECT_EQ(analyzer_config(c, {"c", "b", "a"}).tracker.both_ways_uplinks, (std::vector<cam::UplinkId>{0, 2}));
  const std::string file = dir_ + "/camwatch.toml";
  EXPECT_EQ(error_of("[[uplink]]\nname = \"a\"\ninterface = \"eth1\"\nmirror = \"tx\"\n")
                .rfind(file + ":4: uplink[0].mirror: ", 0),
            0U);
}

TEST_F(ConfigFile, ReadsBindingsAndNamesABadPolicyWithFileLineAndKey) {
  const Config c = load("[bindings]\nenabled = false\nmax_entries = 1000\nreport_interval = \"1m\"\n"
                        "ipv6_link_local = \"ignore\"\n");
  EXPECT_FALSE(c.bindings_enabled);
  EXPECT_EQ(c.bindings.max_entries, 1000U);
  EXPECT_EQ(c.bindings.report_interval, 1min);
  EXPECT_EQ(c.bindings.ipv6_link_local, cam::AddressPolicy::ignore);
  const std::string file = dir_ + "/camwatch.toml";
  EXPECT_EQ(error_of("[bindings]\n\nipv4 = \"loud\"\n").rfind(file + ":3: bindings.ipv4: ", 0), 0U);
  EXPECT_EQ(error_of("[bindings]\nmax_entries = 0\n").rfind(file + ":2: bindings.max_entries: ", 0), 0U);
  EXPECT_EQ(error_of("[detection]\nfailover_stories = \"yes\"\n")
                .rfind(file + ":2: detection.failover_stories: must be true or false", 0),
            0U);
}

TEST(ShippedConfig, LoadsAsTheBuiltInDefaults) {
  const Config config = load_config(kShippedConfig);
  EXPECT_EQ(config.source_path, kShippedConfig);
  expect_same_settings(config, Config{});
}

TEST(ShippedConfig, SetsEveryKeyTheLoaderKnowsInSchemaOrderOnceExamplesAreUncommented) {
  EXPECT_EQ(keys_set_in(uncomment_examples(read_text(kShippedConfig))), known_config_keys());
}

TEST_F(ConfigFile, ShippedConfigStillLoadsWithItsExamplesUncommented) {
  const std::string text = uncomment_examples(read_text(kShippedConfig));
  ASSERT_NE(text, read_text(kShippedConfig)) << "no commented-out examples found";
  const Config config = load(text);
  ASSERT_EQ(config.uplinks.size(), 4U);
  EXPECT_EQ(config.uplinks[0], (UplinkConfig{"vmnic2", "ens1f0", CaptureDirection::in, true, false, 1, {}}));
  EXPECT_EQ(config.uplinks[1], (UplinkConfig{"vmnic3", "ens1f1", CaptureDirection::in, true, false, 1, {}}));
  EXPECT_EQ(config.uplinks[2],
            (UplinkConfig{"leaf1-eth7", "", CaptureDirection::in, true, false, 0, capture::MirrorSessionKey::erspan(7, 7)}));
  EXPECT_EQ(config.uplinks[3],
            (UplinkConfig{"ovs-br-int", "", CaptureDirection::in, true, false, 0, capture::MirrorSessionKey::gre(100)}));
  ASSERT_EQ(config.collectors.size(), 1U);
  EXPECT_EQ(config.collectors[0], (CollectorConfig{"erspan0", "ens5", false, 1}));
  EXPECT_NO_THROW(check_runnable(config, "x"));
  Config expected;
  expected.uplinks = config.uplinks;
  expected.collectors = config.collectors;
  expect_same_settings(config, expected);
}

TEST(KnownConfigKeys, AreFullyQualifiedInSchemaOrder) {
  const std::vector<std::string> expected = {
      "uplink.name",          "uplink.interface",    "uplink.direction",
      "uplink.promiscuous",   "uplink.mirror",       "uplink.threads",      "uplink.erspan_session",
      "uplink.erspan_index",  "uplink.gre_key",      "collector.name",
      "collector.interface",  "collector.promiscuous", "collector.threads",
      "capture.snaplen",     "capture.buffer_size",
      "capture.ring_entries", "capture.merge_holdback", "capture.threads_per_interface", "capture.refresh",
      "events.path",
      "metrics.listen", "metrics.basic_auth_username", "metrics.basic_auth_password_file", "state.path",          "state.save_interval",
      "cam.max_entries",      "cam.idle_timeout",    "cam.probation",
      "detection.notify_window_before", "detection.notify_window_after",
      "detection.flap_moves", "detection.flap_window", "detection.flap_damping",
      "detection.failover_stories", "detection.failover_gap", "detection.both_ways_confirm",
      "bindings.enabled", "bindings.max_entries", "bindings.idle_timeout", "bindings.conflict_window",
      "bindings.conflict_memory", "bindings.flip_flop_memory", "bindings.report_interval", "bindings.probation",
      "bindings.new_binding_events_per_minute", "bindings.ipv4", "bindings.ipv4_link_local", "bindings.ipv6",
      "bindings.ipv6_link_local",
      "log.level",            "daemon.user", "daemon.control_socket"};
  EXPECT_EQ(known_config_keys(), expected);
}

TEST_F(ConfigFile, ReadsTheRecentlySeenFiltersRefreshAndTheProbation) {
  const Config c = load("[capture]\nrefresh = \"250ms\"\n[cam]\nprobation = \"1m\"\n");
  EXPECT_EQ(c.capture.refresh, 250ms);
  EXPECT_EQ(c.tracker.probation, 60s);
  const Config off = load("[capture]\nrefresh = 0\n[cam]\nprobation = \"0s\"\n");
  EXPECT_EQ(off.capture.refresh, 0s);
  EXPECT_EQ(off.tracker.probation, 0s);
  expect_error("[capture]\nrefresh = \"2h\"\n", ":2: capture.refresh: must be between 0s and 1h, got \"2h\"");
  expect_error("[cam]\nprobation = \"25h\"\n", ":2: cam.probation: must be between 0s and 24h, got \"25h\"");
}

// ---- a full valid file -------------------------------------------------------------------

TEST_F(ConfigFile, ReadsEveryKeyOfAFullValidConfig) {
  const std::string path = write(R"(
[[uplink]]
name = "vmnic2"
interface = "ens1f0"
direction = "out"
promiscuous = false

[[uplink]]
name = "B.2-x_y"
interface = "veth-b"
direction = "inout"

[[uplink]]
name = "c"
interface = "eth0"

[events]
path = "-"

[metrics]
listen = "[::1]:9100"

[state]
path = "/srv/camwatch/state"

[cam]
max_entries = 5000
idle_timeout = "5m"
probation = "30s"

[detection]
notify_window_before = "250ms"
notify_window_after = 3
flap_moves = 6
flap_window = 0.5
flap_damping = "0s"

[log]
level = "debug"
)");
  const Config config = load_config(path);
  Config expected;
  expected.source_path = path;
  expected.uplinks = {{"vmnic2", "ens1f0", CaptureDirection::out, false, false, 0, {}},
                      {"B.2-x_y", "veth-b", CaptureDirection::inout, true, false, 0, {}},
                      {"c", "eth0", CaptureDirection::in, true, false, 0, {}}};
  expected.events_path = "-";
  expected.metrics_listen = "[::1]:9100";
  expected.state_path = "/srv/camwatch/state";
  expected.tracker.max_entries = 5000;
  expected.tracker.idle_timeout = 5min;
  expected.tracker.probation = 30s;
  expected.tracker.notify_window_before = 250ms;
  expected.tracker.notify_window_after = 3s;
  expected.tracker.flap_moves = 6;
  expected.tracker.flap_window = 500ms;
  expected.tracker.flap_damping = 0s;
  expected.log_level = "debug";
  EXPECT_EQ(config.source_path, path);
  expect_same_settings(config, expected);
}

TEST_F(ConfigFile, AcceptsInlineTablesAndDottedKeys) {
  const Config config = load(R"(
uplink = [{ name = "a", interface = "eth0" }, { name = "b", interface = "eth1" }]
events = { path = "/tmp/e.jsonl" }
detection.flap_moves = 3
)");
  ASSERT_EQ(config.uplinks.size(), 2U);
  EXPECT_EQ(config.uplinks[1].name, "b");
  EXPECT_EQ(config.events_path, "/tmp/e.jsonl");
  EXPECT_EQ(config.tracker.flap_moves, 3U);
}

TEST_F(ConfigFile, AcceptsTheBoundsOfEveryRange) {
  const Config low = load(R"(
[cam]
max_entries = 1
idle_timeout = "1ns"
[detection]
notify_window_before = 0
notify_window_after = "0s"
flap_moves = 2
flap_window = "1ns"
flap_damping = 0
)");
  EXPECT_EQ(low.tracker.max_entries, 1U);
  EXPECT_EQ(low.tracker.idle_timeout, 1ns);
  EXPECT_EQ(low.tracker.notify_window_before, 0s);
  EXPECT_EQ(low.tracker.flap_moves, 2U);
  EXPECT_EQ(low.tracker.flap_damping, 0s);

  const Config high = load(R"(
[cam]
max_entries = 100000000
[detection]
notify_window_before = "1h"
notify_window_after = 3600
flap_moves = 1000
flap_window = "24h"
flap_damping = 86400.0
)");
  EXPECT_EQ(high.tracker.max_entries, 100'000'000U);
  EXPECT_EQ(high.tracker.notify_window_before, 1h);
  EXPECT_EQ(high.tracker.notify_window_after, 1h);
  EXPECT_EQ(high.tracker.flap_moves, 1000U);
  EXPECT_EQ(high.tracker.flap_window, 24h);
  EXPECT_EQ(high.tracker.flap_damping, 24h);
}

// ---- durations ---------------------------------------------------------------------------

TEST(ParseDuration, ReadsEveryUnitExactly) {
  const struct {
    const char* text;
    Duration expected;
  } cases[] = {
      {"250us", 250us},
      {"500ms", 500ms},
      {"2s", 2s},
      {"1.5s", 1500ms},
      {"5m", 5min},
      {"1h", 1h},
      {"7ns", 7ns},
      {"0s", 0s},
      {"0.0s", 0s},
      {"00002s", 2s},
      {"0.1s", 100ms},
      {"0.000000001s", 1ns},
      {"1.5us", 1500ns},
      {"0.25m", 15s},
      {"2.5h", 9000s},
      {"0.00000000001h", 36ns},
      {"1.0000000004s", 1s},             // below the nanosecond: rounded down
      {"1.0000000005s", 1'000'000'001ns},  // and up
      {"0.5ns", 1ns},
      {"9223372036s", 9'223'372'036s},
      {"2562047h", 2'562'047h},
  };
  for (const auto& c : cases) {
    const auto d = parse_duration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(*d, c.expected) << c.text;
  }
}

TEST(ParseDuration, RejectsAnythingButDigitsAndAUnit) {
  for (const char* text :
       {"", "s", "2", "2.", "2.s", ".5s", "-1s", "-0s", "+1s", "1 s", " 1s", "1s ", "1S", "1H",
        "1d", "1sec", "1e3s", "nan", "inf", "1h30m", "1,5s", "0x10s", "1..5s", "1.5.5s",
        "9223372037s", "2562048h", "99999999999999999999999ns"}) {
    EXPECT_FALSE(parse_duration(text).has_value()) << '"' << text << '"';
  }
}

TEST_F(ConfigFile, ReadsDurationsGivenAsNumbersOfSeconds) {
  const Config config = load(R"(
[cam]
idle_timeout = 600
[detection]
notify_window_before = 0.25
notify_window_after = 0.1
flap_window = 1e1
)");
  EXPECT_EQ(config.tracker.idle_timeout, 600s);
  EXPECT_EQ(config.tracker.notify_window_before, 250ms);
  EXPECT_EQ(config.tracker.notify_window_after, 100ms);
  EXPECT_EQ(config.tracker.flap_window, 10s);
}

// ---- the file itself ---------------------------------------------------------------------

TEST_F(ConfigFile, NamesFileWhenItDoesNotExist) {
  const std::string path = dir_ + "/absent.toml";
  EXPECT_EQ(error_of_path(path), path + ": cannot read: No such file or directory");
}

TEST_F(ConfigFile, RefusesADirectory) {
  EXPECT_EQ(error_of_path(dir_), dir_ + ": cannot read: Is a directory");
}

TEST_F(ConfigFile, NamesFileWhenItCannotBeOpened) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  const std::string path = write("[log]\n");
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  EXPECT_EQ(error_of_path(path), path + ": cannot read: Permission denied");
}

TEST_F(ConfigFile, RefusesAnEmptyPath) {
  EXPECT_EQ(error_of_path(""), "config file path is empty");
}

TEST_F(ConfigFile, RefusesAHugeFile) {
  const std::string path = write(std::string(2 << 20, '#'));
  EXPECT_EQ(error_of_path(path), path + ": cannot read: larger than 1 MiB, not a config file");
}

// ---- TOML syntax -------------------------------------------------------------------------

TEST_F(ConfigFile, NamesLineOfAMissingValueInOneLine) {
  expect_error("[cam]\nmax_entries = 5\nidle_timeout =\n",
               ":3: syntax error: missing value after key-value separator '=' "
               "(expected value, but got nothing)");
}

TEST_F(ConfigFile, NamesLineOfAnUnterminatedString) {
  expect_error("# comment\n\n[events]\n\npath = \"/var/lib/x\n",
               ":5: syntax error: the next token is not a valid string");
}

TEST_F(ConfigFile, NamesLineOfTheSecondDefinitionOfAKey) {
  expect_error("[log]\nlevel = \"info\"\n\nlevel = \"debug\"\n",
               ":4: syntax error: value (\"level\") already exists (value defined twice)");
}

TEST_F(ConfigFile, NamesLineOfTheSecondDefinitionOfATable) {
  expect_error("[log]\nlevel = \"info\"\n[cam]\n[log]\n",
               ":4: syntax error: table (\"log\") already exists (table defined twice)");
}

TEST_F(ConfigFile, NamesLineOfAKeyWithoutEquals) {
  expect_error("[cam]\n\nmax_entries 5\n",
               ":3: syntax error: missing key-value separator `=` (should be `=`)");
}

TEST_F(ConfigFile, ReportsSyntaxErrorsOnOneLine) {
  for (const char* text : {"[cam\n", "a = [1,\n2,\n", "x = 0x\n", "[[uplink]\n", "= 1\n",
                           "a = 2024-13-01\n", "a = \"\\q\"\n", "a = 1\n[a]\n", "\"a\nb\" = 1\n",
                           "a = \"\xff\"\n", "[log]\nlevel = 'x\n"}) {
    const std::string message = error_of(text);
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(": syntax error: "), std::string::npos) << message;
  }
}

// ---- types and ranges --------------------------------------------------------------------

TEST_F(ConfigFile, NamesFileLineAndKeyWhenValueOutOfRange) {
  expect_error(R"(# camwatch
[[uplink]]
name = "a"
interface = "eth0"

[events]
path = "-"

[metrics]
listen = "127.0.0.1:9842"

[cam]
idle_timeout = "300s"
max_entries = 0
)",
               ":14: cam.max_entries: must be between 1 and 100000000, got 0");
  expect_error("[cam]\nmax_entries = 100000001\n",
               ":2: cam.max_entries: must be between 1 and 100000000, got 100000001");
  expect_error("[cam]\nmax_entries = -5\n",
               ":2: cam.max_entries: must be between 1 and 100000000, got -5");
  expect_error("[detection]\nflap_moves = 1\n",
               ":2: detection.flap_moves: must be between 2 and 1000, got 1");
  expect_error("[detection]\nflap_moves = 1001\n",
               ":2: detection.flap_moves: must be between 2 and 1000, got 1001");
}

TEST_F(ConfigFile, NamesKeyAndBothTypesWhenTypeIsWrong) {
  expect_error("[events]\npath = 5\n", ":2: events.path: expected a string, got an integer");
  expect_error("[cam]\nmax_entries = \"1000\"\n",
               ":2: cam.max_entries: expected an integer, got a string");
  expect_error("[cam]\nmax_entries = 1000.0\n",
               ":2: cam.max_entries: expected an integer, got a float");
  expect_error("[log]\nlevel = [\"info\"]\n", ":2: log.level: expected a string, got an array");
  expect_error("[[uplink]]\nname = \"a\"\ninterface = \"eth0\"\npromiscuous = \"yes\"\n",
               ":4: uplink[0].promiscuous: expected a boolean, got a string");
  expect_error("[[uplink]]\nname = true\ninterface = \"eth0\"\n",
               ":2: uplink[0].name: expected a string, got a boolean");
  expect_error("[metrics]\nlisten = 9842\n",
               ":2: metrics.listen: expected a string, got an integer");
  expect_error("[detection]\nflap_window = true\n",
               ":2: detection.flap_window: expected a duration like \"500ms\", \"2s\", \"5m\" or "
               "a number of seconds, got a boolean");
  expect_error("[cam]\nidle_timeout = 00:05:00\n",
               ":2: cam.idle_timeout: expected a duration like \"500ms\", \"2s\", \"5m\" or a "
               "number of seconds, got a time");
}

TEST_F(ConfigFile, NamesKeyWhenASectionIsNotATable) {
  expect_error("\ncam = 5\n", ":2: cam: expected a table, got an integer");
  expect_error("log = \"debug\"\n", ":1: log: expected a table, got a string");
}

TEST_F(ConfigFile, NamesKeyAndTextOfABadDuration) {
  expect_error("[cam]\nidle_timeout = \"5 minutes\"\n",
               ":2: cam.idle_timeout: expected a duration like \"500ms\", \"2s\", \"5m\" or a "
               "number of seconds, got \"5 minutes\"");
  expect_error("[cam]\nidle_timeout = \"300\"\n",
               ":2: cam.idle_timeout: expected a duration like \"500ms\", \"2s\", \"5m\" or a "
               "number of seconds, got \"300\"");
  expect_error("[detection]\nflap_window = nan\n",
               ":2: detection.flap_window: expected a duration like \"500ms\", \"2s\", \"5m\" or "
               "a number of seconds, got nan");
}

TEST_F(ConfigFile, RefusesNegativeDurations) {
  expect_error("[detection]\nflap_damping = \"-1s\"\n",
               ":2: detection.flap_damping: must not be negative, got \"-1s\"");
  expect_error("[detection]\nflap_damping = -1\n",
               ":2: detection.flap_damping: must not be negative, got -1");
  expect_error("[detection]\nflap_damping = -0.5\n",
               ":2: detection.flap_damping: must not be negative, got -0.5");
}

TEST_F(ConfigFile, RefusesDurationsTooLargeForNanoseconds) {
  expect_error("[cam]\nidle_timeout = \"9999999999h\"\n",
               ":2: cam.idle_timeout: is too large, got \"9999999999h\"");
  expect_error("[cam]\nidle_timeout = 9223372037\n",
               ":2: cam.idle_timeout: is too large, got 9223372037");
  expect_error("[cam]\nidle_timeout = inf\n", ":2: cam.idle_timeout: is too large, got inf");
  expect_error("[cam]\nidle_timeout = 1e300\n", ":2: cam.idle_timeout: is too large, got 1e+300");
}

TEST_F(ConfigFile, NamesTheAllowedRangeOfADuration) {
  expect_error("[cam]\nidle_timeout = \"0s\"\n",
               ":2: cam.idle_timeout: must be greater than 0, got \"0s\"");
  expect_error("[cam]\nidle_timeout = 0\n", ":2: cam.idle_timeout: must be greater than 0, got 0");
  expect_error("[detection]\nnotify_window_before = \"61m\"\n",
               ":2: detection.notify_window_before: must be between 0s and 1h, got \"61m\"");
  expect_error("[detection]\nnotify_window_after = 3600.5\n",
               ":2: detection.notify_window_after: must be between 0s and 1h, got 3600.5");
  expect_error("[detection]\nflap_window = \"0ms\"\n",
               ":2: detection.flap_window: must be greater than 0 and at most 24h, got \"0ms\"");
  expect_error("[detection]\nflap_window = \"25h\"\n",
               ":2: detection.flap_window: must be greater than 0 and at most 24h, got \"25h\"");
  expect_error("[detection]\nflap_damping = \"1441m\"\n",
               ":2: detection.flap_damping: must be between 0s and 24h, got \"1441m\"");
}

TEST_F(ConfigFile, NamesTheChoicesOfAnEnumeration) {
  expect_error("[log]\nlevel = \"verbose\"\n",
               ":2: log.level: must be one of trace, debug, info, warn, error, critical, off, "
               "got \"verbose\"");
  expect_error("[log]\nlevel = \"warning\"\n",
               ":2: log.level: must be one of trace, debug, info, warn, error, critical, off, "
               "got \"warning\" (did you mean warn?)");
  expect_error("[log]\nlevel = \"crit\"\n",
               ":2: log.level: must be one of trace, debug, info, warn, error, critical, off, "
               "got \"crit\" (did you mean critical?)");
  expect_error("[[uplink]]\nname = \"a\"\ninterface = \"eth0\"\ndirection = \"both\"\n",
               ":4: uplink[0].direction: must be one of in, out, inout, got \"both\"");
}

TEST_F(ConfigFile, RefusesEmptyPaths) {
  expect_error("[events]\npath = \"\"\n", ":2: events.path: must not be empty");
  expect_error("[state]\n\npath = \"\"\n", ":3: state.path: must not be empty");
  expect_error("[state]\npath = \"a\\u0000b\"\n",
               ":2: state.path: must not contain a NUL character, got \"a\\x00b\"");
}

TEST_F(ConfigFile, AcceptsListenAddressesOfEveryForm) {
  for (const char* listen :
       {"127.0.0.1:9842", "0.0.0.0:1", "localhost:65535", "[::1]:9842", "[::]:80",
        "[fe80::1:2]:9100", "10.1.2.3:09842"}) {
    EXPECT_EQ(load(std::string("[metrics]\nlisten = \"") + listen + "\"\n").metrics_listen, listen);
  }
}

TEST_F(ConfigFile, AnEmptyListenAddressTurnsMetricsOff) {
  EXPECT_EQ(load("[metrics]\nlisten = \"\"\n").metrics_listen, "");
  EXPECT_EQ(Config{}.metrics_listen, "127.0.0.1:9842");
}

TEST_F(ConfigFile, BasicAuthNeedsBothKeys) {
  const Config c = load("[metrics]\nbasic_auth_username = \"prom\"\nbasic_auth_password_file = \"/etc/camwatch/pw\"\n");
  EXPECT_EQ(c.metrics_auth_username, "prom");
  EXPECT_EQ(c.metrics_auth_password_file, "/etc/camwatch/pw");
  expect_error("[metrics]\nbasic_auth_username = \"prom\"\n",
               ":2: metrics.basic_auth_username: needs metrics.basic_auth_password_file as well");
  expect_error("[metrics]\nbasic_auth_password_file = \"/etc/camwatch/pw\"\n",
               ":2: metrics.basic_auth_password_file: needs metrics.basic_auth_username as well");
  expect_error("[metrics]\nbasic_auth_username = \"a:b\"\nbasic_auth_password_file = \"/pw\"\n",
               ":2: metrics.basic_auth_username: must be 1-64 printable characters without ':' or spaces");
  expect_error("[metrics]\nbasic_auth_username = \"p\"\nbasic_auth_password_file = \"pw\"\n",
               ":3: metrics.basic_auth_password_file: must be an absolute path");
}

TEST_F(ConfigFile, SecretFilesMustNotBeWorldReadable) {
  const std::string path = dir_ + "/metrics.password";
  std::ofstream(path) << "s3cret\nignored second line\n";
  ::chmod(path.c_str(), 0640);
  EXPECT_EQ(read_secret_file(path, "metrics.basic_auth_password_file"), "s3cret");
  ::chmod(path.c_str(), 0644);
  try {
    read_secret_file(path, "metrics.basic_auth_password_file");
    FAIL() << "a world-readable secret was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": metrics.basic_auth_password_file: the secret is readable by every user "
                                              "(mode 0644); chmod o-r it (0640, group of the camwatch user)");
  }
  std::ofstream(path, std::ios::trunc) << "\n";
  ::chmod(path.c_str(), 0600);
  EXPECT_THROW(read_secret_file(path, "k"), ConfigError);
  EXPECT_THROW(read_secret_file(dir_ + "/missing", "k"), ConfigError);
}

TEST_F(ConfigFile, ChecksTheControlSocketPath) {
  EXPECT_EQ(load("[daemon]\ncontrol_socket = \"/tmp/x.sock\"\n").control_socket, "/tmp/x.sock");
  EXPECT_EQ(load("[daemon]\ncontrol_socket = \"\"\n").control_socket, "");
  expect_error("[daemon]\ncontrol_socket = \"run/x.sock\"\n",
               ":2: daemon.control_socket: must be an absolute path, got \"run/x.sock\"");
  expect_error("[daemon]\ncontrol_socket = \"/" + std::string(120, 'a') + "\"\n",
               ":2: daemon.control_socket: must be at most 107 bytes long (a Unix socket path)");
}

TEST_F(ConfigFile, ExplainsWhatIsWrongWithAListenAddress) {
  const struct {
    const char* listen;
    const char* problem;
  } cases[] = {
      {"9842", "must be \"HOST:PORT\", e.g. \"127.0.0.1:9842\""},
      {"::1:9842", "an IPv6 address must be in brackets, e.g. \"[::1]:9842\""},
      {"[::1]", "must be \"HOST:PORT\", IPv6 as \"[::1]:9842\""},
      {"[::1:9842", "must be \"HOST:PORT\", IPv6 as \"[::1]:9842\""},
      {"[127.0.0.1]:9842", "host must be an IPv6 address"},
      {"example.com:9842", "host must be an IP address or localhost"},
      {":9842", "host must be an IP address or localhost"},
      {"256.1.1.1:9842", "host must be an IP address or localhost"},
      {"127.0.0.1:0", "port must be between 1 and 65535"},
      {"127.0.0.1:65536", "port must be between 1 and 65535"},
      {"127.0.0.1:", "port must be between 1 and 65535"},
      {"127.0.0.1:+80", "port must be between 1 and 65535"},
      {"127.0.0.1:80x", "port must be between 1 and 65535"},
      {"[::1]:99999999999", "port must be between 1 and 65535"},
  };
  for (const auto& c : cases) {
    expect_error(std::string("[metrics]\nlisten = \"") + c.listen + "\"\n",
                 std::string(":2: metrics.listen: ") + c.problem + ", got \"" + c.listen + "\"");
  }
}

// ---- unknown keys ------------------------------------------------------------------------

TEST_F(ConfigFile, SuggestsTheKeyMeantByATypo) {
  expect_error(R"([cam]
max_entries = 10

[detection]
notify_window_before = "1s"
notify_window_after = "2s"
flap_move = 4
)",
               ":7: detection.flap_move: unknown key (did you mean flap_moves?)");
  expect_error("[cam]\nidle_timeuot = \"1s\"\n",
               ":2: cam.idle_timeuot: unknown key (did you mean idle_timeout?)");
  expect_error("[log]\nLevel = \"info\"\n", ":2: log.Level: unknown key (did you mean level?)");
}

TEST_F(ConfigFile, SuggestsTheTableMeantByATypo) {
  expect_error("[events]\npath = \"-\"\n\n[detecton]\nflap_moves = 4\n",
               ":4: detecton: unknown table (did you mean detection?)");
  expect_error("[[uplinks]]\nname = \"a\"\n", ":1: uplinks: unknown table (did you mean uplink?)");
}

TEST_F(ConfigFile, RefusesUnknownKeysWithoutAGoodGuess) {
  expect_error("[metrics]\nlisten = \"127.0.0.1:1\"\npath = \"/metrics\"\n",
               ":3: metrics.path: unknown key");
  expect_error("\n\nverbose = true\n", ":3: verbose: unknown key");
  expect_error("[cam.extra]\nx = 1\n", ":1: cam.extra: unknown table");
  expect_error("[log]\n\"log level\" = \"info\"\n", ":2: log.\"log level\": unknown key");
}

TEST_F(ConfigFile, SaysWhereAKeyInTheWrongSectionBelongs) {
  expect_error("[cam]\nflap_moves = 4\n",
               ":2: cam.flap_moves: unknown key (flap_moves belongs in [detection])");
  expect_error("[events]\ninterface = \"eth0\"\n",
               ":2: events.interface: unknown key (interface belongs in [[uplink]] or [[collector]])");
}

TEST_F(ConfigFile, ReportsTheFirstOfSeveralUnknownKeys) {
  expect_error("[detection]\nflap_moves = 4\nzeta = 1\nalpha = 2\nmid = 3\n",
               ":3: detection.zeta: unknown key");
}

TEST_F(ConfigFile, ReportsTheProblemEarliestInTheFile) {
  // The loader checks [cam] before [detection] and uplinks before both; the file order wins.
  expect_error(R"([detection]
flap_moves = 4
notify_window_after = "2 s"

[cam]
max_entries = 0

[[uplink]]
name = "a b"
interface = "eth0"
)",
               ":3: detection.notify_window_after: expected a duration like \"500ms\", \"2s\", "
               "\"5m\" or a number of seconds, got \"2 s\"");
  expect_error(R"([log]
level = "loud"
[[uplink]]
name = "a"
interface = "eth0"
[[uplink]]
name = "b"
interfce = "eth1"
[cam]
bogus = 1
)",
               ":2: log.level: must be one of trace, debug, info, warn, error, critical, off, got "
               "\"loud\"");
}

TEST_F(ConfigFile, NamesTheUplinkOfAnUnknownKey) {
  expect_error(R"([[uplink]]
name = "a"
interface = "eth0"

[[uplink]]
nmae = "b"
interface = "eth1"
)",
               ":6: uplink[1].nmae: unknown key (did you mean name?)");
}

// ---- uplinks -----------------------------------------------------------------------------

TEST_F(ConfigFile, NamesTheLineOfTheSecondUseOfAnUplinkName) {
  expect_error(R"([[uplink]]
name = "vmnic2"
interface = "ens1f0"

[[uplink]]
name = "vmnic3"
interface = "ens1f1"

[[uplink]]
interface = "ens1f2"
name = "vmnic2"
)",
               ":11: uplink[2].name: duplicate uplink name \"vmnic2\" (first used by uplink[0] "
               "on line 2)");
}

TEST_F(ConfigFile, ExplainsThatUplinkMustBeAnArrayOfTables) {
  expect_error("[events]\npath = \"-\"\n[uplink]\nname = \"a\"\ninterface = \"eth0\"\n",
               ":3: uplink: must be an array of tables: write [[uplink]], not [uplink]");
  expect_error("uplink = \"eth0\"\n",
               ":1: uplink: expected an array of tables ([[uplink]]), got a string");
  expect_error("uplink = [\"eth0\"]\n", ":1: uplink[0]: expected a table, got a string");
}

TEST_F(ConfigFile, NamesTheUplinkHeaderWhenARequiredKeyIsMissing) {
  expect_error("[[uplink]]\nname = \"a\"\ninterface = \"eth0\"\n\n[[uplink]]\nname = \"b\"\n",
               ":5: uplink[1].interface: required key is missing (or erspan_session or gre_key, for an "
               "uplink fed by a [[collector]])");
  expect_error("\n[[uplink]]\ninterface = \"eth0\"\n", ":2: uplink[0].name: required key is missing");
}

TEST_F(ConfigFile, RefusesBadUplinkNames) {
  const std::string tail = "\ninterface = \"eth0\"\n";
  expect_error("[[uplink]]\nname = \"\"" + tail, ":2: uplink[0].name: must not be empty");
  expect_error("[[uplink]]\nname = \"" + std::string(33, 'a') + "\"" + tail,
               ":2: uplink[0].name: must be at most 32 characters, got 33");
  expect_error("[[uplink]]\nname = \"a b\"" + tail,
               ":2: uplink[0].name: may contain only letters, digits, '_', '.' and '-', got "
               "\"a b\"");
  expect_error("[[uplink]]\nname = \"a=b\\n\"" + tail,
               ":2: uplink[0].name: may contain only letters, digits, '_', '.' and '-', got "
               "\"a=b\\n\"");
  EXPECT_EQ(load("[[uplink]]\nname = \"" + std::string(32, 'Z') + "\"" + tail).uplinks[0].name,
            std::string(32, 'Z'));
}

TEST_F(ConfigFile, RefusesNamesThatAreNoLinuxInterface) {
  const std::string head = "[[uplink]]\nname = \"a\"\ninterface = ";
  expect_error(head + "\"\"\n", ":3: uplink[0].interface: must not be empty");
  expect_error(head + "\"enp0s31f6abcdefg\"\n",
               ":3: uplink[0].interface: must be at most 15 characters (a Linux interface name), "
               "got \"enp0s31f6abcdefg\"");
  expect_error(head + "\"..\"\n", ":3: uplink[0].interface: is not an interface name, got \"..\"");
  expect_error(head + "\".\"\n", ":3: uplink[0].interface: is not an interface name, got \".\"");
  for (const char* bad : {"eth/0", "eth 0", "eth\\t0"}) {
    const std::string message = error_of(head + "\"" + bad + "\"\n");
    EXPECT_NE(message.find(":3: uplink[0].interface: must not contain '/' or whitespace"),
              std::string::npos)
        << message;
  }
  EXPECT_EQ(load(head + "\"enp0s31f6abcdef\"\n").uplinks[0].interface, "enp0s31f6abcdef");
}

// ---- collectors, mirror sessions and capture threads --------------------------------------

TEST_F(ConfigFile, ReadsUplinksFedByCollectorsThroughTheirMirrorSessions) {
  const Config config = load(R"([[uplink]]
name = "direct"
interface = "eth0"
threads = 4

[[uplink]]
name = "s10"
erspan_session = 10

[[uplink]]
name = "s10-port3"
erspan_session = 10
erspan_index = 3

[[uplink]]
name = "keyed"
gre_key = 4294967295

[[uplink]]
name = "unkeyed"
gre_key = "none"

[[collector]]
interface = "ens5"

[[collector]]
name = "second"
interface = "ens6"
promiscuous = true
threads = 2

[capture]
threads_per_interface = 3
)");
  ASSERT_EQ(config.uplinks.size(), 5U);
  EXPECT_FALSE(config.uplinks[0].fed_by_collector());
  EXPECT_EQ(config.uplinks[0].threads, 4);
  EXPECT_EQ(config.uplinks[1].mirror, capture::MirrorSessionKey::erspan(10));
  EXPECT_EQ(config.uplinks[1].interface, "");
  EXPECT_EQ(config.uplinks[2].mirror, capture::MirrorSessionKey::erspan(10, 3));
  EXPECT_EQ(config.uplinks[3].mirror, capture::MirrorSessionKey::gre(0xFFFF'FFFFU));
  EXPECT_EQ(config.uplinks[4].mirror, capture::MirrorSessionKey::unkeyed());
  ASSERT_EQ(config.collectors.size(), 2U);
  EXPECT_EQ(config.collectors[0], (CollectorConfig{"ens5", "ens5", false, 0})) << "named after its interface";
  EXPECT_EQ(config.collectors[1], (CollectorConfig{"second", "ens6", true, 2}));
  EXPECT_EQ(config.capture.threads_per_interface, 3);
  EXPECT_EQ(capture_threads(config.collectors[0].threads, config.capture), 3);
  EXPECT_EQ(capture_threads(config.collectors[1].threads, config.capture), 2);
  EXPECT_NO_THROW(check_runnable(config, "x"));
}

TEST_F(ConfigFile, NamesBothLinesWhenAnUplinkHasAnInterfaceAndAMirrorSession) {
  expect_error("[[uplink]]\nname = \"a\"\ninterface = \"eth0\"\nerspan_session = 4\n",
               ":4: uplink[0].erspan_session: an uplink is captured on its own interface or fed by a "
               "[[collector]]'s mirror session, not both (interface on line 3, erspan_session on line 4)");
  expect_error("[[uplink]]\nname = \"a\"\ngre_key = 9\ninterface = \"eth0\"\n",
               ":4: uplink[0].interface: an uplink is captured on its own interface or fed by a "
               "[[collector]]'s mirror session, not both (interface on line 4, gre_key on line 3)");
}

TEST_F(ConfigFile, NamesTheFirstUplinkOfASessionMappedTwice) {
  expect_error(R"([[uplink]]
name = "a"
erspan_session = 10

[[uplink]]
name = "b"
erspan_session = 10
)",
               ":7: uplink[1].erspan_session: ERSPAN session 10 is already mapped to uplink \"a\" (uplink[0] on "
               "line 3): a session feeds one uplink");
  expect_error("[[uplink]]\nname = \"a\"\ngre_key = 7\n[[uplink]]\nname = \"b\"\ngre_key = 7\n",
               ":6: uplink[1].gre_key: GRE key 7 (0x00000007) is already mapped to uplink \"a\" (uplink[0] on "
               "line 3): a session feeds one uplink");
  expect_error("[[uplink]]\nname = \"a\"\ngre_key = \"none\"\n[[uplink]]\nname = \"b\"\ngre_key = \"none\"\n",
               ":6: uplink[1].gre_key: unkeyed GRE is already mapped to uplink \"a\" (uplink[0] on line 3): a "
               "session feeds one uplink");
  // A session and one index of it are two mappings, not a duplicate.
  EXPECT_EQ(load("[[uplink]]\nname = \"a\"\nerspan_session = 10\n[[uplink]]\nname = \"b\"\nerspan_session = 10\n"
                 "erspan_index = 0\n")
                .uplinks.size(),
            2U);
}

TEST_F(ConfigFile, RefusesMirrorSessionsOutOfRange) {
  const std::string head = "[[uplink]]\nname = \"a\"\n";
  expect_error(head + "erspan_session = 1024\n", ":3: uplink[0].erspan_session: must be between 0 and 1023, got 1024");
  expect_error(head + "erspan_session = -1\n", ":3: uplink[0].erspan_session: must be between 0 and 1023, got -1");
  expect_error(head + "erspan_session = 1\nerspan_index = 4294967296\n",
               ":4: uplink[0].erspan_index: must be between 0 and 4294967295, got 4294967296");
  expect_error(head + "gre_key = 4294967296\n", ":3: uplink[0].gre_key: must be between 0 and 4294967295, got 4294967296");
  expect_error(head + "gre_key = \"any\"\n",
               ":3: uplink[0].gre_key: expected a key from 0 to 4294967295, or \"none\" for the GRE stream "
               "without a key, got \"any\"");
  expect_error(head + "gre_key = 1.5\n",
               ":3: uplink[0].gre_key: expected an integer from 0 to 4294967295 or \"none\", got a float");
  expect_error(head + "erspan_session = \"7\"\n", ":3: uplink[0].erspan_session: expected an integer, got a string");
}

TEST_F(ConfigFile, RefusesMirrorKeysThatDoNotGoTogether) {
  const std::string head = "[[uplink]]\nname = \"a\"\n";
  expect_error(head + "interface = \"eth0\"\nerspan_index = 2\n",
               ":4: uplink[0].erspan_index: needs erspan_session: the index (type II) or port ID (type III) "
               "narrows an ERSPAN session");
  expect_error(head + "erspan_session = 1\ngre_key = 2\n",
               ":4: uplink[0].gre_key: erspan_session (ERSPAN types II and III) and gre_key (type I and GRE "
               "transparent Ethernet bridging) name two different sessions; an uplink is fed by one");
  expect_error(head + "erspan_session = 1\ndirection = \"out\"\n",
               ":4: uplink[0].direction: applies to an uplink captured on its own interface; this one is fed "
               "by a [[collector]] (erspan_session on line 3)");
  expect_error(head + "gre_key = 1\nthreads = 2\n",
               ":4: uplink[0].threads: applies to an uplink captured on its own interface; this one is fed "
               "by a [[collector]] (gre_key on line 3)");
}

TEST_F(ConfigFile, NamesTheCollectorOfABadKey) {
  expect_error("[[collector]]\nname = \"c\"\n", ":1: collector[0].interface: required key is missing");
  expect_error("[[collector]]\ninterface = \"ens5\"\nthreads = 0\n",
               ":3: collector[0].threads: must be between 1 and 64, got 0");
  expect_error("[[collector]]\ninterface = \"ens5\"\npromiscuous = 1\n",
               ":3: collector[0].promiscuous: expected a boolean, got an integer");
  expect_error("[[collector]]\ninterface = \"ens5\"\nerspan_session = 1\n",
               ":3: collector[0].erspan_session: unknown key (erspan_session belongs in [[uplink]])");
  expect_error("[collector]\ninterface = \"ens5\"\n",
               ":1: collector: must be an array of tables: write [[collector]], not [collector]");
  expect_error("[[collector]]\ninterface = \"ens5\"\nname = \"a b\"\n",
               ":3: collector[0].name: may contain only letters, digits, '_', '.' and '-', got \"a b\"");
}

TEST_F(ConfigFile, RefusesTwoCollectorsOnOneInterfaceAndACollectorOnAnUplinksInterface) {
  expect_error("[[collector]]\ninterface = \"ens5\"\n[[collector]]\ninterface = \"ens5\"\n",
               ":4: collector[1].interface: interface \"ens5\" is already the collector[0] on line 2 (more "
               "threads on one interface: threads)");
  expect_error("[[uplink]]\nname = \"u\"\ninterface = \"ens5\"\n[[collector]]\ninterface = \"ens5\"\n",
               ":5: collector[0].interface: interface \"ens5\" is captured by uplink \"u\" already: a "
               "collector's interface carries mirrors, an uplink's its own frames");
  expect_error("[[collector]]\nname = \"c\"\ninterface = \"ens5\"\n[[collector]]\nname = \"c\"\ninterface = \"ens6\"\n",
               ":5: collector[1].name: duplicate collector name \"c\" (first used by collector[0] on line 2)");
}

TEST_F(ConfigFile, RefusesCaptureThreadsOutOfRange) {
  expect_error("[capture]\nthreads_per_interface = 0\n",
               ":2: capture.threads_per_interface: must be between 1 and 64, got 0");
  expect_error("[capture]\nthreads_per_interface = 65\n",
               ":2: capture.threads_per_interface: must be between 1 and 64, got 65");
  expect_error("[[uplink]]\nname = \"a\"\ninterface = \"eth0\"\nthreads = 65\n",
               ":4: uplink[0].threads: must be between 1 and 64, got 65");
}

TEST_F(ConfigFile, RunNeedsACollectorForAnUplinkFedByOne) {
  const Config fed = load("[[uplink]]\nname = \"a\"\nerspan_session = 3\n");
  try {
    check_runnable(fed, "f.toml");
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "f.toml: uplink: uplink \"a\" is fed by ERSPAN session 3 but no [[collector]] receives "
                           "the mirrors");
  }
  EXPECT_THROW(check_runnable(load(""), "f.toml"), ConfigError);
  EXPECT_NO_THROW(check_runnable(load("[[uplink]]\nname = \"a\"\ninterface = \"eth0\"\n"), "f.toml"));
}

// ---- robustness --------------------------------------------------------------------------

// Random damage to a valid file: every outcome is a Config or a one-line ConfigError naming
// the file, never another exception, a crash or a multi-line message. Fixed seed.
TEST_F(ConfigFile, ReportsAnyDamageAsOneLineNamingTheFile) {
  const std::string valid = uncomment_examples(read_text(kShippedConfig));
  const std::string alphabet = "\n\"'[]=#.,{}0123456789abcdefghijklmnopqrstuvwxyz-_ \\\t:+\x01";
  std::mt19937 rng(20240611);
  const std::string path = dir_ + "/camwatch.toml";
  int errors = 0;
  for (int round = 0; round < 240; ++round) {
    std::string text = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % text.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: text[at] = c; break;
        case 1: text.insert(at, 1, c); break;
        default: text.erase(at, 1); break;
      }
    }
    write(text);
    try {
      load_config(path);
    } catch (const ConfigError& e) {
      ++errors;
      const std::string message = e.what();
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_EQ(message.rfind(path + ":", 0), 0U) << message;
    }
  }
  EXPECT_GT(errors, 30);  // the damage did reach the checks
}

}  // namespace
}  // namespace camwatch::daemon
