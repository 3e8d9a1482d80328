#include "exporters/json_event_writer.h"

#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "cam/failover.h"

namespace camwatch::exporters {
namespace {

// Uplink names are validated by the config loader and the CLI, but a JSON writer must be safe
// for any bytes it is given.
void append_json_string(std::string& out, const std::string& text) {
  out.push_back('"');
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void append_key(std::string& out, const char* key) {
  out.push_back(',');
  out.push_back('"');
  out += key;
  out += "\":";
}

const std::string& uplink_name(const std::vector<std::string>& names, cam::UplinkId id) {
  static const std::string unknown = "?";
  return id < names.size() ? names[id] : unknown;
}

std::string time_text(cam::PacketTime t) { return '"' + cam::format_rfc3339_micros(t) + '"'; }

std::string seconds_value(cam::Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", std::chrono::duration<double>(d).count());
  return buf;
}

// The failover story: who left which uplink, why, and every silent station's blackout.
void append_failover(std::string& out, const cam::Event& e, const std::vector<std::string>& names) {
  if (!e.story) return;
  const cam::FailoverStory& s = *e.story;
  append_key(out, "from");
  append_json_string(out, uplink_name(names, s.from));
  append_key(out, "to");
  append_json_string(out, uplink_name(names, s.to));
  append_key(out, "cause");
  append_json_string(out, cam::to_string(s.cause));
  append_key(out, "started");
  out += time_text(s.started);
  append_key(out, "ended");
  out += time_text(s.ended);
  switch (s.cause) {
    case cam::FailoverCause::link_down:
      append_key(out, "link_down_at");
      out += time_text(s.link_down_at);
      break;
    case cam::FailoverCause::traffic_stopped:
      append_key(out, "last_frame_on_from");
      out += time_text(s.last_frame_on_from);
      break;
    case cam::FailoverCause::failback:
      append_key(out, "failback_of");
      out += time_text(s.failback_of);
      break;
  }
  append_key(out, "stations");
  out += std::to_string(s.moved);
  append_key(out, "announced");
  out += std::to_string(s.announced);
  append_key(out, "silent");
  out += std::to_string(s.silent);
  append_key(out, "flapping");
  out += std::to_string(s.flapping);
  append_key(out, "nlb_hosts");
  out += std::to_string(s.nlb_hosts);
  append_key(out, "longest_blackout_seconds");
  out += seconds_value(s.longest_blackout);
  append_key(out, "silent_stations");
  out.push_back('[');
  std::size_t listed = 0;
  for (const cam::FailoverStation& m : s.stations) {
    if (m.outcome != cam::EventKind::silent_move) continue;
    if (listed++ != 0) out.push_back(',');
    out += "{\"mac\":";
    append_json_string(out, m.station.mac.to_string());
    out += ",\"vlan\":" + std::to_string(m.station.vlan);
    append_key(out, "to");
    append_json_string(out, uplink_name(names, m.to));
    append_key(out, "moved");
    out += time_text(m.moved);
    append_key(out, "blackout_seconds");
    out += seconds_value(m.blackout());
    if (m.nlb_mode != cam::NlbMode::none) {
      append_key(out, "nlb_mode");
      append_json_string(out, cam::to_string(m.nlb_mode));
      if (m.nlb_cluster_ip != 0) {
        append_key(out, "nlb_cluster");
        append_json_string(out, cam::IpAddress::v4(m.nlb_cluster_ip).to_string());
      }
      if (m.nlb_host_id != 0) {
        append_key(out, "nlb_host");
        out += std::to_string(m.nlb_host_id);
      }
    }
    out.push_back('}');
  }
  out.push_back(']');
  // Silent members beyond what the story keeps (cam::kMaxStoryStations) are counted only.
  if (s.silent > listed) {
    append_key(out, "silent_stations_omitted");
    out += std::to_string(s.silent - listed);
  }
}

std::string seconds_text(cam::Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace

std::string format_event_json(const cam::Event& e, const std::vector<std::string>& uplink_names,
                              const cam::TrackerConfig& config, const cam::VendorDb* vendors) {
  std::string out;
  out.reserve(256);
  out += "{\"event\":\"";
  out += cam::to_string(e.kind);
  out += "\",\"time\":\"";
  out += cam::format_rfc3339_micros(e.time);
  out += "\",\"mac\":\"";
  out += e.station.mac.to_string();
  out += "\",\"vlan\":";
  out += std::to_string(e.station.vlan);

  switch (e.kind) {
    case cam::EventKind::silent_move:
    case cam::EventKind::announced_move:
    case cam::EventKind::flap:
      append_key(out, "from");
      append_json_string(out, uplink_name(uplink_names, e.from));
      append_key(out, "to");
      append_json_string(out, uplink_name(uplink_names, e.to));
      append_key(out, "last_seen_on_from");
      out += '"' + cam::format_rfc3339_micros(e.last_seen_on_from) + '"';
      break;
    case cam::EventKind::uplink_down:
    case cam::EventKind::uplink_up:
      append_key(out, "uplink");
      append_json_string(out, uplink_name(uplink_names, e.to));
      break;
    case cam::EventKind::table_full:
      append_key(out, "uplink");
      append_json_string(out, uplink_name(uplink_names, e.to));
      append_key(out, "entries");
      out += std::to_string(e.table_entries);
      append_key(out, "max_entries");
      out += std::to_string(config.max_entries);
      break;
    case cam::EventKind::nlb_unicast_host:
      append_key(out, "uplink");
      append_json_string(out, uplink_name(uplink_names, e.to));
      break;
    case cam::EventKind::new_binding:
    case cam::EventKind::changed_mac:
    case cam::EventKind::flip_flop:
    case cam::EventKind::ip_conflict:
      append_key(out, "ip");
      append_json_string(out, e.ip.to_string());
      if (e.kind != cam::EventKind::new_binding) {
        append_key(out, e.kind == cam::EventKind::ip_conflict ? "other_mac" : "old_mac");
        append_json_string(out, e.other_mac.to_string());
      }
      append_key(out, "uplink");
      append_json_string(out, uplink_name(uplink_names, e.to));
      append_key(out, "claim");
      append_json_string(out, cam::to_string(e.claim));
      append_key(out, "suppressed");
      out += std::to_string(e.suppressed);
      break;
    case cam::EventKind::failover:
      append_failover(out, e, uplink_names);
      break;
  }
  if (vendors != nullptr) {
    switch (e.kind) {
      case cam::EventKind::silent_move:
      case cam::EventKind::announced_move:
      case cam::EventKind::flap:
      case cam::EventKind::nlb_unicast_host:
      case cam::EventKind::new_binding:
      case cam::EventKind::changed_mac:
      case cam::EventKind::flip_flop:
      case cam::EventKind::ip_conflict:
        if (const std::string_view vendor = vendors->lookup(e.station.mac); !vendor.empty()) {
          append_key(out, "vendor");
          append_json_string(out, std::string(vendor));
        }
        break;
      default: break;
    }
  }
  if (e.nlb_mode != cam::NlbMode::none) {
    append_key(out, "nlb_mode");
    append_json_string(out, cam::to_string(e.nlb_mode));
    if (e.nlb_cluster_ip != 0) {
      append_key(out, "nlb_cluster");
      append_json_string(out, cam::IpAddress::v4(e.nlb_cluster_ip).to_string());
    }
    if (e.nlb_host_id != 0) {
      append_key(out, "nlb_host");
      out += std::to_string(e.nlb_host_id);
    }
    if (e.nlb_dedicated_ip != 0) {
      append_key(out, "nlb_dedicated_ip");
      append_json_string(out, cam::IpAddress::v4(e.nlb_dedicated_ip).to_string());
    }
  }
  if (e.failed_uplink != cam::kNoUplink) {
    append_key(out, "failed_uplink");
    append_json_string(out, uplink_name(uplink_names, e.failed_uplink));
  }
  if (e.kind == cam::EventKind::announced_move) {
    append_key(out, "notification");
    out += '"';
    out += cam::to_string(e.notification);
    out += '"';
    append_key(out, "notification_time");
    out += '"' + cam::format_rfc3339_micros(e.notification_time) + '"';
  }
  if (e.kind == cam::EventKind::flap) {
    append_key(out, "moves");
    out += std::to_string(e.moves_in_window);
    append_key(out, "window_seconds");
    out += seconds_text(config.flap_window);
    append_key(out, "damped_seconds");
    out += seconds_text(config.flap_damping);
  }
  out.push_back('}');
  return out;
}

JsonEventWriter::JsonEventWriter(int fd, std::vector<std::string> uplink_names, cam::TrackerConfig config,
                                 std::size_t backlog_limit)
    : fd_(fd), uplink_names_(std::move(uplink_names)), config_(config), backlog_limit_(backlog_limit) {}

void JsonEventWriter::on_event(const cam::Event& event) {
  if (vendor_loader_) [[unlikely]] {
    vendors_ = vendor_loader_();
    vendor_loader_ = nullptr;
  }
  std::string line = format_event_json(event, uplink_names_, config_, vendors_);
  line.push_back('\n');
  // Older events first: a new one never overtakes those still held.
  if (!held_.empty() && !retry()) {
    ++failures_;
    hold(std::move(line), 0);
    return;
  }
  std::size_t from = 0;
  if (write_line(line, from)) {
    ++written_;
    return;
  }
  ++failures_;
  hold(std::move(line), from);
}

bool JsonEventWriter::retry() {
  while (!held_.empty()) {
    std::size_t from = head_written_;
    if (!write_line(held_.front(), from)) {
      head_written_ = from;
      return false;
    }
    held_.pop_front();
    head_written_ = 0;
    ++written_;
  }
  return true;
}

// One write(2) per line: with O_APPEND the line lands whole, even with other appenders. Writes
// line[from..] and advances `from`; on failure a line begun by this call is taken back if the
// output allows it (from is then 0 again).
bool JsonEventWriter::write_line(const std::string& line, std::size_t& from) {
  const std::size_t start = from;
  while (from < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + from, line.size() - from);
    if (n > 0) {
      from += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    last_errno_ = n < 0 ? errno : EIO;  // 0 bytes for a non-empty write: never spin on it
    if (start == 0 && from > 0 && take_back(from)) from = 0;
    return false;
  }
  return true;
}

// A full disk accepts the bytes up to its last free block and refuses the rest: cut them off
// again so the file ends with a whole line. Only seekable outputs (files) can; the offset after
// a write is the end of what it wrote, O_APPEND or not.
bool JsonEventWriter::take_back(std::size_t bytes) {
  const off_t end = ::lseek(fd_, 0, SEEK_CUR);
  if (end < 0 || static_cast<std::uint64_t>(end) < bytes) return false;  // a pipe, a terminal
  const off_t line_start = end - static_cast<off_t>(bytes);
  if (::ftruncate(fd_, line_start) != 0) return false;
  // Without O_APPEND (stdout redirected with >) the next write would otherwise leave a hole.
  ::lseek(fd_, line_start, SEEK_SET);
  return true;
}

// `written` bytes of the line are out and could not be taken back (a pipe): the rest must follow
// before anything else, so that line is held even beyond the limit.
void JsonEventWriter::hold(std::string line, std::size_t written) {
  if (held_.size() >= backlog_limit_ && written == 0) {
    ++dropped_;
    return;
  }
  if (held_.empty()) head_written_ = written;
  held_.push_back(std::move(line));
}

}  // namespace camwatch::exporters
