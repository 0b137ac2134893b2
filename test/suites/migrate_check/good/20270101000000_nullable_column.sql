-- a nullable column on a small table, a new table with its own index and NOT NULL column
alter table shop.tags add column colour text;
create table shop.refunds (id bigint primary key, order_id bigint not null, amount numeric not null);
create index refunds_order_idx on shop.refunds (order_id);
alter table shop.refunds add column reason text not null;
