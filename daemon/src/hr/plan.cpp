// HR sync planning (see hr_plan.hpp for the rules).
#include "hr/plan.hpp"

#include <algorithm>
#include <sstream>
#include <unordered_map>

namespace rgsync::hr {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

const Value &get(const Columns &c, const std::string &k) {
  static const Value none;
  auto it = c.find(k);
  return it == c.end() ? none : it->second;
}

std::string show(const Value &v) {
  if (!v) return "NULL";
  std::string out = "\"";
  for (char c : *v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out + "\"";
}

}  // namespace

void resolve_managers(std::vector<HrUser> &users, const std::vector<std::string> &scim_ids,
                      const std::map<std::string, std::string> &extra) {
  std::unordered_map<std::string, std::string> to_emp;
  for (size_t i = 0; i < users.size() && i < scim_ids.size(); ++i) {
    auto e = get(users[i].columns, "employee_id");
    if (e && !scim_ids[i].empty()) to_emp[scim_ids[i]] = *e;
  }
  for (auto &u : users) {
    auto it = u.columns.find("manager_id");
    if (it == u.columns.end() || !it->second) continue;
    auto m = to_emp.find(*it->second);
    if (m != to_emp.end()) { it->second = m->second; continue; }
    auto x = extra.find(*it->second);
    if (x != extra.end()) it->second = x->second;
  }
}

Plan make_plan(const PlanInput &in, const std::vector<HrUser> &users, const std::vector<Profile> &profiles) {
  const HrMapping &m = in.mapping;
  const std::string &src = m.source.name;
  Plan plan;

  std::unordered_map<std::string, size_t> by_emp, by_id;
  std::unordered_map<std::string, std::vector<size_t>> by_email;
  for (size_t i = 0; i < profiles.size(); ++i) {
    const auto &p = profiles[i];
    by_id[p.id] = i;
    if (auto e = get(p.columns, "employee_id"); e && !e->empty()) by_emp[*e] = i;
    if (auto e = get(p.columns, "email"); e && !e->empty()) by_email[lower(*e)].push_back(i);
    if (p.hr_source && *p.hr_source == src && get(p.columns, "status") != Value("inactive")) ++plan.hr_managed;
  }

  // Employee ids given twice by HR: neither user is applied.
  std::unordered_map<std::string, std::vector<size_t>> users_by_emp;
  for (size_t i = 0; i < users.size(); ++i) users_by_emp[*get(users[i].columns, "employee_id")].push_back(i);

  std::vector<std::vector<size_t>> matched(profiles.size());
  std::vector<size_t> unmatched;
  std::vector<bool> touched(profiles.size(), false);  // a profile some HR user points at
  for (auto &[emp, idx] : users_by_emp) {
    if (idx.size() > 1) {
      Conflict c;
      auto p = by_emp.find(emp);
      if (p != by_emp.end()) { c.profile_id = profiles[p->second].id; touched[p->second] = true; }
      c.reason = "employee id " + emp + " appears " + std::to_string(idx.size()) + " times in HR";
      c.kind = "same_profile";
      for (auto i : idx) c.hr_keys.push_back(users[i].key);
      plan.conflicts.push_back(std::move(c));
      continue;
    }
    size_t ui = idx[0];
    const HrUser &u = users[ui];
    auto p = by_emp.find(emp);
    if (p != by_emp.end()) { matched[p->second].push_back(ui); continue; }
    auto email = get(u.columns, "email");
    if (email && !email->empty()) {
      auto e = by_email.find(lower(*email));
      if (e != by_email.end()) {
        std::vector<size_t> cands;
        for (auto pi : e->second)
          if (!get(profiles[pi].columns, "employee_id")) cands.push_back(pi);
        if (cands.size() == 1) { matched[cands[0]].push_back(ui); continue; }
        Conflict c;
        for (auto pi : e->second) touched[pi] = true;
        if (cands.size() > 1) {
          c.reason = "email " + *email + " matches " + std::to_string(cands.size()) + " profiles";
          for (auto pi : cands) c.profile_id += (c.profile_id.empty() ? "" : ",") + profiles[pi].id;
        } else {
          const auto &other = profiles[e->second[0]];
          c.profile_id = other.id;
          c.reason = "email " + *email + " belongs to a profile with another employee id (" +
                     get(other.columns, "employee_id").value_or("") + ")";
        }
        c.hr_keys.push_back(u.key);
        c.kind = "email";
        plan.conflicts.push_back(std::move(c));
        continue;
      }
    }
    unmatched.push_back(ui);
  }

  long newly_linked = 0;
  for (size_t pi = 0; pi < profiles.size(); ++pi) {
    const Profile &p = profiles[pi];
    const auto &us = matched[pi];
    if (us.empty()) continue;
    touched[pi] = true;
    if (us.size() > 1) {
      Conflict c{p.id, std::to_string(us.size()) + " HR users match this profile (by employee id or email)", {}, "same_profile"};
      for (auto ui : us) c.hr_keys.push_back(users[ui].key);
      plan.conflicts.push_back(std::move(c));
      continue;
    }
    const HrUser &u = users[us[0]];
    if (p.hr_source && *p.hr_source != src) {
      plan.conflicts.push_back({p.id, "profile is linked to another HR source (" + *p.hr_source + ")", {u.key}, "ownership"});
      continue;
    }
    PlannedUpdate up{p.id, {}, u.key, false};
    for (const auto &rule : m.fields) {
      Value after = get(u.columns, rule.column);
      if (rule.column == "name" && !after) continue;  // name is NOT NULL: keep the registry's
      Value before = get(p.columns, rule.column);
      if (before != after) up.changes.push_back({rule.column, before, after});
    }
    Value status_before = get(p.columns, "status");
    Value status_after = std::string(u.active ? "active" : "inactive");
    if (status_before != status_after) {
      up.changes.push_back({"status", status_before, status_after});
      if (!u.active) up.deactivates = true;
    }
    if (p.hr_source != Value(src)) {
      up.changes.push_back({"hr_source", p.hr_source, src});
      if (u.active) ++newly_linked;
    }
    if (up.changes.empty()) { ++plan.unchanged; continue; }
    plan.updates.push_back(std::move(up));
  }

  if (in.full) {
    for (size_t pi = 0; pi < profiles.size(); ++pi) {
      const Profile &p = profiles[pi];
      if (touched[pi]) continue;
      if (p.hr_source && *p.hr_source == src) {
        Value status = get(p.columns, "status");
        if (status != Value("inactive"))
          plan.updates.push_back({p.id, {{"status", status, std::string("inactive")}}, "", true});
      } else if (!p.hr_source) {
        plan.not_in_hr.push_back(p.id);
      }
    }
  }

  std::unordered_map<std::string, size_t> create_ids;
  std::unordered_map<std::string, size_t> contested_ids;  // id -> its conflict: no HR user gets it
  for (auto ui : unmatched) {
    const HrUser &u = users[ui];
    if (!u.active) { ++plan.skipped_inactive; continue; }
    if (!m.in_scope(get(u.columns, "department"), get(u.columns, "title"))) { ++plan.skipped_out_of_scope; continue; }
    PlannedCreate c;
    c.id = m.make_id(u.columns);
    c.hr_key = u.key;
    for (const auto &rule : m.fields) c.columns[rule.column] = get(u.columns, rule.column);
    if (!get(c.columns, "name")) {
      std::string n = get(u.columns, "first_name").value_or("");
      std::string l = get(u.columns, "last_name").value_or("");
      n = n.empty() ? l : (l.empty() ? n : n + " " + l);
      c.columns["name"] = n.empty() ? *get(u.columns, "employee_id") : n;
    }
    c.columns["status"] = std::string("active");
    if (by_id.count(c.id)) {
      plan.conflicts.push_back({c.id, "new profile id " + c.id + " (from the id template) is taken by a profile that is not linked to this employee", {u.key}, "ownership"});
      continue;
    }
    if (auto contested = contested_ids.find(c.id); contested != contested_ids.end()) {
      plan.conflicts[contested->second].hr_keys.push_back(u.key);  // a third, fourth... claimant
      continue;
    }
    auto dup = create_ids.find(c.id);
    if (dup != create_ids.end()) {
      contested_ids[c.id] = plan.conflicts.size();
      plan.conflicts.push_back({c.id, "several HR users would create the same profile id", {plan.creates[dup->second].hr_key, u.key}, "same_profile"});
      plan.creates.erase(plan.creates.begin() + static_cast<long>(dup->second));
      for (auto &[id, pos] : create_ids) if (pos > dup->second) --pos;
      create_ids.erase(dup);
      continue;
    }
    create_ids[c.id] = plan.creates.size();
    plan.creates.push_back(std::move(c));
  }

  for (const auto &u : plan.updates) plan.deactivations += u.deactivates;
  long base = plan.hr_managed + newly_linked;
  plan.threshold_exceeded = plan.deactivations > 0 &&
                            static_cast<double>(plan.deactivations) > m.deactivation_threshold * static_cast<double>(base);

  std::sort(plan.creates.begin(), plan.creates.end(), [](auto &a, auto &b) { return a.id < b.id; });
  std::sort(plan.updates.begin(), plan.updates.end(), [](auto &a, auto &b) { return a.id < b.id; });
  for (auto &c : plan.conflicts) std::sort(c.hr_keys.begin(), c.hr_keys.end());
  std::sort(plan.conflicts.begin(), plan.conflicts.end(),
            [](auto &a, auto &b) { return std::tie(a.profile_id, a.hr_keys) < std::tie(b.profile_id, b.hr_keys); });
  std::sort(plan.not_in_hr.begin(), plan.not_in_hr.end());
  return plan;
}

nlohmann::json Plan::counts() const {
  long updated = 0;
  for (const auto &u : updates) updated += !u.deactivates;
  return {{"created", creates.size()},     {"updated", updated},
          {"deactivated", deactivations},  {"conflicts", conflicts.size()},
          {"skipped_out_of_scope", skipped_out_of_scope}, {"skipped_inactive", skipped_inactive},
          {"unchanged", unchanged},        {"not_in_hr", not_in_hr.size()},
          {"hr_managed", hr_managed},      {"rows_written", rows_to_write()}};
}

std::string Plan::describe() const {
  std::ostringstream out;
  for (const auto &c : creates) {
    out << "create " << c.id << " (" << c.hr_key << "):";
    for (const auto &[k, v] : c.columns) if (v) out << " " << k << "=" << show(v);
    out << "\n";
  }
  for (const auto &u : updates) {
    out << (u.deactivates ? "deactivate " : "update ") << u.id;
    out << (u.hr_key.empty() ? " (gone from HR)" : " (" + u.hr_key + ")") << ":";
    bool first = true;
    for (const auto &ch : u.changes) {
      out << (first ? " " : ", ") << ch.column << " " << show(ch.before) << " -> " << show(ch.after);
      first = false;
    }
    out << "\n";
  }
  for (const auto &c : conflicts) {
    out << "conflict " << (c.profile_id.empty() ? "-" : c.profile_id) << ": " << c.reason << " [";
    for (size_t i = 0; i < c.hr_keys.size(); ++i) out << (i ? ", " : "") << c.hr_keys[i];
    out << "] (not applied)\n";
  }
  if (!not_in_hr.empty()) {
    out << "not in HR (" << not_in_hr.size() << "):";
    for (const auto &id : not_in_hr) out << " " << id;
    out << "\n";
  }
  return out.str();
}

}  // namespace rgsync::hr
