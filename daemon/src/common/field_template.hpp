// The one `{field}` template expander: "emp_{employee_id}", "{first} {last}", "{name}".
//
//   FieldTemplate t = FieldTemplate::parse("emp_{employee_id}");   // throws TemplateError
//   std::optional<std::string> id = t.expand([&](const std::string &field) { return value_of(field); });
//
// Syntax: text with `{name}` placeholders; `{{` and `}}` are a literal brace. An unclosed `{`,
// a stray `}` or an empty `{}` is refused at parse time with the offending position, so every
// mapping that holds a template checks it when it is loaded, not when rows are written.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rgsync {

struct TemplateError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

class FieldTemplate {
 public:
  struct Part {
    bool field = false;  // a placeholder (text = its name) or literal text
    std::string text;
  };

  static FieldTemplate parse(const std::string &tpl);

  const std::string &source() const { return source_; }
  const std::vector<Part> &parts() const { return parts_; }
  // The placeholder names in order (with repeats).
  std::vector<std::string> fields() const;
  bool has_fields() const;

  // Expands with `lookup`; nullopt as soon as a placeholder's lookup gives nullopt.
  std::optional<std::string> expand(const std::function<std::optional<std::string>(const std::string &field)> &lookup) const;

 private:
  std::string source_;
  std::vector<Part> parts_;
};

}  // namespace rgsync
