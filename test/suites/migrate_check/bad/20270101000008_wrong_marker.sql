-- expect: destructive@3
-- registry-sync: allow-lock the table is small
truncate shop.tags;
