#include "capture/link_monitor.h"

#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace camwatch::capture {
namespace {

// Each link notification occupies a few KiB of receive buffer (the skb's truesize, not the
// message's ~1.5 KiB), so 4 MiB holds a burst of about a thousand; bigger bursts resync.
constexpr int kReceiveBufferBytes = 4 << 20;
// Bounds one drain() so a notification flood cannot keep the owner's thread here forever.
constexpr int kMaxReceivesPerDrain = 4096;
// A dump interrupted by concurrent changes (NLE_DUMP_INTR) is simply asked for again.
constexpr int kDumpAttempts = 3;
// Replies to requests are queued by the kernel before recv() is called, so this never expires
// in practice; it only guarantees that a short-lived request socket cannot hang its caller.
constexpr timeval kRequestTimeout{1, 0};

struct NlSockDeleter {
  void operator()(nl_sock* sock) const noexcept { nl_socket_free(sock); }
};
struct NlCbDeleter {
  void operator()(nl_cb* cb) const noexcept { nl_cb_put(cb); }
};
struct NlCacheDeleter {
  void operator()(nl_cache* cache) const noexcept { nl_cache_free(cache); }
};
struct RtnlLinkDeleter {
  void operator()(rtnl_link* link) const noexcept { rtnl_link_put(link); }
};
using NlSock = std::unique_ptr<nl_sock, NlSockDeleter>;
using NlCb = std::unique_ptr<nl_cb, NlCbDeleter>;
using NlCache = std::unique_ptr<nl_cache, NlCacheDeleter>;
using RtnlLink = std::unique_ptr<rtnl_link, RtnlLinkDeleter>;

// A connected NETLINK_ROUTE socket, or null with `error` set to a negative libnl error.
NlSock open_route_socket(int& error) noexcept {
  NlSock sock(nl_socket_alloc());
  if (!sock) {
    error = -NLE_NOMEM;
    return nullptr;
  }
  error = nl_connect(sock.get(), NETLINK_ROUTE);
  if (error < 0) return nullptr;
  return sock;
}

// A socket for one request and its reply, which must not wait forever whatever happens.
NlSock open_request_socket(int& error) noexcept {
  NlSock sock = open_route_socket(error);
  if (sock) {
    // Best effort: without the timeout the reply still comes, the kernel queues it at once.
    (void)::setsockopt(nl_socket_get_fd(sock.get()), SOL_SOCKET, SO_RCVTIMEO, &kRequestTimeout,
                       sizeof kRequestTimeout);
  }
  return sock;
}

// IFF_RUNNING is the kernel's "operstate UP or UNKNOWN" (dev_get_flags), i.e. carrier and not
// dormant; IFF_UP alone would call an interface with its cable pulled up.
LinkState state_of(unsigned flags) noexcept {
  const unsigned wanted = IFF_UP | IFF_RUNNING;
  return (flags & wanted) == wanted ? LinkState::up : LinkState::down;
}

std::string describe(int nl_error) { return nl_geterror(nl_error); }

// What one link message or dump entry says about an interface.
struct LinkFact {
  int ifindex = 0;
  std::string name;
  LinkState state = LinkState::down;
};

}  // namespace

class LinkMonitor::Impl {
 public:
  Impl() {
    int error = 0;
    sock_ = open_route_socket(error);
    if (!sock_) throw LinkMonitorError("link monitor: cannot open a netlink route socket: " + describe(error));
    nl_socket_disable_seq_check(sock_.get());  // notifications carry sequence number 0
    error = nl_socket_modify_cb(sock_.get(), NL_CB_VALID, NL_CB_CUSTOM, &Impl::on_message, this);
    if (error < 0) throw LinkMonitorError("link monitor: cannot install the message handler: " + describe(error));
    cb_.reset(nl_socket_get_cb(sock_.get()));
    error = nl_socket_set_buffer_size(sock_.get(), kReceiveBufferBytes, 0);
    if (error < 0) throw LinkMonitorError("link monitor: cannot size the receive buffer: " + describe(error));
    // Beyond net.core.rmem_max only with CAP_NET_ADMIN; without it the capped size stays.
    (void)::setsockopt(nl_socket_get_fd(sock_.get()), SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBufferBytes,
                       sizeof kReceiveBufferBytes);
    error = nl_socket_set_nonblocking(sock_.get());
    if (error < 0) throw LinkMonitorError("link monitor: cannot make the socket non-blocking: " + describe(error));
    // Join before reading the current state: a change in between is then both in the dump and
    // queued, and replaying it is harmless, whereas the other order could lose it.
    error = nl_socket_add_membership(sock_.get(), RTNLGRP_LINK);
    if (error < 0) throw LinkMonitorError("link monitor: cannot subscribe to link notifications: " + describe(error));

    std::vector<LinkFact> links;
    error = dump_links(links);
    if (error < 0) throw LinkMonitorError("link monitor: cannot list the interfaces: " + describe(error));
    for (const LinkFact& link : links) apply_new(link);
    changes_.clear();  // the starting state is known, not a change
  }

  int fd() const noexcept { return nl_socket_get_fd(sock_.get()); }

  void drain(const std::function<void(const LinkChange&)>& fn) noexcept {
    try {
      changes_.clear();
      bool queue_empty = false;
      for (int i = 0; i < kMaxReceivesPerDrain; ++i) {
        const int result = nl_recvmsgs_report(sock_.get(), cb_.get());
        if (result >= 0) continue;
        if (result == -NLE_AGAIN) {
          queue_empty = true;
          break;
        }
        if (result == -NLE_NOMEM) {
          // ENOBUFS (libnl maps it to NLE_NOMEM, like a failed malloc; either way messages
          // were lost). What is still queued is older than the loss, so it is read first and
          // the state re-read afterwards; the other order would let stale messages win.
          ++stats_.overruns;
          resync_pending_ = true;
          continue;
        }
        ++stats_.errors;  // a broken socket: stop rather than spin on it
        break;
      }
      if (resync_pending_ && queue_empty) resync();
    } catch (...) {
      // Out of memory while recording changes: what was recorded is reported, the rest will be
      // found by the resync.
      ++stats_.errors;
      resync_pending_ = true;
    }
    for (const LinkChange& change : changes_) fn(change);
    changes_.clear();
  }

  LinkChange query(const std::string& interface) const {
    if (interface.empty() || interface.size() >= IFNAMSIZ || interface.find('\0') != std::string::npos) {
      return LinkChange{interface, 0, LinkState::removed};
    }
    int error = 0;
    NlSock sock = open_request_socket(error);
    if (!sock) throw LinkMonitorError("link monitor: cannot open a netlink route socket: " + describe(error));
    rtnl_link* raw = nullptr;
    error = rtnl_link_get_kernel(sock.get(), 0, interface.c_str(), &raw);
    RtnlLink link(raw);
    // The kernel answers ENODEV, which libnl reports as NLE_NODEV (older versions: OBJ_NOTFOUND).
    if (error == -NLE_NODEV || error == -NLE_OBJ_NOTFOUND) return LinkChange{interface, 0, LinkState::removed};
    if (error < 0 || !link) {
      throw LinkMonitorError("link monitor: cannot query interface " + interface + ": " +
                             describe(error < 0 ? error : -NLE_FAILURE));
    }
    const char* name = rtnl_link_get_name(link.get());
    return LinkChange{name != nullptr ? std::string(name) : interface, rtnl_link_get_ifindex(link.get()),
                      state_of(rtnl_link_get_flags(link.get()))};
  }

  LinkMonitorStats stats() const noexcept { return stats_; }

 private:
  struct Known {
    std::string name;
    LinkState state = LinkState::down;
  };

  // NL_CB_VALID handler, called from inside libnl (C): nothing may escape it.
  static int on_message(nl_msg* msg, void* arg) noexcept {
    auto* self = static_cast<Impl*>(arg);
    try {
      self->handle(msg);
    } catch (...) {
      ++self->stats_.errors;
      self->resync_pending_ = true;
    }
    return NL_OK;
  }

  void handle(nl_msg* msg) {
    // Any local process may unicast to our port; only the kernel speaks for the interfaces.
    const sockaddr_nl* source = nlmsg_get_src(msg);
    if (source == nullptr || source->nl_pid != 0) return;
    nlmsghdr* header = nlmsg_hdr(msg);
    if (header->nlmsg_type != RTM_NEWLINK && header->nlmsg_type != RTM_DELLINK) return;
    if (nlmsg_valid_hdr(header, sizeof(ifinfomsg)) == 0) {
      ++stats_.errors;
      return;
    }
    const auto* info = static_cast<const ifinfomsg*>(nlmsg_data(header));
    // The bridge sends RTM_NEWLINK/RTM_DELLINK with family AF_BRIDGE to the same group about a
    // port's bridge membership: a DELLINK there means "left the bridge", not "removed".
    if (info->ifi_family != AF_UNSPEC) return;
    if (info->ifi_index <= 0) {
      ++stats_.errors;
      return;
    }
    if (header->nlmsg_type == RTM_DELLINK) {
      apply_removed(info->ifi_index);
      return;
    }
    const nlattr* name_attribute = nlmsg_find_attr(header, sizeof(ifinfomsg), IFLA_IFNAME);
    char name[IFNAMSIZ] = {};
    // nla_strlcpy copes with a missing terminator or an empty attribute.
    if (name_attribute == nullptr || nla_strlcpy(name, name_attribute, sizeof name) == 0 || name[0] == '\0') {
      ++stats_.errors;
      return;
    }
    apply_new(LinkFact{info->ifi_index, name, state_of(info->ifi_flags)});
  }

  void report(const std::string& name, int ifindex, LinkState state) {
    changes_.push_back(LinkChange{name, ifindex, state});
  }

  void forget(std::unordered_map<int, Known>::iterator it) {
    report(it->second.name, it->first, LinkState::removed);
    by_name_.erase(it->second.name);
    by_index_.erase(it);
  }

  void apply_removed(int ifindex) {
    // Unknown: created and deleted inside a lost stretch, or never seen. Not a change.
    if (auto it = by_index_.find(ifindex); it != by_index_.end()) forget(it);
  }

  void apply_new(const LinkFact& link) {
    auto it = by_index_.find(link.ifindex);
    if (it != by_index_.end()) {
      if (it->second.name == link.name) {
        if (it->second.state != link.state) {
          it->second.state = link.state;
          report(link.name, link.ifindex, link.state);
        }
        return;
      }
      forget(it);  // renamed: the old name is gone
    }
    // Names are unique at any instant, so another ifindex holding this name has been deleted
    // or renamed (its message lost, or still to come in a rename swap).
    if (auto holder = by_name_.find(link.name); holder != by_name_.end()) {
      if (auto other = by_index_.find(holder->second); other != by_index_.end()) forget(other);
    }
    by_index_.emplace(link.ifindex, Known{link.name, link.state});
    by_name_.emplace(link.name, link.ifindex);
    report(link.name, link.ifindex, link.state);
  }

  // Reads every interface of the namespace on a short-lived socket (never the notification
  // socket, whose queue must stay intact). Returns 0 or a negative libnl error.
  static int dump_links(std::vector<LinkFact>& links) {
    int error = 0;
    NlSock sock = open_request_socket(error);
    if (!sock) return error;
    NlCache cache;
    for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
      nl_cache* raw = nullptr;
      error = rtnl_link_alloc_cache(sock.get(), AF_UNSPEC, &raw);
      cache.reset(raw);
      if (error != -NLE_DUMP_INTR) break;
    }
    if (error < 0) return error;
    if (!cache) return -NLE_FAILURE;
    links.clear();
    for (nl_object* object = nl_cache_get_first(cache.get()); object != nullptr; object = nl_cache_get_next(object)) {
      // The link cache holds only rtnl_link objects (nl_object is their common first member).
      auto* link = reinterpret_cast<rtnl_link*>(object);
      const char* name = rtnl_link_get_name(link);
      const int ifindex = rtnl_link_get_ifindex(link);
      if (name == nullptr || *name == '\0' || ifindex <= 0) continue;
      links.push_back(LinkFact{ifindex, name, state_of(rtnl_link_get_flags(link))});
    }
    return 0;
  }

  // After lost notifications: report every difference between what we know and what is.
  void resync() {
    std::vector<LinkFact> links;
    if (dump_links(links) < 0) {
      ++stats_.errors;
      return;  // still pending: the next drain() tries again
    }
    std::unordered_set<int> present;
    for (const LinkFact& link : links) present.insert(link.ifindex);
    std::vector<int> gone;
    for (const auto& [ifindex, known] : by_index_) {
      if (!present.contains(ifindex)) gone.push_back(ifindex);
    }
    for (int ifindex : gone) apply_removed(ifindex);
    for (const LinkFact& link : links) apply_new(link);
    resync_pending_ = false;
    ++stats_.resyncs;
  }

  NlSock sock_;
  NlCb cb_;  // our reference to the socket's callback set, passed to nl_recvmsgs_report
  std::unordered_map<int, Known> by_index_;
  std::unordered_map<std::string, int> by_name_;
  std::vector<LinkChange> changes_;  // found by this drain(), reported once reading is done
  bool resync_pending_ = false;
  LinkMonitorStats stats_;
};

LinkMonitor::LinkMonitor() : impl_(std::make_unique<Impl>()) {}
LinkMonitor::~LinkMonitor() = default;

int LinkMonitor::fd() const noexcept { return impl_->fd(); }

void LinkMonitor::drain(const std::function<void(const LinkChange&)>& fn) noexcept { impl_->drain(fn); }

LinkChange LinkMonitor::query(const std::string& interface) const { return impl_->query(interface); }

LinkMonitorStats LinkMonitor::stats() const noexcept { return impl_->stats(); }

}  // namespace camwatch::capture
