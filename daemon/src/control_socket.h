// Control socket: a local Unix stream socket through which `camwatch table` asks the running
// daemon for its learned table.
//
// Protocol, one request per connection: the client sends one line ("table\n"); the daemon
// answers "ok\n" followed by the payload until it closes the connection, or "error: REASON\n".
// The `table` payload is the table in the state file format (docs/STATE_FILE.md), so the client
// reads a live table and a saved file with the same parser.
//
// Threads: a server thread accepts and talks to clients, one at a time (a table of 1M stations
// is 40 MB; one at a time bounds the memory, and an operator's command does not need more). It
// never touches the tracker: it queues the request and waits; the tracker loop calls
// serve_pending() every iteration, which answers queued requests on the loop's own thread (the
// only one allowed to read the tracker) and returns at once when none is queued. A client that
// does not send its request within 2 s, or stops reading for 10 s, is dropped.
//
// The socket file is created with mode 0660 (the daemon's user and group). A stale socket left by
// a crashed daemon is replaced; a socket another live process answers on is not (an error).
//
// Thread-safety: construct, serve_pending() and destroy on one thread (the tracker loop).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace camwatch::daemon {

class ControlSocketError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ControlServer {
 public:
  // Binds and listens on `path` (its directory is created, mode 0755, if missing). Throws
  // ControlSocketError naming the path on failure.
  explicit ControlServer(std::string path);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Answers every queued request: `handler(request)` returns the payload, or throws
  // std::exception whose what() becomes the error reply. Returns at once when nothing is queued.
  void serve_pending(const std::function<std::string(std::string_view request)>& handler);

  const std::string& path() const { return path_; }

 private:
  struct Pending;
  void run() noexcept;
  void talk(int client) noexcept;

  std::string path_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: wakes the server thread to exit
  std::mutex mutex_;
  std::condition_variable answered_;
  std::shared_ptr<Pending> pending_;  // the request waiting for the tracker loop, if any
  bool stopping_ = false;
  std::thread thread_;
};

// Client side: sends `request` to the daemon at `path` and returns the payload after "ok\n".
// Throws ControlSocketError with a message for a person (no daemon, permission, error reply).
std::string control_request(const std::string& path, std::string_view request);

}  // namespace camwatch::daemon
