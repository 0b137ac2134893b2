-- registry-sync: no-transaction
create index concurrently if not exists orders_customer_idx on shop.orders (customer);
