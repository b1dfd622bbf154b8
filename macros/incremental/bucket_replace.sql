{#-
    Exact incremental marts: recompute whole time buckets that changed.

    Every mart source row carries change_xid, the transaction that inserted
    it; triggers log the UTC hours touched by updates and deletes into
    ops.mart_change_log, stamped with the writing transaction's id (see
    ops_schema/011_change_tracking.sql). A build of a mart:

      1. takes the mart's advisory lock (two builds never interleave on it),
      2. takes a snapshot S0 of the database,
      3. collects the buckets of the inserted rows and log rows its previous
         snapshot could not see (plus any backfill range) into the temp table
         opsmart_changed,
      4. records S0 as its new snapshot in ops.mart_build_state,
      5. recomputes those buckets from the sources (the model SQL, filtered by
         opsmart_only_changed) and swaps them in: delete the buckets, insert the
         new rows -- all in the model's one transaction.

    S0 is taken before the changes are read, so a writer committing while the
    build runs is either seen by step 3 or left for the next build; never lost. A
    bucket recomputed twice is harmless: it is always rebuilt from all of its
    source rows.
-#}

{% macro opsmart_changed_buckets() -%}
    opsmart_changed
{%- endmacro %}


{% macro opsmart_bucket_expression(column, grain) -%}
    date_trunc('{{ grain }}', {{ column }}, 'UTC')
{%- endmacro %}


{#-
    The span of the changed buckets, published by the pre-hook as transaction
    settings: current_setting() is stable, so the planner estimates the range
    predicates below from the real bounds (and prunes partitions) instead of
    guessing, and picks index probes when few buckets changed.
-#}
{% macro opsmart_changed_from() -%}
    current_setting('opsmart.changed_from')::timestamptz
{%- endmacro %}


{% macro opsmart_changed_to() -%}
    current_setting('opsmart.changed_to')::timestamptz
{%- endmacro %}


{#- Filter for a source's time column: only rows in changed buckets when incremental. -#}
{% macro opsmart_only_changed(column, grain) -%}
    {%- if is_incremental() -%}
        {%- set changed = opsmart_changed_buckets() -%}
        {{ column }} >= {{ opsmart_changed_from() }}
        and {{ column }} < {{ opsmart_changed_to() }}
        and {{ opsmart_bucket_expression(column, grain) }} in (select bucket_start from {{ changed }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{% macro opsmart_state_key() -%}
    '{{ this.schema }}', '{{ this.identifier }}'
{%- endmacro %}


{#-
    Where each logical change source's inserted rows are and which hour they
    count in: (from clause, time expression). The rows of a run's metrics and
    judge scores count in their run's hour for analysis_daily.
-#}
{% macro opsmart_insert_scans(change_source) -%}
    {%- set runs = source('ops', 'analysis_run') -%}
    {%- set scans = {
        'event': [(source('ops', 'event') ~ ' as changed', 'changed.occurred_at')],
        'analysis_run': [
            (runs ~ ' as changed', 'changed.started_at'),
            (source('ops', 'analysis_metric') ~ ' as changed inner join ' ~ runs
                ~ ' as run on changed.analysis_run_id = run.id', 'run.started_at'),
            (source('ops', 'judge_score') ~ ' as changed inner join ' ~ runs
                ~ ' as run on changed.analysis_run_id = run.id', 'run.started_at'),
        ],
        'analysis_metric': [(source('ops', 'analysis_metric') ~ ' as changed', 'changed.created_at')],
        'judge_score': [(source('ops', 'judge_score') ~ ' as changed', 'changed.created_at')],
        'evaluation_metric': [(source('ops', 'evaluation_metric') ~ ' as changed', 'changed.created_at')],
        'message': [(source('ops', 'message') ~ ' as changed', 'changed.ts')],
        'query_performance_log': [(source('ops', 'query_performance_log') ~ ' as changed', 'changed.measured_at')],
    } -%}
    {%- if change_source not in scans -%}
        {{ exceptions.raise_compiler_error("unknown change source " ~ change_source) }}
    {%- endif -%}
    {{ return(scans[change_source]) }}
{%- endmacro %}


{#- Pre-hook of every mart (inside the model's transaction). -#}
{% macro opsmart_claim_changes() -%}
    {%- set grain = config.require('bucket_grain') -%}
    {%- set sources = config.require('change_sources') -%}
    {%- set log = source('ops', 'mart_change_log') -%}
    {%- set state = source('ops', 'mart_build_state') -%}
    {%- set incremental = is_incremental() -%}
    {%- set backfill_start = var('backfill_start') -%}
    {%- set backfill_end = var('backfill_end') -%}
    {%- if (backfill_start is none) != (backfill_end is none) -%}
        {{ exceptions.raise_compiler_error("backfill needs both backfill_start and backfill_end") }}
    {%- endif -%}

    {{ opsmart_mart_lock() }};

    create temporary table opsmart_build on commit drop as
    select pg_current_snapshot() as snapshot;

    create temporary table {{ opsmart_changed_buckets() }} (
        bucket_start timestamptz primary key,
        bucket_end timestamptz not null
    ) on commit drop;

    {% if incremental %}
    create temporary table opsmart_changed_hours (bucket timestamptz) on commit drop;

    -- Dynamic SQL, so the scans are planned with the previous snapshot's xmin
    -- as a constant: the BRIN and btree indexes then read only recent rows.
    do $opsmart$
    declare
        previous pg_snapshot;
        low bigint;
    begin
        select state.snapshot into previous
        from {{ state }} as state
        where (state.target_schema, state.model) = ({{ opsmart_state_key() }});
        if previous is null then
            raise exception 'opsmart: {{ this }} has no build state; rebuild it with --full-refresh';
        end if;
        low := pg_snapshot_xmin(previous)::text::bigint;

        -- updated and deleted rows, from the change log
        execute format(
            'insert into opsmart_changed_hours (bucket) '
            'select distinct log.bucket from {{ log }} as log '
            'where log.source in ({% for s in sources %}''{{ s }}''{{ ", " if not loop.last }}{% endfor %}) '
            'and log.xid >= %L::xid8 and not pg_visible_in_snapshot(log.xid, %L::pg_snapshot)',
            low, previous);

        -- inserted rows, from their change_xid
        {%- for change_source in sources %}
        {%- for scan in opsmart_insert_scans(change_source) %}
        execute format(
            'insert into opsmart_changed_hours (bucket) '
            'select distinct date_trunc(''hour'', {{ scan[1] }}, ''UTC'') from {{ scan[0] }} '
            'where changed.change_xid >= %s '
            'and not pg_visible_in_snapshot(changed.change_xid::text::xid8, %L::pg_snapshot) '
            'and {{ scan[1] }} is not null',
            low, previous);
        {%- endfor %}
        {%- endfor %}
    end
    $opsmart$;

    insert into {{ opsmart_changed_buckets() }} (bucket_start, bucket_end)
    select
        changed.bucket_start,
        changed.bucket_start + interval '1 {{ grain }}'
    from (
        select {{ opsmart_bucket_expression('hours.bucket', grain) }} as bucket_start
        from opsmart_changed_hours as hours
        {%- if backfill_start is not none %}
        union
        select generate_series(
            '{{ backfill_start }}'::date::timestamp at time zone 'UTC',
            ('{{ backfill_end }}'::date::timestamp at time zone 'UTC') - interval '1 {{ grain }}',
            interval '1 {{ grain }}'
        )
        {%- endif %}
    ) as changed
    group by changed.bucket_start;

    analyze {{ opsmart_changed_buckets() }};

    select
        set_config('opsmart.changed_from', coalesce(min(bucket_start), 'infinity')::text, true),
        set_config('opsmart.changed_to', coalesce(max(bucket_end), '-infinity')::text, true)
    from {{ opsmart_changed_buckets() }};
    {% endif %}

    insert into {{ state }} as state
        (target_schema, model, snapshot, built_at, is_full_refresh, buckets_rebuilt)
    select
        {{ opsmart_state_key() }},
        build.snapshot,
        now(),
        {{ 'false' if incremental else 'true' }},
        (select count(*) from {{ opsmart_changed_buckets() }})
    from opsmart_build as build
    on conflict (target_schema, model) do update set
        snapshot = excluded.snapshot,
        built_at = excluded.built_at,
        is_full_refresh = excluded.is_full_refresh,
        buckets_rebuilt = excluded.buckets_rebuilt
{%- endmacro %}


{#- Post-hook: forget log rows every mart has seen. Skips rows another build holds. -#}
{% macro opsmart_release_changes() -%}
    {%- set log = source('ops', 'mart_change_log') -%}
    {%- set state = source('ops', 'mart_build_state') -%}
    delete from {{ log }}
    where ctid in (
        select log.ctid
        from {{ log }} as log
        where log.xid < (select min(pg_snapshot_xmin(state.snapshot)) from {{ state }} as state)
        for update skip locked
    )
{%- endmacro %}


{#- The incremental strategy: replace the changed buckets wholesale. -#}
{% macro get_incremental_bucket_replace_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set temp = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set bucket_column = config.require('bucket_column') -%}
    {%- set grain = config.require('bucket_grain') -%}
    delete from {{ target }} as target
    using {{ opsmart_changed_buckets() }} as changed
    where target.{{ bucket_column }} = {% if grain == 'day' -%}
        (changed.bucket_start at time zone 'UTC')::date
    {%- else -%}
        changed.bucket_start
    {%- endif %};

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ temp }}
{%- endmacro %}
