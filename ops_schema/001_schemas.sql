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

-- A child row (a metric, a message) carries its parent's organization: the
-- marts group it by organization and read it through an (organization_id,
-- time) index, and a distributed deployment keeps it on its tenant's shard. A
-- composite foreign key keeps the two equal (and cascades the parent's
-- changes); this BEFORE trigger fills the column for writers that leave it out.
-- tg_argv: the parent table, the child's column referring to the parent's id.
create or replace function ops.inherit_organization() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
declare
    parent_id text;
begin
    -- the insert path costs one comparison when the writer supplies the organization
    if tg_op = 'INSERT' and new.organization_id is not null then
        return new;
    end if;
    parent_id := to_jsonb(new) ->> tg_argv[1];
    if new.organization_id is null
        or (tg_op = 'UPDATE' and parent_id is distinct from to_jsonb(old) ->> tg_argv[1]
            and new.organization_id is not distinct from old.organization_id) then
        execute format('select organization_id from %s where id = $1::uuid', tg_argv[0])
        into new.organization_id using parent_id;
    end if;
    return new;
end
$$;

comment on function ops.inherit_organization() is
'BEFORE INSERT/UPDATE row trigger: a child row without an organization takes its parent''s.';
