// The learned table for people: what `camwatch table` prints.
//
// The stations come from the running daemon (its control socket answers with the table in the
// state file format) or from a state file, so both paths print through format_table(). Rows are
// filtered (uplink, VLAN, moved only), sorted (by default the most recent move first: what
// matters during an incident), and printed as an aligned text table or as JSON Lines. The text
// table ends with the latest failover stories in words. The same data also shows the address
// bindings (TableView::bindings) or every saved failover story (TableView::failovers).
//
// Times are UTC. first seen, last move and last notification are kept to the second by the
// tracker; last seen to the microsecond.
//
// Thread-safety: plain functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "daemon/state_file.h"

namespace camwatch::cam {
class VendorDb;
}

namespace camwatch::daemon {

enum class TableSort : std::uint8_t { last_move, last_seen, first_seen, mac, vlan, uplink };
enum class TableView : std::uint8_t { stations, bindings, failovers };

struct TableOptions {
  TableView view = TableView::stations;
  TableSort sort = TableSort::last_move;
  std::optional<std::string> uplink;  // only stations on this uplink
  std::optional<std::uint16_t> vlan;  // only stations on this VLAN
  bool moved_only = false;            // only stations that moved at least once
  std::size_t limit = 0;              // at most this many rows; 0 = all
  bool json = false;                  // JSON Lines instead of the text table
};

// Parses a --sort value ("last-move", "last-seen", "first-seen", "mac", "vlan", "uplink").
std::optional<TableSort> parse_table_sort(const std::string& text);

// The rows of `state` as `options` asks. `vendors` may be null (no vendor column values).
// The text form ends with a summary line ("3 of 120 stations shown; table as of ...").
std::string format_table(const SavedState& state, const TableOptions& options, const cam::VendorDb* vendors);

}  // namespace camwatch::daemon
