// HR sync planning rules: correlation, creation scope, deactivation, conflicts, threshold.
#include <gtest/gtest.h>

#include "hr/mapping.hpp"
#include "hr/plan.hpp"

using namespace rgsync::hr;

namespace {

HrMapping mapping(const std::string &extra = "") {
  return parse_hr_mapping("source: {kind: csv, name: hrcsv, file: x.csv}\n"
                          "fields: {employee_id: Emp, email: Mail, name: Name, title: Title, department: Dept, manager_id: Mgr}\n" +
                              extra,
                          "test.yaml");
}

HrUser user(const std::string &emp, const std::string &email, const std::string &name, bool active = true,
            const std::string &dept = "Finance") {
  HrUser u;
  u.key = "row " + emp;
  u.columns = {{"employee_id", emp}, {"email", email}, {"name", name}, {"title", std::string("Analyst")},
               {"department", dept}, {"manager_id", std::nullopt}};
  u.active = active;
  return u;
}

Profile profile(const std::string &id, const Value &emp, const Value &email, const Value &hr_source,
                const std::string &name = "P", const Value &status = std::string("active")) {
  Profile p;
  p.id = id;
  p.columns = {{"employee_id", emp}, {"email", email}, {"name", name}, {"title", std::string("Analyst")},
               {"department", std::string("Finance")}, {"manager_id", std::nullopt}, {"status", status}};
  p.hr_source = hr_source;
  return p;
}

}  // namespace

TEST(HrPlan, CreatesInScopeUsersWithTemplateIdAndSkipsOthers) {
  auto m = mapping("scope: {departments: [finance]}\ncreate_id_template: \"emp_{employee_id}\"\n");
  std::vector<HrUser> us = {user("1", "a@x", "Ann"), user("2", "b@x", "Bob", true, "Sales"), user("3", "c@x", "Cy", false)};
  Plan p = make_plan({m, true}, us, {});
  ASSERT_EQ(p.creates.size(), 1u);
  EXPECT_EQ(p.creates[0].id, "emp_1");
  EXPECT_EQ(p.creates[0].columns["status"], Value("active"));
  EXPECT_EQ(p.skipped_out_of_scope, 1);
  EXPECT_EQ(p.skipped_inactive, 1);
}

TEST(HrPlan, CorrelatesByEmployeeIdThenEmailAndListsChangedFields) {
  auto m = mapping();
  std::vector<Profile> ps = {profile("p_ann", std::string("1"), std::string("ann@old"), std::string("hrcsv"), "Ann"),
                             profile("p_bob", std::nullopt, std::string("BOB@x"), std::nullopt, "Bob")};
  std::vector<HrUser> us = {user("1", "ann@new", "Ann"), user("2", "bob@x", "Bob")};
  Plan p = make_plan({m, true}, us, ps);
  EXPECT_TRUE(p.creates.empty());
  ASSERT_EQ(p.updates.size(), 2u);
  EXPECT_EQ(p.updates[0].id, "p_ann");
  ASSERT_EQ(p.updates[0].changes.size(), 1u);
  EXPECT_EQ(p.updates[0].changes[0].column, "email");
  EXPECT_EQ(p.updates[1].id, "p_bob");  // linked by email: employee id, email case, hr_source set
  std::set<std::string> cols;
  for (auto &c : p.updates[1].changes) cols.insert(c.column);
  EXPECT_EQ(cols, (std::set<std::string>{"employee_id", "email", "hr_source"}));
}

TEST(HrPlan, UnchangedUsersWriteNothing) {
  auto m = mapping();
  std::vector<Profile> ps = {profile("p1", std::string("1"), std::string("a@x"), std::string("hrcsv"), "Ann")};
  Plan p = make_plan({m, true}, {user("1", "a@x", "Ann")}, ps);
  EXPECT_EQ(p.rows_to_write(), 0);
  EXPECT_EQ(p.unchanged, 1);
}

TEST(HrPlan, GoneOrInactiveUsersDeactivateNeverDelete) {
  auto m = mapping("deactivation_threshold: 1\n");
  std::vector<Profile> ps = {profile("p1", std::string("1"), std::string("a@x"), std::string("hrcsv"), "Ann"),
                             profile("p2", std::string("2"), std::string("b@x"), std::string("hrcsv"), "Bob"),
                             profile("p3", std::string("3"), std::string("c@x"), std::string("hrcsv"), "Cy")};
  Plan p = make_plan({m, true}, {user("1", "a@x", "Ann"), user("2", "b@x", "Bob", false)}, ps);
  ASSERT_EQ(p.updates.size(), 2u);
  EXPECT_TRUE(p.updates[0].deactivates);  // p2: inactive in HR
  EXPECT_TRUE(p.updates[1].deactivates);  // p3: gone from HR
  EXPECT_EQ(p.updates[1].hr_key, "");
  EXPECT_EQ(p.deactivations, 2);
  EXPECT_FALSE(p.threshold_exceeded);
}

TEST(HrPlan, IncrementalRunDoesNotTreatAbsentUsersAsGone) {
  auto m = mapping();
  std::vector<Profile> ps = {profile("p1", std::string("1"), std::string("a@x"), std::string("hrcsv")),
                             profile("p2", std::string("2"), std::string("b@x"), std::string("hrcsv"))};
  Plan p = make_plan({m, false}, {user("1", "a@x", "P")}, ps);
  EXPECT_EQ(p.deactivations, 0);
  EXPECT_EQ(p.rows_to_write(), 0);
}

TEST(HrPlan, ThresholdCountsAgainstHrManagedProfiles) {
  auto m = mapping();  // default 10%
  std::vector<Profile> ps;
  std::vector<HrUser> us;
  for (int i = 0; i < 20; ++i) {
    ps.push_back(profile("p" + std::to_string(i), std::to_string(i), std::nullopt, std::string("hrcsv"), "P"));
    if (i >= 2) us.push_back(user(std::to_string(i), "", "P"));
  }
  for (auto &u : us) u.columns["email"] = std::nullopt;
  Plan two = make_plan({m, true}, us, ps);  // 2 of 20 gone = 10%: allowed
  EXPECT_EQ(two.deactivations, 2);
  EXPECT_FALSE(two.threshold_exceeded);
  us.erase(us.begin());
  Plan three = make_plan({m, true}, us, ps);  // 3 of 20 = 15%
  EXPECT_EQ(three.deactivations, 3);
  EXPECT_TRUE(three.threshold_exceeded);
}

TEST(HrPlan, TwoHrUsersMatchingOneProfileIsAConflictNotApplied) {
  auto m = mapping();
  std::vector<Profile> ps = {profile("p1", std::string("1"), std::string("a@x"), std::string("hrcsv"), "Ann"),
                             profile("p_yaml", std::nullopt, std::string("shared@x"), std::nullopt, "Y")};
  std::vector<HrUser> us = {user("1", "a@x", "Ann New"), user("1", "a2@x", "Ann Dup"),
                            user("7", "shared@x", "Seven"), user("8", "SHARED@x", "Eight")};
  Plan p = make_plan({m, true}, us, ps);
  EXPECT_TRUE(p.updates.empty());
  EXPECT_TRUE(p.creates.empty());
  ASSERT_EQ(p.conflicts.size(), 2u);
  EXPECT_EQ(p.conflicts[0].profile_id, "p1");
  EXPECT_EQ(p.conflicts[1].profile_id, "p_yaml");
  EXPECT_EQ(p.conflicts[1].hr_keys.size(), 2u);
  EXPECT_EQ(p.conflicts[0].kind, "same_profile");  // employee id 1 twice
  EXPECT_EQ(p.conflicts[1].kind, "same_profile");  // two users match p_yaml by email
  EXPECT_EQ(p.deactivations, 0);  // a conflicted profile is not "gone"
}

TEST(HrPlan, UnlinkedProfilesWithoutHrMatchAreReportedNotDuplicated) {
  auto m = mapping();
  std::vector<Profile> ps = {profile("cfo", std::nullopt, std::nullopt, std::nullopt, "CFO")};
  Plan p = make_plan({m, true}, {user("1", "a@x", "Ann")}, ps);
  EXPECT_EQ(p.not_in_hr, std::vector<std::string>{"cfo"});
  EXPECT_EQ(p.creates.size(), 1u);
}

TEST(HrPlan, CreatedIdTakenByUnlinkedProfileIsAConflict) {
  auto m = mapping();
  std::vector<Profile> ps = {profile("emp_1", std::nullopt, std::nullopt, std::nullopt, "Someone")};
  Plan p = make_plan({m, true}, {user("1", "a@x", "Ann")}, ps);
  EXPECT_TRUE(p.creates.empty());
  ASSERT_EQ(p.conflicts.size(), 1u);
  EXPECT_EQ(p.conflicts[0].profile_id, "emp_1");
  EXPECT_EQ(p.conflicts[0].kind, "ownership");
}

TEST(HrPlan, ManagersResolveFromScimIdsAndUnknownOnesStayRaw) {
  std::vector<HrUser> us = {user("100", "", "Boss"), user("200", "", "Worker"), user("300", "", "Other")};
  us[1].columns["manager_id"] = std::string("scim-a");
  us[2].columns["manager_id"] = std::string("scim-unknown");
  resolve_managers(us, {"scim-a", "scim-b", "scim-c"});
  EXPECT_EQ(us[1].columns["manager_id"], Value("100"));
  EXPECT_EQ(us[2].columns["manager_id"], Value("scim-unknown"));
}

TEST(HrPlan, DescribeNamesEveryKindOfChange) {
  auto m = mapping("deactivation_threshold: 1\n");
  std::vector<Profile> ps = {profile("p1", std::string("1"), std::string("a@x"), std::string("hrcsv"), "Ann"),
                             profile("p2", std::string("2"), std::string("b@x"), std::string("hrcsv"), "Bob")};
  Plan p = make_plan({m, true}, {user("1", "a@x", "Ann Lee"), user("3", "c@x", "Cy")}, ps);
  std::string d = p.describe();
  EXPECT_NE(d.find("create emp_3"), std::string::npos) << d;
  EXPECT_NE(d.find("update p1 (row 1): name \"Ann\" -> \"Ann Lee\""), std::string::npos) << d;
  EXPECT_NE(d.find("deactivate p2 (gone from HR): status \"active\" -> \"inactive\""), std::string::npos) << d;
}

// The third (and every further) HR user mapping to an id already claimed by two others used to
// be created: the pair became a conflict, the claim was forgotten, the next user took the id.
TEST(HrPlan, ThreeHrUsersOnOneNewIdCreateNoneAndAreOneConflict) {
  auto m = mapping("create_id_template: \"emp_{department}\"\n");
  std::vector<HrUser> us = {user("1", "a@x", "Ann"), user("2", "b@x", "Bob"), user("3", "c@x", "Cy"), user("5", "e@x", "Ed", true, "Sales")};
  Plan p = make_plan({m, true}, us, {});
  ASSERT_EQ(p.creates.size(), 1u);
  EXPECT_EQ(p.creates[0].id, "emp_Sales");
  ASSERT_EQ(p.conflicts.size(), 1u);
  EXPECT_EQ(p.conflicts[0].profile_id, "emp_Finance");
  EXPECT_EQ(p.conflicts[0].hr_keys, (std::vector<std::string>{"row 1", "row 2", "row 3"}));
}
