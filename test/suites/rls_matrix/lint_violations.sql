-- Scratch objects that each break one of Supabase's security lints
-- (test/lib/supabase_security_lints.sql), and near misses that must not be reported. Run by
-- rls_matrix_supabase.sh inside a transaction that is rolled back, with pgrst.db_schemas set to
-- 'public, graphql_public, lint_exposed, pgmq_public'. Object names start with lint_ or live
-- in schema lint_exposed / lint_hidden (not exposed).
\set ON_ERROR_STOP on
create schema lint_exposed;
create schema lint_hidden;
grant usage on schema lint_exposed, lint_hidden to anon, authenticated;

-- 0002 auth_users_exposed (and 0010: the view runs with its owner's rights)
create view lint_exposed.users_view as select id, email from auth.users;
grant select on lint_exposed.users_view to authenticated;
-- 0007 policy_exists_rls_disabled
create table lint_exposed.policy_no_rls (id int primary key);
create policy meant on lint_exposed.policy_no_rls using (true);
-- 0008 rls_enabled_no_policy (INFO)
create table lint_exposed.rls_no_policy (id int primary key);
alter table lint_exposed.rls_no_policy enable row level security;
-- 0010 security_definer_view; near miss: a security_invoker view
create view lint_exposed.definer_view as select 1 as one;
create view lint_exposed.invoker_view with (security_invoker = true) as select 1 as one;
grant select on lint_exposed.definer_view, lint_exposed.invoker_view to anon;
-- 0011 function_search_path_mutable; near miss: a search_path that is set, though not to ''
create function lint_exposed.mutable_fn() returns int language sql as 'select 1';
create function lint_exposed.pinned_fn() returns int language sql set search_path = public as 'select 1';
-- 0013 rls_disabled_in_public; near miss: the same in a schema PostgREST does not serve
create table lint_exposed.open_table (id int primary key);
create table lint_hidden.open_table (id int primary key);
grant select on lint_exposed.open_table, lint_hidden.open_table to anon;
-- 0014 extension_in_public and 0022 extension_versions_outdated (1.4 while 1.6 is the default)
create extension citext version '1.4' schema public;
-- 0015 rls_references_user_metadata
create table lint_exposed.metadata_policy (id int primary key, org text);
alter table lint_exposed.metadata_policy enable row level security;
create policy by_org on lint_exposed.metadata_policy to authenticated
  using (org = (auth.jwt() -> 'user_metadata' ->> 'org'));
-- 0016 materialized_view_in_api
create materialized view lint_exposed.mat_view as select 1 as one;
grant select on lint_exposed.mat_view to anon;
-- 0017 foreign_table_in_api
create foreign data wrapper lint_fdw;
create server lint_server foreign data wrapper lint_fdw;
create foreign table lint_exposed.remote (id int) server lint_server;
grant select on lint_exposed.remote to authenticated;
-- 0018 unsupported_reg_types (regclass is allowed, regproc is not)
create table lint_exposed.reg_columns (id int primary key, fine regclass, handler regproc);
alter table lint_exposed.reg_columns enable row level security;
-- 0019 insecure_queue_exposed_in_api: a pgmq queue table while pgmq_public is exposed
create schema pgmq;
create table pgmq.q_jobs (msg_id bigint primary key);
grant usage on schema pgmq to anon;
grant select on pgmq.q_jobs to anon;
-- 0021 fkey_to_auth_unique: auth.users.email is unique, not the primary key
create table lint_exposed.by_email (email varchar(255) references auth.users (email));
alter table lint_exposed.by_email enable row level security;
-- 0023 sensitive_columns_exposed (also 0013)
create table lint_exposed.credentials (id int primary key, password text);
grant select on lint_exposed.credentials to authenticated;
-- 0024 rls_policy_always_true; near miss: USING (true) on SELECT only
create table lint_exposed.always (id int primary key);
alter table lint_exposed.always enable row level security;
create policy anyone_updates on lint_exposed.always for update to authenticated using (true);
create policy anyone_reads on lint_exposed.always for select to authenticated using (true);
-- 0025 public_bucket_allows_listing
create schema storage;
create table storage.buckets (id text primary key, name text, public boolean);
insert into storage.buckets values ('avatars', 'avatars', true), ('private', 'private', false);
create table storage.objects (id int primary key, bucket_id text);
alter table storage.objects enable row level security;
create policy list_avatars on storage.objects for select to anon using (bucket_id = 'avatars');
create policy list_private on storage.objects for select to anon using (bucket_id = 'private');
-- 0026 / 0027 need pg_graphql installed. It has no Debian package: a catalog row stands in for
-- it here (superuser, rolled back with everything else).
insert into pg_catalog.pg_extension (oid, extname, extowner, extnamespace, extrelocatable, extversion)
values (4294967000, 'pg_graphql', 10, 'extensions'::regnamespace, false, '1.5.11');
create table lint_exposed.graphql_visible (id int primary key, secret_col int);
alter table lint_exposed.graphql_visible enable row level security;
grant select (id) on lint_exposed.graphql_visible to anon, authenticated;
-- 0028 / 0029 SECURITY DEFINER functions executable by anon / authenticated (PUBLIC may
-- execute new functions); near miss: the same in a schema PostgREST does not serve
create function lint_exposed.definer_fn() returns int language sql security definer set search_path = '' as 'select 1';
create function lint_hidden.definer_fn() returns int language sql security definer set search_path = '' as 'select 1';
-- 0030 rls_policy_null_auth_disjunct; near miss: the same disjunction gated by an AND
create table lint_exposed.null_auth (id int primary key, owner uuid);
alter table lint_exposed.null_auth enable row level security;
create policy owner_or_anyone on lint_exposed.null_auth for select to anon
  using (auth.uid() is null or owner = auth.uid());
create policy gated on lint_exposed.null_auth for select to authenticated
  using (auth.uid() is not null and (auth.uid() is null or owner = auth.uid()));
