// serve's export job: the fallback snapshot written atomically (see export_job.hpp).
#include "serve/export_job.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <vector>

#include "common/errors.hpp"
#include "common/sha256.hpp"
#include "registry/export.hpp"
#include "serve/metrics.hpp"

namespace fs = std::filesystem;

namespace rgsync::serve {

namespace {

void fsync_path(const std::string &path, bool dir) {
  int fd = ::open(path.c_str(), (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw OperationError("snapshot: cannot open " + path + " to sync it: " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw OperationError("snapshot: cannot sync " + path + " to disk: " + std::strerror(err));
}

void write_file(const std::string &path, const std::string &text) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw OperationError("snapshot: cannot write " + path);
  }
  fsync_path(path, false);
}

// "20261130T145500.123Z" and the unix time it stands for.
std::pair<std::string, double> stamp_now() {
  auto now = std::chrono::system_clock::now();
  double unix_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  long ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  char buf[40];
  std::tm tm {};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03ldZ", buf, ms);
  return {out, unix_s};
}

std::string iso_utc(double unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> snapshots_in(const std::string &dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind("snapshot-", 0) == 0 && e.is_directory() && !e.is_symlink()) names.push_back(n);
  }
  std::sort(names.begin(), names.end());  // the stamp sorts by time
  return names;
}

}  // namespace

SnapshotResult write_snapshot(pqxx::connection &conn, const RegistryOptions &registry, const std::string &dir,
                              const std::string &tenant) {
  Mapping m = load_registry_mapping(registry);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw OperationError("snapshot: cannot create " + dir + ": " + ec.message());
  // Incoming directories of runs that did not finish (a crash, a kill): never a snapshot.
  for (const auto &e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(".incoming-", 0) == 0) fs::remove_all(e.path(), ec);

  auto [stamp, taken_at] = stamp_now();
  const std::string incoming = dir + "/.incoming-" + stamp + "-" + std::to_string(::getpid());
  SnapshotResult res;
  try {
    fs::create_directories(incoming);
    std::ostringstream log;
    ExportResult r = export_registry(conn, m, incoming, tenant, log);
    res.files = r.files;
    res.rows = r.rows;
    res.documents = r.documents;
    res.taken_at = taken_at;

    // Checksums of every file, each synced to disk first.
    std::vector<std::string> rel;
    for (const auto &e : fs::recursive_directory_iterator(incoming))
      if (e.is_regular_file()) rel.push_back(fs::relative(e.path(), incoming).generic_string());
    std::sort(rel.begin(), rel.end());
    std::string sums;
    for (const auto &f : rel) {
      fsync_path(incoming + "/" + f, false);
      sums += sha256_file_hex(incoming + "/" + f) + "  " + f + "\n";
    }
    nlohmann::json meta = {{"taken_at", iso_utc(taken_at)}, {"taken_at_unix", taken_at}, {"tenant", tenant},
                           {"files", r.files},           {"rows", r.rows},             {"documents", r.documents}};
    write_file(incoming + "/snapshot.json", meta.dump(2) + "\n");
    sums += sha256_file_hex(incoming + "/snapshot.json") + "  snapshot.json\n";
    write_file(incoming + "/SHA256SUMS", sums);
    for (const auto &e : fs::recursive_directory_iterator(incoming))
      if (e.is_directory()) fsync_path(e.path().string(), true);
    fsync_path(incoming, true);

    // Publish: rename the finished directory, then swap the `current` symlink over to it.
    res.path = dir + "/snapshot-" + stamp;
    fs::rename(incoming, res.path);
    const std::string link_tmp = dir + "/.current-" + std::to_string(::getpid());
    fs::remove(link_tmp, ec);
    fs::create_directory_symlink("snapshot-" + stamp, link_tmp);
    fs::rename(link_tmp, dir + "/current");
    fsync_path(dir, true);
  } catch (...) {
    fs::remove_all(incoming, ec);
    throw;
  }
  // Keep the new snapshot and the previous one; older ones go.
  auto names = snapshots_in(dir);
  for (size_t i = 0; i + 2 < names.size(); ++i) fs::remove_all(dir + "/" + names[i], ec);
  return res;
}

double current_snapshot_time(const std::string &dir) {
  try {
    std::ifstream in(dir + "/current/snapshot.json");
    if (!in) return 0;
    auto j = nlohmann::json::parse(in);
    return j.at("taken_at_unix").get<double>();
  } catch (const std::exception &) {
    return 0;
  }
}

void SnapshotMetrics::watch(const std::string &job, const std::string &dir) {
  std::lock_guard<std::mutex> l(mu_);
  dir_[job] = dir;
}

std::string SnapshotMetrics::render(double now) const {
  std::map<std::string, std::string> dirs;
  {
    std::lock_guard<std::mutex> l(mu_);
    dirs = dir_;
  }
  if (dirs.empty()) return "";
  // One read of snapshot.json per job (`current` resolves once), so both lines show one snapshot.
  std::map<std::string, double> taken_at;
  for (const auto &[job, dir] : dirs) taken_at[job] = current_snapshot_time(dir);
  std::ostringstream o;
  auto num = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  o << "# HELP registry_sync_snapshot_timestamp_seconds Unix time the export job's current fallback snapshot was taken (0 = none).\n"
       "# TYPE registry_sync_snapshot_timestamp_seconds gauge\n";
  for (const auto &[job, t] : taken_at)
    o << "registry_sync_snapshot_timestamp_seconds{job=\"" << prom_label(job) << "\"} " << num(t) << "\n";
  o << "# HELP registry_sync_snapshot_age_seconds Seconds since the current fallback snapshot was taken (+Inf = none).\n"
       "# TYPE registry_sync_snapshot_age_seconds gauge\n";
  for (const auto &[job, t] : taken_at)
    o << "registry_sync_snapshot_age_seconds{job=\"" << prom_label(job) << "\"} " << (t > 0 ? num(std::max(0.0, now - t)) : "+Inf") << "\n";
  return o.str();
}

}  // namespace rgsync::serve
