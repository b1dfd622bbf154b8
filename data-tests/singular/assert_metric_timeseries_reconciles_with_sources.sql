-- Every numeric sample is counted once in metric_timeseries: per UTC hour and
-- metric metric_family, sum(sample_count) equals the source rows in ops.

with

mart as (

    select
        ts_bucket,
        split_part(metric_key, '.', 1) as metric_family,
        sum(sample_count) as samples
    from {{ ref('metric_timeseries') }}
    group by 1, 2

),

ops_samples as (

    select
        date_trunc('hour', created_at, 'UTC') as ts_bucket,
        'analysis' as metric_family
    from {{ source('ops', 'analysis_metric') }}
    where value_num is not null
    union all
    select
        date_trunc('hour', created_at, 'UTC') as ts_bucket,
        'evaluation' as metric_family
    from {{ source('ops', 'evaluation_metric') }}
    union all
    select
        date_trunc('hour', created_at, 'UTC') as ts_bucket,
        'judge' as metric_family
    from {{ source('ops', 'judge_score') }}
    union all
    select
        date_trunc('hour', ts, 'UTC') as ts_bucket,
        'conversation' as metric_family
    from {{ source('ops', 'message') }}

),

ops_totals as (

    select
        ts_bucket,
        metric_family,
        count(*) as samples
    from ops_samples
    group by 1, 2

),

pending as (

    {{ opsmart_pending_buckets(
        'metric_timeseries',
        ['analysis_metric', 'judge_score', 'evaluation_metric', 'message'],
        'hour'
    ) }}

),

compared as (

    select
        coalesce(mart.ts_bucket, ops_totals.ts_bucket) as ts_bucket,
        coalesce(mart.metric_family, ops_totals.metric_family) as metric_family,
        mart.samples as mart_samples,
        ops_totals.samples as ops_samples
    from mart
    full outer join ops_totals
        on mart.ts_bucket = ops_totals.ts_bucket and mart.metric_family = ops_totals.metric_family

)

select * from compared
where
    mart_samples is distinct from ops_samples
    and ts_bucket not in (select pending.bucket_start from pending)
