{{
    config(
        unique_key=['ts_bucket', 'metric_key'],
        bucket_column='ts_bucket',
        bucket_grain='hour',
        group_columns={},
        change_sources=['analysis_metric', 'judge_score', 'evaluation_metric', 'message'],
        distributed_by='metric_key',
        snapshot_from='metric_timeseries',
        indexes=[
            {'columns': ['metric_key', 'ts_bucket']},
        ],
    )
}}

-- metric_timeseries summed over every organization, per UTC hour: a metric's
-- series for the whole platform without reading every organization's row.
-- Built from metric_timeseries with the snapshot of its last build (config
-- snapshot_from); an hour that changed in any organization is summed again.

with

hourly as (

    {{ opsmart_changed_rows(ref('metric_timeseries'), 'ts_bucket', {}) }}

),

platform as (

    select
        metric_key,
        ts_bucket,
        count(*) as organizations,
        sum(sample_count)::bigint as sample_count,
        sum(value_sum) as value_sum,
        min(value_min) as value_min,
        max(value_max) as value_max,
        round(sum(value_sum) / sum(sample_count), 6)::numeric(38, 6) as value_num
    from hourly
    group by 1, 2

)

select * from platform
