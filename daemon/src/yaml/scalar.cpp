// PyYAML-compatible resolution of plain scalars, and JSON rendering of nodes.
#include "yaml/scalar.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace rgsync {

namespace {

bool one_of(const std::string &s, std::initializer_list<const char *> words) {
  for (const char *w : words)
    if (s == w) return true;
  return false;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [-+]?(0|[1-9][0-9_]*) etc. Returns true and the value when s is a YAML 1.1 int.
bool parse_int(const std::string &s, std::string &json) {
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  if (i >= s.size()) return false;
  std::string digits;
  int base = 10;
  if (s.compare(i, 2, "0b") == 0) { base = 2; i += 2; }
  else if (s.compare(i, 2, "0x") == 0) { base = 16; i += 2; }
  else if (s[i] == '0' && i + 1 < s.size()) { base = 8; i += 1; }
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_') continue;
    bool ok = base == 2 ? (c == '0' || c == '1') : base == 8 ? (c >= '0' && c <= '7')
            : base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : is_digit(c);
    if (!ok) return false;
    digits += c;
  }
  if (digits.empty()) return false;
  if (base == 10) {
    if (digits.size() > 1 && digits[0] == '0') return false;
    size_t nz = digits.find_first_not_of('0');
    json = (neg && nz != std::string::npos ? "-" : "") + (nz == std::string::npos ? std::string("0") : digits.substr(nz));
    return true;
  }
  unsigned long long v = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (r.ec != std::errc()) return false;
  json = (neg && v ? "-" : "") + std::to_string(v);
  return true;
}

// YAML 1.1 float: [-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)? (a dot is required).
bool parse_float(const std::string &s, std::string &json, bool &special) {
  special = false;
  size_t i = 0;
  std::string body;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) { if (s[i] == '-') body += '-'; ++i; }
  std::string rest = s.substr(i);
  if (one_of(rest, {".inf", ".Inf", ".INF"}) || one_of(s, {".nan", ".NaN", ".NAN"})) { special = true; return true; }
  std::string intpart, frac, exp;
  for (; i < s.size() && (is_digit(s[i]) || s[i] == '_'); ++i) if (s[i] != '_') intpart += s[i];
  if (i >= s.size() || s[i] != '.') return false;
  ++i;
  for (; i < s.size() && (is_digit(s[i]) || s[i] == '_'); ++i) if (s[i] != '_') frac += s[i];
  if (intpart.empty() && frac.empty()) return false;
  if (i < s.size()) {
    if (s[i] != 'e' && s[i] != 'E') return false;
    ++i;
    if (i >= s.size() || (s[i] != '-' && s[i] != '+')) return false;
    exp = std::string("e") + s[i++];
    size_t d = i;
    for (; i < s.size() && is_digit(s[i]); ++i) exp += s[i];
    if (i == d || i != s.size()) return false;
  }
  // JSON needs digits on both sides of the dot and no leading zeros.
  size_t nz = intpart.find_first_not_of('0');
  intpart = nz == std::string::npos ? "0" : intpart.substr(nz);
  json = body + intpart + "." + (frac.empty() ? "0" : frac) + exp;
  return true;
}

}  // namespace

std::optional<bool> yaml_bool(const std::string &x) {
  if (one_of(x, {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})) return true;
  if (one_of(x, {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})) return false;
  return std::nullopt;
}

bool is_null(const Node &n) {
  if (!n.is_scalar()) return false;
  if (n.tag == "tag:yaml.org,2002:null") return true;
  if (!n.tag.empty() || n.style != ScalarStyle::Plain) return false;
  return n.text.empty() || one_of(n.text, {"~", "null", "Null", "NULL"});
}

Scalar resolve_scalar(const std::string &file, const Node &n) {
  Scalar s;
  s.text = n.text;
  auto as_string = [&] {
    s.type = ScalarType::String;
    s.json.clear();
    append_json_string(s.json, n.text);
    return s;
  };
  auto number = [&](bool must_int) -> Scalar {
    std::string j;
    bool special = false;
    if (parse_int(n.text, j)) { s.type = ScalarType::Int; s.json = j; return s; }
    if (!must_int && parse_float(n.text, j, special)) {
      if (special) throw YamlError(file, n.mark, "'" + n.text + "' (infinity / not-a-number) cannot be stored as JSON; quote it to keep it as text");
      s.type = ScalarType::Float; s.json = j; return s;
    }
    s.type = ScalarType::String;
    return s;
  };
  if (!n.tag.empty()) {
    const std::string &t = n.tag;
    if (t == "tag:yaml.org,2002:str") return as_string();
    if (t == "tag:yaml.org,2002:null") { s.type = ScalarType::Null; s.json = "null"; return s; }
    if (t == "tag:yaml.org,2002:bool") {
      if (auto b = yaml_bool(n.text)) { s.type = ScalarType::Bool; s.boolean = *b; s.json = *b ? "true" : "false"; return s; }
      throw YamlError(file, n.mark, "'" + n.text + "' is tagged !!bool but is not a boolean");
    }
    if (t == "tag:yaml.org,2002:int" || t == "tag:yaml.org,2002:float") {
      Scalar r = number(t == "tag:yaml.org,2002:int");
      if (r.type == ScalarType::String) throw YamlError(file, n.mark, "'" + n.text + "' is tagged " + t + " but is not a number of that kind");
      return r;
    }
    throw YamlError(file, n.mark, "unsupported tag '" + t + "'; registry files use plain YAML values");
  }
  if (n.style != ScalarStyle::Plain) return as_string();
  const std::string &x = n.text;
  if (x.empty() || one_of(x, {"~", "null", "Null", "NULL"})) { s.type = ScalarType::Null; s.json = "null"; return s; }
  char c = x[0];
  if (std::strchr("yYnNtTfFoO", c)) {
    if (auto b = yaml_bool(x)) { s.type = ScalarType::Bool; s.boolean = *b; s.json = *b ? "true" : "false"; return s; }
    return as_string();
  }
  if (is_digit(c) || c == '-' || c == '+' || c == '.') {
    Scalar r = number(false);
    if (r.type != ScalarType::String) return r;
  }
  return as_string();
}

void append_json_string(std::string &out, const std::string &s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void append_json(std::string &out, const std::string &file, const Node &n) {
  switch (n.kind) {
    case NodeKind::Scalar: {
      if (n.text.find('\0') != std::string::npos)
        throw YamlError(file, n.mark, "a NUL character cannot be stored; remove it");
      out += resolve_scalar(file, n).json;
      break;
    }
    case NodeKind::Sequence:
      out += '[';
      for (size_t i = 0; i < n.items.size(); ++i) {
        if (i) out += ", ";
        append_json(out, file, n.items[i]);
      }
      out += ']';
      break;
    case NodeKind::Mapping:
      out += '{';
      for (size_t i = 0; i < n.map_size(); ++i) {
        if (i) out += ", ";
        const Node &k = n.key(i);
        if (!k.is_scalar()) throw YamlError(file, k.mark, "a mapping key must be a plain value, not a list or mapping");
        append_json_string(out, k.text);
        out += ": ";
        append_json(out, file, n.value(i));
      }
      out += '}';
      break;
  }
}

std::string to_json(const std::string &file, const Node &n) {
  std::string out;
  append_json(out, file, n);
  return out;
}

}  // namespace rgsync
