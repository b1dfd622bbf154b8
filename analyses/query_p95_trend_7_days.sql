-- Each query name's p95 latency day by day over the last 7 days: the median and the worst hourly p95.
with

hourly as (
    select
        subject,
        ts_bucket,
        query_count,
        p95_duration_ms
    from {{ ref('performance_dashboard') }}
    where
        metric_type = 'query_performance'
        and ts_bucket >= {{ opsmart_param('since_7d') }}::timestamp at time zone 'UTC'
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
