-- expect: destructive@2
alter table shop.orders drop column note;
