-- p95 latency of every query name, hour by hour, over the last 24 hours.
select
    query_name::text as subject,
    date_trunc('hour', measured_at, 'UTC') as ts_bucket,
    count(*) as query_count,
    percentile_cont(0.95) within group (order by duration_ms) as p95_duration_ms
from ops.query_performance_log
where measured_at >= %(since_24h)s
group by 1, 2
order by 1, 2
