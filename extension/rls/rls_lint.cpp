// guard.uncached_calls(pg_node_tree): the function calls in a policy expression that run once per
// row although their result is the same for every row (non-immutable, constant arguments, not in
// a sub-select) and are expensive per call: SQL / PL functions such as auth.uid(), and
// current_setting(). guard.rls_report() turns them into findings; guard.* helpers are C and
// cache their result, so they are not reported.
#include <cstring>

#include "core/pg_guard.hpp"

namespace {

struct LintContext {
  List *names;  // char * (qualified function names), without duplicates
};

bool constant_args(List *args) {
  ListCell *lc;
  foreach (lc, args) {
    Node *arg = static_cast<Node *>(lfirst(lc));
    while (arg != nullptr && IsA(arg, RelabelType)) arg = reinterpret_cast<Node *>(reinterpret_cast<RelabelType *>(arg)->arg);
    if (arg == nullptr || !IsA(arg, Const)) return false;
  }
  return true;
}

// Qualified name of funcid when a per-row call of it is worth caching, else nullptr.
char *costly_per_row(Oid funcid) {
  HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
  if (!HeapTupleIsValid(tup)) return nullptr;
  auto *proc = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tup));
  bool builtin = proc->prolang == INTERNALlanguageId || proc->prolang == ClanguageId;
  bool costly = proc->provolatile != PROVOLATILE_IMMUTABLE && !proc->proretset &&
                (!builtin || strcmp(NameStr(proc->proname), "current_setting") == 0);
  char *name = nullptr;
  if (costly) name = psprintf("%s()", quote_qualified_identifier(get_namespace_name(proc->pronamespace), NameStr(proc->proname)));
  ReleaseSysCache(tup);
  return name;
}

bool lint_walker(Node *node, void *vctx) {
  if (node == nullptr) return false;
  auto *ctx = static_cast<LintContext *>(vctx);
  if (IsA(node, SubLink)) {
    // A sub-select without outer references runs once per statement (an initplan): only its
    // test expression (if any) is evaluated per row.
    return lint_walker(reinterpret_cast<SubLink *>(node)->testexpr, vctx);
  }
  if (IsA(node, FuncExpr)) {
    auto *f = reinterpret_cast<FuncExpr *>(node);
    if (constant_args(f->args)) {
      if (char *name = costly_per_row(f->funcid)) {
        bool seen = false;
        ListCell *lc;
        foreach (lc, ctx->names) seen = seen || strcmp(static_cast<char *>(lfirst(lc)), name) == 0;
        if (!seen) ctx->names = lappend(ctx->names, name);
      }
    }
  }
  return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(lint_walker)), vctx);
}

}  // namespace

RG_FUNCTION(rg_uncached_calls) {
  return rg::pg([&] {
    char *tree = text_to_cstring(PG_GETARG_TEXT_PP(0));
    Node *expr = static_cast<Node *>(stringToNode(tree));
    LintContext ctx{NIL};
    lint_walker(expr, &ctx);
    int n = list_length(ctx.names);
    Datum *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
    for (int i = 0; i < n; ++i) elems[i] = CStringGetTextDatum(static_cast<char *>(list_nth(ctx.names, i)));
    return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
  });
}
