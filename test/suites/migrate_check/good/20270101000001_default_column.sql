-- NOT NULL with a constant default on a small existing table; a constraint added NOT VALID on a large one
alter table shop.tags add column weight int not null default 0;
alter table shop.orders add constraint orders_amount_positive check (amount > 0) not valid;
