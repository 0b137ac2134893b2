// Connection parameter merging: flags > environment > config file (see connection_settings.hpp).
#include "common/connection_settings.hpp"

#include <libpq-fe.h>

#include <memory>
#include <set>
#include <vector>

#include "common/config_file.hpp"
#include "common/errors.hpp"
#include "common/redact.hpp"

namespace rgsync {

namespace {
// libpq's keywords and the environment variable of each, read once from PQconndefaults().
const std::vector<std::pair<std::string, std::string>> &libpq_keywords() {
  static const std::vector<std::pair<std::string, std::string>> keywords = [] {
    std::vector<std::pair<std::string, std::string>> out;
    PQconninfoOption *opts = PQconndefaults();
    if (opts) {
      for (PQconninfoOption *o = opts; o->keyword; ++o)
        out.emplace_back(o->keyword, o->envvar ? o->envvar : "");
      PQconninfoFree(opts);
    }
    return out;
  }();
  return keywords;
}

bool is_libpq_keyword(const std::string &k) {
  for (const auto &[kw, env] : libpq_keywords())
    if (kw == k) return true;
  return false;
}

std::string quote_value(const std::string &v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}
}  // namespace

std::optional<std::string> ConnectionSettings::get(const std::string &keyword) const {
  auto it = params_.find(keyword);
  if (it == params_.end()) return std::nullopt;
  return it->second;
}

std::string ConnectionSettings::origin(const std::string &keyword) const {
  auto it = origins_.find(keyword);
  return it == origins_.end() ? std::string("libpq default") : it->second;
}

void ConnectionSettings::set(const std::string &keyword, const std::string &value, const std::string &origin) {
  params_[keyword] = value;
  origins_[keyword] = origin;
  if (keyword == "password") register_secret(value);
}

std::string ConnectionSettings::conninfo() const {
  std::string out;
  for (const auto &[k, v] : params_) {
    if (!out.empty()) out += ' ';
    out += k + "=" + quote_value(v);
  }
  return out;
}

std::string ConnectionSettings::describe() const {
  auto show = [&](const char *k, const char *fallback) {
    auto v = get(k);
    return std::string(k) + "=" + (v ? *v : std::string(fallback));
  };
  return show("host", "(libpq default)") + " " + show("port", "(libpq default)") + " " +
         show("dbname", "(libpq default)") + " " + show("user", "(libpq default)");
}

std::map<std::string, std::string> parse_conninfo(const std::string &dsn, const std::string &origin) {
  char *err = nullptr;
  PQconninfoOption *opts = PQconninfoParse(dsn.c_str(), &err);
  if (!opts) {
    std::string why = err ? err : "out of memory";
    if (err) PQfreemem(err);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    throw UsageError(redact("invalid connection string in " + origin + " (" + redact_dsn(dsn) + "): " + why));
  }
  std::map<std::string, std::string> out;
  for (PQconninfoOption *o = opts; o->keyword; ++o)
    if (o->val) out[o->keyword] = o->val;
  PQconninfoFree(opts);
  if (auto it = out.find("password"); it != out.end()) register_secret(it->second);
  return out;
}

ConnectionSettings resolve_connection(const std::vector<ConnectionLayer> &layers_high_to_low) {
  ConnectionSettings s;
  for (auto layer = layers_high_to_low.rbegin(); layer != layers_high_to_low.rend(); ++layer) {
    if (layer->url) {
      std::string origin = layer->name + " " + layer->url_origin;
      for (const auto &[k, v] : parse_conninfo(*layer->url, origin)) s.set(k, v, origin);
    }
    for (const auto &[k, v] : layer->params) {
      auto o = layer->param_origin.find(k);
      s.set(k, v, layer->name + (o == layer->param_origin.end() ? "" : " " + o->second));
    }
  }
  return s;
}

ConnectionLayer environment_layer(const std::function<const char *(const char *)> &getenv_fn) {
  ConnectionLayer layer;
  layer.name = "environment";
  if (const char *url = getenv_fn("DATABASE_URL"); url && *url) {
    layer.url = url;
    layer.url_origin = "DATABASE_URL";
  }
  // DATABASE_URL is a complete target: the PG* variables only fill what it leaves open.
  std::set<std::string> from_url;
  if (layer.url)
    for (const auto &[k, v] : parse_conninfo(*layer.url, "environment DATABASE_URL")) from_url.insert(k);
  for (const auto &[kw, env] : libpq_keywords()) {
    if (env.empty() || from_url.count(kw)) continue;
    const char *v = getenv_fn(env.c_str());
    if (v && *v) {
      layer.params[kw] = v;
      layer.param_origin[kw] = env;
      if (kw == "password") register_secret(v);
    }
  }
  return layer;
}

ConnectionLayer config_file_layer(const ConfigFile &file) {
  ConnectionLayer layer;
  layer.name = "config file";
  if (auto url = file.get("database_url")) {
    layer.url = *url;
    layer.url_origin = file.where("database_url");
  }
  for (const auto &[k, v] : file.values()) {
    if (k.find('.') != std::string::npos || !is_libpq_keyword(k)) continue;
    layer.params[k] = v;
    layer.param_origin[k] = file.where(k);
    if (k == "password") register_secret(v);
  }
  return layer;
}

}  // namespace rgsync
