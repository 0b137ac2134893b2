-- guard.rls_report() as an attacker's checklist (sql/src/35_rls_report.sql): the 0.1.0 report is
-- replaced by the probes and the report of 0.2.0 (same signature, now VOLATILE: it runs probes).
DROP FUNCTION guard.rls_report();
