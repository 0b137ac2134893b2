// Reading serve's listener and job settings from the config file (see serve_config.hpp).
#include "serve/config.hpp"

#include <map>
#include <set>
#include <sys/stat.h>

#include "common/errors.hpp"
#include "yaml/scalar.hpp"
#include "registry/apply.hpp"
#include "registry/mapping.hpp"

namespace rgsync::serve {

namespace {

double positive(const ConfigFile &f, const std::string &key) {
  std::string v = *f.get(key);
  try {
    size_t used = 0;
    double d = std::stod(v, &used);
    if (used == v.size() && d > 0) return d;
  } catch (...) {
  }
  throw UsageError(f.where(key) + ": " + key + " must be a positive number (got '" + v + "')");
}

bool boolean(const ConfigFile &f, const std::string &key) {
  if (auto b = yaml_bool(*f.get(key))) return *b;
  throw UsageError(f.where(key) + ": " + key + " must be true or false");
}

}  // namespace

ServeConfig load_serve_config(const ConfigFile &f) {
  ServeConfig c;
  std::map<std::string, std::set<std::string>> job_keys;
  for (const auto &[key, value] : f.values()) {
    if (key.rfind("serve.", 0) == 0) {
      std::string k = key.substr(6);
      if (k == "listen") c.listen = value;
      else if (k == "migrations_dir") c.migrations_dir = value;
      else if (k == "retry_max_seconds") c.retry_max_s = positive(f, key);
      else if (k == "readiness_check_seconds") c.readiness_check_s = positive(f, key);
      else if (k == "request_timeout_seconds") c.request_timeout_s = positive(f, key);
      else if (k == "http_workers") {
        double w = positive(f, key);
        if (w != static_cast<int>(w) || w > 256) throw UsageError(f.where(key) + ": " + key + " must be a whole number from 1 to 256");
        c.http_workers = static_cast<int>(w);
      }
      else throw UsageError(f.where(key) + ": unknown key '" + key + "' (serve knows listen, migrations_dir, retry_max_seconds, readiness_check_seconds, request_timeout_seconds, http_workers)");
    } else if (key.rfind("jobs.", 0) == 0) {
      std::string rest = key.substr(5);
      auto dot = rest.rfind('.');
      if (dot == std::string::npos) throw UsageError(f.where(key) + ": '" + key + "' must be a job with settings (jobs.NAME.kind, ...)");
      job_keys[rest.substr(0, dot)].insert(rest.substr(dot + 1));
    }
  }
  const std::set<std::string> allowed = {"kind", "every_minutes", "every_seconds", "mapping", "tenant", "allow_mass_deactivation",
                                         "registry", "on_dangling", "dir", "full_verify_every_minutes",
                                         "full_verify_every_seconds"};
  for (const auto &[name, keys] : job_keys) {
    std::string p = "jobs." + name + ".";
    for (const auto &k : keys)
      if (!allowed.count(k))
        throw UsageError(f.where(p + k) + ": unknown job setting '" + k + "' (kind, every_minutes, every_seconds, mapping, tenant, allow_mass_deactivation, registry, on_dangling, dir, full_verify_every_minutes, full_verify_every_seconds)");
    JobConfig j;
    j.name = name;
    if (!keys.count("kind")) throw UsageError(f.where(p.substr(0, p.size() - 1)) + ": job '" + name + "' needs kind (hr, apply, seal, manifest, export or health)");
    j.kind = *f.get(p + "kind");
    if (keys.count("every_minutes") == keys.count("every_seconds"))
      throw UsageError(f.where(p + "kind") + ": job '" + name + "' needs exactly one of every_minutes or every_seconds");
    j.every_s = keys.count("every_minutes") ? positive(f, p + "every_minutes") * 60 : positive(f, p + "every_seconds");
    if (keys.count("tenant")) j.tenant = *f.get(p + "tenant");
    if (j.kind != "apply" && (keys.count("registry") || keys.count("on_dangling")))
      throw UsageError(f.where(p + "kind") + ": registry and on_dangling are settings of apply jobs, not of " + j.kind + " job '" + name + "'");
    bool full_minutes = keys.count("full_verify_every_minutes"), full_seconds = keys.count("full_verify_every_seconds");
    if (j.kind != "health" && (full_minutes || full_seconds))
      throw UsageError(f.where(p + (full_minutes ? "full_verify_every_minutes" : "full_verify_every_seconds")) +
                       ": full_verify_every_minutes/_seconds are settings of health jobs, not of " + j.kind + " job '" + name + "'");
    if (full_minutes && full_seconds)
      throw UsageError(f.where(p + "full_verify_every_seconds") + ": health job '" + name +
                       "' takes one of full_verify_every_minutes or full_verify_every_seconds");
    if (full_minutes) j.full_verify_every_s = positive(f, p + "full_verify_every_minutes") * 60;
    if (full_seconds) j.full_verify_every_s = positive(f, p + "full_verify_every_seconds");
    if (j.kind != "manifest" && j.kind != "export" && keys.count("dir"))
      throw UsageError(f.where(p + "dir") + ": dir is a setting of manifest and export jobs, not of " + j.kind + " job '" + name + "'");
    if (j.kind == "hr") {
      if (!keys.count("mapping")) throw UsageError(f.where(p + "kind") + ": hr job '" + name + "' needs mapping (an HR mapping file)");
      j.mapping_file = *f.get(p + "mapping");
      if (keys.count("allow_mass_deactivation")) j.allow_mass_deactivation = boolean(f, p + "allow_mass_deactivation");
      try {
        j.mapping = hr::load_hr_mapping(j.mapping_file, registry_hr_owned_columns(f.get("hr.registry_mapping")));
      } catch (const std::runtime_error &e) {
        throw UsageError(std::string("job '") + name + "': " + e.what());
      }
    } else if (j.kind == "apply") {
      if (!keys.count("registry")) throw UsageError(f.where(p + "kind") + ": apply job '" + name + "' needs registry (a YAML registry directory)");
      if (keys.count("allow_mass_deactivation"))
        throw UsageError(f.where(p + "allow_mass_deactivation") + ": allow_mass_deactivation is a setting of hr jobs, not of apply job '" + name + "'");
      j.registry.registry_dir = *f.get(p + "registry");
      struct stat st {};
      if (stat(j.registry.registry_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw UsageError(f.where(p + "registry") + ": " + j.registry.registry_dir + " is not a directory");
      j.registry.mapping_path = keys.count("mapping") ? *f.get(p + "mapping") : default_mapping_path();
      if (keys.count("on_dangling")) {
        j.on_dangling = *f.get(p + "on_dangling");
        auto policy = parse_on_dangling(j.on_dangling);
        if (!policy) throw UsageError(f.where(p + "on_dangling") + ": on_dangling must be fail, drop or keep (got '" + j.on_dangling + "')");
        j.registry.on_dangling = *policy;
      }
      // Load the mapping once now so a bad file stops serve at start; each run loads it again
      // (an edited mapping is picked up, as a new `registry-sync apply` would).
      ApplyOptions probe;
      try {
        load_apply_mapping(j.registry, probe);
      } catch (const std::runtime_error &e) {
        throw UsageError(std::string("job '") + name + "': " + e.what());
      }
    } else if (j.kind == "seal") {
      if (keys.count("mapping") || keys.count("allow_mass_deactivation"))
        throw UsageError(f.where(p + "kind") + ": seal job '" + name + "' takes only kind, every_minutes/every_seconds");
    } else if (j.kind == "manifest") {
      if (!keys.count("dir")) throw UsageError(f.where(p + "kind") + ": manifest job '" + name + "' needs dir (where to write the manifests)");
      if (keys.count("mapping") || keys.count("allow_mass_deactivation"))
        throw UsageError(f.where(p + "kind") + ": manifest job '" + name + "' takes only kind, dir, every_minutes/every_seconds");
      j.manifest_dir = *f.get(p + "dir");
    } else if (j.kind == "health") {
      if (keys.count("mapping") || keys.count("allow_mass_deactivation") || keys.count("tenant"))
        throw UsageError(f.where(p + "kind") + ": health job '" + name + "' takes only kind, every_minutes/every_seconds, full_verify_every_minutes/_seconds");
    } else if (j.kind == "export") {
      if (!keys.count("dir")) throw UsageError(f.where(p + "kind") + ": export job '" + name + "' needs dir (where the snapshots are kept)");
      if (keys.count("allow_mass_deactivation"))
        throw UsageError(f.where(p + "kind") + ": export job '" + name + "' takes only kind, dir, mapping, tenant, every_minutes/every_seconds");
      j.snapshot_dir = *f.get(p + "dir");
      j.registry.mapping_path = keys.count("mapping") ? *f.get(p + "mapping") : default_mapping_path();
      try {
        load_registry_mapping(j.registry);  // a bad mapping stops serve at start; each run loads it again
      } catch (const std::runtime_error &e) {
        throw UsageError(std::string("job '") + name + "': " + e.what());
      }
    } else {
      throw UsageError(f.where(p + "kind") + ": unknown job kind '" + j.kind + "' (hr, apply, seal, manifest, export or health)");
    }
    c.jobs.push_back(std::move(j));
  }
  if (c.jobs.empty()) throw UsageError(f.path() + ": no jobs configured (add jobs.NAME.kind / every_minutes / ...)");
  return c;
}

}  // namespace rgsync::serve
