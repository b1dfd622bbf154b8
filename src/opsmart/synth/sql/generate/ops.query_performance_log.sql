-- The query log: a few query names (vocabulary queries) run most, each log-normal around
-- its typical duration; one in fifty fails, a tenth have no organization.
select
    (%(query_names)s::text[])[q.n] as query_name,
    pg_temp.query_endpoint(q.i) as endpoint,
    case
        when pg_temp.u(q.i, 'query.no_organization') >= 0.1
            then
                (%(user_org_ids)s::uuid[])[
                    floor(%(active)s * power(pg_temp.u(q.i, 'query.organization'), 2))::bigint + 1
                ]
    end as organization_id,
    pg_temp.query_duration(q.i, (%(query_base_ms)s::float8[])[q.n]) as duration_ms,
    pg_temp.query_rows(q.i) as rows_returned,
    pg_temp.query_ok(q.i) as ok,
    q.ts as measured_at,
    q.ts as created_at
from (
    select
        s.i,
        s.ts,
        pg_temp.query_index(s.i) as n
    from
        pg_temp.slots(
            %(d0)s, %(d1)s, %(queries_per_day)s, %(first_day)s, %(ndays)s,
            %(start)s::timestamptz, %(anchor)s::timestamptz, 'query.time'
        ) as s
    offset 0
) as q
