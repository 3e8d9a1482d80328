// Logging set-up for the daemon: spdlog to stderr. Under systemd (JOURNAL_STREAM set) lines
// carry a "<N>" syslog priority prefix and no timestamp or level text of their own — journald
// adds both; elsewhere a timestamped human format. Private to daemon/.
#pragma once

#include <string>

namespace camwatch::daemon {

// True when stderr is the journal (systemd sets JOURNAL_STREAM to its "device:inode"), so a
// line may start with a "<N>" priority prefix.
bool stderr_is_journal();

// Installs the default logger. `level` is a config log level ("info", "debug", ...).
void setup_logging(const std::string& level);
void set_log_level(const std::string& level);

}  // namespace camwatch::daemon
