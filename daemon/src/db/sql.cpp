// Quoting for SQL text (see sql.hpp).
#include "db/sql.hpp"

#include <stdexcept>

namespace rgsync {

std::string quote_ident(const std::string &ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '\0') throw std::invalid_argument("an SQL identifier cannot contain a NUL byte");
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string quote_literal(const std::string &text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\0') throw std::invalid_argument("an SQL string cannot contain a NUL byte");
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string text_array_literal(const std::vector<std::string> &elements) {
  std::string out = "{";
  for (size_t i = 0; i < elements.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : elements[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace rgsync
