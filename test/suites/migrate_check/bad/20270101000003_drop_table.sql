-- expect: destructive@2
drop table shop.tags;
