// Contract files through the mapping: a file that is one entry, dotted paths with ordered
// fallbacks, $stem / $path, constants, precedence by file pattern (overrides:), and a list
// inside the entry feeding another table. Every mistake names file:line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "registry/mapping.hpp"
#include "registry/registry.hpp"

using namespace rgsync;
namespace fs = std::filesystem;

// Line numbers matter: the mapping-error tests below edit this text and expect m.yaml:LINE.
static const char *kContracts = R"(version: 1
tables:
  products:
    key: [id]
    columns: {id: text, name: text, domain: text, staging: boolean, tables: jsonb, path: text, kind: text, metadata: jsonb}
    required: [id, name, domain]
  kpis:
    key: [id]
    columns: {id: text, name: text, product_id: text, unit: text}
    required: [id, name, product_id]
files:
  - path: registry.yaml
    lists:
      products:
        table: products
        columns:
          staging: {default: false}
          path: {const: registry.yaml}
          kind: {const: listed}
  - path: "contracts/*.yaml"
    entry:
      table: products
      columns:
        id: [metadata.id, id, $stem]
        name: [metadata.name, name]
        domain: [metadata.domain, domain]
        staging: {default: false}
        path: $path
        kind: {const: contract}
        metadata: {from: labels, default: {}}
      ignore: [notes]
      children:
        - from: kpis
          table: kpis
          columns:
            product_id: {parent: id}
  - path: "staging/*.yaml"
    optional: true
    overrides: ["contracts/*.yaml", registry.yaml]
    entry:
      table: products
      columns:
        id: [metadata.id, id, $stem]
        name: [metadata.name, name]
        domain: [metadata.domain, domain]
        staging: {const: true}
        path: $path
        kind: {const: staging}
        metadata: {from: labels, default: {}}
      children:
        - from: kpis
          table: kpis
          columns:
            product_id: {parent: id}
)";

struct Contracts : ::testing::Test {
  fs::path dir;
  Mapping m;
  void SetUp() override {
    dir = fs::temp_directory_path() / ("rgsync_contracts_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir / "contracts");
    fs::create_directories(dir / "staging");
    m = load_mapping_text("m.yaml", kContracts);
    write("registry.yaml", "products:\n  - id: listed\n    name: Listed\n    domain: FI\n");
  }
  void TearDown() override { fs::remove_all(dir); }
  void write(const std::string &name, const std::string &text) { std::ofstream(dir / name) << text; }
  Registry load(Findings &f) {
    Registry r = load_registry(m, dir.string(), LoadOptions{}, f);
    if (f.errors() == 0) resolve_references(m, r, OnDangling::Fail, f);
    return r;
  }
  static std::string all(const Findings &f) {
    std::string s;
    for (const auto &x : f.items()) s += x.format() + "\n";
    return s;
  }
  static std::string cell(Registry &r, const char *table, const std::string &key, const char *col) {
    TableRows &t = *r.table(table);
    auto it = t.by_key.find(key);
    if (it == t.by_key.end()) return "<no row " + key + ">";
    const Cell &c = t.rows[it->second].cells[static_cast<size_t>(t.def->column_index(col))];
    return c.null ? "<null>" : c.text;
  }
};

TEST_F(Contracts, EachFileIsOneEntryWithFallbacksStemPathAndConstants) {
  // Fields at the top level, id from the file name.
  write("contracts/dp_top.yaml", "name: Top\ndomain: FI\nstaging: true\nnotes: kept out on purpose\nlabels: {tier: gold}\n");
  // Fields under metadata:, which win over the top-level spelling.
  write("contracts/dp_meta.yaml", "metadata:\n  id: dp_meta_id\n  name: From Metadata\n  domain: HR\nname: Ignored Fallback\n");
  Findings f;
  Registry r = load(f);
  ASSERT_EQ(f.errors(), 0u) << all(f);
  EXPECT_EQ(f.warnings(), 0u) << all(f);
  EXPECT_EQ(r.table("products")->live(), 3u);
  EXPECT_EQ(cell(r, "products", "dp_top", "name"), "Top");
  EXPECT_EQ(cell(r, "products", "dp_top", "staging"), "true");
  EXPECT_EQ(cell(r, "products", "dp_top", "path"), "contracts/dp_top.yaml");
  EXPECT_EQ(cell(r, "products", "dp_top", "kind"), "contract");
  EXPECT_EQ(cell(r, "products", "dp_top", "metadata"), "{\"tier\": \"gold\"}");
  EXPECT_EQ(cell(r, "products", "dp_meta_id", "name"), "From Metadata");  // metadata.name before name
  EXPECT_EQ(cell(r, "products", "dp_meta_id", "domain"), "HR");
  EXPECT_EQ(cell(r, "products", "dp_meta_id", "staging"), "false");  // default
  EXPECT_EQ(cell(r, "products", "dp_meta_id", "metadata"), "{}");
  EXPECT_EQ(cell(r, "products", "listed", "kind"), "listed");
}

TEST_F(Contracts, KpisInsideTheContractFeedTheirTableWithTheProductId) {
  write("contracts/dp_fi.yaml", "name: FI\ndomain: FI\nkpis:\n  - id: margin\n    name: Margin\n    unit: '%'\n  - id: revenue\n    name: Revenue\n");
  Findings f;
  Registry r = load(f);
  ASSERT_EQ(f.errors(), 0u) << all(f);
  EXPECT_EQ(r.table("kpis")->live(), 2u);
  EXPECT_EQ(cell(r, "kpis", "margin", "product_id"), "dp_fi");
  EXPECT_EQ(cell(r, "kpis", "margin", "unit"), "%");
  EXPECT_EQ(cell(r, "kpis", "revenue", "product_id"), "dp_fi");
}

TEST_F(Contracts, DataMistakesAreErrorsAtTheDataFilesLine) {
  write("contracts/dp_bad.yaml",
        "metadata:\n  name: Bad\n  domian: FI\n"          // 3: typo under metadata: (read through dotted paths)
        "domain: FI\n"
        "colour: blue\n"                                   // 5: unknown top-level field
        "kpis:\n"
        "  - id: k1\n    name: K1\n    product_id: other\n"  // 9: the product's id is filled in, not given
        "  - id: k2\n    nmae: K2\n"                        // 11: typo; 10: name missing
        "  - just_a_name\n");                              // 12: not a mapping
  write("contracts/dp_meta_text.yaml", "metadata: not a mapping\nname: X\ndomain: FI\n");
  write("contracts/dp_list.yaml", "- name: X\n");
  Findings f;
  load(f);
  std::string s = all(f);
  EXPECT_NE(s.find("contracts/dp_bad.yaml:3:3: error: unknown field 'metadata.domian' in products entry 'dp_bad'"), std::string::npos) << s;
  EXPECT_NE(s.find("contracts/dp_bad.yaml:5:1: error: unknown field 'colour' in products entry 'dp_bad'"), std::string::npos) << s;
  EXPECT_NE(s.find("contracts/dp_bad.yaml:9:5: error: unknown field 'product_id' in kpis entry 'k1'"), std::string::npos) << s;
  EXPECT_NE(s.find("contracts/dp_bad.yaml:10:5: error: kpis entry 'k2' has no value for required column 'name'"), std::string::npos) << s;
  EXPECT_NE(s.find("contracts/dp_bad.yaml:11:5: error: unknown field 'nmae' in kpis entry 'k2'"), std::string::npos) << s;
  EXPECT_NE(s.find("contracts/dp_bad.yaml:12:5: error: products entry 'dp_bad': each kpis element must be a mapping of kpis fields"), std::string::npos) << s;
  EXPECT_NE(s.find("contracts/dp_meta_text.yaml:1:11: error: products.id: 'metadata' must be a mapping to read metadata.id, got a single value"), std::string::npos) << s;
  EXPECT_EQ(s.find("dp_meta_text.yaml:1:11: error: products.name"), std::string::npos) << "one error per bad container\n" << s;
  EXPECT_NE(s.find("contracts/dp_list.yaml:1:1: error: this file must be one products entry (a mapping of fields), got a list"), std::string::npos) << s;
}

TEST_F(Contracts, StagingOverridesAreWarningsNamingBothPlaces) {
  write("contracts/dp_fi.yaml", "name: FI\ndomain: FI\nkpis:\n  - id: margin\n    name: Margin\n");
  write("staging/dp_fi.yaml", "\nname: FI (staging)\ndomain: FI\nkpis:\n  - id: margin\n    name: Margin v2\n");
  write("staging/listed.yaml", "name: Listed (staging)\ndomain: FI\n");
  Findings f;
  Registry r = load(f);
  ASSERT_EQ(f.errors(), 0u) << all(f);
  std::string s = all(f);
  EXPECT_EQ(f.warnings(), 3u) << s;
  EXPECT_NE(s.find("staging/dp_fi.yaml:2:1: warning: products key 'dp_fi' from " + (dir / "staging/dp_fi.yaml").string() + ":2 overrides " +
                   (dir / "contracts/dp_fi.yaml").string() + ":1 (mapping: staging/*.yaml overrides contracts/*.yaml)"),
            std::string::npos) << s;
  EXPECT_NE(s.find("staging/dp_fi.yaml:5:5: warning: kpis key 'margin' from"), std::string::npos) << s;
  EXPECT_NE(s.find("staging/listed.yaml:1:1: warning: products key 'listed' from"), std::string::npos) << s;
  EXPECT_NE(s.find("registry.yaml:2 (mapping: staging/*.yaml overrides registry.yaml)"), std::string::npos) << s;
  EXPECT_EQ(cell(r, "products", "dp_fi", "name"), "FI (staging)");
  EXPECT_EQ(cell(r, "products", "dp_fi", "staging"), "true");
  EXPECT_EQ(cell(r, "kpis", "margin", "name"), "Margin v2");
  EXPECT_EQ(cell(r, "products", "listed", "kind"), "staging");
}

TEST_F(Contracts, TheOverriddenSourceReadLastStillLoses) {
  // The winner is listed first in the mapping: the later, overridden row is the one reported.
  std::string text = kContracts;
  auto at = text.find("  - path: registry.yaml");
  std::string reg = text.substr(at, text.find("  - path: \"contracts") - at);
  text.erase(at, reg.size());
  text += reg;  // registry.yaml is now read after staging/*.yaml
  m = load_mapping_text("m.yaml", text);
  write("staging/listed.yaml", "name: Listed (staging)\ndomain: FI\n");
  write("contracts/other.yaml", "name: Other\ndomain: FI\n");
  Findings f;
  Registry r = load(f);
  ASSERT_EQ(f.errors(), 0u) << all(f);
  EXPECT_NE(all(f).find("registry.yaml:2:5: warning: products key 'listed' at " + (dir / "registry.yaml").string() + ":2 is overridden by " +
                        (dir / "staging/listed.yaml").string() + ":1"),
            std::string::npos) << all(f);
  EXPECT_EQ(cell(r, "products", "listed", "name"), "Listed (staging)");
}

TEST_F(Contracts, WithoutPrecedenceTheSameKeyFromTwoSourcesIsAnErrorNamingBoth) {
  write("contracts/listed.yaml", "name: Listed elsewhere\ndomain: FI\n");  // registry.yaml has 'listed' too
  write("contracts/a.yaml", "id: same\nname: A\ndomain: FI\n");
  write("contracts/b.yaml", "id: same\nname: B\ndomain: FI\n");
  Findings f;
  load(f);
  std::string s = all(f);
  EXPECT_EQ(f.errors(), 2u) << s;
  EXPECT_NE(s.find("contracts/listed.yaml:1:1: error: products key 'listed' is also defined at " + (dir / "registry.yaml").string() + ":2 with different content"),
            std::string::npos) << s;
  EXPECT_NE(s.find("contracts/b.yaml:1:1: error: products key 'same' is also defined at " + (dir / "contracts/a.yaml").string() + ":1"), std::string::npos) << s;
}

static std::string mapping_error(std::string text, const std::string &from, const std::string &to) {
  auto at = text.find(from);
  if (at == std::string::npos) return "fixture text not found: " + from;
  text.replace(at, from.size(), to);
  try {
    load_mapping_text("m.yaml", text);
  } catch (const YamlError &e) {
    return e.what();
  }
  return "accepted";
}

TEST(ContractMapping, MistakesAreErrorsAtTheMappingsLine) {
  auto has = [](const std::string &got, const std::string &want) { return got.find(want) != std::string::npos; };
  std::string e;
  e = mapping_error(kContracts, "id: [metadata.id, id, $stem]", "id: [metadata.id, id, $stme]");
  EXPECT_TRUE(has(e, "m.yaml:24:31: a column's sources: unknown source '$stme'")) << e;
  e = mapping_error(kContracts, "name: [metadata.name, name]\n        domain: [metadata.domain, domain]\n        staging: {default: false}",
                    "name: [metadata..name, name]\n        domain: [metadata.domain, domain]\n        staging: {default: false}");
  EXPECT_TRUE(has(e, "m.yaml:25:16: a column's sources: 'metadata..name' is not a field path")) << e;
  e = mapping_error(kContracts, "kind: {const: contract}", "kind: {const: [a, b]}");
  EXPECT_TRUE(has(e, "m.yaml:29:23: const value of products.kind does not fit the column type text")) << e;
  e = mapping_error(kContracts, "staging: {const: true}", "staging: {const: maybe}");
  EXPECT_TRUE(has(e, "m.yaml:46:26: const value of products.staging does not fit the column type boolean")) << e;
  e = mapping_error(kContracts, "kind: {const: contract}", "kind: {const: contract, default: x}");
  EXPECT_TRUE(has(e, "m.yaml:29:15: a const column takes no default")) << e;
  e = mapping_error(kContracts, "overrides: [\"contracts/*.yaml\", registry.yaml]", "overrides: [\"contract/*.yaml\"]");
  EXPECT_TRUE(has(e, "m.yaml:39:16: overrides: 'contract/*.yaml' is not the path of a files entry of this mapping")) << e;
  e = mapping_error(kContracts, "overrides: [\"contracts/*.yaml\", registry.yaml]", "overrides: [\"staging/*.yaml\"]");
  EXPECT_TRUE(has(e, "m.yaml:39:16: overrides: 'staging/*.yaml' is this files entry itself")) << e;
  e = mapping_error(kContracts, "  - path: \"contracts/*.yaml\"\n", "  - path: \"contracts/*.yaml\"\n    overrides: [\"staging/*.yaml\"]\n");
  EXPECT_TRUE(has(e, "m.yaml:21:16: overrides: 'contracts/*.yaml' and the sources it overrides override each other")) << e;
  e = mapping_error(kContracts, "  - path: \"contracts/*.yaml\"\n", "  - path: \"contracts/*.yaml\"\n    documents: [x]\n");
  EXPECT_TRUE(has(e, "a file that is one entry (entry:) has no lists: or documents:")) << e;
  e = mapping_error(kContracts, "product_id: {parent: id}\n  - path", "product_id: {parent: ident}\n  - path");
  EXPECT_TRUE(has(e, "m.yaml:36:13: column 'product_id': parent column 'ident' is not a column of products")) << e;
  e = mapping_error(kContracts, "      ignore: [notes]", "      unknown_fields: fatal");
  EXPECT_TRUE(has(e, "m.yaml:31:23: unknown_fields must be error or warning")) << e;
  e = mapping_error(kContracts, "path: {const: registry.yaml}", "path: {from: x, const: registry.yaml}");
  EXPECT_TRUE(has(e, "m.yaml:18:17: a column rule takes one of from / first_of")) << e;
}

TEST(ContractMapping, UnknownFieldsCanBeWarningsAndFromAlternativesStayExclusive) {
  std::string text = kContracts;
  text.replace(text.find("      ignore: [notes]"), std::string("      ignore: [notes]").size(), "      unknown_fields: warning");
  text.replace(text.find("name: [metadata.name, name]"), std::string("name: [metadata.name, name]").size(), "name: {from: [metadata.name, name]}");
  Mapping m = load_mapping_text("m.yaml", text);
  fs::path dir = fs::temp_directory_path() / ("rgsync_contracts_warn_" + std::to_string(::getpid()));
  fs::create_directories(dir / "contracts");
  std::ofstream(dir / "registry.yaml") << "products: []\n";
  std::ofstream(dir / "contracts/x.yaml") << "metadata: {name: A}\nname: B\ndomain: FI\nnotes: n\n";
  Findings f;
  load_registry(m, dir.string(), LoadOptions{}, f);
  fs::remove_all(dir);
  std::string s;
  for (const auto &x : f.items()) s += x.format() + "\n";
  EXPECT_NE(s.find("x.yaml:2:7: error: products.name: both 'metadata.name' and 'name' are given; keep one"), std::string::npos) << s;
  EXPECT_NE(s.find("x.yaml:4:1: warning: unknown field 'notes' in products entry"), std::string::npos) << s;
}

// default_template and ignore: take dotted paths too; a template's placeholders are checked
// as sources when the mapping loads.
TEST(ContractMapping, TemplatesAndIgnoreTakeDottedPaths) {
  const std::string text =
      "version: 1\ntables:\n  products:\n    key: [id]\n    columns: {id: text, name: text, owner: text}\n"
      "files:\n  - path: \"c/*.yaml\"\n    entry:\n      table: products\n      columns:\n"
      "        id: $stem\n        name: metadata.name\n        owner: {first_of: [metadata.owner, owner], default_template: \"{metadata.domain} Team\"}\n"
      "      ignore: [metadata.comment, metadata.domain]\n";
  Mapping m = load_mapping_text("m.yaml", text);
  fs::path dir = fs::temp_directory_path() / ("rgsync_contracts_tpl_" + std::to_string(::getpid()));
  fs::create_directories(dir / "c");
  std::ofstream(dir / "c/p1.yaml") << "metadata:\n  name: P1\n  domain: Finance\n  comment: kept out\n";
  std::ofstream(dir / "c/p2.yaml") << "metadata:\n  name: P2\n  domain: HR\n  owner: Pat\n  note: typo\n";
  Findings f;
  Registry r = load_registry(m, dir.string(), LoadOptions{}, f);
  fs::remove_all(dir);
  std::string s;
  for (const auto &x : f.items()) s += x.format() + "\n";
  EXPECT_EQ(f.errors(), 1u) << s;
  EXPECT_NE(s.find("c/p2.yaml:5:3: error: unknown field 'metadata.note' in products entry 'p2'"), std::string::npos) << s;
  TableRows &t = *r.table("products");
  ASSERT_EQ(t.rows.size(), 2u) << s;
  EXPECT_EQ(t.rows[t.by_key.at("p1")].cells[2].text, "Finance Team");
  EXPECT_EQ(t.rows[t.by_key.at("p2")].cells[2].text, "Pat");

  std::string bad = text;
  bad.replace(bad.find("{metadata.domain} Team"), std::string("{metadata.domain} Team").size(), "{$domain} Team");
  try {
    load_mapping_text("m.yaml", bad);
    FAIL() << "accepted {$domain}";
  } catch (const YamlError &e) {
    EXPECT_NE(std::string(e.what()).find("m.yaml:13:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unknown source '$domain'"), std::string::npos) << e.what();
  }
}
