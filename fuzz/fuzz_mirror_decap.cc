// fuzz_mirror_decap: decapsulate_mirror(), then decode_frame() on the mirrored frame, on
// arbitrary bytes; MirrorCounters and a small MirrorSessionMap see every result.
//
// Input layout as fuzz_decoder's: 2 bytes little-endian "extra wire bytes", then the captured
// collector frame; wire_length is captured size + extra, so complete frames (extra 0) and
// snaplen cuts (extra > 0) are both reached.
//
// The frame is copied into an exactly sized heap buffer, and the mirrored frame into another,
// so AddressSanitizer catches a read one byte past either: decapsulate_mirror() past the
// capture, or decode_frame() past `inner` (which may lie well inside the capture).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "capture/frame_decoder.h"
#include "capture/mirror_decap.h"
#include "capture/mirror_session_map.h"

namespace {

using namespace camwatch;

const capture::MirrorSessionMap& sessions() {
  static const capture::MirrorSessionMap map({{capture::MirrorSessionKey::erspan(0), 0},
                                              {capture::MirrorSessionKey::erspan(101, 43973), 1},
                                              {capture::MirrorSessionKey::erspan(20), 2},
                                              {capture::MirrorSessionKey::gre(0x02000000), 3},
                                              {capture::MirrorSessionKey::unkeyed(), 4}});
  return map;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto extra = static_cast<std::uint32_t>(data[0] | (data[1] << 8));
  const std::size_t frame_size = size - 2;
  auto frame = std::make_unique<std::uint8_t[]>(frame_size);
  if (frame_size != 0) std::memcpy(frame.get(), data + 2, frame_size);
  const std::span<const std::uint8_t> captured(frame.get(), frame_size);
  const auto wire_length = static_cast<std::uint32_t>(frame_size) + extra;

  const capture::MirroredFrame m = capture::decapsulate_mirror(captured, wire_length);
  // Contract checks from the header.
  if (m.status == capture::DecodeStatus::truncated && extra == 0) __builtin_trap();
  if (!m.inner.empty()) {
    if (!m.has_inner_ethernet()) __builtin_trap();
    if (m.inner.data() < captured.data() || m.inner.data() + m.inner.size() > captured.data() + captured.size())
      __builtin_trap();
    if (m.inner_wire_length < m.inner.size() || m.inner_wire_length > wire_length) __builtin_trap();
  }
  if (m.encap == capture::MirrorEncap::none && (!m.inner.empty() || m.session != 0 || m.has_index)) __builtin_trap();
  if (m.fragment && (m.encap != capture::MirrorEncap::none || m.status != capture::DecodeStatus::ok))
    __builtin_trap();
  if (m.session > 1023 || m.erspan_vlan > 4095 || m.frame_type > 31) __builtin_trap();
  if (m.frame_type != 0 && m.encap != capture::MirrorEncap::erspan_iii) __builtin_trap();
  if (m.has_index && m.encap != capture::MirrorEncap::erspan_ii && m.encap != capture::MirrorEncap::erspan_iii)
    __builtin_trap();

  capture::MirrorCounters counters;
  counters.count(m, wire_length);
  const std::uint64_t sorted = counters.malformed + counters.truncated + counters.fragments + counters.not_mirrored +
                               counters.not_ethernet + counters.mirrored[0] + counters.mirrored[1] +
                               counters.mirrored[2] + counters.mirrored[3] + counters.mirrored[4];
  if (sorted != 1) __builtin_trap();

  const cam::UplinkId uplink = sessions().find(m);
  if (uplink != cam::kNoUplink && !m.has_inner_ethernet()) __builtin_trap();

  if (m.has_inner_ethernet()) {
    const std::size_t inner_size = m.inner.size();
    auto inner = std::make_unique<std::uint8_t[]>(inner_size);
    if (inner_size != 0) std::memcpy(inner.get(), m.inner.data(), inner_size);
    const capture::DecodedFrame d =
        capture::decode_frame(std::span<const std::uint8_t>(inner.get(), inner_size), m.inner_wire_length);
    if (d.status != capture::DecodeStatus::malformed && inner_size < 14) __builtin_trap();
    if (d.notification != cam::Notification::none && !d.notified.is_learnable()) __builtin_trap();
  }
  return 0;
}
