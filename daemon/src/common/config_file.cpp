// Parses registry-sync config files (YAML via libyaml events, or INI) into dotted keys.
#include "common/config_file.hpp"
#include "common/file_reader.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/errors.hpp"
#include "yaml/scalar.hpp"
#include "yaml/tree.hpp"

namespace rgsync {

namespace {
bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}
std::string unquote(const std::string &s) {
  if (s.size() >= 2 && ((s.front() == '"' && s.back() == '"') || (s.front() == '\'' && s.back() == '\'')))
    return s.substr(1, s.size() - 2);
  return s;
}
}  // namespace

ConfigFile ConfigFile::load(const std::string &path) {
  std::string text;
  try {
    text = read_file(path, kMaxConfigFileBytes);
  } catch (const FileReadError &e) {
    throw UsageError("config file " + std::string(e.what()));
  }
  return parse(text, path);
}

ConfigFile ConfigFile::parse(const std::string &text, const std::string &path) {
  if (ends_with(path, ".ini") || ends_with(path, ".conf")) return parse_ini(text, path);
  return parse_yaml(text, path);
}

std::optional<std::string> ConfigFile::get(const std::string &key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ConfigFile::get_list(const std::string &key) const {
  auto it = lists_.find(key);
  if (it != lists_.end()) return it->second;
  auto v = values_.find(key);
  if (v != values_.end()) return {v->second};
  return {};
}

std::string ConfigFile::where(const std::string &key) const {
  auto it = lines_.find(key);
  return path_ + ":" + (it == lines_.end() ? std::string("?") : std::to_string(it->second));
}

ConfigFile ConfigFile::parse_ini(const std::string &text, const std::string &path) {
  ConfigFile cfg;
  cfg.path_ = path;
  std::istringstream in(text);
  std::string line, section;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[') {
      if (t.back() != ']') throw UsageError(path + ":" + std::to_string(lineno) + ": unterminated section header");
      section = trim(t.substr(1, t.size() - 2));
      continue;
    }
    size_t eq = t.find('=');
    if (eq == std::string::npos)
      throw UsageError(path + ":" + std::to_string(lineno) + ": expected 'key = value'");
    std::string key = trim(t.substr(0, eq));
    if (key.empty()) throw UsageError(path + ":" + std::to_string(lineno) + ": empty key");
    if (!section.empty()) key = section + "." + key;
    cfg.values_[key] = unquote(trim(t.substr(eq + 1)));
    cfg.lines_[key] = lineno;
  }
  return cfg;
}

ConfigFile ConfigFile::parse_yaml(const std::string &text, const std::string &path) {
  ConfigFile cfg;
  cfg.path_ = path;
  ParseOptions opt;
  opt.allow_empty = true;
  opt.max_bytes = kMaxConfigFileBytes;
  Node root;
  try {
    root = parse_yaml_text(path, text, opt);
  } catch (const YamlError &e) {
    throw UsageError(e.what());
  }
  auto fail = [&](const Node &n, const std::string &what) {
    return UsageError(path + ":" + std::to_string(n.mark.line) + ":" + std::to_string(n.mark.column) + ": " + what);
  };
  if (root.is_scalar()) {
    // An empty file or a bare "---" is an empty config; anything else is not a mapping.
    if (is_null(root)) return cfg;
    throw fail(root, "a config file must be a mapping of keys to values");
  }
  if (!root.is_map()) throw fail(root, "a config file must be a mapping of keys to values or lists of values");
  // Depth-first over nested mappings; keys join with '.'.
  std::vector<std::pair<const Node *, std::string>> todo{{&root, ""}};
  while (!todo.empty()) {
    auto [m, prefix] = todo.back();
    todo.pop_back();
    for (size_t i = 0; i < m->map_size(); ++i) {
      const Node &k = m->key(i), &v = m->value(i);
      if (!k.is_scalar()) throw fail(k, "a mapping cannot be a key");
      std::string key = prefix + k.text;
      cfg.lines_[key] = static_cast<int>((v.is_scalar() ? v : k).mark.line);
      if (v.is_map()) {
        todo.push_back({&v, key + "."});
      } else if (v.is_seq()) {
        auto &list = cfg.lists_[key];
        cfg.lines_[key] = static_cast<int>(v.mark.line);
        for (const auto &e : v.items) {
          if (!e.is_scalar()) throw fail(e, "lists of mappings are not supported in the config file");
          list.push_back(e.text);
        }
      } else if (!is_null(v)) {
        cfg.values_[key] = v.text;  // as written; callers convert (yaml_bool for booleans)
      }
    }
  }
  return cfg;
}

}  // namespace rgsync
