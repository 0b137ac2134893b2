// libyaml event stream -> nlohmann::json, recording each node's line for error messages.
#include "yaml/json_reader.hpp"
#include "common/file_reader.hpp"

#include <yaml.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace rgsync::hr {

std::string YamlDoc::where(const std::string &pointer) const {
  std::string p = pointer;
  while (true) {
    auto it = lines.find(p);
    if (it != lines.end()) return file + ":" + std::to_string(it->second);
    auto slash = p.rfind('/');
    if (slash == std::string::npos || p.empty()) return file;
    p = p.substr(0, slash);
  }
}

namespace {

std::string escape_pointer(const std::string &key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

nlohmann::json plain_scalar(const std::string &v) {
  static const std::regex int_re("^[-+]?[0-9]+$");
  static const std::regex float_re("^[-+]?([0-9]+\\.[0-9]*|\\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?$");
  if (v == "true" || v == "True" || v == "TRUE") return true;
  if (v == "false" || v == "False" || v == "FALSE") return false;
  if (v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL") return nullptr;
  if (std::regex_match(v, int_re)) {
    try { return std::stoll(v); } catch (...) { return v; }
  }
  if (std::regex_match(v, float_re)) {
    try { return std::stod(v); } catch (...) { return v; }
  }
  return v;
}

struct Parser {
  yaml_parser_t p{};
  YamlDoc &doc;
  explicit Parser(YamlDoc &d) : doc(d) {}
  ~Parser() { yaml_parser_delete(&p); }

  [[noreturn]] void fail(int line, const std::string &what) {
    throw std::runtime_error(doc.file + ":" + std::to_string(line) + ": " + what);
  }

  void next(yaml_event_t &ev) {
    if (!yaml_parser_parse(&p, &ev)) {
      fail(static_cast<int>(p.problem_mark.line) + 1,
           std::string("YAML syntax error: ") + (p.problem ? p.problem : "unknown") +
               (p.context ? std::string(" ") + p.context : ""));
    }
  }

  // Parses the node whose first event is ev (already read) into out.
  void node(yaml_event_t &ev, nlohmann::json &out, const std::string &ptr) {
    int line = static_cast<int>(ev.start_mark.line) + 1;
    doc.lines[ptr] = line;
    switch (ev.type) {
      case YAML_ALIAS_EVENT:
        yaml_event_delete(&ev);
        fail(line, "aliases are not supported in config files");
      case YAML_SCALAR_EVENT: {
        std::string v(reinterpret_cast<const char *>(ev.data.scalar.value), ev.data.scalar.length);
        bool plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        yaml_event_delete(&ev);
        out = plain ? plain_scalar(v) : nlohmann::json(v);
        return;
      }
      case YAML_SEQUENCE_START_EVENT: {
        yaml_event_delete(&ev);
        out = nlohmann::json::array();
        for (size_t i = 0;; ++i) {
          yaml_event_t e;
          next(e);
          if (e.type == YAML_SEQUENCE_END_EVENT) { yaml_event_delete(&e); return; }
          nlohmann::json item;
          node(e, item, ptr + "/" + std::to_string(i));
          out.push_back(std::move(item));
        }
      }
      case YAML_MAPPING_START_EVENT: {
        yaml_event_delete(&ev);
        out = nlohmann::json::object();
        while (true) {
          yaml_event_t k;
          next(k);
          if (k.type == YAML_MAPPING_END_EVENT) { yaml_event_delete(&k); return; }
          int kline = static_cast<int>(k.start_mark.line) + 1;
          if (k.type != YAML_SCALAR_EVENT) { yaml_event_delete(&k); fail(kline, "mapping keys must be plain text"); }
          std::string key(reinterpret_cast<const char *>(k.data.scalar.value), k.data.scalar.length);
          yaml_event_delete(&k);
          if (out.contains(key)) fail(kline, "duplicate key '" + key + "'");
          yaml_event_t v;
          next(v);
          nlohmann::json value;
          node(v, value, ptr + "/" + escape_pointer(key));
          doc.lines[ptr + "/" + escape_pointer(key)] = kline;
          out[key] = std::move(value);
        }
      }
      default:
        yaml_event_delete(&ev);
        fail(line, "unexpected YAML event");
    }
  }

  void parse(const std::string &text) {
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, reinterpret_cast<const unsigned char *>(text.data()), text.size());
    doc.root = nullptr;
    bool seen = false;
    while (true) {
      yaml_event_t ev;
      next(ev);
      yaml_event_type_t t = ev.type;
      if (t == YAML_STREAM_END_EVENT) { yaml_event_delete(&ev); break; }
      if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
        if (t == YAML_DOCUMENT_START_EVENT && seen) {
          int line = static_cast<int>(ev.start_mark.line) + 1;
          yaml_event_delete(&ev);
          fail(line, "only one YAML document per config file");
        }
        yaml_event_delete(&ev);
        continue;
      }
      seen = true;
      node(ev, doc.root, "");
    }
  }
};

}  // namespace

YamlDoc load_yaml_string(const std::string &text, const std::string &name) {
  YamlDoc doc;
  doc.file = name;
  Parser parser(doc);
  parser.parse(text);
  return doc;
}

YamlDoc load_yaml_file(const std::string &path) {
  return load_yaml_string(read_file(path, kMaxConfigFileBytes), path);
}

}  // namespace rgsync::hr
