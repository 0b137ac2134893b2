-- expect: destructive@2 lock@2
alter table shop.orders alter column amount type bigint;
