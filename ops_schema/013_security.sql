-- Least privilege and tenant isolation.
--
-- Four group roles (login roles are made members of them):
--   opsmart_app          the platform: reads and writes core/ops, never the
--                        marts' bookkeeping, never rewrites the audit log;
--   opsmart_transformer  dbt: reads the ops/core tables the marts need, owns
--                        mart, writes only its own bookkeeping in ops;
--   opsmart_analyst      reads mart only (all rows);
--   opsmart_tenant       reads mart only, and only the rows of the
--                        organizations ops.tenant_reader maps its role to.
-- Row-level security on the marts is applied by dbt after every build
-- (macros/security/mart_security.sql); this file holds what it relies on.

do $$
declare
    may_create boolean;
begin
    select rolsuper or rolcreaterole into may_create
    from pg_roles where rolname = current_user;

    if not may_create then
        raise notice 'opsmart: % may not create roles; skipping opsmart_app and opsmart_tenant', current_user;
        return;
    end if;

    if not exists (select from pg_roles where rolname = 'opsmart_app') then
        create role opsmart_app nologin;
    end if;
    if not exists (select from pg_roles where rolname = 'opsmart_tenant') then
        create role opsmart_tenant nologin;
    end if;
end
$$;

-- Which organizations a tenant reader may see. A tenant is identified by its
-- role (current_user, or a role it is a member of), which it cannot choose
-- freely, never by a session setting it could set itself.
create table ops.tenant_reader (
    role_name name not null,
    organization_id uuid not null,
    created_at timestamptz not null default now(),
    constraint pk_tenant_reader primary key (role_name, organization_id),
    constraint fk_tenant_reader_organization_id foreign key (organization_id)
        references ops.organization (id) on delete cascade
);
create index idx_tenant_reader_organization_id on ops.tenant_reader (organization_id);
comment on table ops.tenant_reader is
'Tenant isolation: role role_name (and its members) may read the mart rows of organization_id.';

-- Each reader sees only its own mappings (the function below runs as the caller).
alter table ops.tenant_reader enable row level security;
alter table ops.tenant_reader force row level security;
create policy tenant_reader_own on ops.tenant_reader for select
using (pg_has_role(current_user, role_name, 'MEMBER'));
create policy tenant_reader_admin on ops.tenant_reader for all
using (pg_has_role(current_user, 'pg_database_owner', 'MEMBER'))
with check (pg_has_role(current_user, 'pg_database_owner', 'MEMBER'));

create or replace function ops.tenant_organizations() returns setof uuid
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select tr.organization_id from ops.tenant_reader as tr
    where pg_has_role(current_user, tr.role_name, 'MEMBER')
$$;
comment on function ops.tenant_organizations() is
'The organizations whose mart rows the calling role may read (row-level security of the marts).';

-- Secret-bearing tables the marts never read.
revoke all on ops.tenant_reader from public;
revoke execute on function ops.tenant_organizations() from public;

do $$
begin
    if not exists (select from pg_roles where rolname = 'opsmart_app') then
        raise notice 'opsmart: group roles absent; skipping grants';
        return;
    end if;

    -- The app writes core and ops, but not the marts' bookkeeping, the
    -- migration ledger, or tenant mappings; the audit log only grows (a
    -- trigger refuses changes even to the owner).
    grant usage on schema core, ops to opsmart_app;
    grant select, insert, update, delete on all tables in schema core, ops to opsmart_app;
    grant usage, select on all sequences in schema core, ops to opsmart_app;
    grant execute on function ops.ensure_event_partitions(date, date) to opsmart_app;
    alter default privileges in schema core, ops grant select, insert, update, delete on tables to opsmart_app;
    alter default privileges in schema core, ops grant usage, select on sequences to opsmart_app;
    revoke update, delete, truncate on ops.audit_log from opsmart_app;
    revoke insert, update, delete, truncate on ops.mart_build_state, ops.schema_migrations, ops.tenant_reader
    from opsmart_app;
    -- The change-tracking triggers run as the writer and append to the log.
    revoke update, delete, truncate on ops.mart_change_log from opsmart_app;
    revoke all on schema mart from opsmart_app;

    -- The transformer never sees credentials or sessions (the marts do not read
    -- them), and may create the schemas dbt builds into.
    revoke select on core.auth_accounts, core.sessions, ops.api_key, ops.provider_credential
    from opsmart_transformer;
    revoke select on ops.tenant_reader from opsmart_transformer;
    execute format('grant create on database %I to opsmart_transformer', current_database());
    -- Its release post-hook locks the log rows it deletes (select ... for
    -- update skip locked), which needs update as well as delete (012 missed it).
    grant update on ops.mart_change_log to opsmart_transformer;

    -- Tenants reach the marts (filtered by row-level security) and their own mappings.
    grant usage on schema mart to opsmart_tenant;
    grant usage on schema ops to opsmart_tenant;
    grant select on ops.tenant_reader to opsmart_tenant;
    grant execute on function ops.tenant_organizations() to opsmart_tenant, opsmart_analyst, opsmart_transformer;
    revoke all on schema core from opsmart_tenant;
end
$$;

-- The transformer owns the mart schema (dbt hands it every relation it builds).
do $$
begin
    if exists (select from pg_roles where rolname = 'opsmart_transformer') then
        alter schema mart owner to opsmart_transformer;
    end if;
end
$$;
