// Reads every capture of the shared corpus (../shared/corpus: 61 real files, 205 malformed ones,
// see its INDEX.md) with CaptureFile and checks it against libpcap 1.10, which the manifests were
// made with: same refusals, same frames (timestamps, bytes, wire lengths) frame by frame, same
// end or error. Classic pcap files are read a second time through a FIFO, which takes the
// libpcap path instead of the map, and must give the same frames. Skipped without the corpus.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "testsupport/fifo_feeder.h"
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "capture/capture_file.h"

namespace camwatch::capture {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = CAMWATCH_CORPUS_DIR;

using Bytes = std::vector<std::uint8_t>;

Bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Just enough JSON for the corpus manifests (Python's json.dump output).
struct Json {
  enum class Kind : std::uint8_t { null, boolean, number, string, array, object } kind = Kind::null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> items;        // array items, or object values
  std::vector<std::string> keys;  // object keys, parallel to items

  const Json* find(const std::string& key) const {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) return &items[i];
    }
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string text) : text_(std::move(text)) {}

  std::optional<Json> parse() {
    Json value;
    if (!parse_value(value)) return std::nullopt;
    skip_space();
    if (pos_ != text_.size()) return std::nullopt;
    return value;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) ++pos_;
  }
  bool literal(const char* word) {
    const std::string w(word);
    if (text_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }
  bool parse_string(std::string& out) {
    if (pos_ >= text_.size() || text_[pos_] != '"') return false;
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ >= text_.size()) return false;
        const char e = text_[pos_++];
        switch (e) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'r':
            c = '\r';
            break;
          case 'b':
            c = '\b';
            break;
          case 'f':
            c = '\f';
            break;
          case 'u':  // the manifests are ASCII; keep the escape as text
            out += "\\u";
            continue;
          default:
            c = e;
            break;
        }
      }
      out += c;
    }
    if (pos_ >= text_.size()) return false;
    ++pos_;
    return true;
  }
  bool parse_value(Json& out) {
    skip_space();
    if (pos_ >= text_.size()) return false;
    const char c = text_[pos_];
    if (c == '{') {
      out.kind = Json::Kind::object;
      ++pos_;
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == '}') return ++pos_, true;
      for (;;) {
        skip_space();
        std::string key;
        if (!parse_string(key)) return false;
        skip_space();
        if (pos_ >= text_.size() || text_[pos_++] != ':') return false;
        Json value;
        if (!parse_value(value)) return false;
        out.keys.push_back(std::move(key));
        out.items.push_back(std::move(value));
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] == '}') return ++pos_, true;
        return false;
      }
    }
    if (c == '[') {
      out.kind = Json::Kind::array;
      ++pos_;
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ']') return ++pos_, true;
      for (;;) {
        Json value;
        if (!parse_value(value)) return false;
        out.items.push_back(std::move(value));
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] == ']') return ++pos_, true;
        return false;
      }
    }
    if (c == '"') {
      out.kind = Json::Kind::string;
      return parse_string(out.string);
    }
    if (literal("true")) {
      out.kind = Json::Kind::boolean;
      out.boolean = true;
      return true;
    }
    if (literal("false")) {
      out.kind = Json::Kind::boolean;
      return true;
    }
    if (literal("null")) {
      out.kind = Json::Kind::null;
      return true;
    }
    char* end = nullptr;
    out.number = std::strtod(text_.c_str() + pos_, &end);
    if (end == text_.c_str() + pos_) return false;
    out.kind = Json::Kind::number;
    pos_ = static_cast<std::size_t>(end - text_.c_str());
    return true;
  }

  std::string text_;
  std::size_t pos_ = 0;
};

// One corpus file and what the manifest says libpcap 1.10.3 made of it.
struct ManifestEntry {
  fs::path path;
  bool real = false;
  bool libpcap_opened = false;
  int libpcap_dlt = -1;
  long libpcap_packets = -1;
  std::string libpcap_end;  // "EOF" or "ERROR"
  std::string libpcap_error;
};

std::vector<ManifestEntry> load_manifest(const std::string& name, const std::string& folder, bool real) {
  std::ifstream in(kCorpus / name);
  std::stringstream text;
  text << in.rdbuf();
  std::optional<Json> json = JsonParser(text.str()).parse();
  std::vector<ManifestEntry> entries;
  if (!json || json->kind != Json::Kind::array) return entries;
  for (const Json& item : json->items) {
    ManifestEntry e;
    e.real = real;
    const Json* file = item.find("file");
    const Json* libpcap = item.find("libpcap");
    if (file == nullptr || libpcap == nullptr) continue;
    e.path = kCorpus / folder / file->string;
    if (const Json* v = libpcap->find("open")) e.libpcap_opened = v->boolean;
    if (const Json* v = libpcap->find("dlt"); v != nullptr && v->kind == Json::Kind::number) {
      e.libpcap_dlt = static_cast<int>(v->number);
    }
    if (const Json* v = libpcap->find("packets"); v != nullptr && v->kind == Json::Kind::number) {
      e.libpcap_packets = static_cast<long>(v->number);
    }
    if (const Json* v = libpcap->find("end")) e.libpcap_end = v->string;
    if (const Json* v = libpcap->find("err")) e.libpcap_error = v->string;
    entries.push_back(std::move(e));
  }
  return entries;
}

struct Frame {
  std::int64_t time_ns = 0;
  Bytes data;
  std::uint32_t wire_length = 0;
  friend bool operator==(const Frame&, const Frame&) = default;
};

struct Outcome {
  bool refused = false;
  std::string message;  // the refusal, or the read error
  std::string format;
  std::vector<Frame> frames;
  ReadStatus last = ReadStatus::end;
};

Outcome read_with_capture_file(const std::string& path) {
  Outcome out;
  std::unique_ptr<CaptureFile> file;
  try {
    file = CaptureFile::open(path);
  } catch (const CaptureFileError& e) {
    out.refused = true;
    out.message = e.what();
    return out;
  }
  out.format = file->format();
  RawFrame raw;
  while ((out.last = file->next(raw)) == ReadStatus::frame) {
    out.frames.push_back(
        Frame{raw.time.time_since_epoch().count(), Bytes(raw.data.begin(), raw.data.end()), raw.wire_length});
  }
  out.message = file->error();
  return out;
}

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

// libpcap itself, with the two differences CaptureFile documents applied: classic pcap's 32-bit
// timestamp fields read as unsigned (libpcap 1.10 sign-extends them), and a wire length never
// below the captured length.
struct LibpcapOutcome {
  bool opened = false;
  int dlt = -1;
  std::vector<Frame> frames;
  std::string error;  // open or read error; empty at a clean end
};

LibpcapOutcome read_with_libpcap(const std::string& path) {
  LibpcapOutcome out;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, PcapCloser> pcap(
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf));
  if (!pcap) {
    out.error = errbuf;
    return out;
  }
  out.opened = true;
  out.dlt = pcap_datalink(pcap.get());
  const bool classic = pcap_major_version(pcap.get()) == 2;
  const Bytes head = read_file(path);
  const bool micro = head.size() >= 4 && (head[0] == 0xd4 || head[3] == 0xd4);  // a1b2c3d4 either way
  for (;;) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(pcap.get(), &header, &data);
    if (rc == PCAP_ERROR_BREAK) break;
    if (rc != 1) {
      out.error = rc == PCAP_ERROR ? pcap_geterr(pcap.get()) : "unexpected pcap_next_ex result";
      break;
    }
    std::int64_t seconds = header->ts.tv_sec;
    std::int64_t fraction = header->ts.tv_usec;
    if (classic) {
      seconds = static_cast<std::uint32_t>(seconds);
      const std::int64_t unit = micro ? 1000 : 1;
      fraction = std::int64_t{static_cast<std::uint32_t>(static_cast<std::int32_t>(fraction / unit))} * unit;
    }
    out.frames.push_back(Frame{seconds * 1'000'000'000 + fraction, Bytes(data, data + header->caplen),
                               std::max(header->len, header->caplen)});
  }
  return out;
}

using testsupport::FifoFeeder;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/camwatch-corpus-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool is_classic_pcap(const Bytes& head) {
  if (head.size() < 4) return false;
  const std::uint32_t be =
      std::uint32_t{head[0]} << 24 | std::uint32_t{head[1]} << 16 | std::uint32_t{head[2]} << 8 | head[3];
  const std::uint32_t le = __builtin_bswap32(be);
  return be == 0xA1B2C3D4 || le == 0xA1B2C3D4 || be == 0xA1B23C4D || le == 0xA1B23C4D;
}

std::vector<ManifestEntry> corpus() {
  std::vector<ManifestEntry> all = load_manifest("real_manifest.json", "real", true);
  std::vector<ManifestEntry> malformed = load_manifest("malformed_manifest.json", "malformed", false);
  all.insert(all.end(), malformed.begin(), malformed.end());
  return all;
}

#define SKIP_WITHOUT_CORPUS()                                                                            \
  if (!fs::exists(kCorpus / "real_manifest.json")) {                                                     \
    GTEST_SKIP() << "no corpus at " << kCorpus << " (the shared capture corpus is not on this machine)"; \
  }

TEST(CaptureCorpus, ManifestsListEveryFile) {
  SKIP_WITHOUT_CORPUS();
  const std::vector<ManifestEntry> files = corpus();
  EXPECT_EQ(files.size(), 266U) << "61 real + 205 malformed, per INDEX.md";
  for (const ManifestEntry& e : files) EXPECT_TRUE(fs::exists(e.path)) << e.path;
}

TEST(CaptureCorpus, ReadsEveryFileLikeLibpcapOrRefusesItAsLibpcapDoes) {
  SKIP_WITHOUT_CORPUS();
  int opened = 0, read_to_end = 0, ended_in_error = 0, refused = 0;
  for (const ManifestEntry& e : corpus()) {
    SCOPED_TRACE(e.path.filename().string());
    const Outcome ours = read_with_capture_file(e.path);
    const LibpcapOutcome theirs = read_with_libpcap(e.path);

    // The manifest was made with this libpcap: a changed libpcap would change the expectations.
    ASSERT_EQ(theirs.opened, e.libpcap_opened);
    if (theirs.opened) {
      ASSERT_EQ(theirs.dlt, e.libpcap_dlt);
      ASSERT_EQ(static_cast<long>(theirs.frames.size()), e.libpcap_packets);
    }

    if (ours.refused) {
      ++refused;
    } else {
      ++opened;
      ++(ours.last == ReadStatus::end ? read_to_end : ended_in_error);
    }
    if (!theirs.opened) {
      EXPECT_TRUE(ours.refused) << "libpcap refuses it: " << theirs.error;
      continue;
    }
    if (theirs.dlt != DLT_EN10MB) {
      EXPECT_TRUE(ours.refused) << "link type " << theirs.dlt;
      EXPECT_NE(ours.message.find("is not Ethernet; camwatch reads Ethernet captures only"), std::string::npos)
          << ours.message;
      continue;
    }
    ASSERT_FALSE(ours.refused) << ours.message;
    ASSERT_EQ(ours.frames.size(), theirs.frames.size()) << ours.format << ": " << ours.message;
    for (std::size_t i = 0; i < ours.frames.size(); ++i) {
      ASSERT_EQ(ours.frames[i].time_ns, theirs.frames[i].time_ns) << "frame " << i + 1;
      ASSERT_EQ(ours.frames[i].data, theirs.frames[i].data) << "frame " << i + 1;
      ASSERT_EQ(ours.frames[i].wire_length, theirs.frames[i].wire_length) << "frame " << i + 1;
    }
    if (theirs.error.empty()) {
      EXPECT_EQ(ours.last, ReadStatus::end) << ours.message;
      EXPECT_EQ(e.libpcap_end, "EOF");
    } else {
      EXPECT_EQ(ours.last, ReadStatus::error);
      EXPECT_EQ(e.libpcap_end, "ERROR");
      EXPECT_FALSE(ours.message.empty());
      if (ours.format == "pcapng") {
        EXPECT_NE(ours.message.find(theirs.error), std::string::npos) << ours.message;
      }
    }
  }
  std::printf("[ corpus   ] %d opened (%d read to the end, %d ended in an error), %d refused at open\n", opened,
              read_to_end, ended_in_error, refused);
  EXPECT_EQ(opened + refused, 266);
}

TEST(CaptureCorpus, CountsTheFramesLibpcapCountsInEveryRealEthernetFile) {
  SKIP_WITHOUT_CORPUS();
  int checked = 0;
  for (const ManifestEntry& e : corpus()) {
    if (!e.real || !e.libpcap_opened || e.libpcap_dlt != DLT_EN10MB) continue;
    SCOPED_TRACE(e.path.filename().string());
    const Outcome ours = read_with_capture_file(e.path);
    ASSERT_FALSE(ours.refused) << ours.message;
    EXPECT_EQ(static_cast<long>(ours.frames.size()), e.libpcap_packets);
    EXPECT_EQ(ours.last, e.libpcap_end == "EOF" ? ReadStatus::end : ReadStatus::error) << ours.message;
    ++checked;
  }
  EXPECT_EQ(checked, 60) << "every real file but the Linux cooked capture";
}

TEST(CaptureCorpus, ReadsEveryClassicPcapThroughAFifoAsThroughTheMap) {
  SKIP_WITHOUT_CORPUS();
  const TempDir dir;
  const std::string fifo = dir.path() + "/capture.fifo";
  int compared = 0;
  for (const ManifestEntry& e : corpus()) {
    const Bytes bytes = read_file(e.path);
    if (!is_classic_pcap(bytes)) continue;
    SCOPED_TRACE(e.path.filename().string());
    const Outcome mapped = read_with_capture_file(e.path);
    Outcome piped;
    {
      FifoFeeder feeder(fifo, bytes);
      piped = read_with_capture_file(fifo);
    }
    ++compared;
    EXPECT_EQ(piped.refused, mapped.refused) << piped.message << " / " << mapped.message;
    if (mapped.refused) {
      // The same check refuses it, whichever reader was to follow: the same words, path aside.
      EXPECT_EQ(piped.message.substr(fifo.size()), mapped.message.substr(e.path.string().size()));
      continue;
    }
    EXPECT_EQ(piped.format, mapped.format);
    EXPECT_EQ(piped.last, mapped.last) << piped.message << " / " << mapped.message;
    ASSERT_EQ(piped.frames.size(), mapped.frames.size());
    for (std::size_t i = 0; i < piped.frames.size(); ++i)
      ASSERT_EQ(piped.frames[i], mapped.frames[i]) << "frame " << i + 1;
  }
  EXPECT_GT(compared, 200);
}

}  // namespace
}  // namespace camwatch::capture
