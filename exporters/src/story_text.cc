#include "exporters/story_text.h"

#include <cstdio>

namespace camwatch::exporters {
namespace {

std::string name_of(const std::vector<std::string>& names, cam::UplinkId id) {
  return id < names.size() ? names[id] : "?";
}

double seconds(cam::Duration d) { return std::chrono::duration<double>(d).count(); }

std::string printf_string(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string nlb_words(cam::NlbMode mode, std::uint8_t host_id, std::uint32_t cluster_ip) {
  if (mode == cam::NlbMode::none) return "";
  std::string out = " NLB host";
  if (host_id != 0) out += " " + std::to_string(host_id);
  if (cluster_ip != 0) out += " of cluster " + cam::IpAddress::v4(cluster_ip).to_string();
  return out;
}

}  // namespace

std::string utc_clock(cam::PacketTime t) {
  const std::string full = cam::format_rfc3339_micros(t);  // 2012-08-30T05:42:07.559886Z
  return full.substr(0, 10) + " " + full.substr(11, 8) + " UTC";
}

std::string utc_time_of_day_millis(cam::PacketTime t) {
  return cam::format_rfc3339_micros(t).substr(11, 12);  // 05:42:06.559
}

std::vector<std::string> describe_story(const cam::FailoverStory& s, const std::vector<std::string>& names,
                                        std::size_t max_silent) {
  std::vector<std::string> lines;
  const std::string from = name_of(names, s.from), to = name_of(names, s.to);
  std::string head = std::string(s.cause == cam::FailoverCause::failback ? "FAILBACK " : "FAILOVER ") + from + " -> " +
                     to + " at " + utc_clock(s.started) + ": ";
  switch (s.cause) {
    case cam::FailoverCause::link_down:
      head += from + " went down at " + utc_time_of_day_millis(s.link_down_at);
      break;
    case cam::FailoverCause::traffic_stopped:
      head += from + " stopped sending (last frame " + utc_time_of_day_millis(s.last_frame_on_from) + ")";
      break;
    case cam::FailoverCause::failback:
      head += "back from the failover of " + utc_clock(s.failback_of);
      break;
  }
  lines.push_back(head);

  std::string counts = "  " + std::to_string(s.moved) + (s.moved == 1 ? " station moved" : " stations moved") +
                       " within " + printf_string("%.1f", seconds(s.ended - s.started)) + " s: " +
                       std::to_string(s.announced) + " announced";
  std::uint32_t by_kind[cam::kNotificationKinds] = {};
  for (const cam::FailoverStation& m : s.stations) {
    if (m.outcome == cam::EventKind::announced_move) ++by_kind[static_cast<int>(m.notification)];
  }
  std::string kinds;
  for (int k = 1; k < cam::kNotificationKinds; ++k) {
    if (by_kind[k] == 0) continue;
    kinds += (kinds.empty() ? "" : ", ") + std::to_string(by_kind[k]) + " " +
             cam::to_string(static_cast<cam::Notification>(k));
  }
  if (!kinds.empty()) counts += " (" + kinds + ")";
  counts += ", " + std::to_string(s.silent) + (s.silent > 0 ? " SILENT" : " silent");
  if (s.flapping > 0) counts += ", " + std::to_string(s.flapping) + " flapping";
  if (s.silent > 0) {
    counts += "; longest blackout " + printf_string("%.3f", seconds(s.longest_blackout)) + " s";
  }
  lines.push_back(counts);

  std::size_t listed = 0, silent_kept = 0;
  for (const cam::FailoverStation& m : s.stations) {
    if (m.outcome != cam::EventKind::silent_move) continue;
    ++silent_kept;
    if (listed == max_silent) continue;
    std::string line = listed == 0 ? "  silent: " : "          ";
    line += m.station.mac.to_string() + " vlan " + std::to_string(m.station.vlan) +
            nlb_words(m.nlb_mode, m.nlb_host_id, m.nlb_cluster_ip) + ", dark " +
            printf_string("%.3f", seconds(m.blackout())) + " s";
    if (m.to != s.to) line += " (to " + name_of(names, m.to) + ")";
    lines.push_back(line);
    ++listed;
  }
  // Silent stations beyond max_silent, or that the story did not keep (cam::kMaxStoryStations,
  // or a saved story's first 256): counted, never hidden.
  const std::size_t unlisted = s.silent > listed ? s.silent - listed : 0;
  if (unlisted > 0) {
    lines.push_back(std::string(listed > 0 ? "          ... and " : "  silent: ") + std::to_string(unlisted) +
                    (listed > 0 ? " more" : " stations, not listed (the story keeps a bounded number; " +
                                               std::to_string(unlisted) + " more)"));
  }
  (void)silent_kept;
  return lines;
}

std::string describe_nlb_host(const cam::NlbHost& h, const std::vector<std::string>& names) {
  std::string line = h.station.mac.to_string() + " vlan " + std::to_string(h.station.vlan) + " " +
                     nlb_words(h.mode, h.host_id, h.cluster_ip).substr(1);
  if (h.dedicated_ip != 0) line += " (dedicated " + cam::IpAddress::v4(h.dedicated_ip).to_string() + ")";
  line += std::string(", ") + cam::to_string(h.mode) + " mode, on " + name_of(names, h.uplink) + " since " +
          utc_clock(h.first_seen);
  return line;
}

}  // namespace camwatch::exporters
