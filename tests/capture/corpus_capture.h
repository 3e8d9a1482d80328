// Reads captures of the shared corpus for the capture tests (corpus_decode_test.cc,
// mirror_decap_corpus_test.cc). Test code: allocates freely.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace camwatch::testcorpus {

namespace fs = std::filesystem;

// ../shared/corpus (see its INDEX.md); tests skip when it is absent.
inline const fs::path kCorpus = CAMWATCH_CORPUS_DIR;

struct Frame {
  std::vector<std::uint8_t> bytes;
  std::uint32_t wire_length = 0;
};

struct Capture {
  bool opened = false;
  int linktype = -1;
  std::vector<Frame> frames;
  std::string error;  // why opening or reading stopped early; empty at a clean end of file
};

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

// Every record of a capture file, read with libpcap as the daemon reads pcapng.
inline Capture read_capture(const fs::path& path) {
  Capture out;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, PcapCloser> pcap(pcap_open_offline(path.c_str(), errbuf));
  if (!pcap) {
    out.error = errbuf;
    return out;
  }
  out.opened = true;
  out.linktype = pcap_datalink(pcap.get());
  for (;;) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(pcap.get(), &header, &data);
    if (rc == 1) {  // a record
      out.frames.push_back(Frame{std::vector<std::uint8_t>(data, data + header->caplen), header->len});
    } else if (rc == PCAP_ERROR_BREAK) {  // end of file
      break;
    } else if (rc == PCAP_ERROR) {  // damaged file: keep what came before
      out.error = pcap_geterr(pcap.get());
      break;
    } else {  // 0 (timeout) is live capture only; anything else is unknown
      out.error = "pcap_next_ex returned " + std::to_string(rc);
      break;
    }
  }
  return out;
}

}  // namespace camwatch::testcorpus
