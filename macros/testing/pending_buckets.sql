{#-
    Buckets of `model_name` with source changes its last build has not seen
    yet: log rows and inserted rows of transactions invisible to the snapshot
    the build started from. Reconciliation tests skip them: a writer
    committing while (or after) the build ran is not a mismatch, only work for
    the next build. On a Citus cluster every worker answers for its own
    shards and log (ops.cluster_pending), against its entry of the build's cut.
-#}
{% macro opsmart_pending_buckets(model_name, sources, grain) -%}
    {%- set mart = ref(model_name) -%}
    {%- set state = opsmart_ops_relation('mart_build_state') -%}
    {%- set scans = [] -%}
    {%- if opsmart_is_citus() -%}
    select distinct date_trunc('{{ grain }}', pending.bucket, 'UTC') as bucket_start
    from {{ state }} as st
    cross join lateral ops.cluster_pending({{ opsmart_text_array(sources) }}, st.node_snapshots) as pending (bucket)
    where
        st.target_schema = {{ opsmart_literal(mart.schema) }}
        and st.model = {{ opsmart_literal(mart.identifier) }}
    {%- else -%}
    {%- if execute -%}
        {%- set declared -%}
            select ms.relation::text, ops.mart_source_expression(ms.time_expression, 'changed')
            from ops.mart_source as ms
            where ms.source = any({{ opsmart_text_array(sources) }})
            order by 1
        {%- endset -%}
        {%- set scans = run_query(declared).rows -%}
    {%- endif -%}
    select distinct date_trunc('{{ grain }}', pending.bucket, 'UTC') as bucket_start
    from {{ state }} as st
    cross join lateral (
        select log.bucket
        from {{ opsmart_ops_relation('mart_change_log') }} as log
        where
            log.source = any({{ opsmart_text_array(sources) }})
            and not pg_visible_in_snapshot(log.xid, st.snapshot)
        {%- for relation, time_sql in scans %}
        union all
        select date_trunc('hour', ({{ time_sql }})::timestamptz, 'UTC')
        from {{ relation }} as changed
        where
            changed.change_xid >= pg_snapshot_xmin(st.snapshot)::text::bigint
            and not pg_visible_in_snapshot(changed.change_xid::text::xid8, st.snapshot)
        {%- endfor %}
    ) as pending
    where
        st.target_schema = {{ opsmart_literal(mart.schema) }}
        and st.model = {{ opsmart_literal(mart.identifier) }}
        and pending.bucket is not null
    {%- endif -%}
{%- endmacro %}
