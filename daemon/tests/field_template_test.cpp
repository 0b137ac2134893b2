// The one {field} template expander shared by the registry mapping and HR mappings.
#include <gtest/gtest.h>

#include <map>

#include "common/field_template.hpp"

using rgsync::FieldTemplate;
using rgsync::TemplateError;

namespace {
std::optional<std::string> expand(const std::string &tpl, const std::map<std::string, std::string> &v) {
  return FieldTemplate::parse(tpl).expand([&](const std::string &f) -> std::optional<std::string> {
    auto it = v.find(f);
    if (it == v.end()) return std::nullopt;
    return it->second;
  });
}
std::string parse_error(const std::string &tpl) {
  try {
    FieldTemplate::parse(tpl);
  } catch (const TemplateError &e) {
    return e.what();
  }
  return "(accepted)";
}
}  // namespace

TEST(FieldTemplate, ExpandsPlaceholdersAndLiteralBraces) {
  EXPECT_EQ(expand("{domain} Team", {{"domain", "Finance"}}), std::optional<std::string>("Finance Team"));
  EXPECT_EQ(expand("emp_{a}{b}", {{"a", "1"}, {"b", "2"}}), std::optional<std::string>("emp_12"));
  EXPECT_EQ(expand("{{literal}} {x}", {{"x", "y"}}), std::optional<std::string>("{literal} y"));
  EXPECT_EQ(expand("no fields", {}), std::optional<std::string>("no fields"));
  EXPECT_EQ(expand("{missing} Team", {}), std::nullopt);
  EXPECT_EQ(FieldTemplate::parse("{a}-{b}-{a}").fields(), (std::vector<std::string>{"a", "b", "a"}));
  EXPECT_FALSE(FieldTemplate::parse("plain").has_fields());
}

TEST(FieldTemplate, RefusesUnclosedStrayAndEmptyBracesNamingThePosition) {
  EXPECT_NE(parse_error("{name").find("'{' at position 1 is not closed"), std::string::npos) << parse_error("{name");
  EXPECT_NE(parse_error("a{b{c}").find("'{' at position 2 is not closed"), std::string::npos) << parse_error("a{b{c}");
  EXPECT_NE(parse_error("x}").find("'}' at position 2 closes no '{'"), std::string::npos) << parse_error("x}");
  EXPECT_NE(parse_error("a{}").find("empty placeholder"), std::string::npos) << parse_error("a{}");
}
