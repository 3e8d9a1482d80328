// State file: the learned table saved across restarts.
//
// save_state() writes every station (VLAN, MAC, uplink by *name*, first/last seen, moves, last
// move, last notification and its kind, NLB host) and, from an Analyzer, every address binding and
// the latest failover stories, to `path` atomically: a temporary file in the same directory, fsync, rename, fsync of
// the directory, mode 0600. A crash at any point leaves either the old or the new file, never a
// mix. Uplinks are stored by name so that a restart with uplinks added, removed or reordered
// maps stations correctly; stations of uplinks no longer configured are dropped on load.
//
// load_state() reads it back, checking magic, version, sizes and a checksum; any damage throws
// StateFileError with a one-line reason (the daemon then moves the file aside and starts empty
// — never fatal). A missing file is not an error: it returns an empty state.
//
// Format (little-endian): "CAMWSTAT" magic, u32 version, i64 saved_at_ns, u32 uplink count and
// names (u16 length + bytes), u64 station count, fixed 40-byte records, then (version 3) u64
// binding count and 64-byte binding records, u32 story count and the stories (an 88-byte header
// and 40 bytes per silent member), and a u32 CRC-32 of all preceding bytes. Documented in
// docs/STATE_FILE.md. Version 3 is written; versions 1 and 2 (without bindings and stories) are
// still read, so an upgrade keeps the table. The next save writes version 3.
//
// Limits: at most 100,000,000 stations (config's cam.max_entries cap) and 65,535 uplinks; uplink
// names are 1..32 bytes of printable UTF-8. load_state() checks the station count against the
// file size before reserving anything, so a hostile file costs at most memory in proportion to
// its size. A 1M-station file is 40 MB.
//
// Not for: a live view of the table, or carrying pending move decisions and flap damping across
// restarts (they are not saved; last-move times are, for display only).
//
// Thread-safety: plain functions; the caller serialises access to one path. save_state() walks
// the tracker, which has no thread-safety of its own: call it on the thread that owns the tracker
// (or while nothing feeds it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cam/analyzer.h"
#include "cam/tracker.h"

namespace camwatch::daemon {

class StateFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One station as saved; the fields mean what they mean in cam::StationView. first_seen,
// last_move and last_notification are whole seconds in a version 2 file (first_seen keeps the
// nanoseconds a version 1 file holds; the tracker rounds it down on restore).
struct SavedStation {
  cam::StationKey key;
  std::string uplink;
  cam::PacketTime first_seen{};
  cam::PacketTime last_seen{};
  std::uint32_t moves = 0;
  cam::PacketTime last_move{};          // epoch: never moved (always, from a version 1 file)
  cam::PacketTime last_notification{};  // epoch: none
  cam::Notification notification = cam::Notification::none;
  bool nlb_host = false;
};

// One IP <-> MAC binding as saved (cam::BindingView with its uplink by name; "" when it had none).
struct SavedBinding {
  cam::BindingView view;  // view.uplink is not used: see `uplink`
  std::string uplink;
};

struct SavedState {
  cam::PacketTime saved_at{};  // the tracker's packet clock when saved
  std::vector<std::string> uplink_names;  // the file's uplinks, in the order it names them
  std::vector<SavedStation> stations;
  std::vector<SavedBinding> bindings;
  // The latest failover stories, oldest first. Their uplink ids (from, to, members' to) index
  // `uplink_names`; kNoUplink when the story named an uplink the file had no name for.
  std::vector<std::shared_ptr<const cam::FailoverStory>> stories;
};

// At most this many silent members of a story are saved (its counts cover all of them).
inline constexpr std::size_t kSavedStoryMembers = 256;

// Writes all stations of `tracker`; uplink_names[id] names uplink id. Throws StateFileError
// (disk full, permission, an invalid or duplicate uplink name, a station on an uplink id without
// a name) leaving any previous file untouched and no temporary file behind.
void save_state(const std::string& path, const cam::Tracker& tracker, const std::vector<std::string>& uplink_names);
// The same with the analyzer's bindings and latest failover stories as well.
void save_state(const std::string& path, const cam::Analyzer& analyzer, const std::vector<std::string>& uplink_names);

// Reads `path`; a missing file gives an empty state. Throws StateFileError on damage.
SavedState load_state(const std::string& path);

// The bytes save_state() would write, in memory: the control socket's answer to `camwatch table`.
// Throws StateFileError as save_state() does.
std::string serialize_state(const cam::Tracker& tracker, const std::vector<std::string>& uplink_names);
std::string serialize_state(const cam::Analyzer& analyzer, const std::vector<std::string>& uplink_names);

// Parses state bytes (from serialize_state(), sent over the control socket) with the checks of
// load_state(); `what` names the source in messages. Throws StateFileError.
SavedState parse_state(std::string_view bytes, const std::string& what);

// Renames a damaged state file to PATH.corrupt-<unix seconds> (PATH.corrupt-<seconds>-1, -2, ...
// when that name is taken; an existing file is never replaced) and returns the new name.
// Throws StateFileError when the rename fails.
std::string move_aside(const std::string& path);

// Removes the temporary files (PATH.tmp-<pid>-<n>) that saves interrupted by a crash or a
// SIGKILL left beside `path`: those of processes that no longer run, and of this process's pid
// (reused after a reboot). Call it at start, before the first save. Returns the paths removed;
// never throws (what cannot be read or removed is left alone).
std::vector<std::string> remove_stale_temporaries(const std::string& path);

// Puts the stations of `state` back into `tracker` (before its first observe()), each on the
// uplink whose name it was saved with, looked up in `uplink_names` (the configured order, which
// may differ from the order at save time). Stations of uplinks no longer configured are skipped,
// as are stations the tracker refuses (table full). Returns how many were restored.
std::size_t restore_into(const SavedState& state, cam::Tracker& tracker, const std::vector<std::string>& uplink_names);

// The same into an analyzer: its tracker's stations, then the bindings (uplink mapped by name,
// kNoUplink when not configured: a binding is about an address, not an uplink) and the stories
// (uplinks mapped by name). Returns the stations restored; `bindings_restored` gets the others.
std::size_t restore_into(const SavedState& state, cam::Analyzer& analyzer, const std::vector<std::string>& uplink_names,
                         std::size_t* bindings_restored = nullptr);

}  // namespace camwatch::daemon
