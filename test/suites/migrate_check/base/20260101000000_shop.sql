create schema shop;
create table shop.orders (id bigint primary key, customer text, amount numeric, note text);
create table shop.tags (id int primary key, label text);
insert into shop.tags values (1, 'a'), (2, 'b');
