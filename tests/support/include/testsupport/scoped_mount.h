// ScopedMount: a mount made by a test (a small tmpfs to fill up, a read-only bind), undone when
// the test ends, also when an assertion fails. Needs root (CAP_SYS_ADMIN); callers skip
// otherwise. The mount is in the test's mount namespace: under ctest as root, the host's, for
// the few milliseconds the test runs.
//
// Thread-safety: none needed; one per test.
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace camwatch::testsupport {

class ScopedMount {
 public:
  // A tmpfs of the given options on `target`; on failure, `why` says what went wrong.
  static std::unique_ptr<ScopedMount> tmpfs(const std::string& target, const char* options, std::string& why) {
    if (::mount("tmpfs", target.c_str(), "tmpfs", 0, options) != 0) {
      why = std::string("mount -t tmpfs: ") + std::strerror(errno);
      return nullptr;
    }
    return std::unique_ptr<ScopedMount>(new ScopedMount(target));
  }
  // `target` bound onto itself read-only: writes there fail with EROFS, even for root.
  static std::unique_ptr<ScopedMount> read_only_bind(const std::string& target, std::string& why) {
    if (::mount(target.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      why = std::string("mount --bind: ") + std::strerror(errno);
      return nullptr;
    }
    auto guard = std::unique_ptr<ScopedMount>(new ScopedMount(target));
    if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
      why = std::string("mount -o remount,bind,ro: ") + std::strerror(errno);
      return nullptr;
    }
    return guard;
  }
  ~ScopedMount() {
    if (::umount2(target_.c_str(), 0) != 0) ::umount2(target_.c_str(), MNT_DETACH);
  }
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;

 private:
  explicit ScopedMount(std::string target) : target_(std::move(target)) {}
  std::string target_;
};

}  // namespace camwatch::testsupport
