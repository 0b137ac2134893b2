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
  EXPECT_NE(err_of(bomb, 1 << 20).find("aliases expand"), std::string::npos);
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
