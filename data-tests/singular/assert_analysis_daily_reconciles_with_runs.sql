-- Every started run is counted once in analysis_daily, per UTC day and status.

with

mart as (

    select
        day,
        sum(analyses) as analyses,
        sum(succeeded) as succeeded,
        sum(failed) as failed,
        sum(cancelled) as cancelled
    from {{ ref('analysis_daily') }}
    group by 1

),

ops_runs as (

    select
        (started_at at time zone 'UTC')::date as day,
        count(*) as analyses,
        count(*) filter (where status = 'succeeded') as succeeded,
        count(*) filter (where status = 'failed') as failed,
        count(*) filter (where status = 'cancelled') as cancelled
    from {{ source('ops', 'analysis_run') }}
    where started_at is not null
    group by 1

),

pending as (

    {{ opsmart_pending_buckets('analysis_daily', ['analysis_run'], 'day') }}

),

compared as (

    select
        coalesce(mart.day, ops_runs.day) as day,
        mart.analyses as mart_analyses,
        ops_runs.analyses as ops_analyses,
        mart.succeeded as mart_succeeded,
        ops_runs.succeeded as ops_succeeded,
        mart.failed as mart_failed,
        ops_runs.failed as ops_failed,
        mart.cancelled as mart_cancelled,
        ops_runs.cancelled as ops_cancelled
    from mart
    full outer join ops_runs on mart.day = ops_runs.day

)

select * from compared
where
    (
        mart_analyses is distinct from ops_analyses
        or mart_succeeded is distinct from ops_succeeded
        or mart_failed is distinct from ops_failed
        or mart_cancelled is distinct from ops_cancelled
    )
    and (day::timestamp at time zone 'UTC') not in (select pending.bucket_start from pending)
