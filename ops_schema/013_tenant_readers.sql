-- Tenant isolation: which organizations' mart rows a tenant role may read.
--
-- A tenant is identified by its role (current_user, or a role it is a member
-- of), which it cannot choose freely, never by a session setting it could set
-- itself. Mappings hold the role's identity (regrole: its OID), not its name:
-- a dropped role's mapping matches nobody (not even a new role given the same
-- name) and breaks nobody else's reads. Row-level security on the marts is
-- applied by dbt after every build (macros/security/mart_security.sql).

create table ops.tenant_reader (
    reader regrole not null,
    organization_id uuid not null,
    created_at timestamptz not null default now(),
    constraint pk_tenant_reader primary key (reader, organization_id),
    constraint fk_tenant_reader_organization_id foreign key (organization_id)
    references ops.organization (id) on delete cascade
);
create index idx_tenant_reader_organization_id on ops.tenant_reader (organization_id);
comment on table ops.tenant_reader is
'Tenant isolation: role reader (and its members) may read the mart rows of organization_id.';

-- The roles the caller is, or is a member of: only roles that exist, so a
-- mapping to a dropped role is never passed to pg_has_role.
create function ops.my_roles() returns setof oid
language sql stable
set search_path = pg_catalog
as $$
    select r.oid from pg_roles as r where pg_has_role(current_user, r.oid, 'MEMBER')
$$;

-- Each reader sees only its own mappings; the owner (not forced) sees all, so
-- pg_dump by the owner needs no BYPASSRLS.
alter table ops.tenant_reader enable row level security;
create policy tenant_reader_own on ops.tenant_reader for select
using (reader::oid in (select ops.my_roles()));

create function ops.tenant_organizations() returns setof uuid
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select tr.organization_id from ops.tenant_reader as tr
    where tr.reader::oid in (select ops.my_roles())
$$;
comment on function ops.tenant_organizations() is
'The organizations whose mart rows the calling role may read (row-level security of the marts).';
