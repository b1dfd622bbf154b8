-- Every privilege the opsmart group roles hold on core, ops and the mart
-- schemas, and none besides: revoked and granted again in one transaction on
-- every `opsmart bootstrap`, so a table added by a later migration, or a role
-- a DBA created after the first bootstrap, ends up with exactly these.
-- tests/test_roles.py compares the catalog with this list. Roles that do not
-- exist yet are skipped with a notice.

-- Grants what exists of `objects` (functions with their argument types, or
-- tables) to a role: a bootstrap applied only in part still gets its grants.
create or replace function pg_temp.grant_existing(privilege text, kind text, objects text[], grantee text)
returns void
language plpgsql as $$
declare
    object text;
begin
    foreach object in array objects loop
        if (kind = 'function' and to_regprocedure(object) is not null)
            or (kind = 'table' and to_regclass(object) is not null) then
            execute format('grant %s on %s %s to %I', privilege, kind, object, grantee);
        end if;
    end loop;
end
$$;

do $$
declare
    role_name text;
    rel record;
    app_columns text;
    replicas text[] := '{}';
    bookkeeping constant text[] := array[
        'ops.schema_migrations', 'ops.mart_change_log', 'ops.mart_build_state', 'ops.mart_source',
        'ops.mart_schema', 'ops.tenant_reader', 'ops.build_run', 'ops.build_node', 'ops.build_freshness',
        'ops.replicated_table'
    ];
    -- what the marts read (and dbt's source tests)
    mart_sources constant text[] := array[
        'ops.organization', 'ops.organization_user', 'ops.event', 'ops.analysis_run', 'ops.analysis_metric', 'ops.judge_criterion',
        'ops.judge_score', 'ops.workflow_run', 'ops.evaluation_metric', 'ops.chat_session', 'ops.message',
        'ops.query_performance_log'
    ];
begin
    -- Nothing in core or ops is anyone's by default.
    revoke all on schema core, ops from public;
    revoke all on all tables in schema core, ops from public;
    revoke all on all sequences in schema core, ops from public;
    revoke all on all functions in schema core, ops from public;

    foreach role_name in array array['opsmart_app', 'opsmart_transformer', 'opsmart_analyst', 'opsmart_tenant']
    loop
        if not exists (select from pg_roles where rolname = role_name) then
            raise notice 'opsmart: role % does not exist; its privileges are skipped', role_name;
            continue;
        end if;
        execute format('revoke all on schema core, ops from %I', role_name);
        execute format('revoke all on all tables in schema core, ops from %I', role_name);
        execute format('revoke all on all sequences in schema core, ops from %I', role_name);
        execute format('revoke all on all functions in schema core, ops from %I', role_name);
        execute format('revoke all on database %I from %I', current_database(), role_name);
    end loop;

    if exists (select from pg_roles where rolname = 'opsmart_app') then
        -- The platform writes every table of core and ops through the parent
        -- (never a partition directly), but never change_xid (tracking),
        -- never the marts' bookkeeping, and never rewrites the audit log.
        grant usage on schema core, ops to opsmart_app;
        -- on an analytics server, the replicas are written by replication only
        if to_regclass('ops.replicated_table') is not null then
            execute 'select coalesce(array_agg(relation), ''{}'') from ops.replicated_table' into replicas;
        end if;
        for rel in
            select cls.oid::regclass as name, cls.oid
            from pg_class as cls inner join pg_namespace as nsp on cls.relnamespace = nsp.oid
            where nsp.nspname in ('core', 'ops') and cls.relkind in ('r', 'p') and not cls.relispartition
                and cls.oid::regclass::text <> all(bookkeeping)
                and cls.oid::regclass::text <> all(replicas)
            order by 1
        loop
            select string_agg(quote_ident(att.attname), ', ' order by att.attnum) into app_columns
            from pg_attribute as att
            where att.attrelid = rel.oid and att.attnum > 0 and not att.attisdropped
                and att.attname <> 'change_xid';
            if rel.name::text = 'ops.audit_log' then
                execute format('grant select, insert (%s) on %s to opsmart_app', app_columns, rel.name);
            else
                execute format('grant select, delete, insert (%s), update (%s) on %s to opsmart_app',
                    app_columns, app_columns, rel.name);
            end if;
        end loop;
        perform pg_temp.grant_existing('execute', 'function',
            array['ops.ensure_event_partitions(date, date)', 'ops.anonymous_organization()'], 'opsmart_app');
    end if;

    if exists (select from pg_roles where rolname = 'opsmart_transformer') then
        -- dbt reads the marts' sources (nothing in core: no credentials,
        -- sessions, prompts or emails) and keeps its own bookkeeping.
        grant usage on schema ops to opsmart_transformer;
        perform pg_temp.grant_existing('select', 'table', mart_sources || array['ops.mart_source', 'ops.mart_schema'],
            'opsmart_transformer');
        -- release locks the rows it deletes (for update skip locked): update too
        perform pg_temp.grant_existing('select, update, delete', 'table', array['ops.mart_change_log'],
            'opsmart_transformer');
        perform pg_temp.grant_existing('select, insert, update, delete', 'table', array['ops.mart_build_state'],
            'opsmart_transformer');
        -- the build history it records (on-run-end) and reads (mart.build_history)
        perform pg_temp.grant_existing('select, insert', 'table',
            array['ops.build_run', 'ops.build_node', 'ops.build_freshness'], 'opsmart_transformer');
        -- On a Citus cluster (ops_schema/citus): ops.mart_source_identity runs
        -- as its caller there, and the build asks the workers for its changes.
        -- Citus moves a shard over connections of its table's owner, and the
        -- marts belong to opsmart_transformer: it may log in (no password is
        -- set; the operator lets it authenticate between the nodes).
        if exists (select from pg_extension where extname = 'citus') then
            if not (select rolcanlogin from pg_roles where rolname = 'opsmart_transformer') then
                begin
                    alter role opsmart_transformer login;
                exception when insufficient_privilege then
                    raise notice 'opsmart: may not alter role opsmart_transformer; '
                        'shard moves of the marts need it to log in between nodes (docs/scale-out.md)';
                end;
            end if;
            perform pg_temp.grant_existing('execute', 'function', array[
                'ops.mart_source_leaves(regclass)',
                'ops.cluster_claim(text[], jsonb, jsonb, boolean)',
                'ops.cluster_pending(text[], jsonb)'
            ], 'opsmart_transformer');
        end if;
        perform pg_temp.grant_existing('execute', 'function', array[
            'ops.create_mart_schema(text, text)',
            'ops.drop_mart_schema(text)',
            'ops.mart_source_identity(text[])',
            'ops.mart_source_changes(jsonb, jsonb)',
            'ops.mart_source_expression(text, text)',
            'ops.build_role_problem()',
            'ops.replica_column_problems()',
            'ops.replica_subscription(name)',
            'ops.anonymous_organization()'
        ], 'opsmart_transformer');
    end if;

    if exists (select from pg_roles where rolname = 'opsmart_tenant') then
        -- Row-level security on the marts asks ops.tenant_organizations() as the tenant.
        grant usage on schema ops to opsmart_tenant;
        perform pg_temp.grant_existing('select', 'table', array['ops.tenant_reader'], 'opsmart_tenant');
        perform pg_temp.grant_existing('execute', 'function',
            -- and, on a Citus cluster, their array forms (ops_schema/citus)
            array['ops.tenant_organizations()', 'ops.my_roles()', 'ops.tenant_organization_ids()',
                'ops.my_role_ids()'], 'opsmart_tenant');
    end if;

    -- The mart schemas made so far.
    if to_regclass('ops.mart_schema') is not null then
        for rel in select ms.schema_name, ms.kind from ops.mart_schema as ms loop
            if exists (select from pg_namespace where nspname = rel.schema_name) then
                perform ops.grant_mart_schema(rel.schema_name, rel.kind);
            end if;
        end loop;
    end if;
end
$$;
