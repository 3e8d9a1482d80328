// fuzz_decoder: decode_frame() and to_observation() on arbitrary bytes; to_observation()'s fast
// path against the full decoder.
//
// Input layout: 2 bytes little-endian "extra wire bytes", then the captured frame. wire_length
// is captured size + extra, so both complete frames (extra 0) and snaplen cuts (extra > 0) are
// reached; a value below the captured size is never produced (the header says it is treated as
// the captured size, which extra == 0 already covers).
//
// The frame is copied into an exactly sized heap buffer so AddressSanitizer catches any read
// past captured.size() by one byte.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "capture/frame_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace camwatch;
  if (size < 2) return 0;
  const auto extra = static_cast<std::uint32_t>(data[0] | (data[1] << 8));
  const std::size_t frame_size = size - 2;
  auto frame = std::make_unique<std::uint8_t[]>(frame_size);
  if (frame_size != 0) std::memcpy(frame.get(), data + 2, frame_size);
  const std::span<const std::uint8_t> captured(frame.get(), frame_size);
  const auto wire_length = static_cast<std::uint32_t>(frame_size) + extra;

  const capture::DecodedFrame decoded = capture::decode_frame(captured, wire_length);
  // Contract checks from the header.
  if (decoded.status != capture::DecodeStatus::malformed && frame_size < 14) __builtin_trap();
  if (decoded.status == capture::DecodeStatus::truncated && extra == 0) __builtin_trap();
  if (decoded.status != capture::DecodeStatus::malformed && decoded.vlan_tags > 8) __builtin_trap();

  capture::DecodeCounters counters;
  cam::Observation observation{};
  const bool usable = capture::to_observation(cam::PacketTime{}, captured, wire_length, cam::UplinkId{0}, counters,
                                              observation);
  if (usable != (decoded.status != capture::DecodeStatus::malformed)) __builtin_trap();
  // to_observation()'s inline fast path must give what the full decoder gives, byte for byte.
  capture::DecodeCounters slow_counters;
  cam::Observation slow{};
  const bool slow_usable = capture::to_observation_decoded(cam::PacketTime{}, captured, wire_length, cam::UplinkId{0},
                                                           slow_counters, slow);
  if (slow_usable != usable) __builtin_trap();
  if (usable && std::memcmp(&slow, &observation, sizeof slow) != 0) __builtin_trap();
  if (std::memcmp(&slow_counters, &counters, sizeof counters) != 0) __builtin_trap();
  return 0;
}
