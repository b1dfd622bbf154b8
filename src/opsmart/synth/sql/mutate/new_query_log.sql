-- New query log rows in the last hour, from any organization left.
insert into ops.query_performance_log (
    query_name, endpoint, organization_id, duration_ms, rows_returned, ok, measured_at, created_at
)
with

drawn as (
    select
        k.k,
        pg_temp.query_index(k.k) as n,
        floor(%(organizations)s * pg_temp.u(k.k, 'new_query.organization'))::bigint as o,
        %(now)s::timestamptz - interval '1 hour' * pg_temp.u(k.k, 'new_query.time') as drawn_at
    from generate_series(0, %(n)s - 1) as k (k)
),

organizations as (
    select
        o.id,
        row_number() over (order by o.id) - 1 as o
    from ops.organization as o
)

select
    (%(query_names)s::text[])[d.n] as query_name,
    pg_temp.query_endpoint(d.k) as endpoint,
    o.id as organization_id,
    pg_temp.query_duration(d.k, (%(query_base_ms)s::float8[])[d.n]) as duration_ms,
    pg_temp.query_rows(d.k) as rows_returned,
    pg_temp.query_ok(d.k) as ok,
    d.drawn_at as measured_at,
    d.drawn_at as created_at
from drawn as d
left join organizations as o on d.o = o.o
order by d.k
