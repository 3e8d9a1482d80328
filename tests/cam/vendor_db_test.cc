#include "cam/vendor_db.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <string_view>

namespace camwatch::cam {
namespace {

constexpr std::string_view kHeader = "Registry,Assignment,Organization Name,Organization Address\n";

MacAddress mac(const std::string& text) {
  MacAddress out;
  EXPECT_TRUE(MacAddress::parse(text, out)) << text;
  return out;
}

TEST(VendorDb, EmptyInputGivesAnEmptyDbThatKnowsNothing) {
  VendorDb db;
  EXPECT_TRUE(db.empty());
  EXPECT_EQ(db.lookup(mac("00:50:56:aa:bb:cc")), "");
  db.add_csv("");
  db.add_csv(kHeader);
  db.add_csv("\n\r\n\n");
  EXPECT_EQ(db.size(), 0U);
  EXPECT_EQ(db.skipped_rows(), 0U) << "header rows and blank lines are not malformed rows";
  EXPECT_EQ(db.lookup(mac("00:50:56:aa:bb:cc")), "");
}

TEST(VendorDb, ParsesQuotedFieldsWithCommasDoubledQuotesAndLineBreaks) {
  VendorDb db;
  db.add_csv(std::string(kHeader) +
             "MA-L,00000C,\"Cisco Systems, Inc\",170 WEST TASMAN DRIVE SAN JOSE CA US 95134-1706 \n"
             "MA-L,001EFC,\"JSC \"\"MASSA-K\"\"\",\"15, A, Pirogovskaya nab. Saint-Petersburg RU \"\n"
             "MA-L,3CB07E,\"Arounds Intelligent Equipment Co., Ltd.\",\"Room 701~703,\nVanke Plaza,\n"
             "No.508, East 2nd Section \"\n"
             "MA-L,001ECB,\"\"\"RPC \"\"Energoautomatika\"\" Ltd\",\"Krasnokazarmennaya st., 13/1\"\n"
             "MA-L,0050C2,IEEE Registration Authority,445 Hoes Lane Piscataway NJ US 08554 \n");
  EXPECT_EQ(db.size(), 5U);
  EXPECT_EQ(db.skipped_rows(), 0U);
  EXPECT_EQ(db.lookup(mac("00:00:0c:12:34:56")), "Cisco Systems, Inc");
  EXPECT_EQ(db.lookup(mac("00:1e:fc:00:00:01")), "JSC \"MASSA-K\"");
  EXPECT_EQ(db.lookup(mac("3c:b0:7e:00:00:01")), "Arounds Intelligent Equipment Co., Ltd.")
      << "an address spanning lines must not end the record";
  EXPECT_EQ(db.lookup(mac("00:1e:cb:00:00:01")), "\"RPC \"Energoautomatika\" Ltd");
  EXPECT_EQ(db.lookup(mac("00:50:c2:00:00:01")), "IEEE Registration Authority");
}

TEST(VendorDb, AcceptsCrlfLineEndingsAndTrimsNames) {
  VendorDb db;
  db.add_csv(
      "Registry,Assignment,Organization Name,Organization Address\r\n"
      "MA-L,005056,VMware  Inc.\t ,3401 Hillview Avenue PALO ALTO CA US 94304 \r\n"
      "MA-L,F4E578,\"  LLC Proizvodstvennaya\r\n Kompania \",\"Moscow RU 117545 \"\r\n"
      "MA-M,741AE09,Private,\r\n"
      "MA-L,a0b1c2,lower case hex\r\n"
      "\r\n");
  EXPECT_EQ(db.size(), 4U);
  EXPECT_EQ(db.skipped_rows(), 0U);
  EXPECT_EQ(db.lookup(mac("00:50:56:aa:bb:cc")), "VMware Inc.") << "trimmed, inner runs collapsed";
  EXPECT_EQ(db.lookup(mac("f4:e5:78:00:00:00")), "LLC Proizvodstvennaya Kompania");
  EXPECT_EQ(db.lookup(mac("74:1a:e0:90:00:00")), "Private") << "the CR of the last field is trimmed";
  EXPECT_EQ(db.lookup(mac("A0:B1:C2:00:00:00")), "lower case hex");
}

TEST(VendorDb, NormalisesUnicodeSpacesAndInvisibleCharactersInNames) {
  const std::string nbsp = "\xC2\xA0", en_space = "\xE2\x80\x82", ideographic_space = "\xE3\x80\x80";
  const std::string zwsp = "\xE2\x80\x8B", lrm = "\xE2\x80\x8E", bom = "\xEF\xBB\xBF";
  const std::string e_acute = "\xC3\xA9", u_umlaut = "\xC3\xBC";
  VendorDb db;
  db.add_csv("MA-L,44B295,\"Sichuan" + nbsp + "AI-Link" + nbsp + "Technology Co.," + nbsp + "Ltd." + nbsp + "\",x\r\n" +
             "MA-L,000001,Tohan" + ideographic_space + "Engineering" + en_space + "Corporation,x\r\n" +
             "MA-L,000002," + zwsp + bom + "ASUNG TECHNO CO.,x\r\n" +
             "MA-L,000003,Gilbarco Veeder-Root  " + lrm + ",x\r\n" +
             "MA-L,000004,Caf" + e_acute + " \x01 M" + u_umlaut + "ller" + zwsp + ",x\r\n" +
             "MA-L,000005," + nbsp + zwsp + ",x\r\n");  // nothing visible: an empty name
  EXPECT_EQ(db.size(), 5U);
  EXPECT_EQ(db.skipped_rows(), 1U);
  EXPECT_EQ(db.lookup(mac("44:b2:95:00:00:00")), "Sichuan AI-Link Technology Co., Ltd.");
  EXPECT_EQ(db.lookup(mac("00:00:01:00:00:00")), "Tohan Engineering Corporation");
  EXPECT_EQ(db.lookup(mac("00:00:02:00:00:00")), "ASUNG TECHNO CO.");
  EXPECT_EQ(db.lookup(mac("00:00:03:00:00:00")), "Gilbarco Veeder-Root");
  EXPECT_EQ(db.lookup(mac("00:00:04:00:00:00")), "Caf" + e_acute + " M" + u_umlaut + "ller") << "other UTF-8 kept";
}

TEST(VendorDb, LongestPrefixWins) {
  VendorDb db;
  // MA-S and MA-M blocks carved out of the IEEE's own MA-L block, in any order and any file.
  db.add_csv("MA-S,70B3D5F2F,TELEPLATFORMS,\"Polbina st., 3/1 Moscow  RU 109388 \"\n");
  db.add_csv("MA-L,70B3D5,IEEE Registration Authority,445 Hoes Lane\n"
             "MA-M,70B3D57,Some MA-M Holder,Somewhere\n");
  db.add_csv("IAB,0050C27D5,DEUTA-WERKE GmbH,Paffrather Strasse 140\n");
  EXPECT_EQ(db.size(), 4U);
  EXPECT_EQ(db.lookup(mac("70:b3:d5:f2:f0:00")), "TELEPLATFORMS");
  EXPECT_EQ(db.lookup(mac("70:b3:d5:f2:ff:ff")), "TELEPLATFORMS");
  EXPECT_EQ(db.lookup(mac("70:b3:d5:f3:00:00")), "IEEE Registration Authority");
  EXPECT_EQ(db.lookup(mac("70:b3:d5:f2:e0:00")), "IEEE Registration Authority");
  EXPECT_EQ(db.lookup(mac("70:b3:d5:70:00:00")), "Some MA-M Holder");
  EXPECT_EQ(db.lookup(mac("70:b3:d5:7f:ff:ff")), "Some MA-M Holder");
  EXPECT_EQ(db.lookup(mac("00:50:c2:7d:50:01")), "DEUTA-WERKE GmbH") << "an IAB without its MA-L";
  EXPECT_EQ(db.lookup(mac("00:50:c2:7d:60:01")), "");
}

TEST(VendorDb, LocallyAdministeredAndUnknownAddressesHaveNoVendor) {
  VendorDb db;
  db.add_csv("MA-L,005056,VMware Inc.,x\nMA-L,025056,Someone Registered A Local Prefix,x\n");
  EXPECT_EQ(db.lookup(mac("00:50:56:01:02:03")), "VMware Inc.");
  EXPECT_EQ(db.lookup(mac("02:50:56:01:02:03")), "") << "locally administered: never an IEEE assignment";
  EXPECT_EQ(db.lookup(mac("00:50:57:01:02:03")), "");
  EXPECT_EQ(db.lookup(mac("00:50:55:ff:ff:ff")), "");
  EXPECT_EQ(db.lookup(mac("ff:ff:ff:ff:ff:ff")), "");
  EXPECT_EQ(db.lookup(mac("00:00:00:00:00:00")), "");
}

TEST(VendorDb, SkipsAndCountsRowsThatDoNotParse) {
  VendorDb db;
  db.add_csv(std::string(kHeader) +
             "MA-L,00000C,\"Cisco Systems, Inc\",addr\n"
             "MA-L,00000\n"                  // too few fields
             "MA-L,00000G,Bad Hex,addr\n"    // not hex
             "MA-L,0000000C,Eight Digits,x\n"  // not 6, 7 or 9 digits
             "MA-L,,No Assignment,x\n"
             "MA-L,005056,   ,x\n"           // empty name
             "just some text\n"
             "MA-L,000001,\"Unterminated, quote\n"
             "MA-L,000002,Swallowed By The Open Quote,x\n");
  EXPECT_EQ(db.size(), 1U);
  EXPECT_EQ(db.skipped_rows(), 7U);
  EXPECT_EQ(db.lookup(mac("00:00:0c:00:00:01")), "Cisco Systems, Inc");
  EXPECT_EQ(db.lookup(mac("00:00:02:00:00:01")), "");

  db.add_csv("MA-L,000001,Later File,x\n");
  EXPECT_EQ(db.skipped_rows(), 7U) << "the count accumulates over files";
  EXPECT_EQ(db.lookup(mac("00:00:01:00:00:01")), "Later File");
}

TEST(VendorDb, FirstRowForAPrefixWinsAndDuplicatesAreCounted) {
  VendorDb db;
  db.add_csv("MA-L,080030,NETWORK RESEARCH CORPORATION,x\nMA-L,080030,CERN,x\n");
  db.add_csv("MA-L,080030,ROYAL MELBOURNE INST OF TECH,x\nMA-L,080031,CERN,x\n");
  EXPECT_EQ(db.size(), 2U);
  EXPECT_EQ(db.duplicate_rows(), 2U);
  EXPECT_EQ(db.skipped_rows(), 0U);
  EXPECT_EQ(db.lookup(mac("08:00:30:00:00:00")), "NETWORK RESEARCH CORPORATION");
  EXPECT_EQ(db.lookup(mac("08:00:31:00:00:00")), "CERN");
}

TEST(VendorDb, StoresEachDistinctNameOnce) {
  VendorDb db;
  std::string csv;
  const std::string name = "A Rather Long Organisation Name Shared By Many Blocks, Inc.";
  for (int i = 0; i < 1000; ++i) {
    char row[64];
    std::snprintf(row, sizeof row, "MA-L,%06X,", 0x100000 + i);
    csv += row + ("\"" + name + "\",address\n");
  }
  db.add_csv(csv);
  db.add_csv("MA-M,1000001,\"" + name + "\",x\n");  // a later file shares the pooled name
  EXPECT_EQ(db.size(), 1001U);
  EXPECT_EQ(db.lookup(mac("10:03:e7:00:00:00")), name);
  EXPECT_EQ(db.lookup(mac("10:00:00:10:00:00")), name);
  EXPECT_LT(db.memory_bytes(), 1001 * 8 + 4 * name.size() + 512) << "8 bytes per entry, the name once";
}

// More distinct names than the name index starts with (it grows while a file is read, and is
// rebuilt from the pool for the next file): each name still stored once, every prefix its own.
TEST(VendorDb, KeepsThousandsOfDistinctNamesAcrossFilesEachOnce) {
  VendorDb db;
  const auto org = [](int i) { return "Organisation number " + std::to_string(i % 6000); };
  std::string first, second;
  for (int i = 0; i < 9000; ++i) {
    char row[32];
    std::snprintf(row, sizeof row, "MA-L,%06X,", 0x200000 + i);
    (i < 4500 ? first : second) += row + org(i) + ",address\n";
  }
  db.add_csv(first);
  db.add_csv(second);
  ASSERT_EQ(db.size(), 9000U);
  for (int i = 0; i < 9000; i += 7) {
    char text[32];
    const int p = 0x200000 + i;
    std::snprintf(text, sizeof text, "%02x:%02x:%02x:00:00:01", (p >> 16) & 255, (p >> 8) & 255, p & 255);
    EXPECT_EQ(db.lookup(mac(text)), org(i)) << text;
  }
  std::size_t pooled = 0;
  for (int i = 0; i < 6000; ++i) pooled += org(i).size();
  EXPECT_LT(db.memory_bytes(), 9000 * 8 + 6000 * 4 + pooled * 2 + 4096) << "6000 names stored once each";
}

TEST(VendorDb, ViewsStayValidWhileTheDbIsOnlyRead) {
  VendorDb db;
  db.add_csv("MA-L,005056,VMware Inc.,x\n");
  const std::string_view a = db.lookup(mac("00:50:56:00:00:01"));
  const std::string_view b = db.lookup(mac("00:50:56:ff:ff:ff"));
  EXPECT_EQ(a.data(), b.data()) << "a view into the pool, not a copy";
}

}  // namespace
}  // namespace camwatch::cam
