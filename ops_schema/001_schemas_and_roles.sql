-- Schemas, group roles and the helpers every later file uses.
--
-- core: core business entities; ops: operational data; mart: built by dbt only
-- (bootstrap creates the empty schema, never its tables).

create schema if not exists core;
create schema if not exists ops;
create schema if not exists mart;

comment on schema core is 'Core business entities: users, auth, prompts.';
comment on schema ops is 'Operational data written by the platform.';
comment on schema mart is 'Analytics marts, built by dbt only.';

-- Group roles. Creating roles needs CREATEROLE; a bootstrapping user without it
-- still gets a working schema, with a notice instead of the roles.
do $$
declare
    may_create boolean;
begin
    select rolsuper or rolcreaterole into may_create
    from pg_roles where rolname = current_user;

    if not may_create then
        raise notice 'opsmart: % may not create roles; skipping opsmart_* group roles', current_user;
        return;
    end if;

    if not exists (select from pg_roles where rolname = 'opsmart_transformer') then
        create role opsmart_transformer nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'opsmart_analyst') then
        create role opsmart_analyst nologin;
    end if;
end
$$;

-- Keeps updated_at honest on every mutable table.
create or replace function ops.set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end
$$;

comment on function ops.set_updated_at() is
'BEFORE UPDATE row trigger: stamps updated_at with the transaction time.';
