#include "privileges.h"

#include <cap-ng.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace camwatch::daemon {

namespace {
struct Ids {
  uid_t uid;
  gid_t gid;
};
Ids lookup(const std::string& user) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  const int rc = getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    throw PrivilegeError("[daemon] user '" + user + "' does not exist" + (rc != 0 ? std::string(": ") + std::strerror(rc) : ""));
  }
  return Ids{found->pw_uid, found->pw_gid};
}
}  // namespace

void hand_over_to_user(const std::string& user, int fd, const std::string& directory) {
  const Ids ids = lookup(user);
  if (fd >= 0 && ::fchown(fd, ids.uid, ids.gid) != 0) {
    throw PrivilegeError("cannot give the events file to user " + user + ": " + std::strerror(errno));
  }
  if (directory.empty()) return;
  struct stat st {};
  if (::lstat(directory.c_str(), &st) != 0) {
    if (::mkdir(directory.c_str(), 0750) != 0) {
      throw PrivilegeError(directory + ": cannot create it for the control socket: " + std::strerror(errno));
    }
    if (::chown(directory.c_str(), ids.uid, ids.gid) != 0) {
      throw PrivilegeError(directory + ": cannot give it to user " + user + ": " + std::strerror(errno));
    }
  }
}

void drop_privileges(const std::string& user) {
  const Ids ids = lookup(user);
  int rc = 0;
  capng_clear(CAPNG_SELECT_BOTH);
  if (capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED), CAP_NET_RAW) != 0) {
    throw PrivilegeError("cannot keep CAP_NET_RAW while dropping privileges");
  }
  // Sets keep-caps, changes gid/uid, drops supplementary groups, applies the sets above.
  rc = capng_change_id(static_cast<int>(ids.uid), static_cast<int>(ids.gid),
                       static_cast<capng_flags_t>(CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING));
  if (rc != 0) {
    throw PrivilegeError("cannot switch to user '" + user + "' (capng_change_id returned " + std::to_string(rc) + ")");
  }
}

bool has_net_raw() {
  if (geteuid() == 0) return true;
  capng_get_caps_process();
  return capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_RAW) != 0;
}

}  // namespace camwatch::daemon
