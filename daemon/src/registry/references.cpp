// Resolves references between registries (id or display name -> id) and applies the dangling
// policy. Nothing is dropped silently: every dangling reference is reported with file and line.
#include <algorithm>
#include <memory>
#include <optional>
#include <unordered_map>

#include "registry/registry.hpp"

namespace rgsync {

namespace {

struct Lookup {
  // value of a match column -> key of the target row ("" with ambiguous = true when two rows share it)
  std::vector<std::unordered_map<std::string, std::pair<std::string, bool>>> by_column;
};

Lookup build_lookup(const ReferenceDef &ref, const TableRows &target) {
  Lookup lk;
  const TableDef &t = *target.def;
  for (const auto &col : ref.match) {
    std::unordered_map<std::string, std::pair<std::string, bool>> idx;
    size_t ci = static_cast<size_t>(t.column_index(col));
    for (const auto &r : target.rows) {
      if (r.dropped || r.cells[ci].null) continue;
      std::string key = row_key(t, r);
      auto [it, fresh] = idx.emplace(r.cells[ci].text, std::make_pair(key, false));
      if (!fresh && it->second.first != key) it->second.second = true;
    }
    lk.by_column.push_back(std::move(idx));
  }
  return lk;
}

}  // namespace

struct ReferenceResolver::Impl {
  const ReferenceDef &ref;
  Registry &reg;
  OnDangling policy;
  Findings &f;
  Lookup lk;
  const TableDef &ft;
  size_t ci;
  bool is_array, required;
  std::string matches;
  // Report-only violations: every one is listed up to kListPerValue per value, the rest counted
  // (a 100k-row registry naming one unknown product would otherwise print 100k lines).
  static constexpr size_t kListPerValue = 20;
  std::unordered_map<std::string, std::pair<size_t, std::pair<size_t, Mark>>> report_only;  // value -> (count, first place)

  Impl(const ReferenceDef &r, Registry &g, OnDangling p, Findings &fi, const TableRows &from, const TableRows &to)
      : ref(r), reg(g), policy(p), f(fi), lk(build_lookup(r, to)), ft(*from.def), ci(static_cast<size_t>(ft.column_index(r.column))),
        is_array(ft.type_of(r.column) == ColType::TextArray),
        required(std::find(ft.required.begin(), ft.required.end(), r.column) != ft.required.end()) {
    for (const auto &c : ref.match) matches += (matches.empty() ? "" : " or ") + c;
  }

  // Returns the resolved key, or nullopt (dangling); reports ambiguity as an error.
  std::optional<std::string> resolve(const std::string &v, size_t file, Mark mark, bool &ambiguous) {
    ambiguous = false;
    for (size_t i = 0; i < ref.match.size(); ++i) {
      auto it = lk.by_column[i].find(v);
      if (it == lk.by_column[i].end()) continue;
      if (it->second.second) {
        f.error(reg.files[file].shown, mark, ref.table + "." + ref.column + ": '" + v + "' matches more than one " + ref.target + " row by " +
                                                 ref.match[i] + "; refer to it by id");
        ambiguous = true;
        return std::nullopt;
      }
      return it->second.first;
    }
    return std::nullopt;
  }

  void row(Row &row) {
    if (row.dropped) return;
    Cell &c = row.cells[ci];
    if (c.null) return;
    // The label is only needed for messages: built on first use.
    std::string entry_cache;
    auto entry_label = [&]() -> const std::string & { if (entry_cache.empty()) entry_cache = row_label(ft, row); return entry_cache; };
    auto dangling = [&](const std::string &value, Mark mark) -> bool {  // true = remove it
      const std::string &entry = entry_label();
      const std::string &file = reg.files[row.file].shown;
      if (!ref.enforced) {
        auto &[count, first] = report_only.try_emplace(value, 0, std::make_pair(row.file, mark)).first->second;
        if (++count > kListPerValue) return false;
        reg.dangling.push_back(Dangling{ref.table, ref.column, entry, value, row.file, mark, ref.enforced});
        f.warning(file, mark, ref.table + " '" + entry + "': " + ref.column + " refers to '" + value + "', which is no " + ref.target + " " +
                                  matches + " (reported only: the mapping declares this reference enforced: false)");
        return false;
      }
      reg.dangling.push_back(Dangling{ref.table, ref.column, entry, value, row.file, mark, ref.enforced});
      std::string what = ref.table + " '" + entry + "': " + ref.column + " refers to '" + value + "', which is no " + ref.target + " " + matches;
      switch (policy) {
        case OnDangling::Fail:
          f.error(file, mark, "dangling reference: " + what + " (fix it, or choose --on-dangling=drop)");
          return false;
        case OnDangling::Drop:
          f.warning(file, mark, "dropped dangling reference: " + what + " (--on-dangling=drop)");
          return true;
        case OnDangling::Keep:
          f.error(file, mark, "dangling reference: " + what + "; --on-dangling=keep is refused because this reference is enforced");
          return false;
      }
      return false;
    };
    if (is_array) {
      // Resolved in place; the vectors are only rebuilt when an element is removed.
      size_t kept = 0;
      for (size_t i = 0; i < c.elems.size(); ++i) {
        bool amb = false;
        auto k = resolve(c.elems[i], row.file, c.elem_marks[i], amb);
        bool keep = true;
        if (k) c.elems[i] = std::move(*k);
        else keep = amb || !dangling(c.elems[i], c.elem_marks[i]);
        if (!keep) continue;
        if (kept != i) { c.elems[kept] = std::move(c.elems[i]); c.elem_marks[kept] = c.elem_marks[i]; }
        ++kept;
      }
      c.elems.resize(kept);
      c.elem_marks.resize(kept);
    } else {
      bool amb = false;
      auto k = resolve(c.text, row.file, c.mark, amb);
      if (k) { c.text = *k; return; }
      if (amb || !dangling(c.text, c.mark)) return;
      if (!ft.owner.empty()) {
        row.dropped = true;  // a link row without its target is no link
      } else if (required) {
        f.error(reg.files[row.file].shown, c.mark, ref.table + " '" + entry_label() + "': cannot drop the dangling " + ref.column + ": the column is required");
      } else {
        c.null = true;
        c.text.clear();
      }
    }
  }

  void finish() {
    for (const auto &[value, info] : report_only)
      if (info.first > kListPerValue)
        f.warning(reg.files[info.second.first].shown, info.second.second,
                  ref.table + "." + ref.column + ": " + std::to_string(info.first - kListPerValue) + " more entries (" + std::to_string(info.first) +
                      " in all, the first listed above) refer to '" + value + "', which is no " + ref.target + " " + matches + " (reported only)");
    report_only.clear();
  }
};

ReferenceResolver::ReferenceResolver(const ReferenceDef &ref, Registry &reg, OnDangling policy, Findings &f) {
  TableRows *from = reg.table(ref.table);
  TableRows *to = reg.table(ref.target);
  if (from && to) impl_ = std::make_unique<Impl>(ref, reg, policy, f, *from, *to);
}
ReferenceResolver::~ReferenceResolver() = default;
ReferenceResolver::ReferenceResolver(ReferenceResolver &&) noexcept = default;
void ReferenceResolver::row(Row &r) { if (impl_) impl_->row(r); }
void ReferenceResolver::finish() { if (impl_) impl_->finish(); }

void resolve_references(const Mapping &m, Registry &reg, OnDangling policy, Findings &f,
                        const std::function<bool(const ReferenceDef &)> &which) {
  for (const auto &ref : m.references) {
    if (which && !which(ref)) continue;
    TableRows *from = reg.table(ref.table);
    if (!from || !reg.table(ref.target)) continue;
    ReferenceResolver r(ref, reg, policy, f);
    for (auto &row : from->rows) r.row(row);
    r.finish();
  }
}

}  // namespace rgsync
