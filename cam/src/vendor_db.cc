#include "cam/vendor_db.h"

#include <algorithm>
#include <array>
#include <limits>
#include <bit>
#include <functional>
#include <string_view>
#include <utility>

namespace camwatch::cam {

namespace {

// Fields past the third (the organisation's address) are parsed but not kept.
constexpr std::size_t kKeptFields = 3;

struct CsvRecord {
  std::array<std::string, kKeptFields> field;
  std::size_t fields = 0;    // fields in the record, kept or not
  bool well_formed = true;  // false: a quoted field runs to the end of the text
};

// Reads the record starting at `pos` (RFC 4180, leniently: text after a closing quote is kept, a
// quote inside an unquoted field is literal, the CR of CRLF stays at the end of the last field and
// is trimmed later). Returns false when no text is left.
bool next_record(std::string_view text, std::size_t& pos, CsvRecord& rec) {
  const std::size_t n = text.size();
  if (pos >= n) return false;
  rec.fields = 0;
  rec.well_formed = true;
  for (auto& f : rec.field) f.clear();
  for (;;) {
    std::string* out = rec.fields < kKeptFields ? &rec.field[rec.fields] : nullptr;
    ++rec.fields;
    if (pos < n && text[pos] == '"') {
      ++pos;
      bool closed = false;
      while (pos < n) {
        const char c = text[pos++];
        if (c == '"') {
          if (pos < n && text[pos] == '"') {
            ++pos;  // "" inside quotes: one literal quote
          } else {
            closed = true;
            break;
          }
        }
        if (out != nullptr) out->push_back(c);
      }
      if (!closed) {
        rec.well_formed = false;
        return true;
      }
    }
    // A plain loop: find_first_of() with a set searches the set for every byte, and this runs
    // over the registry's 4 MB at every start.
    std::size_t end = pos;
    while (end < n && text[end] != ',' && text[end] != '\n') ++end;
    if (out != nullptr) out->append(text.substr(pos, end - pos));
    pos = end;
    if (pos >= n) return true;
    ++pos;
    if (text[pos - 1] == '\n') return true;
  }
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// How normalise_name() treats the character starting at text[i]: as white space, as nothing (an
// invisible format character) or as itself; `length` is its size in bytes. Besides ASCII white
// space and control characters, the registry's names contain UTF-8 no-break, en and ideographic
// spaces, zero-width spaces and direction marks.
enum class CharKind { keep, space, drop };
CharKind classify(std::string_view text, std::size_t i, std::size_t& length) {
  const auto byte = [&](std::size_t k) { return k < text.size() ? static_cast<unsigned char>(text[k]) : 0U; };
  const unsigned c = byte(i);
  length = 1;
  if (c < 0x20 || c == 0x20 || c == 0x7F) return CharKind::space;
  if (c == 0xC2 && byte(i + 1) == 0xA0) {  // U+00A0 no-break space
    length = 2;
    return CharKind::space;
  }
  if (c == 0xE2 && byte(i + 1) == 0x80) {
    const unsigned c2 = byte(i + 2);
    length = 3;
    if (c2 <= 0x8A || c2 == 0xAF) return CharKind::space;  // U+2000..U+200A, U+202F
    if (c2 >= 0x8B && c2 <= 0x8F) return CharKind::drop;   // U+200B..U+200F zero width, marks
  }
  if (c == 0xE3 && byte(i + 1) == 0x80 && byte(i + 2) == 0x80) {  // U+3000 ideographic space
    length = 3;
    return CharKind::space;
  }
  if (c == 0xEF && byte(i + 1) == 0xBB && byte(i + 2) == 0xBF) {  // U+FEFF byte order mark
    length = 3;
    return CharKind::drop;
  }
  length = 1;
  return CharKind::keep;
}

// Trimmed, internal runs of white space collapsed to one ASCII space, invisible characters
// dropped, into `out`.
void normalise_name(std::string_view raw, std::string& out) {
  out.clear();
  bool pending_space = false;
  std::size_t length = 1;
  for (std::size_t i = 0; i < raw.size(); i += length) {
    switch (classify(raw, i, length)) {
      case CharKind::space:
        pending_space = true;
        break;
      case CharKind::drop:
        break;
      case CharKind::keep:
        if (pending_space && !out.empty()) out.push_back(' ');
        pending_space = false;
        out.append(raw.substr(i, length));
        break;
    }
  }
}

// 6, 7 or 9 hex digits → (prefix, index into VendorDb's kPrefixBits); false otherwise.
bool parse_assignment(std::string_view text, std::uint64_t& prefix, int& length_class) {
  text = trim(text);
  switch (text.size()) {
    case 9: length_class = 0; break;
    case 7: length_class = 1; break;
    case 6: length_class = 2; break;
    default: return false;
  }
  std::uint64_t v = 0;
  for (char c : text) {
    unsigned digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return false;
    }
    v = (v << 4) | digit;
  }
  prefix = v;
  return true;
}

}  // namespace

void VendorDb::add_csv(std::string_view csv_text) {
  if (name_offsets_.empty()) name_offsets_.push_back(0);
  // Name ids by their text, so that equal names share one: open addressing over id + 1 (0:
  // empty), hashed and compared through the pool, so no name is copied (a map of strings was
  // half of the start-up cost of the 4 MB registry).
  std::vector<std::uint32_t> index;
  std::size_t indexed = 0;
  const auto slot_of = [&](std::string_view text) -> std::uint32_t& {
    const std::size_t mask = index.size() - 1;
    for (std::size_t i = std::hash<std::string_view>{}(text) & mask;; i = (i + 1) & mask) {
      std::uint32_t& slot = index[i];
      if (slot == 0 || name(slot - 1) == text) return slot;
    }
  };
  const auto rebuild = [&](std::size_t names) {
    index.assign(std::bit_ceil(std::max<std::size_t>(2 * names, 4096)), 0);
    for (std::size_t id = 0; id < names; ++id) slot_of(name(static_cast<std::uint32_t>(id))) = static_cast<std::uint32_t>(id + 1);
    indexed = names;
  };
  rebuild(name_offsets_.size() - 1);

  std::vector<std::uint64_t> added[3];
  CsvRecord rec;
  std::string org;
  std::size_t pos = csv_text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // a UTF-8 byte order mark
  while (next_record(csv_text, pos, rec)) {
    if (!rec.well_formed) {
      ++skipped_rows_;
      continue;
    }
    if (rec.fields == 1 && trim(rec.field[0]).empty()) continue;  // blank line
    if (trim(rec.field[0]) == "Registry" && trim(rec.field[1]) == "Assignment") continue;  // header
    std::uint64_t prefix = 0;
    int length_class = 0;
    if (rec.fields < kKeptFields || !parse_assignment(rec.field[1], prefix, length_class)) {
      ++skipped_rows_;
      continue;
    }
    normalise_name(rec.field[2], org);
    if (org.empty()) {
      ++skipped_rows_;
      continue;
    }
    std::uint32_t& slot = slot_of(org);
    std::uint64_t id = slot - std::uint64_t{1};
    if (slot == 0) {
      id = name_offsets_.size() - 1;
      if (id > kNameIdMask || pool_.size() + org.size() > std::numeric_limits<std::uint32_t>::max()) {
        ++skipped_rows_;  // beyond the packed format's limits: far past any real registry
        continue;
      }
      pool_.append(org);
      name_offsets_.push_back(static_cast<std::uint32_t>(pool_.size()));
      slot = static_cast<std::uint32_t>(id + 1);
      if (2 * ++indexed > index.size()) rebuild(indexed);  // at most half full
    }
    added[length_class].push_back(prefix << kNameIdBits | id);
  }

  // Merge: the held entries come first, and a stable sort keeps them ahead of this file's rows
  // for the same prefix, so deduplication keeps the first row ever added.
  for (int c = 0; c < 3; ++c) {
    if (added[c].empty()) continue;
    std::vector<std::uint64_t> merged;
    merged.reserve(tables_[c].size() + added[c].size());
    merged.insert(merged.end(), tables_[c].begin(), tables_[c].end());
    merged.insert(merged.end(), added[c].begin(), added[c].end());
    const auto by_prefix = [](std::uint64_t a, std::uint64_t b) { return (a >> kNameIdBits) < (b >> kNameIdBits); };
    std::stable_sort(merged.begin(), merged.end(), by_prefix);
    const auto same_prefix = [](std::uint64_t a, std::uint64_t b) { return (a >> kNameIdBits) == (b >> kNameIdBits); };
    const auto end = std::unique(merged.begin(), merged.end(), same_prefix);
    duplicate_rows_ += static_cast<std::size_t>(merged.end() - end);
    merged.erase(end, merged.end());
    merged.shrink_to_fit();
    tables_[c] = std::move(merged);
  }
  pool_.shrink_to_fit();
  name_offsets_.shrink_to_fit();
}

std::string_view VendorDb::lookup(const MacAddress& mac) const {
  const std::uint64_t bits = mac.to_u64();
  if (((bits >> 40) & 0x02U) != 0) return {};  // locally administered: not an IEEE assignment
  for (int c = 0; c < 3; ++c) {
    const auto& table = tables_[c];
    if (table.empty()) continue;
    const std::uint64_t prefix = bits >> (48 - kPrefixBits[c]);
    const auto it = std::lower_bound(table.begin(), table.end(), prefix << kNameIdBits);
    if (it != table.end() && (*it >> kNameIdBits) == prefix) {
      return name(static_cast<std::uint32_t>(*it & kNameIdMask));
    }
  }
  return {};
}

std::size_t VendorDb::size() const { return tables_[0].size() + tables_[1].size() + tables_[2].size(); }

std::size_t VendorDb::memory_bytes() const {
  std::size_t bytes = sizeof(*this) + pool_.capacity() + name_offsets_.capacity() * sizeof(std::uint32_t);
  for (const auto& table : tables_) bytes += table.capacity() * sizeof(std::uint64_t);
  return bytes;
}

std::string_view VendorDb::name(std::uint32_t id) const {
  const std::uint32_t begin = name_offsets_[id];
  return std::string_view(pool_).substr(begin, name_offsets_[id + 1] - begin);
}

}  // namespace camwatch::cam
