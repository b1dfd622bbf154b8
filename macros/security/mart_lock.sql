{#-
    Two builds never interleave on a mart: each holds the mart's advisory lock
    for its whole transaction. A build that finds the lock taken retries for up
    to var('mart_lock_wait') (default 5min), then fails with a message naming
    the build that holds it, so a stuck build cannot queue the scheduler
    forever and the operator knows which session to look at.
-#}
{% macro opsmart_mart_lock() -%}
    {%- set wait = var('mart_lock_wait') -%}
    {%- set key = 'opsmart.mart:' ~ this.schema ~ '.' ~ this.identifier -%}

    do $opsmart_lock$
    declare
        lock_key bigint := hashtextextended({{ opsmart_literal(key) }}, 0);
        deadline timestamptz := clock_timestamp() + {{ opsmart_literal(wait) }}::interval;
        pause double precision := 0.05;
        holder text;
    begin
        loop
            if pg_try_advisory_xact_lock(lock_key) then
                return;
            end if;
            if clock_timestamp() >= deadline then
                select format(
                    'pid %s, application_name %L, user %s, connected at %s, transaction started at %s',
                    activity.pid, activity.application_name, activity.usename,
                    activity.backend_start, activity.xact_start
                ) into holder
                from pg_locks as locks
                inner join pg_stat_activity as activity on locks.pid = activity.pid
                where
                    locks.locktype = 'advisory'
                    and locks.granted
                    and locks.database = (select db.oid from pg_database as db where db.datname = current_database())
                    and locks.classid::bigint = ((lock_key >> 32) & 4294967295)
                    and locks.objid::bigint = (lock_key & 4294967295)
                    and locks.objsubid = 1
                limit 1;
                raise exception
                    'opsmart: % is being built by another build (%); gave up after waiting % (var mart_lock_wait)',
                    {{ opsmart_literal(this) }}, coalesce(holder, 'it has just finished'), {{ opsmart_literal(wait) }}
                    using errcode = 'lock_not_available';
            end if;
            perform pg_sleep(least(pause, greatest(extract(epoch from deadline - clock_timestamp()), 0.01)));
            pause := least(pause * 1.5, 1.0);
        end loop;
    end
    $opsmart_lock$
{%- endmacro %}


{#-
    Pre-hook of every model: a table or view dbt rebuilds whole takes the same
    lock. dbt makes it under a temporary name, renames the old one to a backup
    name, renames the new one into place, commits, and only then drops the
    backup; a second build doing the same meanwhile failed with "relation
    organizations__dbt_backup already exists" (seen in CI: two builds started
    at once). So the model waits for the other build's transaction, then drops
    a backup that build has not dropped yet; dbt's own drop afterwards is
    `if exists`. Renders nothing for incremental models (their claim takes the
    lock), seeds and tests.
-#}
{% macro opsmart_replace_lock() -%}
    {%- if model.resource_type != 'model' or config.get('materialized') not in ('table', 'view') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set backup = make_backup_relation(this.incorporate(type='table'), 'table') -%}
    {{ opsmart_mart_lock() }};
    do $opsmart_backup$
    declare
        backup_kind "char";
    begin
        select cls.relkind into backup_kind from pg_class as cls
        where cls.oid = to_regclass({{ opsmart_literal(backup) }});
        if backup_kind is not null then
            execute format(
                'drop %s if exists %s cascade',
                case backup_kind when 'v' then 'view' else 'table' end, {{ opsmart_literal(backup) }}
            );
        end if;
    end
    $opsmart_backup$
{%- endmacro %}
