// Failover stories and NLB hosts in words, for people: the replay summary, `camwatch table` and
// the daemon's log. One story reads in a few seconds:
//
//   FAILOVER vmnic2 -> vmnic3 at 2012-08-30 05:42:07 UTC: vmnic2 stopped sending (last frame 05:42:06.559)
//     14 stations moved within 0.5 s: 12 announced (12 rarp), 2 SILENT
//     silent: 02:01:0a:00:14:64 vlan 0 NLB host 1 of cluster 10.0.20.100, dark 1.000 s
//             02:02:0a:00:14:64 vlan 0 NLB host 2 of cluster 10.0.20.100, dark 1.000 s
//
// Not for: machines (they read the JSON event). Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "cam/failover.h"
#include "cam/nlb.h"

namespace camwatch::exporters {

// The story's lines without trailing newlines. At most `max_silent` silent stations are listed
// (then "... and N more").
std::vector<std::string> describe_story(const cam::FailoverStory& story, const std::vector<std::string>& uplink_names,
                                        std::size_t max_silent = 10);

// One line per NLB host: "02:01:0a:00:14:64 vlan 0  NLB host 1 of cluster 10.0.20.100 (dedicated
// 10.0.20.11), unicast mode, on vmnic2 since 2012-08-30 05:40:00 UTC".
std::string describe_nlb_host(const cam::NlbHost& host, const std::vector<std::string>& uplink_names);

// "2012-08-30 05:42:07 UTC" and "05:42:06.559".
std::string utc_clock(cam::PacketTime t);
std::string utc_time_of_day_millis(cam::PacketTime t);

}  // namespace camwatch::exporters
