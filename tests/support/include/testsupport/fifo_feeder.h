// FifoFeeder: creates a named FIFO at `path` and writes `bytes` into it from a thread, so a test
// can read a capture through a pipe (the libpcap path of CaptureFile). The destructor releases
// a writer still waiting for a reader (a test that failed before opening the FIFO), joins it and
// removes the FIFO. Test code only: aborts if the FIFO cannot be made.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace camwatch::testsupport {

class FifoFeeder {
 public:
  FifoFeeder(const std::string& path, std::vector<std::uint8_t> bytes) : path_(path) {
    std::signal(SIGPIPE, SIG_IGN);  // a reader that stops early makes write() fail with EPIPE instead
    if (::mkfifo(path.c_str(), 0600) != 0) std::abort();
    writer_ = std::thread([path, bytes = std::move(bytes)] {
      const int fd = ::open(path.c_str(), O_WRONLY);  // waits for the reader
      if (fd < 0) return;
      std::size_t done = 0;
      while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
      }
      ::close(fd);
    });
  }
  ~FifoFeeder() {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    writer_.join();
    ::unlink(path_.c_str());
  }
  FifoFeeder(const FifoFeeder&) = delete;
  FifoFeeder& operator=(const FifoFeeder&) = delete;

 private:
  std::string path_;
  std::thread writer_;
};

}  // namespace camwatch::testsupport
