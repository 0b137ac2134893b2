-- audit.set_ignored_columns() serializes with the table's writers (issue 11).
CREATE OR REPLACE FUNCTION audit.set_ignored_columns(regclass, text[]) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    col text;
    pk text[];
BEGIN
    PERFORM audit.check_may_manage($1, 'audit.set_ignored_columns');
    pk := audit.primary_key_columns($1);
    FOREACH col IN ARRAY coalesce($2, ARRAY[]::text[]) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                        WHERE attrelid = $1 AND attname = col AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION 'audit.set_ignored_columns: table % has no column "%"', $1, col
                USING HINT = 'Column names are case-sensitive; list existing columns only.';
        END IF;
        IF col = ANY(pk) THEN
            RAISE EXCEPTION 'audit.set_ignored_columns: column "%" is part of the primary key of %', col, $1
                USING HINT = 'Key columns identify the record (record_id) and cannot be ignored.';
        END IF;
    END LOOP;
    -- Waits for the transactions writing to the table (and its partitions) and holds off new
    -- ones until commit: a writer that holds the table keeps its cached ignore list for the
    -- rest of its transaction (it processes the invalidation below only when it next locks
    -- the table), so none may still hold it once the new list is in effect.
    EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', $1);
    INSERT INTO audit.tracked_table(table_id, ignored_columns)
         VALUES ($1, coalesce($2, ARRAY[]::text[]))
    ON CONFLICT (table_id) DO UPDATE SET ignored_columns = excluded.ignored_columns;
    PERFORM audit.invalidate_table_settings($1);
END;
$$;
