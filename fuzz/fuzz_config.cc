// fuzz_config: load_config() (toml11 parser and camwatch's validation) on arbitrary text.
//
// Inputs above 64 KiB are skipped: a config file is a few KiB, and toml11's parse time grows
// with size, which would only slow the search down.
#include <cstddef>
#include <cstdint>

#include "daemon/config.h"
#include "fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace camwatch;
  if (size > 64 * 1024) return 0;
  static fuzz::FuzzInputFile file("camwatch-fuzz-config");
  const std::string& path = file.write(data, size);
  try {
    const daemon::Config config = daemon::load_config(path);
    (void)config;
  } catch (const daemon::ConfigError&) {
  }
  return 0;
}
