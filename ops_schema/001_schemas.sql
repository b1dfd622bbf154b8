-- Schemas and the helpers every later file uses.
--
-- core: core business entities; ops: operational data. The marts' schemas
-- (mart and mart_staging by default) are made by ops.create_mart_schema()
-- (012), never their tables: dbt builds those. The group roles and their
-- privileges are not versioned files: repeatable/roles.sql and
-- repeatable/grants.sql run on every bootstrap, so roles a DBA creates later
-- get their privileges at the next bootstrap.

create schema if not exists core;
create schema if not exists ops;

comment on schema core is 'Core business entities: users, auth, prompts.';
comment on schema ops is 'Operational data written by the platform.';

-- Keeps updated_at honest on every mutable table.
create or replace function ops.set_updated_at() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
    new.updated_at := now();
    return new;
end
$$;

comment on function ops.set_updated_at() is
'BEFORE UPDATE row trigger: stamps updated_at with the transaction time.';
