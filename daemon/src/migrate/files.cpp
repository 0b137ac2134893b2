// Migration file discovery, header directives and statement splitting (see migration_files.hpp).
#include "migrate/files.hpp"
#include "common/file_reader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "common/errors.hpp"
#include "common/sha256.hpp"

namespace rgsync {

namespace fs = std::filesystem;

namespace {
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (c & 0x80); }

std::string trim(const std::string &s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// The word ending at position `end` (exclusive), lower-cased.
std::string word_before(const std::string &s, size_t end) {
  size_t b = end;
  while (b > 0 && ident_char(s[b - 1])) --b;
  std::string w = s.substr(b, end - b);
  std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return std::tolower(c); });
  return w;
}

// Finds the first executable character of a statement (skipping whitespace and comments);
// returns npos when there is none.
size_t first_code_char(const std::string &s) {
  size_t i = 0;
  while (i < s.size()) {
    if (std::isspace(static_cast<unsigned char>(s[i]))) { ++i; continue; }
    if (s.compare(i, 2, "--") == 0) {
      size_t nl = s.find('\n', i);
      if (nl == std::string::npos) return std::string::npos;
      i = nl + 1;
      continue;
    }
    if (s.compare(i, 2, "/*") == 0) {
      int depth = 0;
      while (i < s.size()) {
        if (s.compare(i, 2, "/*") == 0) { ++depth; i += 2; }
        else if (s.compare(i, 2, "*/") == 0) { --depth; i += 2; if (depth == 0) break; }
        else ++i;
      }
      continue;
    }
    return i;
  }
  return std::string::npos;
}
}  // namespace

std::vector<SqlStatement> split_sql(const std::string &sql) {
  std::vector<SqlStatement> out;
  size_t start = 0;   // start of the current token (after the previous ';')
  int line = 1;
  int token_line = 1;
  int paren_depth = 0;
  bool atomic = false;  // inside BEGIN ATOMIC ... END
  int case_depth = 0;
  size_t i = 0;
  auto emit = [&](size_t end) {
    std::string raw = sql.substr(start, end - start);
    // As the CLI: trim trailing ';' then whitespace.
    while (!raw.empty() && raw.back() == ';') raw.pop_back();
    std::string text = trim(raw);
    if (!text.empty()) {
      SqlStatement st;
      st.text = text;
      size_t code = first_code_char(raw);
      st.only_comments = code == std::string::npos;
      st.line = token_line;
      if (code != std::string::npos)
        st.line = token_line + static_cast<int>(std::count(raw.begin(), raw.begin() + static_cast<long>(code), '\n'));
      out.push_back(std::move(st));
    }
  };
  const size_t n = sql.size();
  while (i < n) {
    char c = sql[i];
    if (c == '\n') { ++line; ++i; continue; }
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      int depth = 0;
      while (i < n) {
        if (sql.compare(i, 2, "/*") == 0) { ++depth; i += 2; }
        else if (sql.compare(i, 2, "*/") == 0) { --depth; i += 2; if (depth == 0) break; }
        else { if (sql[i] == '\n') ++line; ++i; }
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      // E'...' strings allow backslash escapes; '' / "" double the delimiter everywhere.
      bool backslash = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                       (i < 2 || !ident_char(sql[i - 2]));
      ++i;
      while (i < n) {
        if (sql[i] == '\n') ++line;
        if (backslash && sql[i] == '\\' && i + 1 < n) { if (sql[i + 1] == '\n') ++line; i += 2; continue; }
        if (sql[i] == c) {
          if (i + 1 < n && sql[i + 1] == c) { i += 2; continue; }
          ++i;
          break;
        }
        ++i;
      }
      continue;
    }
    if (c == '$' && (i == 0 || !ident_char(sql[i - 1]))) {
      // $tag$ ... $tag$ (tag empty or an identifier not starting with a digit).
      size_t j = i + 1;
      if (j < n && (std::isdigit(static_cast<unsigned char>(sql[j])))) { ++i; continue; }
      while (j < n && ident_char(sql[j])) ++j;
      if (j < n && sql[j] == '$') {
        std::string tag = sql.substr(i, j - i + 1);
        size_t close = sql.find(tag, j + 1);
        size_t end = close == std::string::npos ? n : close + tag.size();
        line += static_cast<int>(std::count(sql.begin() + static_cast<long>(i), sql.begin() + static_cast<long>(end), '\n'));
        i = end;
        continue;
      }
      ++i;
      continue;
    }
    if (c == '(') { ++paren_depth; ++i; continue; }
    if (c == ')') { if (paren_depth > 0) --paren_depth; ++i; continue; }
    if (ident_char(c) && (i == 0 || !ident_char(sql[i - 1]))) {
      size_t j = i;
      while (j < n && ident_char(sql[j])) ++j;
      std::string w = word_before(sql, j);
      if (!atomic && w == "atomic") {
        // "BEGIN ATOMIC": the previous word must be BEGIN.
        size_t k = i;
        while (k > 0 && std::isspace(static_cast<unsigned char>(sql[k - 1]))) --k;
        if (word_before(sql, k) == "begin") { atomic = true; case_depth = 0; }
      } else if (atomic && w == "case") {
        ++case_depth;
      } else if (atomic && w == "end") {
        if (case_depth > 0) --case_depth;
        else atomic = false;
      }
      i = j;
      continue;
    }
    if (c == ';' && paren_depth == 0 && !atomic) {
      emit(i + 1);
      start = i + 1;
      token_line = line;
      ++i;
      continue;
    }
    ++i;
  }
  emit(n);
  return out;
}

std::vector<std::string> MigrationFile::statement_texts() const {
  std::vector<std::string> out;
  out.reserve(statements.size());
  for (const auto &s : statements) out.push_back(s.text);
  return out;
}

MigrationFile parse_migration(const std::string &filename, const std::string &path, const std::string &content) {
  static const std::regex name_re(R"(^([0-9]+)_(.*)\.sql$)");
  static const std::regex directive_re(R"(^\s*--\s*registry-sync:\s*([a-z-]+)\s*(.*?)\s*$)");
  std::smatch m;
  MigrationFile f;
  if (!std::regex_match(filename, m, name_re))
    throw UsageError(path + ": migration file names must be <digits>_<name>.sql");
  f.version = m[1];
  f.name = m[2];
  f.filename = filename;
  f.path = path;
  f.checksum = sha256_hex(content);
  f.statements = split_sql(content);
  std::istringstream in(content);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string t = trim(line);
    if (t.empty()) continue;
    if (t.rfind("--", 0) != 0) break;  // directives live in the leading comment block
    std::smatch d;
    if (!std::regex_match(t, d, directive_re)) continue;
    std::string key = d[1], value = d[2];
    if (key == "baseline") f.baseline = true;
    else if (key == "requires-extension" && !value.empty()) f.requires_extension = value;
    else if (key == "feature") f.feature = value;
    else if (key == "no-transaction") f.no_transaction = true;
    else if (key == "allow-destructive" || key == "allow-lock") continue;  // statement markers (migrate --check)
    else
      throw UsageError(path + ":" + std::to_string(lineno) + ": unknown registry-sync directive '" + key +
                       "' (known: baseline, requires-extension NAME, feature TEXT, no-transaction, allow-destructive REASON, allow-lock REASON)");
  }
  if (f.requires_extension && f.feature.empty()) f.feature = "extension " + *f.requires_extension;
  return f;
}

std::vector<MigrationFile> load_migrations(const std::string &dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw UsageError("migrations directory '" + dir + "' not found (use --dir DIR, env REGISTRY_SYNC_MIGRATIONS or config migrations_dir)");
  static const std::regex name_re(R"(^([0-9]+)_(.*)\.sql$)");
  std::vector<MigrationFile> files;
  for (const auto &entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string filename = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    if (!std::regex_match(filename, name_re)) {
      spdlog::warn("skipping {}: migration file names must be <digits>_<name>.sql", entry.path().string());
      continue;
    }
    std::string text;
    try {
      text = read_file(entry.path().string(), 1ull << 30, "a migration file");
    } catch (const FileReadError &e) {
      throw UsageError(e.what());
    }
    files.push_back(parse_migration(filename, entry.path().string(), text));
  }
  // Versions order as text, as the Supabase CLI orders file names and history rows.
  std::sort(files.begin(), files.end(),
            [](const MigrationFile &a, const MigrationFile &b) { return a.version < b.version; });
  for (size_t i = 1; i < files.size(); ++i)
    if (files[i].version == files[i - 1].version)
      throw OperationError("two migrations share version " + files[i].version + ": " + files[i - 1].path +
                           " and " + files[i].path + "; rename one");
  return files;
}

}  // namespace rgsync
