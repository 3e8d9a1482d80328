// Vendor names from the IEEE registry files installed on the system.
//
// Where the data comes from: Debian's (and Ubuntu's) `ieee-data` package installs the IEEE
// Registration Authority's public listings in /usr/share/ieee-data/: oui.csv (MA-L, 24-bit
// prefixes), mam.csv (MA-M, 28 bits), oui36.csv (MA-S, 36 bits) and iab.csv (the older IAB, 36
// bits). The package (and `update-ieee-data`) keep them current; camwatch ships no copy of its own.
//
// load_vendor_db() reads those four files from `directory`, in that order (for a prefix listed
// twice the first row read wins, see cam/vendor_db.h), and parses them with cam::VendorDb.
//
// When the data is missing: a missing directory, a missing file, a file that cannot be opened or
// read, that is not a regular file or that is larger than 64 MiB is skipped silently — no
// exception, no log line. With nothing readable the result is an empty db, and the user simply
// gets no vendor names (lookup() returns ""). An empty `directory` loads nothing (it is not
// taken as "/"). Rows that do not parse are counted in the db's skipped_rows(); the caller may
// report that and size() if it wants to.
//
// Not for: reloading on change (call it again and swap the db); other directory layouts or the
// registry's .txt files.
//
// Thread-safety: a plain function with no shared state; it reads the files once, a few MB, in
// tens of milliseconds: call it at start-up, not on a hot path.
#pragma once

#include <string>

#include "cam/vendor_db.h"

namespace camwatch::daemon {

cam::VendorDb load_vendor_db(const std::string& directory = "/usr/share/ieee-data");

}  // namespace camwatch::daemon
