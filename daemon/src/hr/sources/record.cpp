// One HR record (a JSON object, or a CSV row as header -> text) -> HrUser, and the UTF-8 check
// every source applies to what it reads (see fetch.hpp).
#include "hr/sources/fetch.hpp"
#include "hr/sources/source_fetch.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rgsync::hr {

namespace sources {

const char *type_name(const nlohmann::json &v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "a list";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_null()) return "null";
  return "text";
}

}  // namespace sources

namespace {

using sources::type_name;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Scalar -> text; nullopt for null / absent / empty. Throws for objects, lists, booleans.
Value scalar_text(const nlohmann::json *v, const std::string &field, const std::string &key, const std::string &src) {
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_string()) {
    const auto &s = v->get_ref<const std::string &>();
    if (s.empty()) return std::nullopt;
    return s;
  }
  if (v->is_number_integer()) return std::to_string(v->get<long long>());
  if (v->is_number_unsigned()) return std::to_string(v->get<unsigned long long>());
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
    return v->dump();
  }
  throw std::runtime_error("HR source '" + src + "': " + key + ": field '" + field + "' is " + type_name(*v) +
                           ", expected text or a number");
}

}  // namespace

long invalid_utf8_line(const std::string &s) {
  long line = 1;
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') ++line;
    if (c < 0x80) { ++i; continue; }
    int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n) return line;
    for (int k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return line;
    unsigned cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return line;
    i += len;
  }
  return 0;
}

HrUser map_record(const HrMapping &m, const nlohmann::json &rec, const std::string &key) {
  const std::string &src = m.source.name;
  if (!rec.is_object())
    throw std::runtime_error("HR source '" + src + "': " + key + " is " + type_name(rec) + ", expected an object");
  HrUser u;
  u.key = key;
  for (const auto &rule : m.fields) {
    Value v;
    if (!rule.tpl) {
      v = scalar_text(json_path(rec, rule.expr), rule.expr, key, src);
    } else {
      std::string out = *rule.tpl->expand([&](const std::string &path) -> std::optional<std::string> {
        return scalar_text(json_path(rec, path), path, key, src).value_or("");
      });
      auto b = out.find_first_not_of(' ');
      auto e = out.find_last_not_of(' ');
      if (b != std::string::npos) v = out.substr(b, e - b + 1);
    }
    u.columns[rule.column] = v;
  }
  auto emp = u.columns.find("employee_id");
  if (emp == u.columns.end() || !emp->second) {
    std::string path;
    for (const auto &r : m.fields) if (r.column == "employee_id") path = r.expr;
    throw std::runtime_error("HR source '" + src + "': " + key + ": no employee id (mapped from '" + path +
                             "'); every HR user needs one to be matched to a profile");
  }
  if (!m.active_field.empty()) {
    const nlohmann::json *a = json_path(rec, m.active_field);
    if (a && !a->is_null()) {
      if (a->is_boolean()) u.active = a->get<bool>();
      else if (a->is_string() || a->is_number()) {
        std::string t = a->is_string() ? lower(a->get<std::string>()) : a->dump();
        u.active = std::find(m.active_values.begin(), m.active_values.end(), t) != m.active_values.end();
      } else {
        throw std::runtime_error("HR source '" + src + "': " + key + ": field '" + m.active_field + "' is " +
                                 type_name(*a) + ", expected a boolean or text");
      }
    }
  }
  if (!m.last_modified_field.empty()) {
    auto lm = scalar_text(json_path(rec, m.last_modified_field), m.last_modified_field, key, src);
    if (lm) u.last_modified = *lm;
  }
  return u;
}

}  // namespace rgsync::hr
