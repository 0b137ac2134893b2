-- expect: lock@3 lock@4
-- both hold ACCESS EXCLUSIVE on the 5000-row table while they scan or rewrite it
alter table shop.orders alter column customer set not null;
alter table shop.orders add column token uuid default gen_random_uuid();
