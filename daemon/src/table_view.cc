#include "daemon/table_view.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string_view>
#include <tuple>
#include <vector>

#include "cam/vendor_db.h"
#include "exporters/story_text.h"

namespace camwatch::daemon {
namespace {

bool never(cam::PacketTime t) { return t == cam::PacketTime{}; }

// "2026-11-25 10:00:01" (UTC), or "-" for none.
std::string human_time(cam::PacketTime t) {
  if (never(t)) return "-";
  const std::time_t s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string json_time(cam::PacketTime t) { return never(t) ? "null" : "\"" + cam::format_rfc3339_micros(t) + "\""; }

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Display width of UTF-8 text, counting code points (vendor names hold a few accents).
std::size_t width(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string fit(std::string_view s, std::size_t cols) {
  std::string out;
  std::size_t w = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if ((u & 0xC0) != 0x80) {
      if (w == cols) break;
      ++w;
    }
    out += s[i];
  }
  if (width(s) > cols && cols > 0) {
    // Cut one more code point for the ellipsis.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty()) out.pop_back();
    out += "\u2026";
    w = cols;
  }
  out.append(cols - std::min(cols, w), ' ');
  return out;
}

}  // namespace

std::optional<TableSort> parse_table_sort(const std::string& text) {
  if (text == "last-move") return TableSort::last_move;
  if (text == "last-seen") return TableSort::last_seen;
  if (text == "first-seen") return TableSort::first_seen;
  if (text == "mac") return TableSort::mac;
  if (text == "vlan") return TableSort::vlan;
  if (text == "uplink") return TableSort::uplink;
  return std::nullopt;
}

namespace {

// How many stories the stations view tells after the table (the failovers view tells all).
constexpr std::size_t kStoriesAfterTable = 3;

std::string story_json(const cam::FailoverStory& st, const std::vector<std::string>& names) {
  const auto name = [&](cam::UplinkId id) { return id < names.size() ? json_string(names[id]) : std::string("null"); };
  std::string out = "{\"from\":" + name(st.from) + ",\"to\":" + name(st.to) + ",\"cause\":\"" +
                    cam::to_string(st.cause) + "\",\"started\":" + json_time(st.started) +
                    ",\"ended\":" + json_time(st.ended) + ",\"closed\":" + json_time(st.closed) +
                    ",\"stations\":" + std::to_string(st.moved) + ",\"announced\":" + std::to_string(st.announced) +
                    ",\"silent\":" + std::to_string(st.silent) + ",\"flapping\":" + std::to_string(st.flapping) +
                    ",\"nlb_hosts\":" + std::to_string(st.nlb_hosts) + ",\"silent_stations\":[";
  std::uint32_t listed = 0;
  for (const cam::FailoverStation& m : st.stations) {
    if (m.outcome != cam::EventKind::silent_move) continue;
    char blackout[32];
    std::snprintf(blackout, sizeof blackout, "%.6f", std::chrono::duration<double>(m.blackout()).count());
    out += std::string(listed == 0 ? "" : ",") + "{\"mac\":\"" + m.station.mac.to_string() +
           "\",\"vlan\":" + std::to_string(m.station.vlan) + ",\"blackout_seconds\":" + blackout + "}";
    ++listed;
  }
  out += "]";
  // As in the failover event: silent stations the story did not keep are counted.
  if (st.silent > listed) out += ",\"silent_stations_omitted\":" + std::to_string(st.silent - listed);
  return out + "}\n";
}

std::string format_failovers(const SavedState& state, const TableOptions& o, std::size_t newest) {
  std::string out;
  const std::size_t n = state.stories.size();
  const std::size_t from = newest == 0 || newest >= n ? 0 : n - newest;
  for (std::size_t i = from; i < n; ++i) {
    const cam::FailoverStory& st = *state.stories[i];
    if (o.json) {
      out += story_json(st, state.uplink_names);
      continue;
    }
    for (const std::string& line : exporters::describe_story(st, state.uplink_names)) out += line + "\n";
  }
  return out;
}

std::string format_bindings(const SavedState& state, const TableOptions& o, const cam::VendorDb* vendors) {
  std::vector<const SavedBinding*> rows;
  for (const SavedBinding& b : state.bindings) {
    if (o.uplink && b.uplink != *o.uplink) continue;
    if (o.vlan && b.view.vlan != *o.vlan) continue;
    if (o.moved_only && b.view.previous_mac.is_zero()) continue;  // "moved": the address changed hands
    rows.push_back(&b);
  }
  std::sort(rows.begin(), rows.end(), [&](const SavedBinding* a, const SavedBinding* b) {
    switch (o.sort) {
      case TableSort::last_seen:
        if (a->view.last_seen != b->view.last_seen) return a->view.last_seen > b->view.last_seen;
        break;
      case TableSort::first_seen:
      case TableSort::last_move:  // for addresses: the latest change of owner first
        if (a->view.since != b->view.since) return a->view.since > b->view.since;
        break;
      case TableSort::mac:
        if (a->view.mac != b->view.mac) return a->view.mac < b->view.mac;
        break;
      case TableSort::uplink:
        if (a->uplink != b->uplink) return a->uplink < b->uplink;
        break;
      case TableSort::vlan: break;
    }
    return std::tie(a->view.vlan, a->view.ip) < std::tie(b->view.vlan, b->view.ip);
  });
  const std::size_t shown = o.limit == 0 ? rows.size() : std::min(rows.size(), o.limit);
  const auto vendor_of = [&](const SavedBinding& b) -> std::string_view {
    return vendors != nullptr ? vendors->lookup(b.view.mac) : std::string_view{};
  };
  std::string out;
  if (o.json) {
    for (std::size_t i = 0; i < shown; ++i) {
      const SavedBinding& b = *rows[i];
      const std::string_view vendor = vendor_of(b);
      out += "{\"ip\":\"" + b.view.ip.to_string() + "\",\"vlan\":" + std::to_string(b.view.vlan) + ",\"mac\":\"" +
             b.view.mac.to_string() + "\",\"vendor\":" + (vendor.empty() ? "null" : json_string(vendor)) +
             ",\"uplink\":" + (b.uplink.empty() ? "null" : json_string(b.uplink)) + ",\"since\":" + json_time(b.view.since) +
             ",\"last_claim\":" + json_time(b.view.last_seen) + ",\"claim\":\"" + cam::to_string(b.view.claim) +
             "\",\"previous_mac\":" +
             (b.view.previous_mac.is_zero() ? "null" : "\"" + b.view.previous_mac.to_string() + "\"") +
             ",\"established\":" + (b.view.established ? "true" : "false") + "}\n";
    }
    return out;
  }
  std::size_t ip_cols = 15;
  for (std::size_t i = 0; i < shown; ++i) ip_cols = std::max(ip_cols, rows[i]->view.ip.to_string().size());
  const auto line = [&](const std::string& vlan, const std::string& ip, const std::string& mac, std::string_view vendor,
                        const std::string& uplink, const std::string& since, const std::string& last,
                        const std::string& claim, const std::string& previous) {
    char head[32];
    std::snprintf(head, sizeof head, "%4s  ", vlan.c_str());
    std::string l = head + fit(ip, ip_cols) + "  " + fit(mac, 17) + "  " + fit(vendor, 22) + "  " + fit(uplink, 8) + "  ";
    char tail[200];
    std::snprintf(tail, sizeof tail, "%-19s  %-19s  %-28s  %s", since.c_str(), last.c_str(), claim.c_str(), previous.c_str());
    l += tail;
    while (!l.empty() && l.back() == ' ') l.pop_back();
    return l + "\n";
  };
  out += line("VLAN", "IP", "MAC", "VENDOR", "UPLINK", "OWNER SINCE (UTC)", "LAST CLAIM", "CLAIM", "PREVIOUS MAC");
  for (std::size_t i = 0; i < shown; ++i) {
    const SavedBinding& b = *rows[i];
    out += line(std::to_string(b.view.vlan), b.view.ip.to_string(), b.view.mac.to_string(), vendor_of(b),
                b.uplink.empty() ? "-" : b.uplink, human_time(b.view.since), human_time(b.view.last_seen),
                cam::to_string(b.view.claim), b.view.previous_mac.is_zero() ? "-" : b.view.previous_mac.to_string());
  }
  out += std::to_string(shown) + " of " + std::to_string(state.bindings.size()) + " address bindings shown";
  if (!never(state.saved_at)) out += "; as of " + human_time(state.saved_at) + " UTC (packet time)";
  return out + "\n";
}

}  // namespace

std::string format_table(const SavedState& state, const TableOptions& o, const cam::VendorDb* vendors) {
  if (o.view == TableView::bindings) return format_bindings(state, o, vendors);
  if (o.view == TableView::failovers) {
    std::string out = format_failovers(state, o, 0);
    if (!o.json && out.empty()) out = "no failover stories saved\n";
    return out;
  }
  std::vector<const SavedStation*> rows;
  rows.reserve(state.stations.size());
  for (const SavedStation& s : state.stations) {
    if (o.uplink && s.uplink != *o.uplink) continue;
    if (o.vlan && s.key.vlan != *o.vlan) continue;
    if (o.moved_only && s.moves == 0) continue;
    rows.push_back(&s);
  }
  // Ties (and stations that never moved) fall back to VLAN then MAC, so output is stable.
  const auto by_key = [](const SavedStation* a, const SavedStation* b) { return a->key.packed() < b->key.packed(); };
  const auto newest_first = [&](cam::PacketTime SavedStation::*field) {
    return [field, by_key](const SavedStation* a, const SavedStation* b) {
      if (a->*field != b->*field) return a->*field > b->*field;
      return by_key(a, b);
    };
  };
  switch (o.sort) {
    case TableSort::last_move: std::sort(rows.begin(), rows.end(), newest_first(&SavedStation::last_move)); break;
    case TableSort::last_seen: std::sort(rows.begin(), rows.end(), newest_first(&SavedStation::last_seen)); break;
    case TableSort::first_seen: std::sort(rows.begin(), rows.end(), newest_first(&SavedStation::first_seen)); break;
    case TableSort::mac:
      std::sort(rows.begin(), rows.end(), [&](const SavedStation* a, const SavedStation* b) {
        return a->key.mac != b->key.mac ? a->key.mac < b->key.mac : a->key.vlan < b->key.vlan;
      });
      break;
    case TableSort::vlan: std::sort(rows.begin(), rows.end(), by_key); break;
    case TableSort::uplink:
      std::sort(rows.begin(), rows.end(), [&](const SavedStation* a, const SavedStation* b) {
        return a->uplink != b->uplink ? a->uplink < b->uplink : by_key(a, b);
      });
      break;
  }
  const std::size_t shown = o.limit == 0 ? rows.size() : std::min(rows.size(), o.limit);

  std::string out;
  const auto vendor_of = [&](const SavedStation& s) -> std::string_view {
    return vendors != nullptr ? vendors->lookup(s.key.mac) : std::string_view{};
  };
  if (o.json) {
    for (std::size_t i = 0; i < shown; ++i) {
      const SavedStation& s = *rows[i];
      const std::string_view vendor = vendor_of(s);
      out += "{\"mac\":\"" + s.key.mac.to_string() + "\",\"vlan\":" + std::to_string(s.key.vlan) +
             ",\"uplink\":" + json_string(s.uplink) + ",\"vendor\":" + (vendor.empty() ? "null" : json_string(vendor)) +
             ",\"first_seen\":" + json_time(s.first_seen) + ",\"last_seen\":" + json_time(s.last_seen) +
             ",\"moves\":" + std::to_string(s.moves) + ",\"last_move\":" + json_time(s.last_move) +
             ",\"last_notification\":" + json_time(s.last_notification) + ",\"notification\":" +
             (s.notification == cam::Notification::none ? "null" : "\"" + std::string(cam::to_string(s.notification)) + "\"") +
             ",\"nlb_host\":" + (s.nlb_host ? "true" : "false") + "}\n";
    }
    return out;
  }

  std::size_t uplink_cols = 6;
  for (std::size_t i = 0; i < shown; ++i) uplink_cols = std::max(uplink_cols, width(rows[i]->uplink));
  constexpr std::size_t kVendorCols = 22;
  const auto line = [&](const std::string& vlan, const std::string& mac, const std::string& uplink,
                        std::string_view vendor, const std::string& first, const std::string& last,
                        const std::string& moves, const std::string& moved, const std::string& notified,
                        const std::string& nlb) {
    char head[32];
    std::snprintf(head, sizeof head, "%4s  %-17s  ", vlan.c_str(), mac.c_str());
    std::string l = head + fit(uplink, uplink_cols) + "  " + fit(vendor, kVendorCols) + "  ";
    char tail[160];
    std::snprintf(tail, sizeof tail, "%-19s  %-19s  %5s  %-19s  %-29s  %s", first.c_str(), last.c_str(), moves.c_str(),
                  moved.c_str(), notified.c_str(), nlb.c_str());
    l += tail;
    while (!l.empty() && l.back() == ' ') l.pop_back();
    return l + "\n";
  };
  out += line("VLAN", "MAC", "UPLINK", "VENDOR", "FIRST SEEN (UTC)", "LAST SEEN", "MOVES", "LAST MOVE",
              "LAST NOTIFICATION", "NLB");
  for (std::size_t i = 0; i < shown; ++i) {
    const SavedStation& s = *rows[i];
    const std::string notified = s.notification == cam::Notification::none || never(s.last_notification)
                                     ? "-"
                                     : human_time(s.last_notification) + " " + cam::to_string(s.notification);
    out += line(std::to_string(s.key.vlan), s.key.mac.to_string(), s.uplink, vendor_of(s), human_time(s.first_seen),
                human_time(s.last_seen), std::to_string(s.moves), human_time(s.last_move), notified,
                s.nlb_host ? "yes" : "");
  }
  out += std::to_string(shown) + " of " + std::to_string(state.stations.size()) + " stations shown";
  if (!never(state.saved_at)) out += "; table as of " + human_time(state.saved_at) + " UTC (packet time)";
  out += "\n";
  if (!state.stories.empty()) {
    out += "\nLatest failovers";
    if (state.stories.size() > kStoriesAfterTable) {
      out += " (" + std::to_string(kStoriesAfterTable) + " of " + std::to_string(state.stories.size()) +
             ": camwatch table --failovers for all)";
    }
    out += ":\n" + format_failovers(state, o, kStoriesAfterTable);
  }
  return out;
}

}  // namespace camwatch::daemon
