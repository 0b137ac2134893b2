// Migration files: Supabase CLI naming, header directives, and statement splitting that
// matches what the CLI records (trimmed, trailing ';' removed, comments kept).
#include <gtest/gtest.h>

#include "common/errors.hpp"
#include "migrate/files.hpp"
#include "migrate/history.hpp"

using rgsync::split_sql;

static std::vector<std::string> texts(const std::string &sql) {
  std::vector<std::string> out;
  for (const auto &s : split_sql(sql)) out.push_back(s.text);
  return out;
}

TEST(SplitSql, SplitsAtTopLevelSemicolonsAndTrims) {
  EXPECT_EQ(texts("create table a (x int);\n\n  insert into a values (1) ;\n"),
            (std::vector<std::string>{"create table a (x int)", "insert into a values (1)"}));
}

TEST(SplitSql, KeepsSemicolonsInsideQuotesCommentsAndDollarBodies) {
  std::string sql =
      "select 'a;b', \"c;d\", E'e\\';f';\n"
      "-- comment; with semicolon\n"
      "create function f() returns int language sql as $body$ select 1; $body$;\n"
      "/* block; /* nested; */ still; */ select 2;\n"
      "select $$x;y$$";
  auto t = texts(sql);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0], "select 'a;b', \"c;d\", E'e\\';f'");
  EXPECT_EQ(t[1], "-- comment; with semicolon\ncreate function f() returns int language sql as $body$ select 1; $body$");
  EXPECT_EQ(t[2], "/* block; /* nested; */ still; */ select 2");
  EXPECT_EQ(t[3], "select $$x;y$$");
}

TEST(SplitSql, BeginAtomicBodyIsOneStatement) {
  auto t = texts("create function g() returns int language sql begin atomic select 1; select case when true then 2 end; end;\nselect 3;");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1], "select 3");
}

TEST(SplitSql, PositionalParametersAreNotDollarQuotes) {
  EXPECT_EQ(texts("prepare p as select $1; select 2;").size(), 2u);
}

TEST(SplitSql, LinesPointAtTheFirstCodeLine) {
  auto s = split_sql("-- header\n\ncreate table a (x int);\n\n-- about b\ninsert into a values (1);\n-- trailing");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].line, 3);
  EXPECT_EQ(s[1].line, 6);
  EXPECT_TRUE(s[2].only_comments);
  EXPECT_FALSE(s[0].only_comments);
}

TEST(MigrationFile, NameVersionAndDirectives) {
  auto f = rgsync::parse_migration("20261125100500_registry_guard_extension.sql", "m/x.sql",
                                   "-- purpose\n-- registry-sync: requires-extension registry_guard\n"
                                   "-- registry-sync: feature audit trail\ncreate extension registry_guard;\n");
  EXPECT_EQ(f.version, "20261125100500");
  EXPECT_EQ(f.name, "registry_guard_extension");
  EXPECT_EQ(f.requires_extension, "registry_guard");
  EXPECT_EQ(f.feature, "audit trail");
  EXPECT_FALSE(f.baseline);
  EXPECT_EQ(f.checksum.size(), 64u);
}

TEST(MigrationFile, UnknownDirectiveIsAnErrorWithLine) {
  try {
    rgsync::parse_migration("1_x.sql", "m/1_x.sql", "-- a\n-- registry-sync: requires-extention foo\nselect 1;");
    FAIL();
  } catch (const rgsync::UsageError &e) {
    EXPECT_NE(std::string(e.what()).find("m/1_x.sql:2"), std::string::npos) << e.what();
  }
}

TEST(MigrationHistory, TextArrayLiteralEscapes) {
  EXPECT_EQ(rgsync::to_pg_text_array({"a", "b\"c", "d\\e", ""}), "{\"a\",\"b\\\"c\",\"d\\\\e\",\"\"}");
}
