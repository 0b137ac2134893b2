// HR mapping files, record mapping, CSV parsing, UTF-8 checks and retry arithmetic.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "hr/sources/http.hpp"
#include "hr/mapping.hpp"
#include "hr/sources/fetch.hpp"
#include "yaml/json_reader.hpp"

using namespace rgsync::hr;

static std::string error_of(const std::function<void()> &f) {
  try { f(); } catch (const std::exception &e) { return e.what(); }
  return "";
}

TEST(HrYaml, KeepsLinesAndTypes) {
  auto d = load_yaml_string("a: 1\nb:\n  c: \"2\"\n  d: [x, true]\n", "f.yaml");
  EXPECT_EQ(d.root["a"], 1);
  EXPECT_EQ(d.root["b"]["c"], "2");
  EXPECT_EQ(d.root["b"]["d"][1], true);
  EXPECT_EQ(d.where("/b/d"), "f.yaml:4");
  EXPECT_NE(error_of([] { load_yaml_string("a: 1\na: 2\n", "f.yaml"); }).find("f.yaml:2:1: duplicate key 'a'"), std::string::npos);
}

// One YAML reader: `yes` is a boolean in the HR mapping as in the registry (PyYAML's rule; the
// HR reader used to read it as the text "yes"), and a key that takes text takes it as written.
TEST(HrYaml, ScalarsFollowTheRegistryRulesAndTextKeysTakeThemAsWritten) {
  auto d = load_yaml_string("a: yes\nb: 0123\nc: 'yes'\nd: ~\n", "f.yaml");
  EXPECT_EQ(d.root["a"], true);
  EXPECT_EQ(d.root["b"], 83);  // YAML 1.1 octal, as PyYAML reads it
  EXPECT_EQ(d.root["c"], "yes");
  EXPECT_TRUE(d.root["d"].is_null());
  EXPECT_EQ(d.written("/a"), std::optional<std::string>("yes"));
  EXPECT_EQ(d.written("/b"), std::optional<std::string>("0123"));
  auto m = parse_hr_mapping("source: {kind: csv, name: c, file: x.csv}\nfields: {employee_id: Emp}\n"
                            "active: {field: Status, values: [yes, On, 1]}\n", "t.yaml");
  EXPECT_EQ(m.active_values, (std::vector<std::string>{"1", "on", "yes"}));
}

TEST(HrMappingFile, ScimDefaultsMapTheEnterpriseExtension) {
  auto m = parse_hr_mapping("source: {kind: scim, url: 'https://h/scim', token_env: T}\n", "m.yaml");
  EXPECT_EQ(m.source.name, "scim");
  EXPECT_EQ(m.active_field, "active");
  EXPECT_EQ(m.fields[0].column, "employee_id");
}

TEST(HrMappingFile, ErrorsNameFileLineAndFix) {
  EXPECT_NE(error_of([] { parse_hr_mapping("source: {kind: csv, file: a.csv}\nfields: {employee_id: E}\nscoep: {}\n", "m.yaml"); })
                .find("m.yaml:3: unknown key 'scoep'"), std::string::npos);
  EXPECT_NE(error_of([] { parse_hr_mapping("source: {kind: csv, file: a.csv}\nfields:\n  employee_id: E\n  preferences: P\n", "m.yaml"); })
                .find("m.yaml:4: 'preferences' is not a column HR sync may write"), std::string::npos);
  EXPECT_NE(error_of([] { parse_hr_mapping("source: {kind: csv, file: a.csv}\nfields: {email: E}\n", "m.yaml"); })
                .find("'employee_id' must be mapped"), std::string::npos);
  EXPECT_NE(error_of([] { parse_hr_mapping("source: {kind: csv, file: a.csv}\nfields: {employee_id: E, title: T}\n", "m.yaml",
                                           std::set<std::string>{"employee_id"}); })
                .find("hr_owned_columns"), std::string::npos);
}

TEST(HrRecord, MapsPathsTemplatesNumbersAndActiveValues) {
  auto m = parse_hr_mapping("source: {kind: workday, file: r.json}\n"
                            "fields: {employee_id: Employee_ID, name: '{First} {Last}', email: Contact.Email, department: Org}\n"
                            "active: {field: Status, values: [Active, 'On Leave']}\n", "m.yaml");
  auto u = map_record(m, {{"Employee_ID", 1042}, {"First", "Ann"}, {"Last", "Lee"}, {"Contact", {{"Email", "a@x"}}},
                          {"Status", "On Leave"}}, "Report_Entry[0]");
  EXPECT_EQ(u.columns["employee_id"], Value("1042"));
  EXPECT_EQ(u.columns["name"], Value("Ann Lee"));
  EXPECT_EQ(u.columns["email"], Value("a@x"));
  EXPECT_EQ(u.columns["department"], std::nullopt);
  EXPECT_TRUE(u.active);
  auto t = map_record(m, {{"Employee_ID", "7"}, {"Status", "Terminated"}}, "Report_Entry[1]");
  EXPECT_FALSE(t.active);
}

TEST(HrRecord, WrongTypesAndMissingIdsAreErrorsNamingTheRecord) {
  auto m = parse_hr_mapping("source: {kind: workday, file: r.json}\nfields: {employee_id: Employee_ID, department: Org}\n", "m.yaml");
  EXPECT_NE(error_of([&] { map_record(m, {{"Employee_ID", "1"}, {"Org", {{"x", 1}}}}, "Report_Entry[3]"); })
                .find("Report_Entry[3]: field 'Org' is an object"), std::string::npos);
  EXPECT_NE(error_of([&] { map_record(m, {{"Org", "Finance"}}, "Report_Entry[4]"); }).find("Report_Entry[4]: no employee id"),
            std::string::npos);
}

TEST(HrJsonPath, LongestKeyPrefixAndPrimaryElement) {
  nlohmann::json u = {{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", {{"manager", {{"value", "9"}}}}},
                      {"emails", {{{"value", "home@x"}}, {{"value", "work@x"}, {"primary", true}}}}};
  EXPECT_EQ(*json_path(u, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager.value"), "9");
  EXPECT_EQ(*json_path(u, "emails.value"), "work@x");
  EXPECT_EQ(json_path(u, "nope.value"), nullptr);
}

TEST(HrCsv, QuotesEmbeddedNewlinesAndErrors) {
  auto rows = parse_csv("id,name\r\n1,\"Lee, Ann\"\r\n2,\"multi\nline \"\"q\"\"\"\n", ',', "u.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["name"], "Lee, Ann");
  EXPECT_EQ(rows[1]["name"], "multi\nline \"q\"");
  EXPECT_EQ(rows[1]["__line"], 3);
  EXPECT_NE(error_of([] { parse_csv("id,name\n1\n", ',', "u.csv"); }).find("u.csv:2: 1 fields, but the header has 2"), std::string::npos);
  EXPECT_NE(error_of([] { parse_csv("id,name\n1,\"x\n", ',', "u.csv"); }).find("not closed"), std::string::npos);
  EXPECT_NE(error_of([] { parse_csv("id,name\n1,caf\xe9\n", ',', "u.csv"); }).find("u.csv:2: not valid UTF-8"), std::string::npos);
}

// HR files used to be read whole, whatever their size.
TEST(HrFiles, SourceFilesOverTheLimitAreRefusedBeforeParsing) {
  std::string dir = ::testing::TempDir();
  std::string csv = dir + "/rgsync_hr_limit.csv", json = dir + "/rgsync_hr_limit.json";
  {
    std::ofstream c(csv);
    c << "Emp,Name\n";
    for (int i = 0; i < 200; ++i) c << i << ",Someone " << i << "\n";
    std::ofstream j(json);
    j << "{\"Report_Entry\": [" << std::string(4000, ' ') << "]}";
  }
  auto csv_map = parse_hr_mapping("source: {kind: csv, name: c, file: " + csv + ", max_file_bytes: 1024}\nfields: {employee_id: Emp, name: Name}\n", "t.yaml");
  std::string e = error_of([&] { fetch_hr_users(csv_map, {}); });
  EXPECT_NE(e.find("over the limit of 1024 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("max_file_bytes"), std::string::npos) << e;
  auto wd_map = parse_hr_mapping("source: {kind: workday, name: w, file: " + json + ", max_file_bytes: 1024}\nfields: {employee_id: Emp}\n", "t.yaml");
  e = error_of([&] { fetch_hr_users(wd_map, {}); });
  EXPECT_NE(e.find("over the limit of 1024 bytes"), std::string::npos) << e;
  auto ok_map = parse_hr_mapping("source: {kind: csv, name: c, file: " + csv + "}\nfields: {employee_id: Emp, name: Name}\n", "t.yaml");
  EXPECT_EQ(fetch_hr_users(ok_map, {}).users.size(), 200u);
  std::remove(csv.c_str());
  std::remove(json.c_str());
}

TEST(HrUtf8, AcceptsValidRejectsOverlongAndSurrogates) {
  EXPECT_EQ(invalid_utf8_line("caf\xc3\xa9 \xf0\x9f\x98\x80"), 0);
  EXPECT_EQ(invalid_utf8_line("a\n\xc0\xaf"), 2);
  EXPECT_EQ(invalid_utf8_line("\xed\xa0\x80"), 1);
}

TEST(HrHttp, RetryAfterSecondsAndHttpDate) {
  EXPECT_EQ(parse_retry_after("7", 0), 7.0);
  EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40), 60.0);
  EXPECT_FALSE(parse_retry_after("soon", 0));
}

TEST(HrHttp, FullJitterStaysWithinTheCappedExponential) {
  RetryPolicy p;
  p.base_delay_s = 1;
  p.max_delay_s = 5;
  EXPECT_DOUBLE_EQ(full_jitter_delay(p, 0, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(full_jitter_delay(p, 2, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(full_jitter_delay(p, 10, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(full_jitter_delay(p, 3, 0.0), 0.0);
}

TEST(HrHttp, TokenAndUserinfoNeverShowInMessages) {
  HttpClient c(RetryPolicy{}, "s3cr3t-token");
  EXPECT_EQ(c.scrub("bad Authorization: Bearer s3cr3t-token"), "bad Authorization: Bearer ***");
  EXPECT_EQ(redact_url("https://u:pw@host/x?y=1"), "https://***@host/x?y=1");
}

TEST(HrMappingFile, BadTemplatesAreRefusedWhenTheMappingLoads) {
  auto err = [](const std::string &extra) {
    try {
      parse_hr_mapping("source: {kind: csv, name: c, file: x.csv}\nfields: {employee_id: Emp, name: \"{First} {Last\"}\n" + extra, "t.yaml");
    } catch (const std::exception &e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(err("").find("t.yaml:2"), std::string::npos) << err("");
  EXPECT_NE(err("").find("is not closed"), std::string::npos) << err("");
}

TEST(HrMappingFile, ShippedExamplesInConfigAreValid) {
  std::string dir = std::string(__FILE__).substr(0, std::string(__FILE__).rfind("/daemon/")) + "/config/";
  for (const char *f : {"hr-scim.yaml", "hr-workday.yaml", "hr-successfactors.yaml", "hr-csv.yaml"})
    EXPECT_EQ(error_of([&] { load_hr_mapping(dir + f); }), "") << f;
}

TEST(HrHttp, OriginComparesSchemeHostAndPort) {
  EXPECT_EQ(url_origin("https://HR.example.com/odata/v2/User?$skip=5"), "https://hr.example.com:443");
  EXPECT_EQ(url_origin("https://hr.example.com:443/x"), url_origin("https://hr.example.com/y"));
  EXPECT_NE(url_origin("http://hr.example.com/x"), url_origin("https://hr.example.com/x"));
  EXPECT_NE(url_origin("https://hr.example.com/x"), url_origin("https://hr.example.com.evil.net/x"));
  EXPECT_NE(url_origin("https://hr.example.com/x"), url_origin("https://hr.example.com@evil.net/x"));
  EXPECT_EQ(url_origin("https://[::1]:8443/x"), "https://[::1]:8443");
  EXPECT_EQ(url_origin("/relative/next"), "");
}

TEST(HrHttp, LoopbackHosts) {
  EXPECT_TRUE(is_loopback_url("http://127.0.0.1:8080/scim"));
  EXPECT_TRUE(is_loopback_url("http://localhost/scim"));
  EXPECT_TRUE(is_loopback_url("http://[::1]:9/scim"));
  EXPECT_FALSE(is_loopback_url("http://127.0.0.1.evil.net/scim"));
  EXPECT_FALSE(is_loopback_url("http://10.0.0.1/scim"));
  EXPECT_FALSE(is_loopback_url("http://hr.example.com/scim"));
}

TEST(HrHttp, RedactUrlHidesUserinfoAndSecretQueryParameters) {
  std::string r = redact_url("https://u:pw@hr.example.com/report?format=json&access_token=abc123&sig=zz9&api_key=k7");
  EXPECT_EQ(r.find("pw"), std::string::npos) << r;
  EXPECT_EQ(r.find("abc123"), std::string::npos) << r;
  EXPECT_EQ(r.find("zz9"), std::string::npos) << r;
  EXPECT_EQ(r.find("k7"), std::string::npos) << r;
  EXPECT_NE(r.find("format=json"), std::string::npos) << r;
  EXPECT_NE(r.find("access_token=***"), std::string::npos) << r;
}

TEST(HrMappingFile, PlainHttpOnlyForLoopbackOrOptIn) {
  EXPECT_THROW(parse_hr_mapping("source: {kind: scim, url: 'http://hr.example.com/scim'}\n", "m.yaml"), std::runtime_error);
  EXPECT_NO_THROW(parse_hr_mapping("source: {kind: scim, url: 'http://127.0.0.1:9/scim'}\n", "m.yaml"));
  EXPECT_NO_THROW(parse_hr_mapping("source: {kind: scim, url: 'http://hr.example.com/scim', allow_insecure_http: true}\n", "m.yaml"));
  EXPECT_THROW(parse_hr_mapping("source: {kind: scim, url: 'ftp://hr.example.com/scim'}\n", "m.yaml"), std::runtime_error);
}
