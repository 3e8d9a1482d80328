// Dropping root: switch to an unprivileged user keeping only CAP_NET_RAW (libcap-ng).
// Capabilities are per thread: call before any other thread exists. Private to daemon/.
#pragma once

#include <stdexcept>
#include <string>

namespace camwatch::daemon {

class PrivilegeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Switches to `user` (and its primary group, no supplementary groups) keeping CAP_NET_RAW in
// the permitted and effective sets and nothing else; clears the bounding set. Throws on failure.
void drop_privileges(const std::string& user);

// Hands what the daemon created as root before dropping to `user` over to that user, so it can
// still write them afterwards: `fd` (the events file) and `directory` (the control socket's
// parent, created 0750 when missing). Either may be -1 / empty. Throws PrivilegeError naming
// what failed.
void hand_over_to_user(const std::string& user, int fd, const std::string& directory);

// True when the process can open raw packet sockets (root or CAP_NET_RAW effective).
bool has_net_raw();

}  // namespace camwatch::daemon
