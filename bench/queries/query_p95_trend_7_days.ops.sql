-- Each query name's p95 latency day by day over the last 7 days: the median and the worst hourly p95.
with

hourly as (
    select
        query_name::text as subject,
        date_trunc('hour', measured_at, 'UTC') as ts_bucket,
        count(*) as query_count,
        percentile_cont(0.95) within group (order by duration_ms) as p95_duration_ms
    from ops.query_performance_log
    where measured_at >= %(since_7d)s::timestamp at time zone 'UTC'
    group by 1, 2
)

select
    subject,
    (ts_bucket at time zone 'UTC')::date as day,
    sum(query_count) as queries,
    percentile_cont(0.5) within group (order by p95_duration_ms) as median_hourly_p95_ms,
    max(p95_duration_ms) as worst_hourly_p95_ms
from hourly
group by 1, 2
order by 1, 2
