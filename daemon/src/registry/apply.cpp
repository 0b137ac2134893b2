// One registry apply run, shared by `registry-sync apply` and serve (see apply.hpp).
//
// Large registries are streamed: while a worker thread reads and checks the big file, the rows
// it has finished (references resolved) go into the database by COPY, so parsing overlaps the
// database's work. All of it is one transaction: when reading ends with an error, the
// transaction is rolled back and the user gets the same findings as without streaming.
#include "registry/apply.hpp"

#include <sys/stat.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "db/advisory_lock.hpp"
#include "common/errors.hpp"
#include "common/sha256.hpp"

namespace rgsync {

namespace {

// Files below this are read and checked whole before the database is touched (they take
// milliseconds); a file at least this big, holding a table that can be streamed, is streamed.
constexpr uint64_t kStreamMinBytes = 1 << 20;
constexpr size_t kChunkBytes = 256 << 10;
constexpr size_t kQueuedChunks = 16;

// Which list's rows can go into the database while they are read: the list must be its
// table's only source (one file, no glob, no overrides), every table written before it and
// every table it refers to must come from files read before its file, and the references of
// those earlier tables must stay among them. Then those tables are complete and checked when
// its file starts, and each of its rows can be resolved as soon as it is read.
struct StreamPlan {
  size_t file_def = 0;  // index into m.files
  size_t table = 0;     // index into m.tables (and Registry::tables)
  // No reference points at the table: once a row is sent, its cells are not needed again (its
  // key stays for the duplicate check), so they are freed while the file is still read.
  bool free_cells = false;
};

std::optional<StreamPlan> plan_stream(const Mapping &m, const std::string &dir) {
  std::map<std::string, std::vector<size_t>> sources;  // table -> files its rows come from
  for (size_t fi = 0; fi < m.files.size(); ++fi) {
    const FileDef &fd = m.files[fi];
    auto add_list = [&](const ListDef &l) {
      sources[l.table].push_back(fi);
      for (const auto &ch : l.children) sources[ch.table].push_back(fi);
    };
    if (fd.entry) add_list(*fd.entry);
    for (const auto &l : fd.lists) add_list(l);
  }
  auto index = [&](const std::string &table) -> size_t {
    const TableDef *t = m.table(table);
    return t ? static_cast<size_t>(t - m.tables.data()) : m.tables.size();
  };
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  for (size_t fi = 0; fi < m.files.size(); ++fi) {
    const FileDef &fd = m.files[fi];
    if (fd.entry || !fd.overrides.empty() || fd.path.find_first_of("*?[") != std::string::npos) continue;
    struct stat st {};
    if (stat((base + "/" + fd.path).c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) < kStreamMinBytes) continue;
    for (const auto &l : fd.lists) {
      size_t ti = index(l.table);
      if (ti >= m.tables.size() || sources[l.table].size() != 1) continue;
      bool ok = true;
      for (size_t j = 0; j < ti && ok; ++j)
        for (size_t src : sources[m.tables[j].name]) ok = ok && src < fi;
      for (const auto &ref : m.references) {
        size_t from = index(ref.table);
        if ((from == ti || from < ti) && index(ref.target) >= ti) ok = false;
      }
      for (const auto &other : m.files)
        for (size_t o : other.overrides_idx) ok = ok && o != fi;
      if (!ok) continue;
      bool referenced = false;
      for (const auto &ref : m.references) referenced = referenced || ref.target == l.table;
      return StreamPlan{fi, ti, !referenced};
    }
  }
  return std::nullopt;
}

// Reads the registry on a worker thread for a streaming apply (see ApplyStream).
class StreamedRead {
 public:
  StreamedRead(const Mapping &m, const RegistryOptions &o, Registry &reg, StreamPlan plan, std::unordered_map<std::string, PreRead> *preread,
               std::ostream &findings_out, std::ostream *progress)
      : m_(m), o_(o), reg_(reg), plan_(plan), preread_(preread), out_(findings_out), progress_(progress) {
    thread_ = std::thread([this] { run(); });
  }
  ~StreamedRead() { stop(); }
  StreamedRead(const StreamedRead &) = delete;
  StreamedRead &operator=(const StreamedRead &) = delete;

  // Blocks until the files before the streamed one are read; true = they are clean and the
  // streamed table's rows are on their way (false: read everything, then finish()).
  bool prefix_ready() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return prefix_signaled_; });
    return prefix_ok_;
  }

  bool next_chunk(std::string &chunk) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !queue_.empty() || producer_done_; });
    if (queue_.empty()) return false;
    chunk = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return true;
  }

  // Waits until every file is read and checked; prints the findings and the summary line as
  // validate does. True = no errors.
  bool finish() {
    stop();
    if (error_) std::rethrow_exception(error_);
    if (progress_) *progress_ << progress_buf_.str() << std::flush;
    // References are only meaningful once every file read cleanly (as without streaming).
    Findings all = load_f_;
    if (load_f_.errors() == 0) all.append(ref_f_);
    return report_registry(o_, reg_, all, out_);
  }

 private:
  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      consumer_gone_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void signal_prefix(bool ok) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (prefix_signaled_) return;
      prefix_signaled_ = true;
      prefix_ok_ = ok;
    }
    cv_.notify_all();
  }

  void push(std::string &&chunk) {
    if (chunk.empty()) return;
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return queue_.size() < kQueuedChunks || consumer_gone_; });
    if (consumer_gone_) return;  // the run is failing: the rest is read for the findings only
    queue_.push_back(std::move(chunk));
    cv_.notify_all();
  }

  void run() {
    try {
      const TableDef &def = m_.tables[plan_.table];
      auto in_prefix = [&](const std::string &table) {
        const TableDef *t = m_.table(table);
        return t && static_cast<size_t>(t - m_.tables.data()) < plan_.table;
      };
      std::vector<ReferenceResolver> resolvers;
      bool streaming = false, stopped = false;
      std::string chunk;
      LoadOptions lo;
      lo.max_file_bytes = o_.max_file_bytes;
      lo.progress = progress_ ? &progress_buf_ : nullptr;
      lo.preread = preread_;
      lo.before_file = [&](size_t fd) {
        if (fd != plan_.file_def) return;
        // Everything the streamed table needs is read: check and resolve it now.
        bool ok = load_f_.errors() == 0;
        if (ok) {
          resolve_references(m_, reg_, o_.on_dangling, ref_f_, [&](const ReferenceDef &r) { return in_prefix(r.table); });
          ok = ref_f_.errors() == 0;
        }
        if (ok)
          for (const auto &r : m_.references)
            if (r.table == def.name) resolvers.emplace_back(r, reg_, o_.on_dangling, ref_f_);
        streaming = ok;
        signal_prefix(ok);
      };
      lo.row_table = &def;
      lo.on_row = [&](Row &row) {
        if (!streaming) return;
        for (auto &r : resolvers) r.row(row);  // every row: its findings are reported either way
        // The run will fail: send nothing more (what was sent is rolled back).
        if (stopped || load_f_.errors() != 0 || ref_f_.errors() != 0) { stopped = true; return; }
        if (row.dropped) return;
        append_copy_row(chunk, def, row);
        if (plan_.free_cells) std::vector<Cell>().swap(row.cells);
        if (chunk.size() >= kChunkBytes) {
          push(std::move(chunk));
          chunk.clear();
          chunk.reserve(kChunkBytes + (kChunkBytes >> 2));
        }
      };
      load_registry_into(reg_, m_, o_.registry_dir, lo, load_f_);
      signal_prefix(false);  // its file was missing: nothing was streamed
      if (streaming) {
        if (!stopped) push(std::move(chunk));
        for (auto &r : resolvers) r.finish();
      }
      if (load_f_.errors() == 0)
        resolve_references(m_, reg_, o_.on_dangling, ref_f_, [&](const ReferenceDef &r) {
          return !streaming || (!in_prefix(r.table) && r.table != def.name);
        });
    } catch (...) {
      error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      producer_done_ = true;
      prefix_signaled_ = true;
    }
    cv_.notify_all();
  }

  const Mapping &m_;
  const RegistryOptions &o_;
  Registry &reg_;
  StreamPlan plan_;
  std::unordered_map<std::string, PreRead> *preread_;
  std::ostream &out_;
  std::ostream *progress_;
  std::ostringstream progress_buf_;
  Findings load_f_, ref_f_;  // the worker's until it has finished
  std::exception_ptr error_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool prefix_signaled_ = false, prefix_ok_ = false, producer_done_ = false, consumer_gone_ = false;
  std::thread thread_;
};

}  // namespace

Mapping load_apply_mapping(const RegistryOptions &o, ApplyOptions &ao) {
  Mapping m = load_registry_mapping(o);
  ao.mapping_sha256 = m.sha256;
  return m;
}

std::optional<ApplyResult> run_registry_apply(pqxx::connection &conn, const Mapping &m, const RegistryOptions &o,
                                              const ApplyOptions &ao, std::ostream &findings) {
  check_schema(conn, m);
  SessionAdvisoryLock lock(conn, "registry-sync apply");
  std::optional<StreamPlan> plan;
  if (!ao.dry_run) plan = plan_stream(m, o.registry_dir);
  // Big files are read once: the bytes hashed here are the bytes parsed below.
  std::unordered_map<std::string, PreRead> pre;
  std::vector<SourceFile> files;
  if (!ao.force_full_diff || plan) files = hash_registry_files(m, o.registry_dir, o.max_file_bytes, &pre, kStreamMinBytes);
  if (!ao.force_full_diff) {
    // Unchanged files on an unchanged database: no need to parse them at all.
    if (auto id = try_unchanged_shortcut(conn, m, files, ao)) {
      ApplyResult r;
      r.sync_run_id = *id;
      r.shortcut = true;
      return r;
    }
  }
  Registry reg;
  if (plan) {
    StreamedRead read(m, o, reg, *plan, &pre, findings, ao.progress);
    if (read.prefix_ready()) {
      ApplyStream s;
      s.table = plan->table;
      s.file_hashes = file_hashes_json(files);
      s.next_chunk = [&](std::string &chunk) { return read.next_chunk(chunk); };
      s.finish = [&] { return read.finish(); };
      ApplyResult r = apply_registry(conn, m, reg, ao, &s);
      if (r.validation_failed) return std::nullopt;
      if (ao.progress)
        *ao.progress << "registry-sync: " << m.tables[plan->table].name << " rows went into the database while " << m.files[plan->file_def].path
                     << " was read (streamed)\n" << std::flush;
      return r;
    }
    // Not streamed (the earlier files have errors, or the file is missing): as below.
    if (!read.finish()) return std::nullopt;
    return apply_registry(conn, m, reg, ao);
  }
  // Everything is validated before the first write.
  Findings f;
  if (!read_registry(o, m, reg, f, findings, ao.progress, &pre)) return std::nullopt;
  return apply_registry(conn, m, reg, ao);
}

}  // namespace rgsync
