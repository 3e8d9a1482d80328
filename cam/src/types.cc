#include "cam/types.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <ctime>

#include "cam/event.h"
#include "cam/failover.h"

namespace camwatch::cam {

std::string MacAddress::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(17, ':');
  auto o = octets();
  for (int i = 0; i < 6; ++i) {
    out[static_cast<std::size_t>(3 * i)] = kHex[o[static_cast<std::size_t>(i)] >> 4];
    out[static_cast<std::size_t>(3 * i + 1)] = kHex[o[static_cast<std::size_t>(i)] & 0xF];
  }
  return out;
}

bool MacAddress::parse(const std::string& text, MacAddress& out) {
  if (text.size() != 17) return false;
  const char sep = text[2];
  if (sep != ':' && sep != '-') return false;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 17; ++i) {
    char c = text[i];
    if (i % 3 == 2) {
      if (c != sep) return false;
      continue;
    }
    int nibble;
    if (c >= '0' && c <= '9') {
      nibble = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      nibble = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      nibble = c - 'A' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<std::uint64_t>(nibble);
  }
  out = MacAddress::from_u64(v);
  return true;
}

std::string IpAddress::to_string() const {
  // inet_ntop is a pure formatting function (no I/O); it writes RFC 5952 text for IPv6.
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    const std::uint8_t* b = bytes_.data() + 12;
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return buf;
  }
  if (inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf) == nullptr) return "::";
  return buf;
}

bool IpAddress::parse(const std::string& text, IpAddress& out) {
  std::uint8_t b[16];
  if (inet_pton(AF_INET, text.c_str(), b) == 1) {
    out = v4(std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3]);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), b) == 1) {
    out = v6(b);
    return true;
  }
  return false;
}

const char* to_string(Notification kind) {
  switch (kind) {
    case Notification::none: return "none";
    case Notification::rarp: return "rarp";
    case Notification::garp: return "garp";
    case Notification::unsolicited_na: return "unsolicited_na";
  }
  return "none";
}

const char* to_string(ClaimKind kind) {
  switch (kind) {
    case ClaimKind::none: return "none";
    case ClaimKind::arp_request: return "arp_request";
    case ClaimKind::arp_reply: return "arp_reply";
    case ClaimKind::arp_announcement: return "arp_announcement";
    case ClaimKind::arp_probe: return "arp_probe";
    case ClaimKind::nd_solicitation: return "nd_solicitation";
    case ClaimKind::nd_dad: return "nd_dad";
    case ClaimKind::nd_advertisement: return "nd_advertisement";
    case ClaimKind::nd_unsolicited_advertisement: return "nd_unsolicited_advertisement";
    case ClaimKind::nd_router_advertisement: return "nd_router_advertisement";
  }
  return "none";
}

const char* to_string(EventKind kind) {
  switch (kind) {
    case EventKind::silent_move: return "silent_move";
    case EventKind::announced_move: return "announced_move";
    case EventKind::flap: return "flap";
    case EventKind::table_full: return "table_full";
    case EventKind::uplink_down: return "uplink_down";
    case EventKind::uplink_up: return "uplink_up";
    case EventKind::nlb_unicast_host: return "nlb_unicast_host";
    case EventKind::failover: return "failover";
    case EventKind::new_binding: return "new_binding";
    case EventKind::changed_mac: return "changed_mac";
    case EventKind::flip_flop: return "flip_flop";
    case EventKind::ip_conflict: return "ip_conflict";
  }
  return "unknown";
}

const char* to_string(FailoverCause cause) {
  switch (cause) {
    case FailoverCause::link_down: return "link_down";
    case FailoverCause::traffic_stopped: return "traffic_stopped";
    case FailoverCause::failback: return "failback";
  }
  return "traffic_stopped";
}

const char* to_string(NlbMode mode) {
  switch (mode) {
    case NlbMode::none: return "none";
    case NlbMode::unicast: return "unicast";
    case NlbMode::unicast_unmasked: return "unicast_unmasked";
    case NlbMode::multicast: return "multicast";
  }
  return "none";
}

std::string format_rfc3339_micros(PacketTime t) {
  using namespace std::chrono;
  auto since = t.time_since_epoch();
  auto secs = floor<seconds>(since);
  auto micros = duration_cast<microseconds>(since - secs).count();
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return "1970-01-01T00:00:00.000000Z";
  char buf[96];  // sized for any int field values, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return buf;
}

}  // namespace camwatch::cam
