// One HR sync run (see hr_run.hpp).
#include "hr/run.hpp"

#include <pqxx/transaction>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <unordered_map>
#include <sstream>

#include "db/advisory_lock.hpp"
#include "common/errors.hpp"
#include "hr/sources/fetch.hpp"
#include "hr/store.hpp"
#include "common/redact.hpp"
#include "common/sha256.hpp"

namespace rgsync::hr {

std::string actor_for(const HrMapping &m) { return "registry-sync hr:" + m.source.name; }

namespace {

std::string watermark_key(const HrMapping &m, const std::string &tenant) { return "hr:" + m.source.name + ":" + tenant; }

std::string summary(const HrMapping &m, const RunResult &r) {
  const Plan &p = r.plan;
  std::ostringstream s;
  s << "hr " << m.source.name << ": " << (r.full ? "full" : "incremental") << " fetch of " << r.hr_users << " users ("
    << r.pages << (r.pages == 1 ? " page" : " pages");
  if (r.retries) s << ", " << r.retries << " retries";
  s << "); created " << p.creates.size() << ", updated " << (p.updates.size() - static_cast<size_t>(p.deactivations))
    << ", deactivated " << p.deactivations << ", conflicts " << p.conflicts.size() << ", skipped " << p.skipped_out_of_scope
    << " out of scope and " << p.skipped_inactive << " inactive, unchanged " << p.unchanged << ", not in HR "
    << p.not_in_hr.size() << "; ";
  switch (r.status) {
    case RunStatus::Succeeded: s << r.rows_written << " rows written"; break;
    case RunStatus::DryRun: s << "dry run, nothing written"; break;
    case RunStatus::Refused: s << "refused, nothing written"; break;
    case RunStatus::RefusedUnchanged: s << "refused again (same HR data), nothing written"; break;
  }
  if (r.sync_run_id) s << " (sync run " << r.sync_run_id << ")";
  return s.str();
}

}  // namespace

RunResult run_hr_sync(pqxx::connection &conn, const HrMapping &m, const RunOptions &opt) {
  RunResult res;
  const std::string actor = actor_for(m);
  const std::string wkey = watermark_key(m, opt.tenant);
  try {
    // Decide full vs incremental from the stored watermark (a short read; the fetch happens
    // outside any transaction so a slow HR system holds no locks).
    std::optional<Watermark> wm;
    {
      pqxx::read_transaction tx(conn);
      HrStore store(tx, opt.tenant);
      store.check_schema();
      wm = store.load_watermark(wkey, m.watermark_overlap_s);
    }
    bool incremental_capable = m.source.kind == SourceKind::Scim && !m.last_modified_field.empty();
    res.full = opt.force_full || !incremental_capable || !wm || wm->value.empty() || wm->hours_since_full < 0 ||
               wm->hours_since_full >= m.full_reconciliation_hours;
    FetchOptions fo;
    fo.since = res.full ? "" : wm->value;
    fo.stop = opt.stop;
    auto t0 = std::chrono::steady_clock::now();
    FetchResult fetched = fetch_hr_users(m, fo);
    auto t1 = std::chrono::steady_clock::now();
    res.hr_users = static_cast<long>(fetched.users.size());
    res.pages = fetched.pages;
    res.requests = fetched.requests;
    res.retries = fetched.retries;
    spdlog::debug("hr {}: fetched {} users in {:.3f}s", m.source.name, res.hr_users, std::chrono::duration<double>(t1 - t0).count());

    // What HR said (for "did the input change?" after a refusal).
    auto hash_users = [&] {
      std::string all;
      for (const auto &u : fetched.users) {
        all += u.active ? "1" : "0";
        for (const auto &[k, v] : u.columns) {
          all += '\x1f' + k + '=' + (v ? *v : std::string("\x00null", 5));
        }
        all += '\x1e';
      }
      res.data_hash = sha256_hex(all);
    };
    hash_users();
    nlohmann::json hashes = nlohmann::json::object();
    if (!m.source.file.empty()) hashes[m.source.file] = sha256_file_hex(m.source.file);

    // A full SCIM fetch is not a snapshot: users it did not see are confirmed gone at the
    // source before they are deactivated (outside the transaction: HTTP holds no locks), then
    // the plan is made again with the users still there.
    std::optional<pqxx::work> txo;
    std::optional<HrStore> storeo;
    bool checked_absent = false;
    while (true) {
      txo.emplace(conn);
      advisory_xact_lock(*txo, "registry-sync hr:" + m.source.name + ":" + opt.tenant);
      HrStore &store = storeo.emplace(*txo, opt.tenant);
      res.sync_run_id = store.start_run(actor, opt.dry_run, hashes);
      auto t2 = std::chrono::steady_clock::now();
      std::vector<Profile> profiles = store.load_profiles();
      auto t3 = std::chrono::steady_clock::now();
      res.plan = make_plan({m, res.full && fetched.complete}, fetched.users, profiles);
      auto t4 = std::chrono::steady_clock::now();
      spdlog::debug("hr {}: loaded {} profiles in {:.3f}s, planned in {:.3f}s", m.source.name, profiles.size(),
                    std::chrono::duration<double>(t3 - t2).count(), std::chrono::duration<double>(t4 - t3).count());
      if (checked_absent || !(res.full && fetched.complete) || !can_confirm_absence(m)) break;
      std::vector<std::string> unseen;
      std::unordered_map<std::string, const Profile *> by_id;
      for (const auto &p : profiles) by_id[p.id] = &p;
      for (const auto &u : res.plan.updates) {
        if (!u.deactivates || !u.hr_key.empty()) continue;
        auto p = by_id.find(u.id);
        if (p == by_id.end()) continue;
        auto e = p->second->columns.find("employee_id");
        if (e != p->second->columns.end() && e->second) unseen.push_back(*e->second);
      }
      if (unseen.empty()) break;
      storeo.reset();
      txo->abort();
      txo.reset();
      checked_absent = true;
      AbsenceCheck ac = confirm_absent(m, unseen, fetched, fo);
      res.absent_present = static_cast<long>(ac.present.size());
      res.absent_gone = ac.gone;
      res.requests += ac.requests;
      res.pages += ac.requests;
      spdlog::info("hr {}: {} user(s) not seen in the full fetch are still at the source (kept), {} confirmed gone "
                   "(paging by index is not a snapshot; each unseen user was looked up)",
                   m.source.name, ac.present.size(), ac.gone);
      for (auto &u : ac.present) fetched.users.push_back(std::move(u));
      res.hr_users = static_cast<long>(fetched.users.size());
      hash_users();
    }
    pqxx::work &tx = *txo;
    HrStore &store = *storeo;
    nlohmann::json counts = res.plan.counts();
    counts["hr_users"] = res.hr_users;
    counts["full"] = res.full;
    counts["retries"] = res.retries;
    if (checked_absent) {
      counts["absent_confirmed_present"] = res.absent_present;
      counts["absent_confirmed_gone"] = res.absent_gone;
    }
    for (const auto &c : res.plan.conflicts)
      spdlog::warn("hr {}: conflict {}: {} (not applied)", m.source.name, c.profile_id.empty() ? "-" : c.profile_id, c.reason);

    if (res.plan.threshold_exceeded && !opt.allow_mass_deactivation && !opt.dry_run) {
      if (!opt.refused_data_hash.empty() && opt.refused_data_hash == res.data_hash) {
        tx.abort();  // nothing new to record: the same data was refused before
        res.status = RunStatus::RefusedUnchanged;
        res.sync_run_id = 0;
        res.message = summary(m, res);
        return res;
      }
      res.status = RunStatus::Refused;
      counts["rows_written"] = 0;
      std::string why = "would deactivate " + std::to_string(res.plan.deactivations) + " of " +
                        std::to_string(res.plan.hr_managed) + " HR-managed profiles, more than the threshold of " +
                        std::to_string(static_cast<int>(m.deactivation_threshold * 100 + 0.5)) +
                        "%; nothing written (check the HR source, or rerun with --allow-mass-deactivation)";
      store.finish_run(res.sync_run_id, "failed", counts, "refused: " + why);
      tx.commit();
      res.message = summary(m, res) + "\nrefused: " + why;
      return res;
    }
    if (opt.dry_run) {
      res.status = RunStatus::DryRun;
      counts["rows_written"] = 0;
      store.finish_run(res.sync_run_id, "dry_run", counts, "");
      tx.commit();
      res.message = summary(m, res);
      if (res.plan.threshold_exceeded) res.message += "\nwarning: a real run would be refused: too many deactivations";
      return res;
    }
    auto t5 = std::chrono::steady_clock::now();
    res.rows_written = store.apply(res.plan, m.source.name);
    spdlog::debug("hr {}: wrote {} rows in {:.3f}s", m.source.name, res.rows_written,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t5).count());
    if (incremental_capable) {
      std::vector<std::string> stamps;
      stamps.reserve(fetched.users.size());
      for (const auto &u : fetched.users) stamps.push_back(u.last_modified);
      store.save_watermark(wkey, stamps, res.full && fetched.complete);
    }
    counts["rows_written"] = res.rows_written;
    store.finish_run(res.sync_run_id, "succeeded", counts, "");
    tx.commit();
    res.status = RunStatus::Succeeded;
    res.message = summary(m, res);
    return res;
  } catch (const std::exception &e) {
    std::string err = redact(e.what());
    try {
      if (opt.record_failure && conn.is_open()) record_failed_run(conn, opt.tenant, actor, opt.dry_run, err);
    } catch (const std::exception &inner) {
      spdlog::debug("hr {}: could not record the failed run: {}", m.source.name, redact(inner.what()));
    }
    throw;
  }
}

}  // namespace rgsync::hr
