{#-
    Buckets of `model_name` with source changes its last build has not seen
    yet. Reconciliation tests skip them: a writer committing after the build
    is not a mismatch, only work for the next build.
-#}
{% macro opsmart_pending_buckets(model_name, sources, grain) -%}
    {%- set mart = ref(model_name) -%}
    select distinct date_trunc('{{ grain }}', log.bucket, 'UTC') as bucket_start
    from {{ source('ops', 'mart_change_log') }} as log
    inner join {{ source('ops', 'mart_build_state') }} as state
        on
            state.target_schema = '{{ mart.schema }}'
            and state.model = '{{ mart.identifier }}'
    where
        log.source in ({% for s in sources %}'{{ s }}'{{ ", " if not loop.last }}{% endfor %})
        and not pg_visible_in_snapshot(log.xid, state.snapshot)
{%- endmacro %}
