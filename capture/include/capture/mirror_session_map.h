// Mirror session map: which uplink a decapsulated mirror frame stands for.
//
// The user names each mirror session arriving on a collector interface after the uplink (switch
// port) it mirrors. A session is told apart by what its frames carry:
//   - ERSPAN type II and III: the 10-bit session ID, optionally narrowed by the type II index or
//     the type III platform port ID (one session mirroring several ports);
//   - ERSPAN type I and GRE TEB: no session ID, only the GRE key when the sender sets one; an
//     unkeyed stream is one "unkeyed GRE" session per collector.
// Lookup, per frame: the exact key first (session + index when the frame has an index), then the
// session alone. So a (session 10, index 3) entry wins over a (session 10) entry for frames with
// index 3, and (session 10) takes every other index of session 10. A frame without an index (type
// III without a port in its platform subheader) only matches a session-only entry. Type II/III
// frames are never looked up by their GRE key, type I/TEB frames never by session.
//
// Built once from a list of entries (control plane: allocates, and throws MirrorSessionMapError
// for a duplicate key, a session ID above 1023 or an entry without an uplink); looked up per frame
// by binary search over a sorted array: no allocation, no exceptions. Immutable after
// construction, so any number of threads may look up concurrently.
//
// Wiring sketch (names from the config, uplink ids in config order):
//   MirrorSessionMap sessions({{MirrorSessionKey::erspan(10), 0},
//                              {MirrorSessionKey::erspan(10, 3), 1},
//                              {MirrorSessionKey::gre_key(0x02000000), 2}});
//   per frame:
//     const MirroredFrame m = decapsulate_mirror(bytes, wire_length);
//     mirror_counters.count(m, wire_length);
//     if (!m.has_inner_ethernet()) continue;
//     const cam::UplinkId uplink = sessions.find(m);
//     if (uplink == cam::kNoUplink) { ++mirror_counters.unmapped; continue; }
//     to_observation(time, m.inner, m.inner_wire_length, uplink, decode_counters[uplink], obs);
#pragma once

#include <compare>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "cam/types.h"
#include "capture/mirror_decap.h"

namespace camwatch::capture {

struct MirrorSessionKey {
  enum class Kind : std::uint8_t {
    erspan_session,  // types II and III: `id` is the session ID
    gre_key,         // type I and TEB with a GRE key: `id` is the key
    unkeyed_gre,     // type I and TEB without a key
  };
  Kind kind = Kind::erspan_session;
  std::uint32_t id = 0;
  bool has_index = false;  // erspan_session only: narrowed to one index / port ID
  std::uint32_t index = 0;

  static constexpr MirrorSessionKey erspan(std::uint16_t session) {
    return MirrorSessionKey{Kind::erspan_session, session, false, 0};
  }
  static constexpr MirrorSessionKey erspan(std::uint16_t session, std::uint32_t index) {
    return MirrorSessionKey{Kind::erspan_session, session, true, index};
  }
  static constexpr MirrorSessionKey gre(std::uint32_t key) { return MirrorSessionKey{Kind::gre_key, key, false, 0}; }
  static constexpr MirrorSessionKey unkeyed() { return MirrorSessionKey{Kind::unkeyed_gre, 0, false, 0}; }

  // The exact key of a mirrored frame (encap != none): with its index when it has one.
  static MirrorSessionKey of(const MirroredFrame& frame) noexcept;

  // "ERSPAN session 10 index 3", "GRE key 33554432 (0x02000000)", "unkeyed GRE": for messages.
  std::string to_string() const;

  friend constexpr auto operator<=>(const MirrorSessionKey&, const MirrorSessionKey&) = default;
  friend constexpr bool operator==(const MirrorSessionKey&, const MirrorSessionKey&) = default;
};

// Thrown by MirrorSessionMap's constructor; what() is a full sentence for `camwatch: error: `.
// For a duplicate, `key`, `first_uplink` and `second_uplink` let the config loader name the uplinks instead.
class MirrorSessionMapError : public std::runtime_error {
 public:
  MirrorSessionMapError(const std::string& what, MirrorSessionKey offending_key, cam::UplinkId first,
                        cam::UplinkId second)
      : std::runtime_error(what), key(offending_key), first_uplink(first), second_uplink(second) {}
  MirrorSessionKey key;
  cam::UplinkId first_uplink;   // the uplink of the entry given first (kNoUplink if not a duplicate)
  cam::UplinkId second_uplink;  // the uplink of the offending entry
};

class MirrorSessionMap {
 public:
  struct Entry {
    MirrorSessionKey key;
    cam::UplinkId uplink = cam::kNoUplink;
  };

  MirrorSessionMap() = default;  // empty: find() always says kNoUplink
  explicit MirrorSessionMap(std::vector<Entry> entries);

  // The uplink of a decapsulated frame, kNoUplink when no entry matches or the frame is not a
  // mirrored Ethernet frame (!frame.has_inner_ethernet()).
  cam::UplinkId find(const MirroredFrame& frame) const noexcept;
  // The entry for exactly this key (no fallback), kNoUplink if none.
  cam::UplinkId find_exact(const MirrorSessionKey& key) const noexcept;

  std::size_t size() const noexcept { return entries_.size(); }

 private:
  std::vector<Entry> entries_;  // sorted by key, keys unique
};

}  // namespace camwatch::capture
