{%- set group_columns = {'subject': 'query_name'} -%}
{{
    config(
        unique_key=['ts_bucket', 'metric_type', 'subject'],
        bucket_column='ts_bucket',
        bucket_grain='hour',
        group_columns=group_columns,
        change_sources=['query_performance_log'],
        distributed_by='subject',
        indexes=[
            {'columns': ['subject', 'ts_bucket']},
        ],
    )
}}

with

query_logs as (

    {{ opsmart_changed_rows(ref('stg_ops__query_performance_logs'), 'measured_at', group_columns) }}

),

hourly as (

    select
        'query_performance'::text as metric_type,
        query_name::text as subject,
        {{ opsmart_bucket_expression('measured_at', 'hour') }} as ts_bucket,
        count(*) as query_count,
        count(*) filter (where not is_ok) as error_count,
        -- numeric, so the mean does not depend on the order rows are summed in
        round(avg(duration_ms::numeric), 3)::numeric(24, 3) as avg_duration_ms,
        max(duration_ms) as max_duration_ms,
        percentile_cont(0.95) within group (order by duration_ms) as p95_duration_ms
    from query_logs
    group by 1, 2, 3

)

select * from hourly
