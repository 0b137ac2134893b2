// guard.ddl_changes_partitions(pg_ddl_command): whether an ALTER TABLE reported to a
// ddl_command_end event trigger attaches or detaches a partition. The partition event triggers
// (audit_on_partition_ddl, guard_reference_on_partition) act on those and on CREATE TABLE
// only: other ALTER TABLEs (ENABLE ALWAYS TRIGGER, ADD CONSTRAINT) run in pg_restore's
// post-data section between the dumped triggers, which the restore creates itself.
#include "core/pg_guard.hpp"

RG_FUNCTION(rg_ddl_changes_partitions) {
  return rg::pg([&] {
    const CollectedCommand *cmd = reinterpret_cast<const CollectedCommand *>(PG_GETARG_POINTER(0));
    bool changes = false;
    if (cmd->type == SCT_AlterTable) {
      ListCell *lc;
      foreach (lc, cmd->d.alterTable.subcmds) {
        const CollectedATSubcmd *sub = static_cast<const CollectedATSubcmd *>(lfirst(lc));
        if (sub->parsetree == nullptr || !IsA(sub->parsetree, AlterTableCmd)) continue;
        AlterTableType t = reinterpret_cast<const AlterTableCmd *>(sub->parsetree)->subtype;
        if (t == AT_AttachPartition || t == AT_DetachPartition || t == AT_DetachPartitionFinalize) changes = true;
      }
    }
    PG_RETURN_BOOL(changes);
  });
}
