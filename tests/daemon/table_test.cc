// `camwatch table`: the control socket, the in-memory state format it carries, and the view.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <sstream>
#include <thread>

#include "testsupport/temp_dir.h"
#include "cam/event.h"
#include "cam/tracker.h"
#include "cam/vendor_db.h"
#include "control_socket.h"
#include "daemon/state_file.h"
#include "daemon/table_view.h"

namespace camwatch::daemon {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

const cam::PacketTime kT0 = cam::PacketTime(seconds(1'700'000'000));  // 2023-11-14T22:13:20Z

struct NullSink final : cam::EventSink {
  void on_event(const cam::Event&) override {}
};

cam::Observation frame(cam::UplinkId uplink, std::uint64_t mac, cam::VlanId vlan, cam::PacketTime t,
                       cam::Notification n = cam::Notification::none) {
  cam::Observation o{};
  o.time = t;
  o.source = cam::MacAddress::from_u64(mac);
  o.notified = o.source;
  o.vlan = vlan;
  o.uplink = uplink;
  o.notification = n;
  return o;
}

using testsupport::TempDir;

// Three stations: one that moved A -> B with a RARP, one that never moved, one on VLAN 20.
class TableFixture : public ::testing::Test {
 protected:
  TableFixture() : tracker_(cam::TrackerConfig{}, sink_) {
    tracker_.observe(frame(0, 0x005056000001, 10, kT0));
    tracker_.observe(frame(0, 0x00000c000002, 10, kT0 + seconds(1)));
    tracker_.observe(frame(1, 0x02bf0a000003, 20, kT0 + seconds(2)));
    tracker_.observe(frame(1, 0x005056000001, 10, kT0 + seconds(30), cam::Notification::rarp));
    tracker_.finish();
  }
  NullSink sink_;
  cam::Tracker tracker_;
  const std::vector<std::string> names_ = {"vmnic2", "vmnic3"};
};

TEST_F(TableFixture, SerializedTableParsesBackToEveryStation) {
  const std::string bytes = serialize_state(tracker_, names_);
  const SavedState state = parse_state(bytes, "test");
  ASSERT_EQ(state.stations.size(), 3U);
  EXPECT_EQ(state.saved_at, kT0 + seconds(30));
  bool found = false;
  for (const SavedStation& s : state.stations) {
    if (s.key.mac != cam::MacAddress::from_u64(0x005056000001)) continue;
    found = true;
    EXPECT_EQ(s.uplink, "vmnic3");
    EXPECT_EQ(s.moves, 1U);
    EXPECT_EQ(s.last_move, kT0 + seconds(30));
    EXPECT_EQ(s.notification, cam::Notification::rarp);
  }
  EXPECT_TRUE(found);
}

TEST_F(TableFixture, DamagedBytesAreAnErrorNamingTheSource) {
  std::string bytes = serialize_state(tracker_, names_);
  bytes[bytes.size() / 2] ^= 0x40;
  try {
    parse_state(bytes, "the table from /run/x.sock");
    FAIL() << "damaged bytes parsed";
  } catch (const StateFileError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the table from /run/x.sock"));
  }
  EXPECT_THROW(parse_state(bytes.substr(0, 10), "short"), StateFileError);
}

TEST_F(TableFixture, TextSortsByLastMoveAndSummarises) {
  const SavedState state = parse_state(serialize_state(tracker_, names_), "test");
  const std::string text = format_table(state, TableOptions{}, nullptr);
  // Header, three rows, summary.
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 5U) << text;
  EXPECT_THAT(lines[0], HasSubstr("LAST MOVE"));
  // The station that moved comes first, with its move and notification times.
  EXPECT_THAT(lines[1], HasSubstr("00:50:56:00:00:01"));
  EXPECT_THAT(lines[1], HasSubstr("vmnic3"));
  EXPECT_THAT(lines[1], HasSubstr("2023-11-14 22:13:50"));
  EXPECT_THAT(lines[1], HasSubstr("rarp"));
  EXPECT_THAT(lines[4], HasSubstr("3 of 3 stations shown; table as of 2023-11-14 22:13:50 UTC"));
}

TEST_F(TableFixture, FiltersByUplinkVlanAndMovedAndLimits) {
  const SavedState state = parse_state(serialize_state(tracker_, names_), "test");
  TableOptions o;
  o.json = true;
  o.uplink = "vmnic3";
  std::string out = format_table(state, o, nullptr);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  o.uplink.reset();
  o.vlan = 20;
  out = format_table(state, o, nullptr);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_THAT(out, HasSubstr("\"mac\":\"02:bf:0a:00:00:03\""));
  o.vlan.reset();
  o.moved_only = true;
  out = format_table(state, o, nullptr);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  o.moved_only = false;
  o.limit = 2;
  o.sort = TableSort::mac;
  out = format_table(state, o, nullptr);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  EXPECT_EQ(out.find("00:00:0c:00:00:02"), out.find("\"mac\":\"") + 7) << "mac order puts 00:00:0c first:\n" << out;
}

TEST_F(TableFixture, JsonHasEveryFieldAndVendorsWhenKnown) {
  const SavedState state = parse_state(serialize_state(tracker_, names_), "test");
  cam::VendorDb vendors;
  vendors.add_csv("Registry,Assignment,Organization Name,Organization Address\n"
                  "MA-L,005056,\"VMware, Inc.\",\"3401 Hillview Avenue Palo Alto CA US 94304\"\n");
  TableOptions o;
  o.json = true;
  o.sort = TableSort::mac;
  const std::string out = format_table(state, o, &vendors);
  EXPECT_THAT(out, HasSubstr(R"({"mac":"00:50:56:00:00:01","vlan":10,"uplink":"vmnic3","vendor":"VMware, Inc.",)"
                             R"("first_seen":"2023-11-14T22:13:20.000000Z","last_seen":"2023-11-14T22:13:50.000000Z",)"
                             R"("moves":1,"last_move":"2023-11-14T22:13:50.000000Z",)"
                             R"("last_notification":"2023-11-14T22:13:50.000000Z","notification":"rarp","nlb_host":false})"));
  EXPECT_THAT(out, HasSubstr(R"("mac":"00:00:0c:00:00:02","vlan":10,"uplink":"vmnic2","vendor":null,)"));
  EXPECT_THAT(out, HasSubstr(R"("last_move":null,"last_notification":null,"notification":null)"));
}

TEST(TableSort, ParsesEveryDocumentedKey) {
  for (const char* key : {"last-move", "last-seen", "first-seen", "mac", "vlan", "uplink"}) {
    EXPECT_TRUE(parse_table_sort(key).has_value()) << key;
  }
  EXPECT_FALSE(parse_table_sort("time").has_value());
}

// ---- the control socket ----

// Runs serve_pending() on a thread, as the tracker loop does.
class Loop {
 public:
  Loop(ControlServer& server, std::function<std::string(std::string_view)> handler)
      : thread_([&server, handler, this] {
          while (!stop_) {
            server.serve_pending(handler);
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
          }
        }) {}
  ~Loop() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(ControlSocket, AnswersRequestsFromTheLoopThread) {
  TempDir dir;
  const std::string path = dir.file("run/control.sock");  // the directory is created
  ControlServer server(path);
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660U);
  Loop loop(server, [](std::string_view request) -> std::string {
    if (request == "table") return std::string(1 << 20, 'x');  // bigger than any socket buffer
    throw std::runtime_error("unknown request '" + std::string(request) + "'");
  });
  EXPECT_EQ(control_request(path, "table"), std::string(1 << 20, 'x'));
  try {
    control_request(path, "status");
    FAIL() << "an unknown request was answered";
  } catch (const ControlSocketError& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown request 'status'"));
  }
  // Several clients in a row are served.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(control_request(path, "table").size(), 1U << 20);
}

TEST(ControlSocket, ASilentClientDoesNotBlockTheNextOne) {
  TempDir dir;
  const std::string path = dir.file("control.sock");
  ControlServer server(path);
  Loop loop(server, [](std::string_view) { return std::string("payload"); });
  // Connects and sends nothing: dropped after the request timeout, then the next is served.
  const int idle = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(control_request(path, "table"), "payload");
  ::close(idle);
}

TEST(ControlSocket, ReplacesAStaleSocketButNotALiveOneOrAFile) {
  TempDir dir;
  const std::string path = dir.file("control.sock");
  { ControlServer first(path); }
  // A crashed daemon leaves the socket file behind: bind one without listening.
  const int stale = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(stale, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(stale);
  {
    ControlServer replaced(path);
    try {
      ControlServer second(path);
      FAIL() << "took over a socket another server answers on";
    } catch (const ControlSocketError& e) {
      EXPECT_THAT(e.what(), HasSubstr("another process"));
    }
  }
  std::ofstream(dir.file("plain")) << "not a socket";
  EXPECT_THROW(ControlServer(dir.file("plain")), ControlSocketError);
  EXPECT_TRUE(std::filesystem::exists(dir.file("plain")));
}

TEST(ControlSocket, ClientErrorsSayWhatToDo) {
  TempDir dir;
  try {
    control_request(dir.file("none.sock"), "table");
    FAIL();
  } catch (const ControlSocketError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot connect to " + dir.file("none.sock")));
    EXPECT_THAT(e.what(), HasSubstr("--state FILE"));
  }
}

TEST(ControlSocket, StoppingAnswersAWaitingClient) {
  TempDir dir;
  const std::string path = dir.file("control.sock");
  auto server = std::make_unique<ControlServer>(path);
  // Nobody serves: the client waits until the server is destroyed, then gets an error.
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    server.reset();
  });
  EXPECT_THROW(control_request(path, "table"), ControlSocketError);
  stopper.join();
}

}  // namespace
}  // namespace camwatch::daemon
