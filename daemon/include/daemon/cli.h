// The camwatch command line (SPEC "Command line"): parses arguments, runs a command, and turns
// every control-plane failure into one `camwatch: error: ...` line and an exit code.
//
// Exit codes: 0 success, 1 runtime failure (unreadable or corrupt input: events found before
// the damage are still written), 2 usage error, 4 missing privilege, 6 invalid configuration.
#pragma once

namespace camwatch::daemon {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,
  kExitUsage = 2,
  kExitPrivilege = 4,
  kExitConfig = 6,
};

// The whole program: main() only calls this.
int run_cli(int argc, char** argv);

}  // namespace camwatch::daemon
