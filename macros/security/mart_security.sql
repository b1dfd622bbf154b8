{#-
    Tenant isolation of what dbt builds, re-applied after every build (a full
    refresh creates a new table, without any of it). Idempotent, and changes
    the catalog only when something is missing, so an incremental build takes
    no stronger lock than it needs. Does nothing (with a notice) where the
    opsmart_* roles do not exist.

    Every relation a build creates is handed to opsmart_transformer
    (opsmart_take_ownership), so every transformer login can rebuild it.
    Row-level security is forced, with all rows for opsmart_transformer,
    opsmart_analyst and the database owner (pg_dump as the owner), and for
    opsmart_tenant only the rows of its organizations (none where the relation
    has no organization_id, and never the NULL organization); views run with
    the privileges and row-level security of their caller. On a Citus cluster
    the workers enforce the policies, which may hold no subquery there: the
    tenant's is organization_id = any (ops.tenant_organization_ids()), which
    reads the local copy of ops.tenant_reader; and row-level security is not
    forced on the owner (opsmart_transformer, whose policy gives it every row
    anyway): Citus writes the rows an incremental build inserts with COPY,
    which PostgreSQL refuses where row-level security applies.
-#}
{#-
    Post-hook of every model: the relation belongs to opsmart_transformer. The
    build login (a member that inherits the group) created it as itself; as a
    member it may give it to the group, and as an inheriting member it may
    replace, rename and drop what the group owns in later builds.
-#}
{% macro opsmart_take_ownership() -%}
    do $opsmart_owner$
    declare
        rel regclass := to_regclass({{ opsmart_literal(this) }});
        rel_kind "char";
    begin
        if rel is null or not exists (select from pg_roles where rolname = 'opsmart_transformer') then
            return;
        end if;
        select cls.relkind into rel_kind from pg_class as cls
        where cls.oid = rel and cls.relowner <> 'opsmart_transformer'::regrole;
        if rel_kind is not null then
            execute format(
                'alter %s %s owner to opsmart_transformer',
                case rel_kind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end,
                rel
            );
        end if;
    end
    $opsmart_owner$
{%- endmacro %}


{% macro opsmart_secure_mart() -%}
    {%- if opsmart_is_citus() -%}
        {%- set tenant_rows = 'organization_id = any (ops.tenant_organization_ids())' -%}
        {%- set force = 'false' -%}
    {%- else -%}
        {%- set tenant_rows = 'organization_id in (select ops.tenant_organizations())' -%}
        {%- set force = 'true' -%}
    {%- endif %}
    do $opsmart_security$
    declare
        rel regclass := to_regclass({{ opsmart_literal(this) }});
        rel_kind "char";
        has_rls boolean;
        has_force boolean;
        view_options text[];
        has_organization boolean;
        wanted text[];
        current_policies text[];
    begin
        if rel is null then
            return;
        end if;
        if not exists (select from pg_roles where rolname = 'opsmart_tenant') then
            raise notice 'opsmart: role opsmart_tenant absent; % has no tenant isolation', rel;
            return;
        end if;
        select cls.relkind, cls.relrowsecurity, cls.relforcerowsecurity, coalesce(cls.reloptions, '{}')
        into rel_kind, has_rls, has_force, view_options
        from pg_class as cls
        where cls.oid = rel;
        has_organization := exists (
            select from pg_attribute as att
            where att.attrelid = rel and att.attname = 'organization_id' and not att.attisdropped
        );

        if rel_kind = 'v' then
            if not 'security_invoker=true' = any(view_options) then
                execute format('alter view %s set (security_invoker = true)', rel);
            end if;
        elsif rel_kind in ('r', 'p') then
            if not has_rls then
                execute format('alter table %s enable row level security', rel);
            end if;
            if has_force <> {{ force }} then
                execute format('alter table %s %s force row level security', rel,
                    case when {{ force }} then '' else 'no' end);
            end if;
            -- Policies as "name:role" pairs; recreated together when any differs.
            wanted := array[
                'opsmart_all:opsmart_transformer', 'opsmart_all_rows:opsmart_analyst',
                'opsmart_owner:pg_database_owner'
            ];
            if has_organization then
                wanted := wanted || 'opsmart_tenant:opsmart_tenant'::text;
            end if;
            select coalesce(array_agg(pol.polname || ':' || pg_get_userbyid(pol.polroles[1]) order by pol.polname), '{}')
            into current_policies
            from pg_policy as pol
            where pol.polrelid = rel;
            if not (current_policies @> wanted and wanted @> current_policies) then
                -- any policy not ours goes too: only these decide who reads a mart
                for current_policies in select array[pol.polname] from pg_policy as pol where pol.polrelid = rel loop
                    execute format('drop policy %I on %s', current_policies[1], rel);
                end loop;
                execute format(
                    'create policy opsmart_all on %s for all to opsmart_transformer using (true) with check (true)', rel
                );
                execute format('create policy opsmart_all_rows on %s for select to opsmart_analyst using (true)', rel);
                execute format('create policy opsmart_owner on %s for select to pg_database_owner using (true)', rel);
                if has_organization then
                    execute format(
                        'create policy opsmart_tenant on %s for select to opsmart_tenant using ({{ tenant_rows }})',
                        rel
                    );
                end if;
            end if;
        end if;

        if not has_table_privilege('opsmart_tenant', rel, 'select') then
            execute format('grant select on %s to opsmart_tenant', rel);
        end if;
        if not has_table_privilege('pg_database_owner', rel, 'select') then
            execute format('grant select on %s to pg_database_owner', rel);
        end if;
    end
    $opsmart_security$
{%- endmacro %}
