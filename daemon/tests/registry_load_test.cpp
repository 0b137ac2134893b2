// Mapping + registry loading: the column rules, references and every finding kind.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "registry/mapping.hpp"
#include "registry/registry.hpp"

using namespace rgsync;
namespace fs = std::filesystem;

static const char *kMapping = R"(
version: 1
tables:
  procs:
    key: [id]
    columns: {id: text, name: text, display_name: text}
    required: [id, name]
  terms:
    key: [id]
    columns: {id: text, term: text, tags: "text[]", metadata: jsonb, owner: text, domain: text, procs: "text[]", reviewed: boolean, day: date, n: integer}
    required: [id, term, owner]
  members:
    key: [term_id, proc_id]
    columns: {term_id: text, proc_id: text, position: integer}
    owner: term_id
references:
  - {column: terms.procs, table: procs, match: [id, display_name]}
  - {column: members.proc_id, table: procs}
files:
  - path: procs.yaml
    lists:
      .: {table: procs}
  - path: terms.yaml
    documents: [defaults]
    lists:
      terms:
        table: terms
        columns:
          id: {slug: name}
          term: {from: name}
          tags: {sorted_keys: mappings, default: []}
          metadata: {from: mappings, default: {}}
          owner: {default_template: "{domain} Team"}
          procs: {from: [processes, process_ids], default: []}
        ignore: [legacy]
        children:
          - from: members
            table: members
            columns:
              term_id: {parent: id}
              proc_id: {element: true}
              position: {position: true}
)";

struct Fixture : ::testing::Test {
  fs::path dir;
  Mapping m;
  void SetUp() override {
    dir = fs::temp_directory_path() / ("rgsync_test_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir);
    m = load_mapping_text("mapping.yaml", kMapping);
    write("procs.yaml", "- id: p1\n  name: One\n  display_name: 'Finance: One'\n- id: p2\n  name: Two\n");
  }
  void TearDown() override { fs::remove_all(dir); }
  void write(const std::string &name, const std::string &text) { std::ofstream(dir / name) << text; }
  Registry load(Findings &f, OnDangling p = OnDangling::Fail) {
    Registry r = load_registry(m, dir.string(), LoadOptions{}, f);
    if (f.errors() == 0) resolve_references(m, r, p, f);
    return r;
  }
  static std::string all(const Findings &f) {
    std::string s;
    for (const auto &x : f.items()) s += x.format() + "\n";
    return s;
  }
};

TEST_F(Fixture, AppliesEveryColumnRule) {
  write("terms.yaml",
        "defaults: {a: 1}\nterms:\n  - name: Profit Margin %\n    domain: FI\n    mappings: {sap: X, duckdb: y}\n"
        "    processes: ['Finance: One', p2]\n    reviewed: yes\n    day: 2025-01-31\n    n: 7\n    legacy: dropped on purpose\n"
        "    members: [p2, p1]\n");
  Findings f;
  Registry r = load(f);
  ASSERT_EQ(f.errors(), 0u) << all(f);
  EXPECT_EQ(f.warnings(), 0u) << all(f);
  const TableRows &t = *r.table("terms");
  ASSERT_EQ(t.rows.size(), 1u);
  const Row &row = t.rows[0];
  auto cell = [&](const char *c) { return row.cells[static_cast<size_t>(t.def->column_index(c))]; };
  EXPECT_EQ(cell("id").text, "profit_margin");
  EXPECT_EQ(cell("term").text, "Profit Margin %");
  EXPECT_EQ(cell("tags").elems, (std::vector<std::string>{"duckdb", "sap"}));
  EXPECT_EQ(cell("owner").text, "FI Team");
  EXPECT_EQ(cell("procs").elems, (std::vector<std::string>{"p1", "p2"}));  // display name resolved to id
  EXPECT_EQ(cell("reviewed").text, "true");
  EXPECT_EQ(cell("n").text, "7");
  const TableRows &mem = *r.table("members");
  ASSERT_EQ(mem.rows.size(), 2u);
  EXPECT_EQ(mem.rows[0].cells[1].text, "p2");
  EXPECT_EQ(mem.rows[0].cells[2].text, "1");
  ASSERT_EQ(r.documents.size(), 1u);
  EXPECT_EQ(r.documents[0].json, "{\"a\": 1}");
}

TEST_F(Fixture, ReportsEveryProblemWithFileLineColumn) {
  write("terms.yaml",
        "terms:\n  - name: A\n    domain: FI\n    tags_typo: 1\n  - name: A\n    domain: FI\n"
        "  - domain: FI\n  - name: B\n    domain: [x]\n    processes: nope\n  - name: C\n    domain: FI\n    day: 2025-02-30\n"
        "    reviewed: maybe\ntermz: []\n");
  Findings f;
  load(f);
  std::string s = all(f);
  EXPECT_NE(s.find("terms.yaml:4:5: warning: unknown field 'tags_typo'"), std::string::npos) << s;
  EXPECT_NE(s.find("terms.yaml:5:5: error: terms key 'a' appears twice in terms (first at"), std::string::npos) << s;
  EXPECT_NE(s.find("terms.yaml:7:5: error: terms entry has no value for required column 'id'"), std::string::npos) << s;
  EXPECT_NE(s.find("terms.yaml:9:13: error: terms.domain: expected text, got a list"), std::string::npos) << s;
  EXPECT_NE(s.find("terms.yaml:10:16: error: terms.procs: expected a list of text values"), std::string::npos) << s;
  EXPECT_NE(s.find("terms.yaml:13:10: error: terms.day: expected a date (YYYY-MM-DD)"), std::string::npos) << s;
  EXPECT_NE(s.find("terms.yaml:14:15: error: terms.reviewed: expected true or false, got a single value 'maybe'"), std::string::npos) << s;
  EXPECT_NE(s.find("terms.yaml:15:1: error: unknown top-level key 'termz'"), std::string::npos) << s;
}

TEST_F(Fixture, DanglingReferencesFailDropOrKeep) {
  write("terms.yaml", "terms:\n  - name: A\n    domain: FI\n    processes: [p1, nope]\n    members: [p1, ghost]\n");
  Findings f1;
  load(f1, OnDangling::Fail);
  EXPECT_EQ(f1.errors(), 2u) << all(f1);
  EXPECT_NE(all(f1).find("terms.yaml:4:21: error: dangling reference: terms 'a': procs refers to 'nope'"), std::string::npos) << all(f1);
  Findings f2;
  Registry r = load(f2, OnDangling::Drop);
  EXPECT_EQ(f2.errors(), 0u) << all(f2);
  EXPECT_EQ(f2.warnings(), 2u);
  EXPECT_EQ(r.table("terms")->rows[0].cells[6].elems, std::vector<std::string>{"p1"});
  EXPECT_EQ(r.table("members")->live(), 1u);  // the link row to a missing target is dropped
  Findings f3;
  load(f3, OnDangling::Keep);
  EXPECT_NE(all(f3).find("--on-dangling=keep is refused because this reference is enforced"), std::string::npos);
}

TEST_F(Fixture, RenamedFieldGivenTwiceIsAnError) {
  write("terms.yaml", "terms:\n  - name: A\n    domain: FI\n    processes: [p1]\n    process_ids: [p1]\n");
  Findings f;
  load(f);
  EXPECT_NE(all(f).find("both 'processes' and 'process_ids' are given"), std::string::npos) << all(f);
}

TEST_F(Fixture, MissingFileIsAnError) {
  Findings f;
  load(f);
  EXPECT_NE(all(f).find("terms.yaml:1:1: error: registry file not found"), std::string::npos) << all(f);
}

TEST(Mapping, RejectsMistakesWithTheirLine) {
  try {
    load_mapping_text("m.yaml", "version: 1\ntables:\n  t:\n    key: [id]\n    columns: {id: txt}\nfiles: []\n");
    FAIL() << "accepted an unknown type";
  } catch (const YamlError &e) {
    EXPECT_NE(std::string(e.what()).find("m.yaml:5:19: unknown column type 'txt'"), std::string::npos) << e.what();
  }
}

// A default_template with an unclosed '{' used to loop forever while loading the registry.
TEST(Mapping, UnclosedTemplateBraceIsRefusedWhenTheMappingLoads) {
  std::string text = kMapping;
  auto at = text.find("\"{domain} Team\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, std::string("\"{domain} Team\"").size(), "\"{name\"");
  try {
    load_mapping_text("m.yaml", text);
    FAIL() << "accepted default_template \"{name\"";
  } catch (const YamlError &e) {
    EXPECT_NE(std::string(e.what()).find("m.yaml:33:37:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("is not closed"), std::string::npos) << e.what();
  }
}

TEST(Mapping, SlugRule) {
  EXPECT_EQ(slugify("Profit Center Hierarchyid"), "profit_center_hierarchyid");
  EXPECT_EQ(slugify("  --Budget vs. Actuals!  "), "budget_vs_actuals");
}

TEST(Mapping, ShippedMappingLoadsAndNamesHrOwnedColumns) {
  Mapping m = load_mapping(std::string(RGSYNC_SOURCE_DIR) + "/../config/registry-mapping.yaml");
  const TableDef *p = m.table("principal_profiles");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->hr_owned_columns.size(), 9u);
  EXPECT_EQ(p->hr_link_column, "hr_source");
}

// Two sources for one table: a glob of files, identical duplicates merge, different ones
// follow the table's duplicates: policy.
static Mapping two_source_mapping(const std::string &policy) {
  return load_mapping_text("m.yaml", "version: 1\ntables:\n  procs:\n    key: [id]\n    columns: {id: text, name: text, display_name: text}\n    duplicates: " + policy +
                                         "\nfiles:\n  - path: procs.yaml\n    lists:\n      .: {table: procs}\n"
                                         "  - path: \"more/*.yaml\"\n    lists:\n      procs: {table: procs}\n");
}

TEST_F(Fixture, SameKeyFromTwoSourcesFollowsThePolicy) {
  std::filesystem::create_directories(dir / "more");
  write("more/a.yaml", "procs:\n  - id: p1\n    name: One\n    display_name: 'Finance: One'\n");           // identical to procs.yaml: one row
  write("more/b.yaml", "procs:\n  - id: p2\n    name: Two again\n");     // differs
  write("more/c.yaml", "procs:\n  - id: p3\n    name: Three\n");
  for (const char *policy : {"error", "first-wins", "last-wins"}) {
    m = two_source_mapping(policy);
    Findings f;
    Registry r = load_registry(m, dir.string(), LoadOptions{}, f);
    EXPECT_EQ(r.files.size(), 4u) << policy;  // the glob found a, b and c
    const TableRows &t = *r.table("procs");
    EXPECT_EQ(t.rows.size(), 3u) << policy;
    std::string s = all(f);
    if (std::string(policy) == "error") {
      EXPECT_EQ(f.errors(), 1u) << s;
      EXPECT_NE(s.find("more/b.yaml:2:5: error: procs key 'p2' is also defined at"), std::string::npos) << s;
      EXPECT_NE(s.find("procs.yaml:4"), std::string::npos) << s;  // names the other place
    } else {
      EXPECT_EQ(f.errors(), 0u) << s;
      EXPECT_EQ(f.warnings(), 1u) << s;
      const Row &p2 = t.rows[t.by_key.at("p2")];
      EXPECT_EQ(p2.cells[1].text, std::string(policy) == "last-wins" ? "Two again" : "Two") << policy;
    }
  }
}
