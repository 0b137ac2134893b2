// Restore manifests: JSON round trip, refusal of files that are not manifests, and a
// comparison that names every difference.
#include <gtest/gtest.h>

#include <algorithm>

#include "backup/manifest.hpp"
#include "common/errors.hpp"

namespace {

rgsync::Manifest sample() {
  rgsync::Manifest m;
  m.taken_at = "2026-11-30T14:00:00.000000Z";
  m.database = "postgres";
  m.server_version = "15.10";
  m.schemas = {"audit", "public", "supabase_migrations"};
  m.tables["public.kpis"] = {20, "0123456789abcdef0123456789abcdef"};
  m.tables["public.business_processes"] = {31, "fedcba9876543210fedcba9876543210"};
  m.tables["audit.seal"] = {0, "-"};
  m.migrations = {"20261125100000", "20261125100100"};
  m.extension_version = "0.2.0";
  m.seal_head = rgsync::SealHead{124, "ab12"};
  m.audit_ok = true;
  return m;
}

bool has(const std::vector<std::string> &diffs, const std::string &text) {
  return std::any_of(diffs.begin(), diffs.end(), [&](const std::string &d) { return d.find(text) != std::string::npos; });
}

}  // namespace

TEST(Manifest, JsonRoundTrip) {
  rgsync::Manifest m = sample();
  rgsync::Manifest back = rgsync::manifest_from_json(rgsync::manifest_to_json(m), "m.json");
  EXPECT_TRUE(rgsync::compare_manifests(m, back).empty());
  EXPECT_EQ(back.taken_at, m.taken_at);
  EXPECT_EQ(back.tables.at("public.kpis").checksum, m.tables.at("public.kpis").checksum);
  ASSERT_TRUE(back.seal_head.has_value());
  EXPECT_EQ(back.seal_head->id, 124);

  rgsync::Manifest no_audit = sample();
  no_audit.seal_head.reset();
  no_audit.audit_ok.reset();
  no_audit.extension_version.reset();
  rgsync::Manifest back2 = rgsync::manifest_from_json(rgsync::manifest_to_json(no_audit), "m.json");
  EXPECT_FALSE(back2.seal_head.has_value());
  EXPECT_FALSE(back2.extension_version.has_value());
}

TEST(Manifest, RefusesOtherFilesNamingThem) {
  try {
    rgsync::manifest_from_json("{\"tables\": {}}", "backup/x.json");
    FAIL() << "accepted a JSON file without the manifest format";
  } catch (const rgsync::UsageError &e) {
    EXPECT_NE(std::string(e.what()).find("backup/x.json: not a registry-sync manifest"), std::string::npos) << e.what();
  }
  try {
    rgsync::manifest_from_json("{\"format\": \"registry-sync manifest 1\", \"tables\"", "y.json");
    FAIL() << "accepted truncated JSON";
  } catch (const rgsync::UsageError &e) {
    EXPECT_NE(std::string(e.what()).find("y.json: not valid JSON"), std::string::npos) << e.what();
  }
  EXPECT_THROW(rgsync::read_manifest_file(testing::TempDir() + "does-not-exist.json"), rgsync::UsageError);
}

TEST(Manifest, NamesEveryDifference) {
  rgsync::Manifest expected = sample();
  rgsync::Manifest actual = sample();
  actual.tables["public.kpis"].rows = 21;
  actual.tables["public.business_processes"].checksum = "00000000000000000000000000000000";
  actual.tables.erase("audit.seal");
  actual.tables["public.extra"] = {3, "x"};
  actual.migrations = {"20261125100000", "20261125199999"};
  actual.extension_version = "0.1.0";
  actual.seal_head = rgsync::SealHead{130, "cd34"};
  actual.audit_ok = false;
  actual.audit_problem = "first bad version 17: record changed";
  auto diffs = rgsync::compare_manifests(expected, actual);
  EXPECT_TRUE(has(diffs, "table public.kpis: 21 rows, the manifest has 20"));
  EXPECT_TRUE(has(diffs, "table public.business_processes: 31 rows as in the manifest, but their content differs"));
  EXPECT_TRUE(has(diffs, "table audit.seal: missing"));
  EXPECT_TRUE(has(diffs, "table public.extra: not in the manifest (3 rows)"));
  EXPECT_TRUE(has(diffs, "migration 20261125100100: applied in the manifest, not here"));
  EXPECT_TRUE(has(diffs, "migration 20261125199999: applied here, not in the manifest"));
  EXPECT_TRUE(has(diffs, "extension registry_guard: 0.1.0, the manifest has 0.2.0"));
  EXPECT_TRUE(has(diffs, "audit seal head: id 130"));
  EXPECT_TRUE(has(diffs, "audit.verify(): the chain does not verify (first bad version 17: record changed)"));
  EXPECT_EQ(diffs.size(), 9u);

  rgsync::Manifest gone = sample();
  gone.seal_head.reset();
  gone.audit_ok.reset();
  gone.schemas = {"public", "supabase_migrations"};
  auto d2 = rgsync::compare_manifests(expected, gone);
  EXPECT_TRUE(has(d2, "schema audit: missing"));
  EXPECT_TRUE(has(d2, "audit trail: missing (the manifest has seal head id 124"));
}
