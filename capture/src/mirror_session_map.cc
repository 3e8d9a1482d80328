// See capture/mirror_session_map.h for what matches what.
#include "capture/mirror_session_map.h"

#include <algorithm>
#include <cstdio>

namespace camwatch::capture {
namespace {

constexpr std::uint32_t kMaxErspanSession = 0x3FF;

std::string uplink_text(cam::UplinkId uplink) {
  return "uplink " + std::to_string(uplink);
}

}  // namespace

MirrorSessionKey MirrorSessionKey::of(const MirroredFrame& frame) noexcept {
  switch (frame.encap) {
    case MirrorEncap::erspan_ii:
    case MirrorEncap::erspan_iii:
      return frame.has_index ? erspan(frame.session, frame.index) : erspan(frame.session);
    case MirrorEncap::erspan_i:
    case MirrorEncap::gre_teb:
    case MirrorEncap::none:
      break;
  }
  return frame.has_key ? gre(frame.gre_key) : unkeyed();
}

std::string MirrorSessionKey::to_string() const {
  switch (kind) {
    case Kind::erspan_session: {
      std::string out = "ERSPAN session " + std::to_string(id);
      if (has_index) out += " index " + std::to_string(index);
      return out;
    }
    case Kind::gre_key: {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08x", static_cast<unsigned>(id));
      return "GRE key " + std::to_string(id) + " (" + hex + ")";
    }
    case Kind::unkeyed_gre: return "unkeyed GRE";
  }
  return "?";
}

MirrorSessionMap::MirrorSessionMap(std::vector<Entry> entries) : entries_(std::move(entries)) {
  for (const Entry& e : entries_) {
    if (e.uplink == cam::kNoUplink) {
      throw MirrorSessionMapError("mirror session " + e.key.to_string() + " has no uplink", e.key, cam::kNoUplink,
                                  e.uplink);
    }
    if (e.key.kind == MirrorSessionKey::Kind::erspan_session && e.key.id > kMaxErspanSession) {
      throw MirrorSessionMapError("ERSPAN session ID " + std::to_string(e.key.id) + " (for " + uplink_text(e.uplink) +
                                      ") is out of range: session IDs are 0..1023",
                                  e.key, cam::kNoUplink, e.uplink);
    }
    if (e.key.kind != MirrorSessionKey::Kind::erspan_session && e.key.has_index) {
      throw MirrorSessionMapError(e.key.to_string() + " (for " + uplink_text(e.uplink) +
                                      ") cannot have an index: only ERSPAN types II and III carry one",
                                  e.key, cam::kNoUplink, e.uplink);
    }
    if (e.key.kind == MirrorSessionKey::Kind::unkeyed_gre && e.key.id != 0) {
      throw MirrorSessionMapError("unkeyed GRE (for " + uplink_text(e.uplink) + ") cannot have a key", e.key,
                                  cam::kNoUplink, e.uplink);
    }
  }
  // Stable, so that of two equal keys the one given first is reported first.
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const Entry& a, const Entry& b) { return a.key < b.key; });
  const auto duplicate = std::adjacent_find(entries_.begin(), entries_.end(),
                                            [](const Entry& a, const Entry& b) { return a.key == b.key; });
  if (duplicate != entries_.end()) {
    const Entry& first = duplicate[0];
    const Entry& second = duplicate[1];
    throw MirrorSessionMapError("mirror session " + first.key.to_string() + " is mapped twice: to " +
                                    uplink_text(first.uplink) + " and to " + uplink_text(second.uplink),
                                first.key, first.uplink, second.uplink);
  }
}

cam::UplinkId MirrorSessionMap::find_exact(const MirrorSessionKey& key) const noexcept {
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                                   [](const Entry& e, const MirrorSessionKey& k) { return e.key < k; });
  return it != entries_.end() && it->key == key ? it->uplink : cam::kNoUplink;
}

cam::UplinkId MirrorSessionMap::find(const MirroredFrame& frame) const noexcept {
  if (!frame.has_inner_ethernet()) return cam::kNoUplink;
  const MirrorSessionKey key = MirrorSessionKey::of(frame);
  const cam::UplinkId exact = find_exact(key);
  if (exact != cam::kNoUplink || !key.has_index) return exact;
  return find_exact(MirrorSessionKey::erspan(frame.session));
}

}  // namespace camwatch::capture
