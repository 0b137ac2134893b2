// Migration safety rules (migrate --check) over single files, with a fake catalogue: which
// statements are findings on existing / large tables, markers, and tables created earlier.
#include <gtest/gtest.h>

#include "migrate/files.hpp"
#include "migrate/safety.hpp"

using namespace rgsync;

namespace {
// public.big (1M rows), public.small (10 rows) exist; everything else does not.
std::optional<TableSize> fake(const std::string &schema, const std::string &table) {
  if (schema == "public" && table == "big") return TableSize{1e6, 200ll * 1024 * 1024};
  if (schema == "public" && table == "small") return TableSize{10, 16384};
  return std::nullopt;
}

std::vector<SafetyFinding> check(const std::string &sql) {
  static MigrationFile f;
  f = parse_migration("20990101000000_t.sql", "m/20990101000000_t.sql", sql);
  return check_migration_safety({&f}, fake, SafetyOptions{});
}

std::string rules(const std::vector<SafetyFinding> &fs) {
  std::string out;
  for (const auto &f : fs) out += (out.empty() ? "" : ",") + f.rule + "@" + std::to_string(f.line);
  return out;
}
}  // namespace

TEST(MigrationSafety, CreateIndexWithoutConcurrentlyOnExistingTable) {
  EXPECT_EQ(rules(check("select 1;\ncreate index big_x on public.big (x);")), "index@2");
  EXPECT_EQ(rules(check("create unique index if not exists small_x on small (x);")), "index@1");
  EXPECT_EQ(rules(check("create index concurrently big_x on big (x);")), "");
  EXPECT_EQ(rules(check("create table t (x int);\ncreate index t_x on t (x);")), "");
  EXPECT_EQ(rules(check("create index n_x on nowhere (x);")), "");
  auto f = check("create index big_x on big (x);");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].format().find("m/20990101000000_t.sql:1: index: "), std::string::npos);
  EXPECT_NE(f[0].message.find("CONCURRENTLY"), std::string::npos);
}

TEST(MigrationSafety, NotNullWithoutDefaultOnExistingTable) {
  EXPECT_EQ(rules(check("alter table small add column y int not null;")), "not-null@1");
  EXPECT_EQ(rules(check("alter table small add column y int not null default 0;")), "");
  EXPECT_EQ(rules(check("alter table small add column y int;")), "");
  EXPECT_EQ(rules(check("create table t (x int);\nalter table t add column y int not null;")), "");
}

TEST(MigrationSafety, AccessExclusiveOnLargeTablesOnly) {
  EXPECT_EQ(rules(check("alter table big alter column x set not null;")), "lock@1");
  EXPECT_EQ(rules(check("alter table small alter column x set not null;")), "");
  EXPECT_EQ(rules(check("alter table big add column y int;")), "lock@1");  // brief, but queues
  EXPECT_EQ(rules(check("alter table big add column id2 uuid default gen_random_uuid();")), "lock@1");
  EXPECT_EQ(rules(check("alter table big add constraint c check (x > 0);")), "lock@1");
  EXPECT_EQ(rules(check("alter table big add constraint c check (x > 0) not valid;")), "");
  EXPECT_EQ(rules(check("alter table big validate constraint c;")), "");
  EXPECT_EQ(rules(check("alter table big add constraint u unique using index big_u;")), "");
  EXPECT_EQ(rules(check("lock table big in share mode;")), "");
  EXPECT_EQ(rules(check("lock table big;")), "lock@1");
  EXPECT_EQ(rules(check("vacuum full big;")), "lock@1");
  EXPECT_EQ(rules(check("create policy p on public.big using (true);")), "lock@1");
  SafetyOptions tiny;
  tiny.large_rows = 5;
  static MigrationFile f;
  f = parse_migration("1_t.sql", "1_t.sql", "alter table small alter column x set not null;");
  EXPECT_EQ(check_migration_safety({&f}, fake, tiny).size(), 1u);
}

TEST(MigrationSafety, DestructiveNeedsMarkerWithReason) {
  EXPECT_EQ(rules(check("drop table small;")), "destructive@1");
  EXPECT_EQ(rules(check("drop table if exists nowhere;")), "");
  EXPECT_EQ(rules(check("create temp table t as select 1;\ndrop table t;")), "");
  EXPECT_EQ(rules(check("truncate small;")), "destructive@1");
  EXPECT_EQ(rules(check("alter table small drop column x;")), "destructive@1");
  EXPECT_EQ(rules(check("alter table small alter column x type bigint;")), "destructive@1");
  EXPECT_EQ(rules(check("alter table big alter column x set data type bigint;")), "destructive@1,lock@1");
  EXPECT_EQ(rules(check("drop schema old;")), "destructive@1");
  EXPECT_EQ(rules(check("drop function f() cascade;")), "destructive@1");
  EXPECT_EQ(rules(check("drop index if exists small_x;\ndrop trigger t on small;")), "");
  EXPECT_EQ(rules(check("-- registry-sync: allow-destructive replaced by v2 in 2026\ndrop table small;")), "");
  EXPECT_EQ(rules(check("select 1;\n-- registry-sync: allow-destructive\ndrop table small;")), "marker@3,destructive@3");
  // a marker covers only its own statement
  EXPECT_EQ(rules(check("-- registry-sync: allow-destructive old\ndrop table small;\ntruncate small;")), "destructive@3");
  // allow-lock does not accept destructive statements, and vice versa
  EXPECT_EQ(rules(check("-- registry-sync: allow-lock fine\ntruncate small;")), "destructive@2");
  EXPECT_EQ(rules(check("-- registry-sync: allow-destructive x\ncreate index i on big (x);")), "index@2");
  EXPECT_EQ(rules(check("-- registry-sync: allow-lock tiny in practice\ncreate index i on big (x);")), "");
}

TEST(MigrationSafety, IgnoresQuotedTextAndFunctionBodies) {
  EXPECT_EQ(rules(check("select 'drop table small';\n"
                        "create function f() returns void language sql as $$ truncate small $$;\n"
                        "comment on table small is 'alter table small drop column x';")),
            "");
  EXPECT_EQ(rules(check("drop table \"small\";")), "destructive@1");
}

TEST(MigrationSafety, NoTransactionDirectiveIsParsed) {
  auto f = parse_migration("1_i.sql", "1_i.sql", "-- registry-sync: no-transaction\ncreate index concurrently i on big (x);");
  EXPECT_TRUE(f.no_transaction);
  EXPECT_FALSE(parse_migration("1_i.sql", "1_i.sql", "select 1;").no_transaction);
}
