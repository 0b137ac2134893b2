-- Data product contracts carry a staging flag (a contract under review, not yet released to
-- consumers; staging contracts override the released one, see examples/registry-contracts).
-- A constant default: no table rewrite, existing products are released (false).
alter table public.data_products add column if not exists staging boolean not null default false;
