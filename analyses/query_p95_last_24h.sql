-- p95 latency of every query name, hour by hour, over the last 24 hours.
select
    subject,
    ts_bucket,
    query_count,
    p95_duration_ms
from {{ ref('performance_dashboard') }}
where metric_type = 'query_performance' and ts_bucket >= {{ opsmart_param('since_24h') }}
order by subject, ts_bucket
