// Migration safety checks (see safety.hpp): a small tokenizer over each pending statement and
// rules for the statements that lock, rewrite or destroy existing tables.
#include "migrate/safety.hpp"

#include <cctype>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace rgsync {

std::string SafetyFinding::format() const { return file + ":" + std::to_string(line) + ": " + rule + ": " + message; }

namespace {

struct Tok {
  std::string t;       // lower-cased unless quoted
  bool word = false;   // identifier or keyword
  bool quoted = false;
};

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || (c & 0x80); }

// Tokens of `s` with comments removed (collected into `comments`) and literals collapsed.
std::vector<Tok> tokenize(const std::string &s, std::vector<std::string> &comments) {
  std::vector<Tok> out;
  size_t i = 0, n = s.size();
  while (i < n) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) { ++i; continue; }
    if (c == '-' && i + 1 < n && s[i + 1] == '-') {
      size_t e = s.find('\n', i);
      if (e == std::string::npos) e = n;
      comments.push_back(s.substr(i + 2, e - i - 2));
      i = e;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      int depth = 0;
      size_t b = i;
      while (i < n) {
        if (s.compare(i, 2, "/*") == 0) { ++depth; i += 2; }
        else if (s.compare(i, 2, "*/") == 0) { --depth; i += 2; if (depth == 0) break; }
        else ++i;
      }
      comments.push_back(s.substr(b, i - b));
      continue;
    }
    if (c == '\'') {
      bool backslash = i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e');
      ++i;
      while (i < n) {
        if (backslash && s[i] == '\\') { i += 2; continue; }
        if (s[i] == '\'') { if (i + 1 < n && s[i + 1] == '\'') { i += 2; continue; } ++i; break; }
        ++i;
      }
      out.push_back({"'", false, false});
      continue;
    }
    if (c == '"') {
      std::string v;
      ++i;
      while (i < n) {
        if (s[i] == '"') { if (i + 1 < n && s[i + 1] == '"') { v += '"'; i += 2; continue; } ++i; break; }
        v += s[i++];
      }
      out.push_back({v, true, true});
      continue;
    }
    if (c == '$') {
      size_t j = i + 1;
      while (j < n && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      if (j < n && s[j] == '$' && !(j > i + 1 && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
        std::string tag = s.substr(i, j - i + 1);
        size_t close = s.find(tag, j + 1);
        i = close == std::string::npos ? n : close + tag.size();
        out.push_back({"'", false, false});
        continue;
      }
    }
    if (ident_char(c)) {
      size_t j = i;
      while (j < n && ident_char(s[j])) ++j;
      std::string w = s.substr(i, j - i);
      for (auto &ch : w) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      out.push_back({w, true, false});
      i = j;
      continue;
    }
    out.push_back({std::string(1, c), false, false});
    ++i;
  }
  return out;
}

struct QualifiedName {
  std::string schema, name;
  std::string display() const { return schema + "." + name; }
};

class Checker {
 public:
  Checker(const TableLookup &lookup, const SafetyOptions &opts) : lookup_(lookup), opts_(opts) {}

  void check_file(const MigrationFile &f) {
    for (const auto &st : f.statements) {
      if (st.only_comments) continue;
      file_ = &f;
      line_ = st.line;
      comments_.clear();
      toks_ = tokenize(st.text, comments_);
      read_markers();
      statement();
    }
  }

  std::vector<SafetyFinding> findings;

 private:
  const TableLookup &lookup_;
  const SafetyOptions &opts_;
  const MigrationFile *file_ = nullptr;
  int line_ = 0;
  std::vector<Tok> toks_;
  std::vector<std::string> comments_;
  bool allow_lock_ = false, allow_destructive_ = false;
  std::set<std::string> created_;  // schema.name of tables created by earlier pending statements

  void read_markers() {
    static const std::regex marker(R"(registry-sync:\s*allow-(destructive|lock)\b\s*(.*?)\s*$)");
    allow_lock_ = allow_destructive_ = false;
    for (const auto &c : comments_) {
      std::smatch m;
      if (!std::regex_search(c, m, marker)) continue;
      if (m[2].str().empty()) {
        add("marker", "'-- registry-sync: allow-" + m[1].str() +
                          "' needs a reason after it (why this is safe here), e.g. '-- registry-sync: allow-" +
                          m[1].str() + " table is empty in every deployment'");
        continue;
      }
      (m[1] == "lock" ? allow_lock_ : allow_destructive_) = true;
    }
  }

  void add(const std::string &rule, const std::string &msg) {
    if ((rule == "lock" || rule == "index" || rule == "not-null") && allow_lock_) return;
    if (rule == "destructive" && allow_destructive_) return;
    findings.push_back({file_->path, line_, rule, msg});
  }

  bool word(size_t i, const char *w) const { return i < toks_.size() && toks_[i].word && !toks_[i].quoted && toks_[i].t == w; }
  bool has_word(size_t from, size_t to, const char *w) const {
    for (size_t i = from; i < to && i < toks_.size(); ++i)
      if (word(i, w)) return true;
    return false;
  }
  bool has_seq(size_t from, size_t to, const char *a, const char *b) const {
    for (size_t i = from; i + 1 < to && i + 1 < toks_.size(); ++i)
      if (word(i, a) && word(i + 1, b)) return true;
    return false;
  }

  // Reads `[schema.]name` at i (advancing i); empty name when there is none.
  QualifiedName name_at(size_t &i) const {
    QualifiedName q{"public", ""};
    if (i >= toks_.size() || !toks_[i].word) return q;
    std::string first = toks_[i++].t;
    if (i + 1 < toks_.size() && toks_[i].t == "." && toks_[i + 1].word) {
      q.schema = first;
      q.name = toks_[i + 1].t;
      i += 2;
    } else {
      q.name = first;
    }
    return q;
  }

  // Size of a table that exists before this statement, or nullopt when it is new or absent.
  std::optional<TableSize> existing(const QualifiedName &q) const {
    if (created_.count(q.display())) return std::nullopt;
    return lookup_(q.schema, q.name);
  }

  bool large(const TableSize &s) const {
    return s.rows >= opts_.large_rows || s.bytes >= opts_.large_bytes;
  }
  static std::string describe(const QualifiedName &q, const TableSize &s) {
    std::ostringstream o;
    o << q.display() << " (~" << static_cast<long long>(std::llround(s.rows)) << " rows, "
      << (s.bytes + 1024 * 1024 - 1) / (1024 * 1024) << " MB)";
    return o.str();
  }

  void statement() {
    if (toks_.empty() || !toks_[0].word) return;
    const std::string &w0 = toks_[0].t;
    if (w0 == "create") create();
    else if (w0 == "alter" && word(1, "table")) alter_table();
    else if (w0 == "drop") drop();
    else if (w0 == "truncate") truncate();
    else if (w0 == "lock") lock_table();
    else if (w0 == "vacuum" && has_word(1, toks_.size(), "full")) rewrite_statement("VACUUM FULL");
    else if (w0 == "cluster") rewrite_statement("CLUSTER");
  }

  void create() {
    size_t i = 1;
    if (word(i, "or") && word(i + 1, "replace")) i += 2;
    bool unique = false;
    while (word(i, "unique") || word(i, "temp") || word(i, "temporary") || word(i, "unlogged") ||
           word(i, "global") || word(i, "local")) {
      unique |= word(i, "unique");
      ++i;
    }
    if (word(i, "table")) {
      ++i;
      if (word(i, "if") && word(i + 1, "not") && word(i + 2, "exists")) i += 3;
      QualifiedName q = name_at(i);
      if (!q.name.empty()) created_.insert(q.display());
      return;
    }
    if (word(i, "index")) {
      ++i;
      bool concurrently = word(i, "concurrently");
      if (concurrently) ++i;
      if (word(i, "if") && word(i + 1, "not") && word(i + 2, "exists")) i += 3;
      if (!word(i, "on")) name_at(i);  // the index name
      if (!word(i, "on")) return;
      ++i;
      if (word(i, "only")) ++i;
      QualifiedName q = name_at(i);
      auto size = existing(q);
      if (!size || concurrently) return;
      add("index", std::string("CREATE ") + (unique ? "UNIQUE " : "") + "INDEX on existing table " + describe(q, *size) +
                       " without CONCURRENTLY blocks every write to it while the index builds; use CREATE INDEX "
                       "CONCURRENTLY in a migration file of its own marked '-- registry-sync: no-transaction' "
                       "(CONCURRENTLY cannot run inside a transaction)");
      return;
    }
    if (word(i, "policy")) {
      ++i;
      name_at(i);
      if (!word(i, "on")) return;
      ++i;
      QualifiedName q = name_at(i);
      brief_lock(q, "CREATE POLICY");
    }
  }

  void brief_lock(const QualifiedName &q, const std::string &what) {
    auto size = existing(q);
    if (!size || !large(*size)) return;
    add("lock", what + " takes an ACCESS EXCLUSIVE lock on large table " + describe(q, *size) +
                    ": the change itself is quick, but the lock waits behind every running query on the table and "
                    "blocks every query queued after it; deploy with a lock timeout (as examples/ci does) and then "
                    "mark the statement '-- registry-sync: allow-lock <reason>'");
  }

  void rewrite_lock(const QualifiedName &q, const std::string &what, const std::string &todo) {
    auto size = existing(q);
    if (!size || !large(*size)) return;
    add("lock", what + " holds an ACCESS EXCLUSIVE lock on large table " + describe(q, *size) +
                    " while it rewrites or scans every row (no reads or writes meanwhile); " + todo);
  }

  void rewrite_statement(const std::string &what) {
    size_t i = 1;
    while (i < toks_.size() && (word(i, "full") || word(i, "verbose") || word(i, "analyze") || word(i, "freeze") ||
                                toks_[i].t == "(" || toks_[i].t == ")" || toks_[i].t == ","))
      ++i;
    QualifiedName q = name_at(i);
    if (q.name.empty()) {
      add("lock", what + " without a table rewrites every table of the database under ACCESS EXCLUSIVE locks; "
                         "name the table, or run it outside migrations in a maintenance window");
      return;
    }
    rewrite_lock(q, what, "run it outside migrations in a maintenance window (or use pg_repack)");
  }

  void lock_table() {
    size_t i = 1;
    if (word(i, "table")) ++i;
    if (word(i, "only")) ++i;
    QualifiedName q = name_at(i);
    bool access_exclusive = !has_word(i, toks_.size(), "mode") || has_seq(i, toks_.size(), "access", "exclusive");
    if (access_exclusive) brief_lock(q, "LOCK TABLE");
  }

  void truncate() {
    size_t i = 1;
    if (word(i, "table")) ++i;
    while (i < toks_.size()) {
      if (word(i, "only")) ++i;
      QualifiedName q = name_at(i);
      if (q.name.empty()) break;
      if (word(i, "restart") || word(i, "continue") || word(i, "cascade") || word(i, "restrict")) {
        // fall through to the check below, then stop
      }
      if (i < toks_.size() && toks_[i].t == "*") ++i;
      if (existing(q))
        add("destructive", "TRUNCATE " + q.display() +
                               " deletes every row of an existing table; if that is intended, mark the statement "
                               "'-- registry-sync: allow-destructive <reason>'");
      if (i < toks_.size() && toks_[i].t == ",") { ++i; continue; }
      break;
    }
  }

  void drop() {
    size_t i = 1;
    std::string kind;
    if (word(i, "materialized") && word(i + 1, "view")) { kind = "materialized view"; i += 2; }
    else if (i < toks_.size() && toks_[i].word) kind = toks_[i++].t;
    bool cascade = has_word(i, toks_.size(), "cascade");
    static const std::set<std::string> destructive_kinds = {"schema", "sequence", "type", "domain", "extension",
                                                            "materialized view", "database"};
    auto upper = [](std::string s) {
      for (auto &c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return s;
    };
    if (kind == "table") {
      if (word(i, "if") && word(i + 1, "exists")) i += 2;
      bool any = false;
      std::string names;
      while (i < toks_.size()) {
        QualifiedName q = name_at(i);
        if (q.name.empty()) break;
        if (existing(q)) { any = true; names += (names.empty() ? "" : ", ") + q.display(); }
        if (i < toks_.size() && toks_[i].t == ",") { ++i; continue; }
        break;
      }
      if (any)
        add("destructive", "DROP TABLE " + names + " deletes an existing table and its rows" +
                               (cascade ? " (CASCADE also drops what depends on it)" : "") +
                               "; if that is intended, mark the statement '-- registry-sync: allow-destructive <reason>'");
      return;
    }
    if (destructive_kinds.count(kind) || cascade) {
      std::string what = "DROP " + upper(kind.empty() ? "object" : kind);
      add("destructive", what + (cascade ? " ... CASCADE also drops every object that depends on it (columns, "
                                           "views, policies, tables in a schema)"
                                         : " removes an object that existing data or code may depend on") +
                             "; if that is intended, mark the statement '-- registry-sync: allow-destructive <reason>'");
    }
  }

  // ALTER TABLE [IF EXISTS] [ONLY] name [*] action [, action ...]
  void alter_table() {
    size_t i = 2;
    if (word(i, "if") && word(i + 1, "exists")) i += 2;
    if (word(i, "only")) ++i;
    if (word(i, "all")) return;  // ALTER TABLE ALL IN TABLESPACE
    QualifiedName q = name_at(i);
    if (q.name.empty()) return;
    if (i < toks_.size() && toks_[i].t == "*") ++i;
    if (!existing(q)) return;
    int depth = 0;
    size_t start = i;
    for (size_t j = i; j <= toks_.size(); ++j) {
      if (j < toks_.size()) {
        if (toks_[j].t == "(") ++depth;
        else if (toks_[j].t == ")") --depth;
        if (!(toks_[j].t == "," && depth == 0)) continue;
      }
      if (j > start) alter_action(q, start, j);
      start = j + 1;
    }
  }

  void alter_action(const QualifiedName &q, size_t b, size_t e) {
    const std::string prefix = "ALTER TABLE " + q.display();
    if (word(b, "add")) {
      size_t i = b + 1;
      bool constraint = word(i, "constraint") || word(i, "primary") || word(i, "unique") || word(i, "check") ||
                        word(i, "foreign") || word(i, "exclude");
      if (constraint) {
        if (has_seq(i, e, "not", "valid") || has_seq(i, e, "using", "index")) return;
        if (has_word(i, e, "primary") || has_word(i, e, "unique") || has_word(i, e, "exclude")) {
          rewrite_lock(q, prefix + " ADD " + (has_word(i, e, "primary") ? "PRIMARY KEY" : "UNIQUE/EXCLUDE constraint"),
                       "build the index first with CREATE UNIQUE INDEX CONCURRENTLY (a file marked '-- registry-sync: "
                       "no-transaction'), then ADD CONSTRAINT ... USING INDEX");
        } else {
          rewrite_lock(q, prefix + " ADD " + (has_word(i, e, "foreign") ? "FOREIGN KEY" : "CHECK constraint"),
                       "add it NOT VALID here and VALIDATE CONSTRAINT in a later migration (validation lets reads "
                       "and writes continue)");
        }
        return;
      }
      if (word(i, "column")) ++i;
      if (word(i, "if") && word(i + 1, "not") && word(i + 2, "exists")) i += 3;
      std::string col = i < e ? toks_[i].t : "?";
      ++i;
      bool not_null = has_seq(i, e, "not", "null") || has_seq(i, e, "primary", "key");
      bool has_default = has_word(i, e, "default");
      bool serial = word(i, "serial") || word(i, "bigserial") || word(i, "smallserial") || word(i, "serial4") ||
                    word(i, "serial8") || word(i, "serial2");
      bool generated = has_word(i, e, "generated");
      static const char *volatile_fns[] = {"random", "gen_random_uuid", "uuid_generate_v4", "uuid_generate_v1",
                                           "clock_timestamp", "timeofday", "nextval", "txid_current"};
      bool volatile_default = false;
      for (const char *fn : volatile_fns) volatile_default |= has_word(i, e, fn);
      if (not_null && !has_default && !serial && !generated)
        add("not-null", prefix + " ADD COLUMN " + col +
                            " NOT NULL without a DEFAULT fails as soon as the table has a row; add the column with a "
                            "DEFAULT, or add it nullable, backfill it, add CHECK (" + col +
                            " IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL in a later migration");
      if (serial || generated || volatile_default)
        rewrite_lock(q, prefix + " ADD COLUMN " + col + " with a volatile default, identity or generated value",
                     "add the column without it (or with a constant DEFAULT), backfill in batches, then set the default");
      else if (has_seq(i, e, "primary", "key") || has_word(i, e, "unique"))
        rewrite_lock(q, prefix + " ADD COLUMN " + col + " with an index-backed constraint",
                     "add the column, build the index CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX");
      else
        brief_lock(q, prefix + " ADD COLUMN " + col);
      return;
    }
    if (word(b, "alter")) {
      size_t i = b + 1;
      if (word(i, "column")) ++i;
      std::string col = i < e ? toks_[i].t : "?";
      ++i;
      if (word(i, "type") || (word(i, "set") && word(i + 1, "data") && word(i + 2, "type"))) {
        add("destructive", prefix + " ALTER COLUMN " + col +
                               " TYPE changes the type of existing data (values may be converted, truncated or "
                               "rejected); prefer a new column and a backfill, or mark the statement "
                               "'-- registry-sync: allow-destructive <reason>'");
        rewrite_lock(q, prefix + " ALTER COLUMN " + col + " TYPE",
                     "add a new column, backfill it in batches and switch readers over");
        return;
      }
      if (word(i, "set") && word(i + 1, "not") && word(i + 2, "null")) {
        rewrite_lock(q, prefix + " ALTER COLUMN " + col + " SET NOT NULL",
                     "first add CHECK (" + col + " IS NOT NULL) NOT VALID and VALIDATE it in an earlier migration; "
                     "SET NOT NULL then skips the scan (mark it '-- registry-sync: allow-lock <reason>')");
        return;
      }
      if (word(i, "set") && (word(i + 1, "statistics") || (toks_.size() > i + 1 && toks_[i + 1].t == "("))) return;
      brief_lock(q, prefix + " ALTER COLUMN " + col);
      return;
    }
    if (word(b, "drop")) {
      size_t i = b + 1;
      if (word(i, "constraint")) { brief_lock(q, prefix + " DROP CONSTRAINT"); return; }
      if (word(i, "column")) ++i;
      if (word(i, "if") && word(i + 1, "exists")) i += 2;
      std::string col = i < e ? toks_[i].t : "?";
      add("destructive", prefix + " DROP COLUMN " + col +
                             " deletes the column's data; if that is intended, mark the statement "
                             "'-- registry-sync: allow-destructive <reason>'");
      return;
    }
    if (word(b, "validate") || word(b, "cluster") || word(b, "attach") || word(b, "detach")) return;
    if ((word(b, "enable") || word(b, "disable")) && (has_word(b, e, "trigger") || has_word(b, e, "rule"))) return;
    if (word(b, "set") && (word(b + 1, "statistics") || (b + 1 < e && toks_[b + 1].t == "("))) return;
    if (word(b, "set") && (word(b + 1, "tablespace") || word(b + 1, "logged") || word(b + 1, "unlogged"))) {
      rewrite_lock(q, prefix + " SET " + toks_[b + 1].t, "do it outside migrations in a maintenance window");
      return;
    }
    brief_lock(q, prefix + " " + (toks_[b].word ? toks_[b].t : std::string("...")));
  }
};

}  // namespace

std::vector<SafetyFinding> check_migration_safety(const std::vector<const MigrationFile *> &pending,
                                                  const TableLookup &lookup, const SafetyOptions &opts) {
  Checker c(lookup, opts);
  for (const auto *f : pending) c.check_file(*f);
  return c.findings;
}

}  // namespace rgsync
