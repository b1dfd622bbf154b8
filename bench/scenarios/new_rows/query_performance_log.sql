-- Copies of every modulus-th query timing (the newest first, at most %(query_logs)s).
insert into ops.query_performance_log (
    query_name, endpoint, organization_id, duration_ms, rows_returned, ok, measured_at
)
select
    query_name,
    endpoint,
    organization_id,
    duration_ms,
    rows_returned,
    ok,
    public.bench_moment(id, %(modulus)s, %(now)s, %(late)s) as measured_at
from ops.query_performance_log
where mod(id, %(modulus)s) = 0
order by id desc
limit %(query_logs)s
