-- expect: index@3
-- an index on an existing table, built in the migration's transaction
create index orders_customer_idx on shop.orders (customer);
