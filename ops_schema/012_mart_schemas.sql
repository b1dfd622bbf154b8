-- The schemas dbt builds into, and who may build.
--
-- The transformer may not create schemas in the database: a schema named
-- after another role would come first in that role's search_path ("$user").
-- It creates and drops its schemas through the two functions below, which run
-- with the bootstrapper's rights and refuse such names. Schemas made here
-- belong to the bootstrapper; the transformer holds USAGE and CREATE on them
-- and owns what dbt builds in them.

create table ops.mart_schema (
    schema_name name not null,
    kind varchar(10) not null,
    is_protected boolean not null default false,
    created_by name not null default session_user,
    created_at timestamptz not null default now(),
    constraint pk_mart_schema primary key (schema_name),
    constraint chk_mart_schema_kind check (kind in ('mart', 'staging'))
);
comment on table ops.mart_schema is
'Schemas made for dbt by ops.create_mart_schema(); protected ones (made by bootstrap) cannot be '
'dropped by the transformer.';

-- Why a name cannot be a mart schema, or NULL when it can.
create function ops.mart_schema_name_problem(schema_name text) returns text
language sql stable
set search_path = pg_catalog
as $$
    select case
        when schema_name is null or schema_name !~ '^[a-z_][a-z0-9_]{0,62}$'
            then format('%L is not a valid mart schema name (lowercase letters, digits and _, at most 63)',
                schema_name)
        when schema_name in ('public', 'core', 'ops', 'information_schema') or schema_name like 'pg\_%'
            then format('%s is reserved', schema_name)
        when exists (select from pg_roles where rolname = schema_name)
            then format('a role is named %s: the schema would come first in its search_path', schema_name)
    end
$$;

create function ops.grant_mart_schema(schema_name name, kind text) returns void
language plpgsql
set search_path = pg_catalog
as $$
begin
    if exists (select from pg_roles where rolname = 'opsmart_transformer') then
        execute format('grant usage, create on schema %I to opsmart_transformer', schema_name);
    end if;
    if kind = 'mart' then
        if exists (select from pg_roles where rolname = 'opsmart_analyst') then
            execute format('grant usage on schema %I to opsmart_analyst', schema_name);
        end if;
        if exists (select from pg_roles where rolname = 'opsmart_tenant') then
            execute format('grant usage on schema %I to opsmart_tenant', schema_name);
        end if;
    end if;
end
$$;

create function ops.create_mart_schema(schema_name text, kind text default 'mart') returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    problem text := ops.mart_schema_name_problem(schema_name);
begin
    if problem is not null then
        raise exception 'opsmart: cannot create schema: %', problem using errcode = 'invalid_schema_name';
    end if;
    if kind not in ('mart', 'staging') then
        raise exception 'opsmart: schema kind must be mart or staging, not %', kind;
    end if;
    if exists (select from pg_namespace where nspname = schema_name) then
        if not exists (select from ops.mart_schema as ms where ms.schema_name = create_mart_schema.schema_name) then
            raise exception 'opsmart: schema % exists and was not made for the marts; pick another name', schema_name
                using errcode = 'duplicate_schema';
        end if;
        return;
    end if;
    execute format('create schema %I', schema_name);
    insert into ops.mart_schema (schema_name, kind) values (schema_name, kind);
    perform ops.grant_mart_schema(schema_name, kind);
end
$$;
comment on function ops.create_mart_schema(text, text) is
'Creates a schema for dbt (kind mart or staging) with the transformer''s privileges; '
'refuses names that would shadow a role.';

-- Drops a mart schema, the staging schema beside it, and their build state.
create function ops.drop_mart_schema(schema_name text) returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    victim name;
begin
    if exists (
        select from ops.mart_schema as ms
        where ms.schema_name in (drop_mart_schema.schema_name, drop_mart_schema.schema_name || '_staging')
            and ms.is_protected
    ) then
        raise exception 'opsmart: schema % is the deployment''s own; only its owner may drop it', schema_name
            using errcode = 'insufficient_privilege';
    end if;
    if not exists (select from ops.mart_schema as ms where ms.schema_name = drop_mart_schema.schema_name) then
        raise exception 'opsmart: % is not a mart schema made by opsmart', schema_name
            using errcode = 'invalid_schema_name';
    end if;
    for victim in
        select ms.schema_name from ops.mart_schema as ms
        where ms.schema_name in (drop_mart_schema.schema_name, drop_mart_schema.schema_name || '_staging')
    loop
        execute format('drop schema if exists %I cascade', victim);
        delete from ops.mart_schema as ms where ms.schema_name = victim;
        delete from ops.mart_build_state as bs where bs.target_schema = victim;
    end loop;
end
$$;
comment on function ops.drop_mart_schema(text) is
'Drops a mart schema made by ops.create_mart_schema (e.g. a CI schema), its _staging sibling and their build state.';

-- Why the session may not run a build, or NULL when it may. A build runs SQL
-- that any transformer login can plant (a trigger on a mart it owns), so it
-- must run as a login no stronger than the transformer: a superuser, a role
-- administrator or the owner of the ops schema would lend that SQL its rights.
create function ops.build_role_problem() returns text
language sql stable
set search_path = pg_catalog
as $$
    select case
        when not exists (select from pg_roles where rolname = 'opsmart_transformer')
            then 'role opsmart_transformer does not exist: create the roles (opsmart bootstrap --roles-sql) '
                || 'and run opsmart bootstrap again'
        when me.rolsuper
            then format('%s is a superuser', me.rolname)
        when me.rolcreaterole
            then format('%s may create roles (CREATEROLE)', me.rolname)
        when me.rolbypassrls
            then format('%s bypasses row-level security (BYPASSRLS)', me.rolname)
        when pg_has_role(me.oid, (select nsp.nspowner from pg_namespace as nsp where nsp.nspname = 'ops'), 'MEMBER')
            then format('%s owns the ops schema', me.rolname)
        when exists (
            select from pg_roles as strong
            where strong.rolname in (
                'opsmart_app', 'pg_read_all_data', 'pg_write_all_data', 'pg_execute_server_program',
                'pg_read_server_files', 'pg_write_server_files'
            )
            and pg_has_role(me.oid, strong.oid, 'MEMBER')
        )
            then format('%s is a member of %s', me.rolname, (
                select string_agg(strong.rolname, ', ' order by strong.rolname) from pg_roles as strong
                where strong.rolname in (
                    'opsmart_app', 'pg_read_all_data', 'pg_write_all_data', 'pg_execute_server_program',
                    'pg_read_server_files', 'pg_write_server_files'
                )
                and pg_has_role(me.oid, strong.oid, 'MEMBER')))
        when not pg_has_role(me.oid, 'opsmart_transformer', 'USAGE')
            then format('%s is not a member of opsmart_transformer that inherits its privileges', me.rolname)
        when not has_schema_privilege('opsmart_transformer', 'ops', 'USAGE')
            then 'opsmart_transformer has no privileges yet: run opsmart bootstrap again as the owner of ops'
    end
    from pg_roles as me
    where me.rolname = session_user
$$;
comment on function ops.build_role_problem() is
'Why the session user may not run a mart build (it would lend its rights to SQL a transformer can plant), or NULL.';
