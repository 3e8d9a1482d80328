#include "daemon/vendor_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <optional>

namespace camwatch::daemon {

namespace {

constexpr const char* kRegistryFiles[] = {"oui.csv", "mam.csv", "oui36.csv", "iab.csv"};
// The largest of them (oui.csv) is about 3 MB; anything far larger is not a registry file.
constexpr std::size_t kMaxFileBytes = std::size_t{64} << 20;

// The whole file, or nothing when it is missing, unreadable, not a regular file or too large.
std::optional<std::string> read_registry_file(const std::string& path) {
  // O_NONBLOCK: a FIFO left under that name must not block the open (it is refused below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (static_cast<std::size_t>(st.st_size) > kMaxFileBytes) return std::nullopt;
  std::string text;
  text.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxFileBytes) return std::nullopt;  // grew while being read
  }
  return text;
}

}  // namespace

cam::VendorDb load_vendor_db(const std::string& directory) {
  cam::VendorDb db;
  if (directory.empty()) return db;  // not "/": an empty setting means no vendor names
  for (const char* file : kRegistryFiles) {
    if (auto text = read_registry_file(directory + "/" + file)) db.add_csv(*text);
  }
  return db;
}

}  // namespace camwatch::daemon
