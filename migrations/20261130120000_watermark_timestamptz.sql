-- HR watermarks are instants, not text: compared as text, '+02:00' sorted after 'Z' and
-- '...:00.5Z' before '...:00Z', so the stored position could move to an earlier instant or
-- miss one. registry-sync compares and stores timestamptz and asks the HR source for changes
-- at or after the watermark minus a safety window (late commits in the same second).
-- registry-sync: allow-destructive one row per HR source; text -> timestamptz keeps every value (empty becomes NULL)
alter table registry_sync.watermarks
  alter column value type timestamptz using nullif(value, '')::timestamptz;
