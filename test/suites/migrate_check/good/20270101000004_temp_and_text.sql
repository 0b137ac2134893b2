-- dropping what this file created, and destructive words inside strings and bodies
create temp table scratch as select id from shop.tags;
drop table scratch;
comment on table shop.orders is 'never drop table shop.orders or truncate it';
create function shop.noop() returns void language plpgsql as $$ begin perform 1; end $$;
