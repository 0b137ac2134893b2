// `{field}` templates (see field_template.hpp).
#include "common/field_template.hpp"

namespace rgsync {

FieldTemplate FieldTemplate::parse(const std::string &tpl) {
  FieldTemplate t;
  t.source_ = tpl;
  std::string lit;
  auto flush = [&] {
    if (!lit.empty()) t.parts_.push_back({false, std::move(lit)});
    lit.clear();
  };
  for (size_t i = 0; i < tpl.size(); ++i) {
    char c = tpl[i];
    if (c == '{' && i + 1 < tpl.size() && tpl[i + 1] == '{') { lit += '{'; ++i; continue; }
    if (c == '}' && i + 1 < tpl.size() && tpl[i + 1] == '}') { lit += '}'; ++i; continue; }
    if (c == '}')
      throw TemplateError("template '" + tpl + "': '}' at position " + std::to_string(i + 1) +
                          " closes no '{' (write '}}' for a literal brace)");
    if (c != '{') { lit += c; continue; }
    size_t close = tpl.find_first_of("{}", i + 1);
    if (close == std::string::npos || tpl[close] != '}')
      throw TemplateError("template '" + tpl + "': '{' at position " + std::to_string(i + 1) +
                          " is not closed (write {field}, or '{{' for a literal brace)");
    if (close == i + 1) throw TemplateError("template '" + tpl + "': empty placeholder '{}' at position " + std::to_string(i + 1));
    flush();
    t.parts_.push_back({true, tpl.substr(i + 1, close - i - 1)});
    i = close;
  }
  flush();
  return t;
}

std::vector<std::string> FieldTemplate::fields() const {
  std::vector<std::string> out;
  for (const auto &p : parts_)
    if (p.field) out.push_back(p.text);
  return out;
}

bool FieldTemplate::has_fields() const {
  for (const auto &p : parts_)
    if (p.field) return true;
  return false;
}

std::optional<std::string> FieldTemplate::expand(
    const std::function<std::optional<std::string>(const std::string &field)> &lookup) const {
  std::string out;
  for (const auto &p : parts_) {
    if (!p.field) { out += p.text; continue; }
    auto v = lookup(p.text);
    if (!v) return std::nullopt;
    out += *v;
  }
  return out;
}

}  // namespace rgsync
