// fuzz_capture_file: CaptureFile::open() and next() to the end on arbitrary file contents.
//
// Regular files take our pcap parser when the magic is classic pcap, libpcap's offline reader
// otherwise (pcapng and the rest). Every returned frame is also decoded, and its bytes touched,
// so a RawFrame span pointing outside the read buffer shows up under AddressSanitizer. The file
// is then read again with next_batch(), whose frames must be the same ones: all of a batch's
// bytes are touched after the batch is complete (they must stay valid together).
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>

#include "capture/capture_file.h"
#include "capture/frame_decoder.h"
#include "fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace camwatch;
  static fuzz::FuzzInputFile file("camwatch-fuzz-capture");
  const std::string& path = file.write(data, size);

  std::unique_ptr<capture::CaptureFile> reader;
  try {
    reader = capture::CaptureFile::open(path);
  } catch (const capture::CaptureFileError&) {
    return 0;
  }
  capture::RawFrame frame;
  capture::ReadStatus status;
  std::uint64_t frames = 0;
  unsigned checksum = 0;
  while ((status = reader->next(frame)) == capture::ReadStatus::frame) {
    ++frames;
    if (frame.wire_length < frame.data.size()) __builtin_trap();  // contract: never below caplen
    for (const std::uint8_t byte : frame.data) checksum += byte;
    (void)capture::decode_frame(frame.data, frame.wire_length);
  }
  // After the end or an error, next() keeps returning the same status.
  if (reader->next(frame) != status) __builtin_trap();
  if (status == capture::ReadStatus::error && reader->error().empty()) __builtin_trap();
  (void)reader->format();
  (void)reader->position_bytes();
  (void)reader->size_bytes();

  reader = capture::CaptureFile::open(path);  // opened once already: cannot throw now
  capture::RawFrame batch[7];
  std::uint64_t batched_frames = 0;
  unsigned batched_checksum = 0;
  for (std::size_t n; (n = reader->next_batch(batch)) != 0;) {
    if (n > std::size(batch)) __builtin_trap();
    batched_frames += n;
    for (std::size_t i = 0; i < n; ++i) {
      for (const std::uint8_t byte : batch[i].data) batched_checksum += byte;
    }
  }
  if (batched_frames != frames || batched_checksum != checksum) __builtin_trap();
  if ((status == capture::ReadStatus::error) == reader->error().empty()) __builtin_trap();
  return 0;
}
