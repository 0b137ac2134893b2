// CSV files: an RFC 4180 reader (parse_csv, see fetch.hpp) and the CSV source.
#include "hr/sources/fetch.hpp"
#include "hr/sources/source_fetch.hpp"

#include <set>
#include <stdexcept>

namespace rgsync::hr {

std::vector<nlohmann::json> parse_csv(const std::string &text, char delim, const std::string &name) {
  if (long bad = invalid_utf8_line(text))
    throw std::runtime_error(name + ":" + std::to_string(bad) + ": not valid UTF-8 (export the file as UTF-8)");
  std::vector<std::vector<std::string>> rows;
  std::vector<long> row_lines;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  long line = 1, row_line = 1;
  size_t i = 0, n = text.size();
  if (n >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;  // UTF-8 byte order mark
  auto end_row = [&] {
    row.push_back(std::move(field));
    field.clear();
    if (!(row.size() == 1 && row[0].empty())) { rows.push_back(std::move(row)); row_lines.push_back(row_line); }
    row.clear();
    field_started = false;
  };
  for (; i < n; ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < n && text[i + 1] == '"') { field += '"'; ++i; }
        else quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) { quoted = true; field_started = true; continue; }
    if (c == '"') throw std::runtime_error(name + ":" + std::to_string(line) + ": stray quote inside an unquoted field");
    if (c == delim) { row.push_back(std::move(field)); field.clear(); field_started = false; continue; }
    if (c == '\r' && i + 1 < n && text[i + 1] == '\n') continue;
    if (c == '\n') { end_row(); ++line; row_line = line; continue; }
    field += c;
    field_started = true;
  }
  if (quoted) throw std::runtime_error(name + ":" + std::to_string(row_line) + ": quoted field not closed before end of file");
  if (field_started || !field.empty() || !row.empty()) end_row();
  if (rows.empty()) throw std::runtime_error(name + ": empty CSV file (expected a header row)");
  const auto &header = rows[0];
  std::set<std::string> seen;
  for (const auto &h : header) {
    if (h.empty()) throw std::runtime_error(name + ":" + std::to_string(row_lines[0]) + ": empty column name in the header row");
    if (!seen.insert(h).second) throw std::runtime_error(name + ":" + std::to_string(row_lines[0]) + ": column '" + h + "' appears twice in the header row");
  }
  std::vector<nlohmann::json> out;
  out.reserve(rows.size() - 1);
  for (size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != header.size())
      throw std::runtime_error(name + ":" + std::to_string(row_lines[r]) + ": " + std::to_string(rows[r].size()) +
                               " fields, but the header has " + std::to_string(header.size()));
    nlohmann::json obj = nlohmann::json::object();
    for (size_t k = 0; k < header.size(); ++k) obj[header[k]] = std::move(rows[r][k]);
    obj["__line"] = row_lines[r];
    out.push_back(std::move(obj));
  }
  return out;
}

namespace sources {

void fetch_csv(SourceFetch &f) {
  const HrMapping &m = f.m;
  FetchResult &res = f.res;
  std::string text = read_source_file(m.source.file, m.source.max_file_bytes, f.src());
  ++res.pages;
  auto rows = parse_csv(text, m.source.csv_delimiter, m.source.file);
  res.users.reserve(rows.size());
  for (auto &row : rows) {
    std::string key = m.source.file + ":" + std::to_string(row["__line"].get<long>());
    row.erase("__line");
    f.add(row, key);
  }
}

}  // namespace sources

}  // namespace rgsync::hr
