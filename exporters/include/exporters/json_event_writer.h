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
// full, closed pipe) is counted, never thrown: the tracker must keep running.
//
// Thread-safety: none; called from the tracker's thread (it is an EventSink).
#pragma once

#include <cstdint>
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
  // O_APPEND). `uplink_names[id]` names uplink id.
  JsonEventWriter(int fd, std::vector<std::string> uplink_names, cam::TrackerConfig config);

  void on_event(const cam::Event& event) override;

  // The daemon reopens its events file on SIGHUP (logrotate) and may gain uplinks on reload.
  void set_fd(int fd) noexcept { fd_ = fd; }
  void set_uplink_names(std::vector<std::string> names) { uplink_names_ = std::move(names); }
  void set_config(const cam::TrackerConfig& config) { config_ = config; }
  // Vendor names for the `vendor` key; the db must outlive the writer (or be reset to null).
  void set_vendors(const cam::VendorDb* vendors) { vendors_ = vendors; }

  std::uint64_t events_written() const noexcept { return written_; }
  std::uint64_t write_failures() const noexcept { return failures_; }
  int last_errno() const noexcept { return last_errno_; }

 private:
  int fd_;
  std::vector<std::string> uplink_names_;
  cam::TrackerConfig config_;
  const cam::VendorDb* vendors_ = nullptr;
  std::string line_;
  std::uint64_t written_ = 0;
  std::uint64_t failures_ = 0;
  int last_errno_ = 0;
};

}  // namespace camwatch::exporters
