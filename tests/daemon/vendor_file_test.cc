#include "daemon/vendor_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include "testsupport/temp_dir.h"

namespace camwatch::daemon {
namespace {

using ::testing::HasSubstr;

using testsupport::TempDir;

constexpr const char* kHeader = "Registry,Assignment,Organization Name,Organization Address\r\n";

cam::MacAddress mac(const std::string& text) {
  cam::MacAddress out;
  EXPECT_TRUE(cam::MacAddress::parse(text, out)) << text;
  return out;
}

TEST(VendorFile, LoadsEveryRegistryFileOfTheDirectory) {
  TempDir dir;
  dir.write("oui.csv", std::string(kHeader) +
                           "MA-L,00000C,\"Cisco Systems, Inc\",170 WEST TASMAN DRIVE SAN JOSE CA US 95134-1706 \r\n"
                           "MA-L,70B3D5,IEEE Registration Authority,445 Hoes Lane Piscataway NJ US 08554 \r\n"
                           "MA-L,0050C2,IEEE Registration Authority,445 Hoes Lane Piscataway NJ US 08554 \r\n");
  dir.write("mam.csv", std::string(kHeader) + "MA-M,70B3D51,Some MA-M Holder,\"Street 1, Town\"\r\n");
  dir.write("oui36.csv", std::string(kHeader) + "MA-S,70B3D5F2F,TELEPLATFORMS,\"Polbina st., 3/1 Moscow  RU \"\r\n");
  dir.write("iab.csv", std::string(kHeader) + "IAB,0050C27D5,DEUTA-WERKE GmbH,Paffrather Strasse 140 \r\n");
  dir.write("oui.txt", "not read: only the CSV files are\n");

  const cam::VendorDb db = load_vendor_db(dir.path());
  EXPECT_EQ(db.size(), 6U);
  EXPECT_EQ(db.skipped_rows(), 0U);
  EXPECT_EQ(db.lookup(mac("00:00:0c:07:ac:01")), "Cisco Systems, Inc");
  EXPECT_EQ(db.lookup(mac("70:b3:d5:1f:00:00")), "Some MA-M Holder");
  EXPECT_EQ(db.lookup(mac("70:b3:d5:f2:f1:23")), "TELEPLATFORMS");
  EXPECT_EQ(db.lookup(mac("00:50:c2:7d:51:23")), "DEUTA-WERKE GmbH");
  EXPECT_EQ(db.lookup(mac("00:50:c2:00:00:01")), "IEEE Registration Authority");
}

TEST(VendorFile, MissingDirectoryGivesAnEmptyDb) {
  TempDir dir;
  const cam::VendorDb db = load_vendor_db(dir.path() + "/no-such-directory");
  EXPECT_TRUE(db.empty());
  EXPECT_EQ(db.skipped_rows(), 0U);
  EXPECT_EQ(db.lookup(mac("00:00:0c:07:ac:01")), "");
  EXPECT_TRUE(load_vendor_db("").empty()) << "an empty setting loads nothing, not /oui.csv";
}

TEST(VendorFile, MissingAndUnusableFilesAreSkipped) {
  TempDir dir;
  dir.write("mam.csv", std::string(kHeader) + "MA-M,70B3D51,Some MA-M Holder,x\r\n");  // only this one
  std::filesystem::create_directory(dir.path() + "/oui.csv");                        // not a file
  ASSERT_EQ(::mkfifo((dir.path() + "/iab.csv").c_str(), 0600), 0) << "a FIFO must not block the load";
  dir.write("oui36.csv", std::string(kHeader) + "MA-S,70B3D5F2F,TELEPLATFORMS,x\r\n");
  const bool root = ::geteuid() == 0;
  ASSERT_EQ(::chmod((dir.path() + "/oui36.csv").c_str(), 0), 0);

  const cam::VendorDb db = load_vendor_db(dir.path());
  EXPECT_EQ(db.lookup(mac("70:b3:d5:1f:00:00")), "Some MA-M Holder");
  if (root) {
    EXPECT_EQ(db.size(), 2U) << "root reads a mode-0 file";
  } else {
    EXPECT_EQ(db.size(), 1U) << "the unreadable oui36.csv is skipped";
    EXPECT_EQ(db.lookup(mac("70:b3:d5:f2:f1:23")), "");
  }
}

TEST(VendorFile, LoadsTheSystemIeeeDataWhenInstalled) {
  const std::string dir = "/usr/share/ieee-data";
  if (!std::filesystem::exists(dir + "/oui.csv")) {
    GTEST_SKIP() << dir << "/oui.csv not found: install Debian's ieee-data package to run this test";
  }
  const cam::VendorDb db = load_vendor_db(dir);
  EXPECT_GT(db.size(), 30'000U) << "the 2022 files hold about 46,500 assignments";
  EXPECT_LT(db.skipped_rows(), 10U);
  EXPECT_LT(db.memory_bytes(), 4U << 20) << "compact: about 1.1 MB for the 2022 files";
  EXPECT_THAT(std::string(db.lookup(mac("00:50:56:c0:00:01"))), HasSubstr("VMware"));
  EXPECT_THAT(std::string(db.lookup(mac("00:00:0c:07:ac:01"))), HasSubstr("Cisco"));
  EXPECT_EQ(db.lookup(mac("02:00:0c:07:ac:01")), "") << "locally administered";
}

}  // namespace
}  // namespace camwatch::daemon
