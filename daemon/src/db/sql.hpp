// SQL text helpers, the one place that quotes: identifiers, string literals, array literals.
// Every name from a mapping or config file reaches SQL through these (never spliced raw).
#pragma once

#include <string>
#include <vector>

namespace rgsync {

// "ident" with embedded double quotes doubled.
std::string quote_ident(const std::string &ident);
// 'text' with embedded single quotes doubled (standard_conforming_strings, PostgreSQL's
// default since 9.1: backslashes are literal). Refuses text holding a NUL byte.
std::string quote_literal(const std::string &text);
// PostgreSQL array input text for text[]: {"a","b \"c\""}; every element quoted.
std::string text_array_literal(const std::vector<std::string> &elements);

}  // namespace rgsync
