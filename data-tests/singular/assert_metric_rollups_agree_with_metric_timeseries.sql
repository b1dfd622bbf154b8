-- metric_daily and metric_hourly are exact rollups of metric_timeseries: the
-- same counts and sums per (organization, metric, day) and (metric, hour).
-- (All three reflect one snapshot: the rollups take metric_timeseries's.)

with

hourly as (

    select * from {{ ref('metric_timeseries') }}

),

daily as (

    select * from {{ ref('metric_daily') }}

),

platform as (

    select * from {{ ref('metric_hourly') }}

),

by_day as (

    select
        organization_id,
        metric_key,
        (ts_bucket at time zone 'UTC')::date as day,
        sum(sample_count) as sample_count,
        sum(value_sum) as value_sum
    from hourly
    group by 1, 2, 3

),

by_hour as (

    select
        metric_key,
        ts_bucket,
        sum(sample_count) as sample_count,
        sum(value_sum) as value_sum
    from hourly
    group by 1, 2

),

day_mismatches as (

    select
        'metric_daily' as rollup_name,
        coalesce(by_day.metric_key, daily.metric_key) as metric_key,
        coalesce(by_day.day, daily.day)::text as bucket
    from by_day
    full outer join daily
        on
            by_day.organization_id is not distinct from daily.organization_id
            and by_day.metric_key = daily.metric_key
            and by_day.day = daily.day
    where
        by_day.sample_count is distinct from daily.sample_count
        or by_day.value_sum is distinct from daily.value_sum

),

hour_mismatches as (

    select
        'metric_hourly' as rollup_name,
        coalesce(by_hour.metric_key, platform.metric_key) as metric_key,
        coalesce(by_hour.ts_bucket, platform.ts_bucket)::text as bucket
    from by_hour
    full outer join platform
        on
            by_hour.metric_key = platform.metric_key
            and by_hour.ts_bucket = platform.ts_bucket
    where
        by_hour.sample_count is distinct from platform.sample_count
        or by_hour.value_sum is distinct from platform.value_sum

)

select * from day_mismatches
union all
select * from hour_mismatches
