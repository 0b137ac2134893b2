// The libyaml node tree: marks, scalar resolution, and the inputs it must refuse.
#include <gtest/gtest.h>

#include "yaml/tree.hpp"
#include "yaml/scalar.hpp"

using namespace rgsync;

static std::string err_of(const std::string &text, uint64_t limit = 1 << 20) {
  try {
    ParseOptions o;
    o.max_bytes = limit;
    parse_yaml_text("f.yaml", text, o);
  } catch (const YamlError &e) {
    return e.what();
  }
  return "";
}

TEST(YamlTree, KeepsLineAndColumnOfEveryNode) {
  Node n = parse_yaml_text("f.yaml", "a: 1\nlist:\n  - x: y\n    z: [1, 2]\n");
  ASSERT_TRUE(n.is_map());
  const Node *list = n.get("list");
  ASSERT_NE(list, nullptr);
  const Node &entry = list->items[0];
  EXPECT_EQ(entry.get("z")->mark.line, 4u);
  EXPECT_EQ(entry.get("z")->mark.column, 8u);
  EXPECT_EQ(entry.get("z")->items[1].mark.column, 12u);
}

TEST(YamlTree, RefusesDuplicateKeysNamingBothLines) {
  EXPECT_EQ(err_of("a: 1\nb: 2\na: 3\n"), "f.yaml:3:1: duplicate key 'a' in this mapping (first at line 1); remove one of them");
}

TEST(YamlTree, RefusesEmptyFilesAndCommentOnlyFiles) {
  EXPECT_NE(err_of("").find("file is empty"), std::string::npos);
  EXPECT_NE(err_of("# only a comment\n").find("file is empty"), std::string::npos);
}

TEST(YamlTree, RefusesInvalidUtf8WithItsPosition) {
  std::string e = err_of("a: b\nc: \xff\xfe\n");
  EXPECT_NE(e.find("f.yaml:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("UTF-8"), std::string::npos) << e;
}

TEST(YamlTree, RefusesFilesOverTheSizeLimit) {
  EXPECT_NE(err_of("a: 12345678901234567890\n", 10).find("over the limit of 10 bytes"), std::string::npos);
}

TEST(YamlTree, ReportsSyntaxErrorsWithLine) {
  std::string e = err_of("a: [1, 2\nb: 3\n");
  EXPECT_EQ(e.rfind("f.yaml:", 0), 0u) << e;
}

TEST(YamlTree, RefusesSecondDocumentAndMergeKeys) {
  EXPECT_NE(err_of("a: 1\n---\nb: 2\n").find("second YAML document"), std::string::npos);
  EXPECT_NE(err_of("x: &a {k: 1}\ny:\n  <<: *a\n").find("merge keys"), std::string::npos);
}

TEST(YamlTree, ExpandsAliasesButBoundsTheirGrowth) {
  Node n = parse_yaml_text("f.yaml", "a: &x [1, 2]\nb: *x\n");
  EXPECT_EQ(n.get("b")->items.size(), 2u);
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'h'; ++c)
    bomb += std::string(1, c) + ": &" + c + " [*" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) +
            ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + ", *" + char(c - 1) + "]\n";
  EXPECT_NE(err_of(bomb, 1 << 20).find("anchors and aliases expand to more than 1000000 copied nodes"), std::string::npos) << err_of(bomb);
}

// A PyYAML dump of 100k KPIs sharing objects: each entry refers to shared dimension lists,
// thresholds and metadata by alias (300k aliases, ~2M copied nodes). The fixed 1M-node alias
// budget refused it; the budget now grows with the nodes the document spells out.
TEST(YamlTree, LargeDocumentWithHundredsOfThousandsOfAliasesLoads) {
  std::string doc = "kpis:\n";
  doc.reserve(24 << 20);
  for (int i = 0; i < 100000; ++i) {
    int s = i % 1000;
    std::string n = std::to_string(i), sh = std::to_string(s);
    doc += "- id: kpi_" + n + "\n  name: KPI " + n + "\n  domain: Finance\n  unit: USD\n  owner: Team " + sh +
           "\n  description: Some text about " + n + "\n";
    if (i < 1000) {
      doc += "  dimensions: &d" + sh + " [region, product, channel, month]\n";
      doc += "  thresholds: &t" + sh + " {green: 10, yellow: 5, red: 0}\n";
      doc += "  metadata: &m" + sh + " {source: erp, grain: month}\n";
    } else {
      doc += "  dimensions: *d" + sh + "\n  thresholds: *t" + sh + "\n  metadata: *m" + sh + "\n";
    }
  }
  ParseOptions o;
  o.max_bytes = 64 << 20;
  size_t entries = 0, dims = 0;
  StreamSpec spec;
  spec.wants = [](const std::string &k) { return k == "kpis"; };
  spec.on_entry = [&](const std::string &, Node &&e) {
    ++entries;
    if (const Node *d = e.get("dimensions")) dims += d->items.size();
  };
  o.stream = &spec;
  ASSERT_NO_THROW(parse_yaml_text("kpis.yaml", doc, o));
  EXPECT_EQ(entries, 100000u);
  EXPECT_EQ(dims, 400000u);
}

// Anchored nodes are copied (kept for later aliases); nested anchors used to copy outside any
// budget: quadratic in the document's size without a single alias.
TEST(YamlTree, NestedAnchorCopiesCountAgainstTheBudget) {
  std::string doc;
  for (int d = 0; d < 100; ++d) {
    doc += std::string(static_cast<size_t>(d) * 2, ' ') + "- &a" + std::to_string(d) + "\n";
    for (int k = 0; k < 1000; ++k) doc += std::string(static_cast<size_t>(d) * 2 + 2, ' ') + "- v\n";
  }
  // (each level is a list holding the next level and 1000 scalars)
  std::string e = err_of(doc, 64 << 20);
  EXPECT_NE(e.find("copied nodes"), std::string::npos) << e.substr(0, 200);
}

// Copying and destroying nodes recurse: nesting is bounded, for aliases too.
TEST(YamlTree, RefusesNestingBeyondTheDepthLimit) {
  std::string deep(5000, '[');
  deep += std::string(5000, ']');
  EXPECT_NE(err_of(deep).find("nesting deeper than 500 levels"), std::string::npos) << err_of(deep);
  std::string ok(400, '[');
  ok += std::string(400, ']');
  EXPECT_EQ(err_of(ok), "");
  // An alias of a 300-deep anchor placed 300 levels down would be 600 deep.
  std::string via_alias = "a: &x " + std::string(300, '[') + std::string(300, ']') + "\nb: " + std::string(300, '[') + "*x" +
                          std::string(300, ']') + "\n";
  EXPECT_NE(err_of(via_alias).find("nests deeper than 500 levels"), std::string::npos) << err_of(via_alias);
}

static Scalar res(const std::string &doc) {
  Node n = parse_yaml_text("f.yaml", "v: " + doc + "\n");
  return resolve_scalar("f.yaml", *n.get("v"));
}

TEST(YamlValue, ResolvesPlainScalarsLikePyYaml) {
  EXPECT_EQ(res("0.10").json, "0.10");
  EXPECT_EQ(res("0.10").type, ScalarType::Float);
  EXPECT_EQ(res("-0.05").json, "-0.05");
  EXPECT_EQ(res(".5").json, "0.5");
  EXPECT_EQ(res("1_000").json, "1000");
  EXPECT_EQ(res("0x1F").json, "31");
  EXPECT_EQ(res("yes").json, "true");
  EXPECT_EQ(res("Off").json, "false");
  EXPECT_EQ(res("~").type, ScalarType::Null);
  EXPECT_EQ(res("1e3").type, ScalarType::String);  // YAML 1.1 floats need a dot
  EXPECT_EQ(res("\"0.10\"").json, "\"0.10\"");
  EXPECT_EQ(res("'true'").type, ScalarType::String);
  EXPECT_EQ(res("2025-06-21").type, ScalarType::String);
}

TEST(YamlValue, RefusesValuesJsonCannotHold) {
  EXPECT_THROW(res(".inf"), YamlError);
  EXPECT_THROW(res("!custom x"), YamlError);
}

TEST(YamlValue, RendersNestedNodesAsJson) {
  Node n = parse_yaml_text("f.yaml", "v:\n  a: [1, \"two\", null, true]\n  \"q\\\"k\": \"line\\nbreak\"\n");
  EXPECT_EQ(to_json("f.yaml", *n.get("v")), "{\"a\": [1, \"two\", null, true], \"q\\\"k\": \"line\\nbreak\"}");
}
