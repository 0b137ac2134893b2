// Parses registry-sync config files (YAML via libyaml events, or INI) into dotted keys.
#include "common/config_file.hpp"
#include "common/file_reader.hpp"

#include <yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/errors.hpp"

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
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) throw UsageError("cannot initialise the YAML parser");
  std::unique_ptr<yaml_parser_t, void (*)(yaml_parser_t *)> guard(&parser, yaml_parser_delete);
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char *>(text.data()), text.size());

  // Stack of open mappings: the dotted prefix of each and whether the next scalar is a key.
  struct Frame {
    std::string prefix;
    bool expect_key = true;
    std::string key;
  };
  std::vector<Frame> stack;
  std::string seq_key;
  bool in_seq = false;
  bool saw_root = false;
  auto fail = [&](const yaml_mark_t &m, const std::string &what) -> UsageError {
    return UsageError(path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " + what);
  };
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      std::string problem = parser.problem ? parser.problem : "invalid YAML";
      throw UsageError(path + ":" + std::to_string(parser.problem_mark.line + 1) + ":" +
                       std::to_string(parser.problem_mark.column + 1) + ": " + problem);
    }
    std::unique_ptr<yaml_event_t, void (*)(yaml_event_t *)> evguard(&ev, yaml_event_delete);
    yaml_mark_t mark = ev.start_mark;
    switch (ev.type) {
      case YAML_STREAM_END_EVENT:
        return cfg;
      case YAML_MAPPING_START_EVENT: {
        if (in_seq) throw fail(mark, "lists of mappings are not supported in the config file");
        if (stack.empty()) {
          if (saw_root) throw fail(mark, "only one YAML document is allowed");
          saw_root = true;
          stack.push_back(Frame{});
        } else {
          Frame &parent = stack.back();
          if (parent.expect_key) throw fail(mark, "a mapping cannot be a key");
          parent.expect_key = true;
          stack.push_back(Frame{parent.prefix + parent.key + ".", true, ""});
        }
        break;
      }
      case YAML_MAPPING_END_EVENT:
        stack.pop_back();
        break;
      case YAML_SEQUENCE_START_EVENT: {
        if (stack.empty() || stack.back().expect_key || in_seq)
          throw fail(mark, "a config file must be a mapping of keys to values or lists of values");
        Frame &f = stack.back();
        seq_key = f.prefix + f.key;
        cfg.lists_[seq_key];
        cfg.lines_[seq_key] = static_cast<int>(mark.line + 1);
        in_seq = true;
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
        in_seq = false;
        stack.back().expect_key = true;
        break;
      case YAML_SCALAR_EVENT: {
        std::string value(reinterpret_cast<const char *>(ev.data.scalar.value), ev.data.scalar.length);
        if (stack.empty()) {
          // An empty file or a bare "---" is an empty config; anything else is not a mapping.
          if (value.empty()) break;
          throw fail(mark, "a config file must be a mapping of keys to values");
        }
        if (in_seq) {
          cfg.lists_[seq_key].push_back(value);
          break;
        }
        Frame &f = stack.back();
        if (f.expect_key) {
          f.key = value;
          f.expect_key = false;
        } else {
          std::string key = f.prefix + f.key;
          bool plain_null = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && (value.empty() || value == "~" || value == "null");
          if (!plain_null) cfg.values_[key] = value;
          cfg.lines_[key] = static_cast<int>(mark.line + 1);
          f.expect_key = true;
        }
        break;
      }
      case YAML_ALIAS_EVENT:
        throw fail(mark, "aliases are not supported in the config file");
      default:
        break;
    }
  }
}

}  // namespace rgsync
