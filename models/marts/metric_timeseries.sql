{%- set group_columns = {'organization_id': 'organization_id'} -%}
{{
    config(
        unique_key=['ts_bucket', 'organization_id', 'metric_key'],
        bucket_column='ts_bucket',
        bucket_grain='hour',
        group_columns=group_columns,
        change_sources=['analysis_metric', 'judge_score', 'evaluation_metric', 'message'],
        distributed_by='organization_id',
        indexes=[
            {'columns': ['metric_key', 'ts_bucket']},
            {'columns': ['organization_id', 'ts_bucket']},
        ],
    )
}}

with

samples as (

    {{ opsmart_changed_rows(ref('int_metric_samples'), 'sampled_at', group_columns) }}

),

hourly as (

    select
        organization_id,
        metric_key,
        {{ opsmart_bucket_expression('sampled_at', 'hour') }} as ts_bucket,
        count(*) as sample_count,
        sum(sample_value) as value_sum,
        min(sample_value) as value_min,
        max(sample_value) as value_max,
        round(avg(sample_value), 6)::numeric(38, 6) as value_num,
        null::jsonb as value_json
    from samples
    group by 1, 2, 3

)

select * from hourly
