// Canonical YAML emitter (see yaml_emit.hpp).
#include "yaml/emit.hpp"

#include "yaml/scalar.hpp"

namespace rgsync {

namespace {

using json = nlohmann::ordered_json;

void scalar(std::string &out, const json &v) {
  if (v.is_string()) append_json_string(out, v.get_ref<const std::string &>());  // JSON escapes are valid YAML
  else out += v.dump();                                                           // numbers, true/false, null
}

bool plain_key_ok(const std::string &k) {
  if (k.empty()) return false;
  for (char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  if (std::isdigit(static_cast<unsigned char>(k[0]))) return false;
  static const char *words[] = {"yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
                                "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "y", "Y", "n", "N"};
  for (const char *w : words)
    if (k == w) return false;
  return true;
}

void pad(std::string &out, int n) { out.append(static_cast<size_t>(n), ' '); }

}  // namespace

std::string yaml_key(const std::string &k) {
  if (plain_key_ok(k)) return k;
  std::string s;
  append_json_string(s, k);
  return s;
}

void emit_yaml_value(std::string &out, const json &v, int indent) {
  if (v.is_object()) {
    if (v.empty()) { out += " {}\n"; return; }
    out += '\n';
    for (auto it = v.begin(); it != v.end(); ++it) {
      pad(out, indent);
      out += yaml_key(it.key()) + ":";
      emit_yaml_value(out, it.value(), indent + 2);
    }
  } else if (v.is_array()) {
    if (v.empty()) { out += " []\n"; return; }
    out += '\n';
    for (const auto &e : v) {
      pad(out, indent);
      out += "-";
      if (e.is_object() && !e.empty()) {
        // "- key: value" with the rest of the mapping aligned under the first key.
        bool first = true;
        for (auto it = e.begin(); it != e.end(); ++it) {
          if (first) out += " "; else pad(out, indent + 2);
          first = false;
          out += yaml_key(it.key()) + ":";
          emit_yaml_value(out, it.value(), indent + 4);
        }
      } else {
        emit_yaml_value(out, e, indent + 2);
      }
    }
  } else {
    out += ' ';
    scalar(out, v);
    out += '\n';
  }
}

std::string emit_yaml_document(const json &root) {
  std::string out;
  if (root.is_object()) {
    for (auto it = root.begin(); it != root.end(); ++it) {
      out += yaml_key(it.key()) + ":";
      emit_yaml_value(out, it.value(), 2);
    }
  } else if (root.is_array()) {
    std::string body;
    emit_yaml_value(body, root, 0);
    out = body.substr(body[0] == '\n' ? 1 : 0);
  } else {
    scalar(out, root);
    out += '\n';
  }
  return out;
}

}  // namespace rgsync
