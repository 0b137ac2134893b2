-- expect: destructive@3
select 1;
truncate shop.tags;
