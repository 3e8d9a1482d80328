// VendorDb: organisation names for MAC addresses, from the IEEE registry files.
//
// The IEEE Registration Authority assigns blocks of the universally administered MAC space:
// MA-L (an OUI, 24-bit prefix), MA-M (28 bits), MA-S and the older IAB (36 bits). Its public
// listings are CSV files with the header `Registry,Assignment,Organization Name,Organization
// Address`; Debian's ieee-data package installs them (daemon/vendor_file.h reads them). This class
// only parses text handed to it: cam/ does no I/O.
//
// Theory of operation:
//  - add_csv() parses one file's text as RFC 4180 CSV: quoted fields may contain commas, line
//    breaks and doubled quotes; LF or CRLF line endings; a header row and blank lines are ignored.
//    The prefix length comes from the Assignment's number of hex digits (6 → 24 bits, 7 → 28,
//    9 → 36), so the Registry column is not interpreted. The organisation name is trimmed and its
//    internal runs of white space collapse to one ASCII space: ASCII white space and control
//    characters (line breaks, tabs) and the Unicode spaces the files contain (no-break, en,
//    ideographic); zero-width spaces, direction marks and BOMs are dropped. A row that does not
//    parse (fewer than three fields, an Assignment that is not 6, 7 or 9 hex digits, an empty name,
//    an unterminated quote) is skipped and counted in skipped_rows(). A second row for a prefix
//    already known (same bits, same length) is dropped and counted in duplicate_rows(): the first
//    one added wins, within a file and across add_csv() calls.
//  - Storage is compact: one sorted std::vector<uint64_t> per prefix length, each entry packing
//    (prefix << 28 | name id); names are deduplicated into one string pool addressed by a vector
//    of offsets. About 8 bytes per assignment plus the distinct names (~1.1 MB for the ~46,500
//    assignments of the 2022 files, 29,600 distinct names). Every add_csv() leaves the structure
//    sorted and ready: there is no separate finalize step.
//  - lookup() returns the name of the longest matching prefix (an MA-S inside an MA-L block gives
//    the MA-S holder): one binary search per prefix length present, longest first, so
//    O(log n), no allocation. A locally administered address (bit 0x02 of the first octet: VMs,
//    containers, randomised Wi-Fi addresses) is not an IEEE assignment and always gives "";
//    unknown prefixes give "" as well. Group addresses are looked up as they are (the registry
//    assigns no prefix with the I/G bit set except two "Private" rows, so they give "").
//
// Not for: telling who made a device (the OUI names whoever registered the block: a VM's MAC
// names the hypervisor vendor, a NIC's the chip maker); anything security-relevant (source MACs are
// trivially forged); the registry's addresses (not kept). Names are the registry's text, not
// validated as UTF-8: escape them wherever the output format needs it.
//
// Thread-safety: none of its own. Once built (no more add_csv()), lookup() and the accessors are
// const and touch no shared mutable state, so any number of threads may call them concurrently.
// A view returned by lookup() stays valid until the next add_csv() or the destruction of the db.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cam/types.h"

namespace camwatch::cam {

class VendorDb {
 public:
  VendorDb() = default;

  // Parses one registry file's text and merges its rows into the db (see above).
  void add_csv(std::string_view csv_text);

  // The organisation holding the longest prefix of `mac`, or "" (unknown, locally administered).
  std::string_view lookup(const MacAddress& mac) const;

  // Assignments held (after dropping duplicates).
  std::size_t size() const;
  bool empty() const { return size() == 0; }
  // Rows that did not parse, over all add_csv() calls (header rows and blank lines excluded).
  std::size_t skipped_rows() const { return skipped_rows_; }
  // Rows dropped because an earlier row had the same prefix and length.
  std::size_t duplicate_rows() const { return duplicate_rows_; }
  // Heap bytes held by the tables and the name pool (capacities), plus the object itself.
  std::size_t memory_bytes() const;

 private:
  // Prefix lengths in bits, longest first: the order lookup() tries them in.
  static constexpr int kPrefixBits[3] = {36, 28, 24};
  static constexpr int kNameIdBits = 28;  // 36 + 28 = 64: a 36-bit prefix and a name id in one word
  static constexpr std::uint64_t kNameIdMask = (std::uint64_t{1} << kNameIdBits) - 1;

  std::string_view name(std::uint32_t id) const;

  // tables_[i]: sorted by prefix, prefixes unique, for kPrefixBits[i]; entry = prefix << 28 | id.
  std::vector<std::uint64_t> tables_[3];
  std::string pool_;                        // all distinct names, back to back
  std::vector<std::uint32_t> name_offsets_;  // name id i is pool_[offsets[i], offsets[i + 1])
  std::size_t skipped_rows_ = 0;
  std::size_t duplicate_rows_ = 0;
};

}  // namespace camwatch::cam
