-- expect: not-null@2
alter table shop.tags add column owner text not null;
