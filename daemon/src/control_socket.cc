#include "control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

namespace camwatch::daemon {
namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(2);
constexpr int kSendTimeoutSeconds = 10;
constexpr std::size_t kMaxRequest = 256;

std::string errno_text(int err) { return std::strerror(err); }

sockaddr_un address_of(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path) {
    throw ControlSocketError(path + ": a control socket path must be 1 to " + std::to_string(sizeof a.sun_path - 1) +
                             " bytes long");
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

// True when something accepts connections on `path` now.
bool someone_listens(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_un a = address_of(path);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

struct ControlServer::Pending {
  std::string request;
  std::string reply;  // "ok\n" + payload, or "error: ...\n"
  bool done = false;
};

ControlServer::ControlServer(std::string path) : path_(std::move(path)) {
  const sockaddr_un a = address_of(path_);
  const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty() && ::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    throw ControlSocketError(dir.string() + ": cannot create the control socket's directory: " + errno_text(errno));
  }
  struct stat st{};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw ControlSocketError(path_ + ": exists and is not a socket; not replacing it");
    if (someone_listens(path_)) throw ControlSocketError(path_ + ": another process is answering on it (a second camwatch?)");
    ::unlink(path_.c_str());  // left by a daemon that did not stop cleanly
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw ControlSocketError(path_ + ": socket: " + errno_text(errno));
  // The mode is set before the socket is reachable: bind under a umask that leaves 0660.
  const mode_t old_mask = ::umask(0117);
  const int bound = ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0 || ::listen(listen_fd_, 4) != 0) {
    const int err = bound != 0 ? bind_errno : errno;
    ::close(listen_fd_);
    throw ControlSocketError(path_ + ": cannot listen: " + errno_text(err));
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    throw ControlSocketError(std::string("eventfd: ") + errno_text(errno));
  }
  thread_ = std::thread([this] { run(); });
}

ControlServer::~ControlServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (pending_ && !pending_->done) {
      pending_->reply = "error: camwatch is stopping\n";
      pending_->done = true;
    }
  }
  answered_.notify_all();
  const std::uint64_t one = 1;
  (void)::write(stop_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(stop_fd_);
  ::close(listen_fd_);
  ::unlink(path_.c_str());
}

void ControlServer::serve_pending(const std::function<std::string(std::string_view)>& handler) {
  std::shared_ptr<Pending> p;
  {
    std::lock_guard lock(mutex_);
    if (!pending_ || pending_->done) return;
    p = pending_;
  }
  std::string reply;
  try {
    reply = "ok\n" + handler(p->request);
  } catch (const std::exception& e) {
    reply = std::string("error: ") + e.what() + "\n";
  }
  {
    std::lock_guard lock(mutex_);
    p->reply = std::move(reply);
    p->done = true;
  }
  answered_.notify_all();
}

void ControlServer::run() noexcept {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;  // EAGAIN after a client gave up, EMFILE: try again later
    talk(client);
    ::close(client);
  }
}

void ControlServer::talk(int client) noexcept {
  try {
    // The request line, within kRequestTimeout; poll also watches for the daemon stopping.
    std::string request;
    const auto deadline = std::chrono::steady_clock::now() + kRequestTimeout;
    while (request.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || request.size() > kMaxRequest) return;
      pollfd fds[2] = {{client, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (::poll(fds, 2, static_cast<int>(left.count())) <= 0 || fds[1].revents != 0) return;
      char buf[kMaxRequest];
      const ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) return;
      request.append(buf, static_cast<std::size_t>(n));
    }
    request.resize(request.find('\n'));

    auto p = std::make_shared<Pending>();
    p->request = request;
    {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
      pending_ = p;
      answered_.wait(lock, [&] { return p->done || stopping_; });
      pending_.reset();
      if (!p->done) return;
    }
    const timeval send_timeout{kSendTimeoutSeconds, 0};
    ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    if (!write_all(client, p->reply.data(), p->reply.size())) {
      spdlog::debug("control socket: a client went away before reading the whole reply");
    }
  } catch (const std::exception& e) {  // allocation failure: drop this client, keep serving
    spdlog::warn("control socket: {}", e.what());
  }
}

std::string control_request(const std::string& path, std::string_view request) {
  const sockaddr_un a = address_of(path);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ControlSocketError("socket: " + errno_text(errno));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    const int err = errno;
    ::close(fd);
    std::string hint;
    if (err == ENOENT || err == ECONNREFUSED) {
      hint = " (is `camwatch run` running with this [daemon] control_socket? --state FILE reads a saved table instead)";
    } else if (err == EACCES || err == EPERM) {
      hint = " (run as root or as a member of the daemon's group)";
    }
    throw ControlSocketError("cannot connect to " + path + ": " + errno_text(err) + hint);
  }
  // A daemon whose tracker loop is stuck would never answer: give up after a while.
  const timeval receive_timeout{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof receive_timeout);
  const std::string line = std::string(request) + "\n";
  if (!write_all(fd, line.data(), line.size())) {
    const int err = errno;
    ::close(fd);
    throw ControlSocketError("cannot send to " + path + ": " + errno_text(err));
  }
  std::string reply;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      if (err == EAGAIN || err == EWOULDBLOCK) throw ControlSocketError(path + ": camwatch did not answer within 30 s");
      throw ControlSocketError("reading from " + path + ": " + errno_text(err));
    }
    if (n == 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (reply.rfind("ok\n", 0) == 0) return reply.substr(3);
  if (reply.rfind("error: ", 0) == 0) {
    const auto end = reply.find('\n');
    throw ControlSocketError("camwatch answered: " + reply.substr(7, end == std::string::npos ? end : end - 7));
  }
  throw ControlSocketError(path + ": no answer from camwatch (it closed the connection)");
}

}  // namespace camwatch::daemon
