// FuzzInputFile: hands a fuzz input to code that only reads paths.
//
// The loaders under test (CaptureFile::open, load_state, load_config) take a file name, so each
// input is written to one anonymous in-memory file (memfd_create), created once per process and
// truncated and rewritten per input, and exposed as /proc/self/fd/N. No disk I/O, nothing left
// behind, and parallel fuzzing jobs (-jobs/-workers) never share a file.
//
// Not for: FIFOs or pipes (CaptureFile's libpcap path for those is not reached this way).
// Thread-safety: none; libFuzzer calls the target from one thread.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace camwatch::fuzz {

class FuzzInputFile {
 public:
  explicit FuzzInputFile(const char* name) : fd_(memfd_create(name, MFD_CLOEXEC)) {
    if (fd_ < 0) {
      std::perror("camwatch fuzz: memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~FuzzInputFile() { ::close(fd_); }
  FuzzInputFile(const FuzzInputFile&) = delete;
  FuzzInputFile& operator=(const FuzzInputFile&) = delete;

  // Replaces the file's contents with `data` and returns its path. Aborts on an I/O failure:
  // that is the harness breaking, not the code under test.
  const std::string& write(const std::uint8_t* data, std::size_t size) {
    if (::ftruncate(fd_, 0) != 0) fail("ftruncate");
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) fail("pwrite");
      done += static_cast<std::size_t>(n);
    }
    return path_;
  }

 private:
  [[noreturn]] static void fail(const char* what) {
    std::perror(what);
    std::abort();
  }

  int fd_;
  std::string path_;
};

}  // namespace camwatch::fuzz
