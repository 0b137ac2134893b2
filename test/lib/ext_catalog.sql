-- One line per property of every object the registry_guard extension installs (members, their
-- columns, constraints, indexes, triggers, policies, ACLs, comments, config-dump registration).
-- Used to compare a fresh install of the current version with an upgraded older one.
WITH ext AS (SELECT oid, extconfig, extcondition FROM pg_catalog.pg_extension WHERE extname = 'registry_guard'),
mem AS (
  SELECT d.classid, d.objid, d.objsubid FROM pg_catalog.pg_depend d, ext
   WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rels AS (
  SELECT c.oid, c.relname, c.relkind FROM mem JOIN pg_catalog.pg_class c
    ON mem.classid = 'pg_catalog.pg_class'::regclass AND c.oid = mem.objid),
lines AS (
  SELECT 'member ' || pg_catalog.pg_describe_object(classid, objid, objsubid) AS line FROM mem
  UNION ALL
  SELECT 'comment ' || pg_catalog.pg_describe_object(mem.classid, mem.objid, 0) || ': ' || d.description
    FROM mem JOIN pg_catalog.pg_description d ON d.classoid = mem.classid AND d.objoid = mem.objid AND d.objsubid = 0
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure || ' acl=' || coalesce(p.proacl::text, '-') || E'\n'
         || CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_catalog.pg_get_functiondef(p.oid) ELSE p.prokind::text END
    FROM mem JOIN pg_catalog.pg_proc p ON mem.classid = 'pg_catalog.pg_proc'::regclass AND p.oid = mem.objid
  UNION ALL
  SELECT 'schema ' || n.nspname || ' acl=' || coalesce(n.nspacl::text, '-')
    FROM mem JOIN pg_catalog.pg_namespace n ON mem.classid = 'pg_catalog.pg_namespace'::regclass AND n.oid = mem.objid
  UNION ALL
  SELECT 'relation ' || c.oid::regclass || ' kind=' || c.relkind::text || ' acl=' || coalesce(c.relacl::text, '-')
         || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
         || ' options=' || coalesce(c.reloptions::text, '-')
         || coalesce(E'\n' || CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END, '')
    FROM rels r JOIN pg_catalog.pg_class c ON c.oid = r.oid
  UNION ALL
  SELECT 'column ' || r.oid::regclass || ' #' || row_number() OVER (PARTITION BY r.oid ORDER BY a.attnum)
         || ' ' || a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
         || ' notnull=' || a.attnotnull || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
         || ' default=' || coalesce(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '-')
         || ' acl=' || coalesce(a.attacl::text, '-')
         || ' comment=' || coalesce(pg_catalog.col_description(r.oid, a.attnum), '-')
    FROM rels r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
  UNION ALL
  SELECT 'constraint ' || r.oid::regclass || ' ' || co.conname || ' ' || pg_catalog.pg_get_constraintdef(co.oid)
         || ' deferrable=' || co.condeferrable || ' deferred=' || co.condeferred
    FROM rels r JOIN pg_catalog.pg_constraint co ON co.conrelid = r.oid
  UNION ALL
  SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
    FROM rels r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid
  UNION ALL
  SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
    FROM rels r JOIN pg_catalog.pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
  UNION ALL
  SELECT 'policy ' || r.oid::regclass || ' ' || p.polname || ' cmd=' || p.polcmd::text || ' permissive=' || p.polpermissive
         || ' roles=' || p.polroles::regrole[]::text
         || ' using=' || coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '-')
         || ' check=' || coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '-')
    FROM rels r JOIN pg_catalog.pg_policy p ON p.polrelid = r.oid
  UNION ALL
  SELECT 'sequence ' || s.seqrelid::regclass || ' ' || pg_catalog.format_type(s.seqtypid, NULL) || ' start=' || s.seqstart
         || ' inc=' || s.seqincrement || ' min=' || s.seqmin || ' max=' || s.seqmax || ' cache=' || s.seqcache || ' cycle=' || s.seqcycle
    FROM rels r JOIN pg_catalog.pg_sequence s ON s.seqrelid = r.oid
  UNION ALL
  SELECT 'enum ' || e.enumtypid::regtype || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
    FROM mem JOIN pg_catalog.pg_enum e ON mem.classid = 'pg_catalog.pg_type'::regclass AND e.enumtypid = mem.objid
   GROUP BY e.enumtypid
  UNION ALL
  SELECT 'type ' || t.oid::regtype || ' acl=' || coalesce(t.typacl::text, '-')
    FROM mem JOIN pg_catalog.pg_type t ON mem.classid = 'pg_catalog.pg_type'::regclass AND t.oid = mem.objid
  UNION ALL
  SELECT 'event trigger ' || e.evtname || ' on ' || e.evtevent || ' fn=' || e.evtfoid::regproc
         || ' enabled=' || e.evtenabled::text || ' tags=' || coalesce(e.evttags::text, '-')
    FROM mem JOIN pg_catalog.pg_event_trigger e ON mem.classid = 'pg_catalog.pg_event_trigger'::regclass AND e.oid = mem.objid
  UNION ALL
  SELECT 'config dump ' || cfg::regclass || ' where=' || coalesce(ext.extcondition[i], '')
    FROM ext, LATERAL pg_catalog.unnest(ext.extconfig) WITH ORDINALITY AS u(cfg, i)
)
SELECT line FROM lines ORDER BY line;
