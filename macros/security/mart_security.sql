{#-
    Least privilege and tenant isolation for what dbt builds, re-applied after
    every build (a full refresh creates a new table, without any of it). Both
    macros are idempotent and change the catalog only when something is
    missing, so an incremental build takes no stronger lock than it needs.
    They do nothing (with a notice) where the opsmart_* roles do not exist.
-#}

{#- Post-hook: the relation and its schema belong to opsmart_transformer, so any member can rebuild them. -#}
{% macro opsmart_take_ownership() -%}
    do $opsmart_owner$
    declare
        rel regclass := to_regclass('{{ this }}');
        rel_kind "char";
        rel_owner name;
        schema_owner name;
    begin
        if rel is null or not exists (select from pg_roles where rolname = 'opsmart_transformer') then
            return;
        end if;
        select cls.relkind, pg_get_userbyid(cls.relowner), pg_get_userbyid(nsp.nspowner)
        into rel_kind, rel_owner, schema_owner
        from pg_class as cls
        inner join pg_namespace as nsp on cls.relnamespace = nsp.oid
        where cls.oid = rel;
        if not pg_has_role(current_user, 'opsmart_transformer', 'MEMBER') then
            return;
        end if;
        if rel_owner <> 'opsmart_transformer' then
            execute format(
                'alter %s %s owner to opsmart_transformer',
                case rel_kind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end,
                rel
            );
        end if;
        if schema_owner <> 'opsmart_transformer' and pg_has_role(current_user, schema_owner, 'MEMBER') then
            -- Models build in parallel: one of them changes the schema, the others then see it done.
            perform pg_advisory_xact_lock(hashtextextended('opsmart.schema_owner:{{ this.schema }}', 0));
            if (select nsp.nspowner from pg_namespace as nsp where nsp.nspname = '{{ this.schema }}')
                <> 'opsmart_transformer'::regrole then
                execute format('alter schema %I owner to opsmart_transformer', '{{ this.schema }}');
            end if;
        end if;
    end
    $opsmart_owner$
{%- endmacro %}


{#-
    Post-hook of every mart: ownership as above; row-level security, forced,
    with all rows for opsmart_transformer, opsmart_analyst and the owner, and
    for opsmart_tenant only the rows of its organizations (none where the
    relation has no organization_id, and never the NULL organization); views
    run with the privileges and row-level security of their caller.
-#}
{% macro opsmart_secure_mart() -%}
    {{ opsmart_take_ownership() }};
    do $opsmart_security$
    declare
        rel regclass := to_regclass('{{ this }}');
        rel_kind "char";
        rel_owner name;
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
        select
            cls.relkind, pg_get_userbyid(cls.relowner), cls.relrowsecurity, cls.relforcerowsecurity,
            coalesce(cls.reloptions, '{}')
        into rel_kind, rel_owner, has_rls, has_force, view_options
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
            if not has_force then
                execute format('alter table %s force row level security', rel);
            end if;
            -- Policies as "name:role" pairs; recreated together when any differs.
            wanted := array['opsmart_all:opsmart_transformer', 'opsmart_all_rows:opsmart_analyst'];
            if rel_owner <> 'opsmart_transformer' then
                wanted := wanted || ('opsmart_owner:' || rel_owner);
            end if;
            if has_organization then
                wanted := wanted || 'opsmart_tenant:opsmart_tenant'::text;
            end if;
            select coalesce(array_agg(pol.polname || ':' || pg_get_userbyid(pol.polroles[1]) order by pol.polname), '{}')
            into current_policies
            from pg_policy as pol
            where pol.polrelid = rel and pol.polname like 'opsmart%';
            if not (current_policies @> wanted and wanted @> current_policies) then
                execute format('drop policy if exists opsmart_all on %s', rel);
                execute format('drop policy if exists opsmart_all_rows on %s', rel);
                execute format('drop policy if exists opsmart_owner on %s', rel);
                execute format('drop policy if exists opsmart_tenant on %s', rel);
                execute format(
                    'create policy opsmart_all on %s for all to opsmart_transformer using (true) with check (true)', rel
                );
                execute format('create policy opsmart_all_rows on %s for select to opsmart_analyst using (true)', rel);
                if rel_owner <> 'opsmart_transformer' then
                    execute format(
                        'create policy opsmart_owner on %s for all to %I using (true) with check (true)', rel, rel_owner
                    );
                end if;
                if has_organization then
                    execute format(
                        'create policy opsmart_tenant on %s for select to opsmart_tenant '
                        'using (organization_id in (select ops.tenant_organizations()))',
                        rel
                    );
                end if;
            end if;
        end if;

        if not has_table_privilege('opsmart_tenant', rel, 'select') then
            execute format('grant select on %s to opsmart_tenant', rel);
        end if;
    end
    $opsmart_security$
{%- endmacro %}
