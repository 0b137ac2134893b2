// Migration planning, application, adoption and repair (see migrator.hpp).
#include "migrate/migrator.hpp"

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <map>

#include "db/advisory_lock.hpp"
#include "common/errors.hpp"

namespace rgsync {

namespace {
constexpr const char *kLockName = "registry-sync migrate";

std::string short_sum(const std::string &s) { return s.substr(0, 12); }

bool extension_available(pqxx::transaction_base &tx, const std::string &name) {
  return tx.exec1("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = " + tx.quote(name) +
                  ") OR EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = " + tx.quote(name) + ")")[0]
      .as<bool>();
}

std::string edited_message(const MigrationEntry &e) {
  return e.file->path + " (version " + e.file->version + "): " + e.detail;
}
}  // namespace

const char *to_string(MigrationState s) {
  switch (s) {
    case MigrationState::kApplied: return "applied";
    case MigrationState::kPending: return "pending";
    case MigrationState::kEdited: return "edited";
    case MigrationState::kUnavailable: return "unavailable";
  }
  return "?";
}

size_t MigrationStatus::count(MigrationState s) const {
  size_t n = 0;
  for (const auto &e : entries) n += e.state == s;
  return n;
}

const MigrationFile *MigrationStatus::baseline() const {
  for (const auto &e : entries)
    if (e.file->baseline) return e.file;
  return nullptr;
}

MigrationStatus inspect_migrations(pqxx::transaction_base &tx, const std::vector<MigrationFile> &files) {
  MigrationStatus st;
  st.history_exists = history_exists(tx);
  auto history = read_history(tx);
  std::map<std::string, bool> ext_cache;
  for (const auto &f : files) {
    MigrationEntry e;
    e.file = &f;
    auto h = history.find(f.version);
    if (h != history.end()) {
      e.history = h->second;
      e.state = MigrationState::kApplied;
      if (h->second.checksum) {
        if (*h->second.checksum != f.checksum) {
          e.state = MigrationState::kEdited;
          e.detail = "edited after it was applied (recorded sha256 " + short_sum(*h->second.checksum) +
                     "..., file now " + short_sum(f.checksum) + "...)";
        }
      } else if (h->second.statements != f.statement_texts()) {
        // Applied by the Supabase CLI (no checksum): compare the recorded statements.
        e.state = MigrationState::kEdited;
        e.detail = "its statements differ from those recorded when it was applied";
      }
      history.erase(h);
    } else if (f.requires_extension) {
      auto c = ext_cache.find(*f.requires_extension);
      if (c == ext_cache.end()) c = ext_cache.emplace(*f.requires_extension, extension_available(tx, *f.requires_extension)).first;
      if (!c->second) {
        e.state = MigrationState::kUnavailable;
        e.detail = "needs extension " + *f.requires_extension + ", which this server cannot install";
        st.unavailable_features.insert(f.feature);
      }
    }
    st.entries.push_back(std::move(e));
  }
  for (auto &[v, row] : history) st.without_file.push_back(row);
  for (const auto &e : st.entries) {
    if (e.file->baseline && e.state == MigrationState::kPending) {
      st.legacy = check_legacy_schema(tx);
      st.needs_adoption = st.legacy.any_present();
    }
  }
  return st;
}

MigrateResult run_migrate(pqxx::connection &conn, const std::vector<MigrationFile> &files,
                          const MigrateOptions &opts, std::ostream &out) {
  MigrateResult result;
  // Two concurrent runs serialise here; the second then finds everything applied.
  std::optional<SessionAdvisoryLock> lock;
  if (!opts.dry_run) lock.emplace(conn, kLockName);

  MigrationStatus st;
  {
    pqxx::read_transaction tx(conn);
    st = inspect_migrations(tx, files);
  }
  if (size_t edited = st.count(MigrationState::kEdited)) {
    std::string msg = "refusing to migrate: " + std::to_string(edited) + " applied migration file(s) changed:";
    for (const auto &e : st.entries)
      if (e.state == MigrationState::kEdited) msg += "\n  " + edited_message(e);
    msg += "\nRestore the applied version of each file, or accept the edit with 'registry-sync repair VERSION' "
           "(repair records the file as applied without running it).";
    throw OperationError(msg);
  }
  for (const auto &row : st.without_file) {
    if (is_january_2026_migration(row.version, row.name))
      spdlog::debug("history has January 2026 migration {}_{}: superseded by the baseline", row.version, row.name);
    else
      spdlog::warn("version {} ({}) is recorded as applied but has no file in the migrations directory", row.version,
                   row.name.empty() ? "no name" : row.name);
  }
  if (st.needs_adoption) {
    if (!st.legacy.adoptable()) {
      std::string msg = "cannot adopt this database: registry tables exist but do not match the January 2026 schema:";
      for (const auto &p : st.legacy.problems) msg += "\n  " + p;
      msg += "\nFix these columns (or move the tables away) and run migrate again; nothing was changed.";
      throw OperationError(msg);
    }
    std::string tables;
    for (const auto &t : st.legacy.present_tables) tables += (tables.empty() ? "" : ", ") + t;
    out << (opts.dry_run ? "would adopt" : "adopting") << " a database built by the January 2026 migrations ("
        << tables << "): the baseline runs over it without touching rows\n";
  }

  if (!opts.dry_run) {
    pqxx::work tx(conn);
    ensure_history(tx);
    // Versions the Supabase CLI applied get their checksum now, so later edits are caught
    // by checksum too.
    for (const auto &e : st.entries)
      if (e.state == MigrationState::kApplied && e.history && !e.history->checksum)
        record_checksum(tx, e.file->version, e.file->name, e.file->checksum);
    tx.commit();
  }

  for (const auto &e : st.entries) {
    const MigrationFile &f = *e.file;
    if (e.state == MigrationState::kApplied) continue;
    if (e.state == MigrationState::kUnavailable) {
      ++result.skipped;
      out << "skipped " << f.filename << ": " << e.detail << " (unavailable: " << f.feature << ")\n";
      continue;
    }
    bool adopting = f.baseline && st.needs_adoption;
    if (opts.dry_run) {
      out << "would apply " << f.filename << " (" << f.statements.size() << " statement(s))"
          << (adopting ? " [adoption baseline]" : "") << "\n";
      ++result.applied;
      continue;
    }
    auto t0 = std::chrono::steady_clock::now();
    // A no-transaction file (CREATE INDEX CONCURRENTLY) runs statement by statement in
    // autocommit; its history row is written after the last statement succeeded.
    std::optional<pqxx::nontransaction> autocommit;
    if (f.no_transaction) {
      autocommit.emplace(conn);
      autocommit->exec0("SET registry_guard.actor = " + autocommit->quote(opts.actor));
    }
    std::optional<pqxx::work> work;
    if (!f.no_transaction) {
      work.emplace(conn);
      work->exec0("SET LOCAL registry_guard.actor = " + work->quote(opts.actor));
    }
    pqxx::transaction_base &tx = f.no_transaction ? static_cast<pqxx::transaction_base &>(*autocommit) : *work;
    size_t index = 0;
    for (const auto &stmt : f.statements) {
      ++index;
      if (stmt.only_comments) continue;
      try {
        tx.exec(stmt.text);
      } catch (const pqxx::sql_error &err) {
        std::string where = f.path + ":" + std::to_string(stmt.line) + ": statement " + std::to_string(index) +
                            " of " + std::to_string(f.statements.size());
        std::string msg = err.what();
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
        for (auto &ch : msg)
          if (ch == '\n') ch = ' ';
        msg = where + " failed: " + msg + " (SQLSTATE " + sqlstate_of(err) + "); " + f.filename +
              (f.no_transaction ? " runs without a transaction: its earlier statements stay done and it is not "
                                  "recorded, so make them idempotent (IF NOT EXISTS) and run migrate again; "
                                : " was rolled back, ") +
              std::to_string(result.applied) + " earlier file(s) of this run stay applied";
        if (sqlstate_of(err) == "42501")
          throw DatabaseError(msg + "; the role lacks a privilege: run migrate as the schema owner (CREATE EXTENSION registry_guard needs a superuser)");
        throw OperationError(msg);
      }
    }
    if (f.no_transaction) {
      autocommit->exec0("RESET registry_guard.actor");
      autocommit.reset();
      work.emplace(conn);
    }
    record_applied(*work, f.version, f.name, f.statement_texts(), f.checksum, adopting);
    work->commit();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    ++result.applied;
    result.adopted |= adopting;
    out << "applied " << f.filename << " (" << f.statements.size() << " statement(s), " << ms << " ms)"
        << (adopting ? " [adopted the January 2026 schema]" : "") << "\n";
  }
  if (opts.dry_run) {
    out << "dry run: " << result.applied << " migration(s) would be applied, " << result.skipped
        << " skipped; nothing was changed\n";
  } else if (result.applied == 0 && result.skipped == 0) {
    out << "database is up to date (" << st.count(MigrationState::kApplied) << " migrations applied)\n";
  } else {
    out << "applied " << result.applied << " migration(s), skipped " << result.skipped << "\n";
  }
  for (const auto &feature : st.unavailable_features)
    out << "unavailable on this server: " << feature
        << " (managed Supabase loads no third-party C extensions; see README \"Deployment targets\")\n";
  return result;
}

void run_repair(pqxx::connection &conn, const std::vector<MigrationFile> &files,
                const std::vector<std::string> &versions, std::ostream &out) {
  SessionAdvisoryLock lock(conn, kLockName);
  pqxx::work tx(conn);
  MigrationStatus st = inspect_migrations(tx, files);
  for (const auto &want : versions) {
    const MigrationEntry *entry = nullptr;
    for (const auto &e : st.entries)
      if (e.file->version == want || e.file->filename == want || e.file->path == want) entry = &e;
    if (!entry) throw UsageError("repair: no migration file with version or name '" + want + "'");
    const MigrationFile &f = *entry->file;
    if (entry->state == MigrationState::kPending || entry->state == MigrationState::kUnavailable)
      throw OperationError("repair: " + f.filename + " is not applied, so there is nothing to accept; run 'registry-sync migrate'");
    if (entry->state == MigrationState::kApplied && entry->history && entry->history->checksum) {
      out << "unchanged " << f.filename << ": the file matches what was applied\n";
      continue;
    }
    record_repair(tx, f.version, f.name, f.statement_texts(), f.checksum);
    out << "repaired " << f.filename << ": recorded its current content (sha256 " << short_sum(f.checksum)
        << "...) as applied; it was not run\n";
  }
  tx.commit();
}

void print_status(const MigrationStatus &st, const std::string &dir, std::ostream &out) {
  out << "migrations in " << dir << ": " << st.entries.size() << " file(s)"
      << (st.history_exists ? "" : "; the database has no migration history yet") << "\n";
  for (const auto &e : st.entries) {
    out << "  " << to_string(e.state) << std::string(13 - std::string(to_string(e.state)).size(), ' ')
        << e.file->filename;
    if (e.state == MigrationState::kApplied && e.history) {
      if (!e.history->applied_at.empty()) out << "  " << e.history->applied_at;
      if (e.history->adopted) out << "  (adopted the January 2026 schema)";
      if (e.history->repaired) out << "  (edit accepted by repair)";
      if (!e.history->checksum) out << "  (applied by the Supabase CLI)";
    } else if (e.state == MigrationState::kPending && e.file->baseline && st.needs_adoption) {
      out << "  (will adopt the existing January 2026 tables)";
    } else if (!e.detail.empty()) {
      out << "  " << e.detail;
    }
    out << "\n";
  }
  for (const auto &row : st.without_file) {
    if (is_january_2026_migration(row.version, row.name))
      out << "  legacy       " << row.version << "_" << row.name
          << "  January 2026 migration, superseded by the baseline\n";
    else
      out << "  no file      " << row.version << (row.name.empty() ? "" : "_" + row.name)
          << "  recorded as applied, not in " << dir << "\n";
  }
  if (st.needs_adoption && !st.legacy.adoptable()) {
    out << "cannot adopt the existing tables:\n";
    for (const auto &p : st.legacy.problems) out << "  " << p << "\n";
  }
  out << "summary: " << st.count(MigrationState::kApplied) << " applied, " << st.count(MigrationState::kPending)
      << " pending, " << st.count(MigrationState::kUnavailable) << " unavailable, "
      << st.count(MigrationState::kEdited) << " edited\n";
  if (st.unavailable_features.empty()) {
    out << "features unavailable: none\n";
  } else {
    for (const auto &f : st.unavailable_features)
      out << "feature unavailable: " << f
          << " (the server cannot install the extension; managed Supabase loads no third-party C extensions)\n";
  }
}

}  // namespace rgsync
