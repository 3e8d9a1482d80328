// JsonEventWriter: writes tracker events as JSON Lines (SPEC "Events"), one object per line.
//
// Keys every event has: event, time (RFC 3339 UTC, microseconds), mac, vlan. Moves add from, to
// (uplink names) and last_seen_on_from; announced moves add notification and notification_time;
// flap adds moves and window_seconds; table_full adds entries; the other events their own keys,
// and events about a station its `vendor` when known. docs/EVENTS.md lists them all. Keys are
// only ever added.
//
// Each event is written with one write(2) of one whole line, so a reader tailing the file never
// sees half an event and a crash loses at most the event being written. A failed write (disk
// full, a reader that stopped reading a non-blocking pipe) is counted, never thrown: the tracker
// must keep running. A write that stopped part-way (a full disk takes the first bytes of a line
// and refuses the rest) is taken back with ftruncate(2), so the file never holds half a line;
// where that is impossible (a pipe) the rest of the line goes out before anything else.
//
// Backlog: with `backlog_limit` > 0, events that could not be written are held in memory, oldest
// first, and written by retry() (call it periodically) or before the next event, so that once
// the disk has room again the file holds every event in order. Events beyond the limit are
// dropped and counted. With a limit of 0 (camwatch replay) a failed event is dropped at once.
//
// Thread-safety: none; called from the tracker's thread (it is an EventSink).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "cam/event.h"
#include "cam/tracker.h"
#include "cam/vendor_db.h"

namespace camwatch::exporters {

// Formats one event as a JSON object without the trailing newline. With `vendors`, events about
// a station (moves, flaps, NLB hosts, address bindings) add `vendor` when its MAC's prefix is
// registered (cam/vendor_db.h).
std::string format_event_json(const cam::Event& event, const std::vector<std::string>& uplink_names,
                              const cam::TrackerConfig& config, const cam::VendorDb* vendors = nullptr);

class JsonEventWriter final : public cam::EventSink {
 public:
  // Writes to `fd`, which the writer does not own (stdout, or a file the caller opened with
  // O_APPEND). `uplink_names[id]` names uplink id. At most `backlog_limit` events wait in memory
  // for a failing output.
  JsonEventWriter(int fd, std::vector<std::string> uplink_names, cam::TrackerConfig config,
                  std::size_t backlog_limit = 0);

  void on_event(const cam::Event& event) override;

  // Writes the held events, oldest first, until one fails. Returns true when none is left.
  bool retry();

  // The daemon reopens its events file on SIGHUP (logrotate) and may gain uplinks on reload.
  // Held events go to the new descriptor.
  void set_fd(int fd) noexcept {
    fd_ = fd;
    head_written_ = 0;
  }
  void set_uplink_names(std::vector<std::string> names) { uplink_names_ = std::move(names); }
  void set_config(const cam::TrackerConfig& config) { config_ = config; }
  // Vendor names for the `vendor` key; the db must outlive the writer (or be reset to null).
  void set_vendors(const cam::VendorDb* vendors) {
    vendors_ = vendors;
    vendor_loader_ = nullptr;
  }
  // The same, loaded when the first event comes (a replay that finds nothing never reads the
  // registry); `load` returns the db, which must then outlive the writer.
  void set_vendor_loader(std::function<const cam::VendorDb*()> load) {
    vendors_ = nullptr;
    vendor_loader_ = std::move(load);
  }

  // Lines written whole (late ones from the backlog included).
  std::uint64_t events_written() const noexcept { return written_; }
  // Events that could not be written when they happened (held, or dropped).
  std::uint64_t write_failures() const noexcept { return failures_; }
  // Events given up: the backlog was full (or is off).
  std::uint64_t events_dropped() const noexcept { return dropped_; }
  // Events waiting in memory for the output to take them.
  std::size_t backlog() const noexcept { return held_.size(); }
  // errno of the latest failed write; 0 before any.
  int last_errno() const noexcept { return last_errno_; }

 private:
  bool write_line(const std::string& line, std::size_t& from);
  bool take_back(std::size_t bytes);
  void hold(std::string line, std::size_t written);

  int fd_;
  std::vector<std::string> uplink_names_;
  cam::TrackerConfig config_;
  const cam::VendorDb* vendors_ = nullptr;
  std::function<const cam::VendorDb*()> vendor_loader_;
  std::size_t backlog_limit_;
  std::deque<std::string> held_;  // whole lines with their newline, oldest first
  std::size_t head_written_ = 0;  // bytes of held_.front() already out where they cannot be taken back
  std::uint64_t written_ = 0;
  std::uint64_t failures_ = 0;
  std::uint64_t dropped_ = 0;
  int last_errno_ = 0;
};

}  // namespace camwatch::exporters
