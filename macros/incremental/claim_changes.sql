{#-
    Exact incremental marts: recompute exactly the groups that changed.

    Every mart source row carries change_xid, the transaction that inserted
    it; row triggers log the (group, UTC hour) of updated and deleted rows into
    ops.mart_change_log, stamped with the writing transaction's id; the
    sources are declared in ops.mart_source (ops_schema/002_change_tracking.sql),
    each with the group its rows count in (an organization, an organization
    and feature, a query name: the mart's config group_columns). The pre-hook
    of a mart, in the model's transaction:

      1. takes the mart's advisory lock (two builds never interleave on it),
      2. takes a snapshot S0 of the database and the physical identity of the
         mart's sources,
      3. collects the (group, bucket) of the rows inserted and the log rows
         written by transactions its previous snapshot could not see into the
         temp table opsmart_changed, and the time ranges of partitions
         truncated, attached or detached since and any backfill range (every
         group of those buckets) into opsmart_changed_buckets,
      4. records S0, the identity and the code fingerprint as its build state.

    dbt then recomputes those groups from their source rows (the model SQL,
    whose sources are read through opsmart_changed_rows) and swaps them in
    (get_incremental_bucket_replace_sql): delete their mart rows, insert the
    new ones, in the same transaction.

    S0 is taken before the changes are read, so a writer committing while the
    build runs is either seen by step 3 or left for the next build; never lost.
    A group recomputed twice is harmless: it is always rebuilt from all of its
    source rows.

    On a Citus cluster S0 is a vector of per-worker snapshots, and step 3 asks
    every worker for the changes of its own shards and log (ops.cluster_claim,
    ops_schema/citus/020_change_tracking.sql); everything else is the same.
-#}

{% macro opsmart_claim_changes() -%}
    {%- if config.get('bucket_grain') is none -%}{{ return('') }}{%- endif -%}
    {#-
        Once per build: dbt's partial parsing lists a folder-level hook twice
        on a model it re-parses, and a second claim in the same transaction
        would find its own temp tables.
    -#}
    {%- if execute and run_query("select to_regclass('pg_temp.opsmart_build') is not null").columns[0][0] -%}
        {{ return('') }}
    {%- endif -%}
    {%- set grain = config.require('bucket_grain') -%}
    {%- set sources = config.require('change_sources') -%}
    {%- set groups = config.require('group_columns') -%}
    {%- set upstream = config.get('snapshot_from') -%}
    {%- set change_log = opsmart_ops_relation('mart_change_log') -%}
    {%- set state = opsmart_ops_relation('mart_build_state') -%}
    {%- set incremental = is_incremental() -%}
    {%- set citus = opsmart_is_citus() -%}
    {%- if execute and not incremental and not flags.FULL_REFRESH
        and adapter.get_relation(this.database, this.schema, this.identifier) is not none -%}
        {%- do log('opsmart: rebuilding ' ~ this ~ ' in full: ' ~ opsmart_rebuild_reason(), info=true) -%}
    {%- endif -%}
    {%- if not flags.EMPTY -%}
        {%- set empty_views = opsmart_empty_upstream_views() -%}
        {%- if empty_views | length > 0 -%}
            {{ exceptions.raise_compiler_error(
                "opsmart: " ~ (empty_views | join(', ')) ~ " were built by `dbt build --empty` and select nothing; "
                ~ "rebuild them first (dbt run --select +" ~ this.identifier ~ ")") }}
        {%- endif -%}
    {%- endif -%}
    {%- set backfill_start = var('backfill_start') -%}
    {%- set backfill_end = var('backfill_end') -%}
    {%- if (backfill_start is none) != (backfill_end is none) -%}
        {{ exceptions.raise_compiler_error("backfill needs both backfill_start and backfill_end") }}
    {%- endif -%}
    {%- if backfill_start is not none -%}
        {%- set backfill_start = modules.datetime.date.fromisoformat(backfill_start | string) -%}
        {%- set backfill_end = modules.datetime.date.fromisoformat(backfill_end | string) -%}
    {%- endif -%}

    {{ opsmart_mart_lock() }};
    {%- if citus and upstream %}
    {{ opsmart_upstream_lock(upstream) }};
    {%- endif %}

    {% if upstream and not flags.EMPTY -%}
    -- A mart built from another mart sees the changes that one saw: it takes
    -- the snapshot (and source identity) of the upstream mart's last build.
    -- (dbt build --empty records no state, so an empty build has none to take.)
    create temporary table opsmart_build on commit drop as
    select
        up.snapshot,
        up.source_identity
        {%- if citus %},
        ops.cluster_claim(
            {{ opsmart_text_array(sources) }}, {{ opsmart_previous_cut() }}, up.node_snapshots, {{ incremental }}
        ) as cut
        {%- endif %}
    from {{ state }} as up
    where (up.target_schema, up.model) = ({{ opsmart_literal(this.schema) }}, {{ opsmart_literal(upstream) }});

    do $opsmart_upstream$
    begin
        if not exists (select from opsmart_build) then
            raise exception 'opsmart: % is built from %, which has no build state here: build it first',
                {{ opsmart_literal(this) }}, {{ opsmart_literal(upstream) }};
        end if;
    end
    $opsmart_upstream$;
    {%- else -%}
    create temporary table opsmart_build on commit drop as
    select
        pg_current_snapshot() as snapshot,
        ops.mart_source_identity({{ opsmart_text_array(sources) }}) as source_identity
        {%- if citus %},
        -- after the identity: a shard that moves later shows as such next time
        ops.cluster_claim({{ opsmart_text_array(sources) }}, {{ opsmart_previous_cut() }}, null, {{ incremental }})
            as cut
        {%- endif %};
    {%- endif %}

    -- What this build recomputes: whole buckets (every group), and groups of a
    -- bucket, at the mart's grain (config group_columns: mart column -> source column).
    create temporary table {{ opsmart_changed_buckets() }} (
        bucket_start timestamptz primary key,
        bucket_end timestamptz not null
    ) on commit drop;

    create temporary table {{ opsmart_changed_groups() }} (
        {%- for column in groups %}
        {{ adapter.quote(column) }} {{ model.columns[column].data_type }},
        {%- endfor %}
        bucket_start timestamptz not null,
        bucket_end timestamptz not null
    ) on commit drop;

    {% if incremental and not flags.EMPTY %}
    create temporary table opsmart_changed_keys (
        group_key text[],
        bucket timestamptz not null,
        all_groups boolean not null default false
    ) on commit drop;
    {%- if citus %}

    -- what the workers found in their shards and logs
    insert into opsmart_changed_keys (group_key, bucket)
    select distinct
        array(select jsonb_array_elements_text(changed.key -> 0)),
        (changed.key ->> 1)::timestamptz
    from opsmart_build as build
    cross join lateral jsonb_array_elements(build.cut -> 'keys') as changed (key);
    {%- endif %}

    -- Dynamic SQL, so the scans are planned with the previous snapshot's xmin
    -- as a constant: the BRIN and btree indexes then read only recent rows.
    do $opsmart$
    declare
        previous pg_snapshot;
        current_snapshot pg_snapshot := (select build.snapshot from opsmart_build as build);
        previous_identity jsonb;
        low bigint;
        src record;
        time_sql text;
        changed_range record;
    begin
        select st.snapshot, st.source_identity into previous, previous_identity
        from {{ state }} as st
        where (st.target_schema, st.model) = ({{ opsmart_state_key() }});
        if previous is null then
            raise exception 'opsmart: % has no build state (a concurrent drop?); run the build again',
                {{ opsmart_literal(this) }}
                using errcode = 'serialization_failure';
        end if;
        low := pg_snapshot_xmin(previous)::text::bigint;
        {%- if not citus %}

        -- updated and deleted rows, from the change log
        execute format(
            'insert into opsmart_changed_keys (group_key, bucket) '
            'select distinct log.group_key, log.bucket from {{ change_log }} as log '
            'where log.source = any(%L::text[]) '
            'and log.xid >= %L::xid8 and not pg_visible_in_snapshot(log.xid, %L::pg_snapshot) '
            'and pg_visible_in_snapshot(log.xid, %L::pg_snapshot)',
            {{ opsmart_text_array(sources) }}, low, previous, current_snapshot);

        -- inserted rows, from their change_xid
        for src in
            select ms.relation, ms.time_expression, ms.group_expression from ops.mart_source as ms
            where ms.source = any({{ opsmart_text_array(sources) }})
            order by ms.relation::text
        loop
            time_sql := ops.mart_source_expression(src.time_expression, 'changed');
            execute format(
                'insert into opsmart_changed_keys (group_key, bucket) '
                'select distinct (%s)::text[], date_trunc(''hour'', (%s)::timestamptz, ''UTC'') from %s as changed '
                'where changed.change_xid >= %s '
                'and not pg_visible_in_snapshot(changed.change_xid::text::xid8, %L::pg_snapshot) '
                'and pg_visible_in_snapshot(changed.change_xid::text::xid8, %L::pg_snapshot) '
                'and (%s) is not null',
                ops.mart_source_expression(src.group_expression, 'changed'), time_sql, src.relation,
                low, previous, current_snapshot, time_sql);
        end loop;
        {%- endif %}

        -- partitions truncated, attached or detached: their whole range, every group
        for changed_range in
            select changed.range_start, changed.range_end
            from opsmart_build as build
            cross join lateral ops.mart_source_changes(previous_identity, build.source_identity) as changed
        loop
            if changed_range.range_start is null then
                raise exception 'opsmart: a source of % was truncated or re-attached as this build began; '
                    'the next build rebuilds it in full', {{ opsmart_literal(this) }}
                    using errcode = 'serialization_failure';
            end if;
            insert into opsmart_changed_keys (bucket, all_groups)
            select hours.bucket, true
            from generate_series(
                date_trunc('hour', changed_range.range_start, 'UTC'),
                changed_range.range_end - interval '1 microsecond',
                interval '1 hour'
            ) as hours (bucket);
        end loop;
    end
    $opsmart$;

    insert into {{ opsmart_changed_buckets() }} (bucket_start, bucket_end)
    select
        changed.bucket_start,
        changed.bucket_start + interval '1 {{ grain }}'
    from (
        select {{ opsmart_bucket_expression('keys.bucket', grain) }} as bucket_start
        from opsmart_changed_keys as keys
        {%- if groups %}
        where keys.all_groups
        {%- endif %}
        {%- if backfill_start is not none %}
        union
        select generate_series(
            {{ opsmart_literal(backfill_start) }}::date::timestamp at time zone 'UTC',
            ({{ opsmart_literal(backfill_end) }}::date::timestamp at time zone 'UTC') - interval '1 {{ grain }}',
            interval '1 {{ grain }}'
        )
        {%- endif %}
    ) as changed
    group by changed.bucket_start;

    {% if groups -%}
    -- groups of buckets not rebuilt whole (so the two sets never overlap)
    insert into {{ opsmart_changed_groups() }}
    select distinct
        {%- for column in groups %}
        (keys.group_key[{{ loop.index }}])::{{ model.columns[column].data_type }},
        {%- endfor %}
        {{ opsmart_bucket_expression('keys.bucket', grain) }},
        {{ opsmart_bucket_expression('keys.bucket', grain) }} + interval '1 {{ grain }}'
    from opsmart_changed_keys as keys
    where
        not keys.all_groups
        and {{ opsmart_bucket_expression('keys.bucket', grain) }} not in (
            select whole.bucket_start from {{ opsmart_changed_buckets() }} as whole
        );
    {%- endif %}

    -- real row counts for the planner: few keys, index probes
    analyze {{ opsmart_changed_buckets() }};
    analyze {{ opsmart_changed_groups() }};
    {% endif %}
    {#- (under dbt build --empty: nothing recomputed, nothing replaced, no
        state recorded; a mart made there is rebuilt in full by the next real
        build) #}

    {% if not flags.EMPTY %}
    insert into {{ state }} as st
        (
            target_schema, model, snapshot, built_at, is_full_refresh, buckets_rebuilt, groups_rebuilt,
            code_fingerprint, source_identity, node_snapshots
        )
    select
        {{ opsmart_state_key() }},
        build.snapshot,
        now(),
        {{ 'false' if incremental else 'true' }},
        (select count(*) from {{ opsmart_changed_buckets() }}),
        (select count(*) from {{ opsmart_changed_groups() }}),
        {{ opsmart_literal(opsmart_code_fingerprint()) }},
        build.source_identity,
        {{ "build.cut -> 'snapshots'" if citus else 'null' }}
    from opsmart_build as build
    on conflict (target_schema, model) do update set
        snapshot = excluded.snapshot,
        built_at = excluded.built_at,
        is_full_refresh = excluded.is_full_refresh,
        buckets_rebuilt = excluded.buckets_rebuilt,
        groups_rebuilt = excluded.groups_rebuilt,
        code_fingerprint = excluded.code_fingerprint,
        source_identity = excluded.source_identity,
        node_snapshots = excluded.node_snapshots
    {%- else %}
    select 1
    {%- endif %}
{%- endmacro %}


{#-
    Post-hook: forget log rows every mart has seen. Build states of schemas
    that no longer exist (a dropped CI schema) neither hold rows back nor stay.
    Skips rows another build holds.
-#}
{% macro opsmart_release_changes() -%}
    {%- if config.get('bucket_grain') is none -%}{{ return('') }}{%- endif -%}
    {{ opsmart_release_change_log() }}
{%- endmacro %}


{#-
    On run end, once every mart's transaction has committed: the release
    again. A mart's post-hook cannot see the new build state of a mart
    committing beside it (dbt runs two at once), so when the last two marts
    of a build end together, each finds the other's previous snapshot and
    both keep rows every mart has now seen. This pass sees every state.
    Only after a run that built an incremental mart.
-#}
{% macro opsmart_release_changes_at_run_end(results) -%}
    {%- if not execute or results is none -%}{{ return('') }}{%- endif -%}
    {%- for result in results
        if result.node.resource_type == 'model' and result.node.config.get('bucket_grain') is not none -%}
        {%- if loop.first -%}
    do $opsmart_release$
    begin
        if to_regclass({{ opsmart_literal(opsmart_ops_relation('mart_change_log')) }}) is null then
            return;
        end if;
        {{ opsmart_release_change_log() }};
    end
    $opsmart_release$
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}


{% macro opsmart_release_change_log() -%}
    {%- set change_log = opsmart_ops_relation('mart_change_log') -%}
    {%- set state = opsmart_ops_relation('mart_build_state') -%}
    delete from {{ state }} as st
    where not exists (select from pg_catalog.pg_namespace as nsp where nsp.nspname = st.target_schema);

    delete from {{ change_log }}
    where ctid in (
        select log.ctid
        from {{ change_log }} as log
        where log.xid < (select min(pg_snapshot_xmin(st.snapshot)) from {{ state }} as st)
        for update skip locked
    )
{%- endmacro %}
