-- expect: marker@3 destructive@3
-- registry-sync: allow-destructive
drop schema shop cascade;
