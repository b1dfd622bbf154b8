-- mart.performance_dashboard by hand: query timings per query name and UTC hour.
create table bench_baseline.performance_dashboard as
select
    'query_performance'::text as metric_type,
    query_name::text as subject,
    date_trunc('hour', measured_at, 'UTC') as ts_bucket,
    count(*) as query_count,
    count(*) filter (where not ok) as error_count,
    round(avg(duration_ms::numeric), 3) as avg_duration_ms,
    max(duration_ms) as max_duration_ms,
    percentile_cont(0.95) within group (order by duration_ms) as p95_duration_ms
from ops.query_performance_log
group by 1, 2, 3
