// The data product onboarding checklist (registry/checklist): the sample contract passes every
// check, hostile contracts give failed checks with lines (never an exception, never a crash,
// also under the sanitizers), and contracts read through an entry files mapping.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "registry/checklist.hpp"
#include "registry/mapping.hpp"
#include "registry/registry.hpp"

using namespace rgsync;
namespace fs = std::filesystem;

namespace {

const fs::path kRepo = fs::path(RGSYNC_SOURCE_DIR) / "..";

struct ChecklistRun {
  Mapping m;
  Registry reg;
  Findings rf;
  std::string dir;
  ChecklistRun(const fs::path &mapping, const fs::path &registry, const std::string &skip = "") : m(load_mapping(mapping.string())), dir(registry.string()) {
    LoadOptions lo;
    if (!skip.empty()) lo.skip.push_back(skip);
    reg = load_registry(m, dir, lo, rf);
  }
  Checklist check(const std::string &contract, const std::string &rel = "") {
    return check_data_product(contract, m, reg, rf, dir, rel, 1 << 20);
  }
};

const Check *find(const Checklist &c, const std::string &title_start) {
  for (const auto &ch : c.checks)
    if (ch.title.rfind(title_start, 0) == 0) return &ch;
  return nullptr;
}

std::string text(const Checklist &c) {
  std::ostringstream o;
  print_checklist(c, o, false);
  return o.str();
}

}  // namespace

TEST(Checklist, TheSampleContractPassesEveryCheck) {
  ChecklistRun r(kRepo / "config/registry-mapping.yaml", kRepo / "examples/registry-2026-01");
  Checklist c = r.check((kRepo / "test/fixtures/contracts/dp_fi_accounts_payable.yaml").string());
  EXPECT_EQ(c.product_id, "dp_fi_accounts_payable");
  EXPECT_EQ(c.checks.size(), 10u);
  EXPECT_EQ(c.failed(), 0u) << text(c);
}

TEST(Checklist, HostileContractsAreFailedChecksWithLinesNeverExceptions) {
  ChecklistRun r(kRepo / "config/registry-mapping.yaml", kRepo / "examples/registry-2026-01");
  fs::path f = fs::temp_directory_path() / ("rgsync_checklist_" + std::to_string(::getpid()) + ".yaml");
  const char *inputs[] = {
      "",
      "~",
      "- a\n- b\n",
      "metadata: 5\n",
      "metadata: {name: [1]}\nkpis: {a: 1}\n",
      "tables: [[[]]]\nviews: [{name: {x: 1}, columns: {a: [b]}}]\n",
      "kpis: [{id: [x], sql_query: \"FROM\", dimensions: [[1], {field: {}}], filters: [1, 2]}]\n",
      "kpis: [{id: k, view_name: v, sql_query: \"select a. from . join \\\"\\\" where 'x\"}]\n",
      "name: !!binary aGVsbG8=\n",
      "id: ''\nproduct_id: other\nstaging: .inf\n",
      "a: &x [*x]\n",
      "\xff\xfe",
      "name: a\n---\nname: b\n",
  };
  for (const char *in : inputs) {
    std::ofstream(f, std::ios::binary | std::ios::trunc) << in;
    Checklist c;
    ASSERT_NO_THROW(c = r.check(f.string())) << "input: " << in;
    EXPECT_GT(c.failed(), 0u) << "input: " << in << "\n" << text(c);
    for (const auto &ch : c.checks)
      for (const auto &p : ch.problems) EXPECT_GE(p.mark.line, 1u) << "input: " << in << "\n" << text(c);
  }
  fs::remove(f);
}

TEST(Checklist, ThroughAnEntryFilesMappingTheRegistryWithoutTheContractDecidesOverrides) {
  fs::path reg = kRepo / "examples/registry-contracts";
  // A released contract that a staging contract overrides: declared by the mapping.
  ChecklistRun staged(reg / "registry-mapping.yaml", reg, "staging/dp_finance_pl.yaml");
  Checklist c = staged.check((reg / "staging/dp_finance_pl.yaml").string(), "staging/dp_finance_pl.yaml");
  EXPECT_EQ(c.failed(), 0u) << text(c);
  const Check *o = find(c, "no override");
  ASSERT_NE(o, nullptr);
  EXPECT_NE(o->note.find("mapping: staging/*.yaml overrides data_products/*.yaml"), std::string::npos) << o->note;
  // The same contract read as a released one (data_products/*.yaml) overrides the registry's
  // entry of dp_hr_headcount without a declared precedence: a failed check.
  fs::path tmp = fs::temp_directory_path() / ("rgsync_checklist_reg_" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::copy(reg, tmp, fs::copy_options::recursive);
  fs::copy_file(reg / "staging/dp_hr_headcount.yaml", tmp / "data_products/dp_hr_headcount.yaml");
  fs::remove(tmp / "staging/dp_hr_headcount.yaml");
  ChecklistRun released(tmp / "registry-mapping.yaml", tmp, "data_products/dp_hr_headcount.yaml");
  Checklist d = released.check((tmp / "data_products/dp_hr_headcount.yaml").string(), "data_products/dp_hr_headcount.yaml");
  const Check *o2 = find(d, "no override");
  ASSERT_NE(o2, nullptr);
  ASSERT_FALSE(o2->passed()) << text(d);
  EXPECT_NE(o2->problems[0].message.find("declares no precedence between data_products/*.yaml and data_product_registry.yaml"), std::string::npos)
      << o2->problems[0].message;
  fs::remove_all(tmp);
}
