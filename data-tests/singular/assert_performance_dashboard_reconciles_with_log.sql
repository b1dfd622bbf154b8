-- Every query timing is counted once in performance_dashboard, per UTC hour.

with

mart as (

    select
        ts_bucket,
        sum(query_count) as queries,
        sum(error_count) as errors
    from {{ ref('performance_dashboard') }}
    group by 1

),

ops_log as (

    select
        date_trunc('hour', measured_at, 'UTC') as ts_bucket,
        count(*) as queries,
        count(*) filter (where not ok) as errors
    from {{ source('ops', 'query_performance_log') }}
    group by 1

),

pending as (

    {{ opsmart_pending_buckets('performance_dashboard', ['query_performance_log'], 'hour') }}

),

compared as (

    select
        coalesce(mart.ts_bucket, ops_log.ts_bucket) as ts_bucket,
        mart.queries as mart_queries,
        ops_log.queries as ops_queries,
        mart.errors as mart_errors,
        ops_log.errors as ops_errors
    from mart
    full outer join ops_log on mart.ts_bucket = ops_log.ts_bucket

)

select * from compared
where
    (mart_queries is distinct from ops_queries or mart_errors is distinct from ops_errors)
    and ts_bucket not in (select pending.bucket_start from pending)
