-- the notes column was never read; dropped deliberately
-- registry-sync: allow-destructive notes moved to shop.order_notes in release 2027.1
alter table shop.orders drop column note;
-- registry-sync: allow-lock tags holds a handful of rows in every deployment
alter table shop.tags alter column label set not null;
