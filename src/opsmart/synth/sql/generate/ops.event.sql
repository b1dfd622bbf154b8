-- Product usage events. A tenth arrive late (1 hour .. 4 days after they occurred), the
-- rest within seconds; nothing is received after the anchor.
select
    (%(user_org_ids)s::uuid[])[e.j + 1] as organization_id,
    case when pg_temp.u(e.i, 'event.anonymous') >= 0.03 then (%(user_ids)s::uuid[])[e.j + 1] end as user_id,
    pg_temp.event_source(e.i) as source,
    pg_temp.event_feature(e.i) as feature_key,
    e.ts as occurred_at,
    e.received as received_at,
    jsonb_build_object(
        'client', pg_temp.event_client(e.i),
        'ms', floor(exp(ln(80) + pg_temp.z(e.i, 'event.ms')))::integer
    ) as payload,
    e.received as created_at
from (
    select
        s.i,
        s.ts,
        floor(%(active)s * power(pg_temp.u(s.i, 'event.user'), 2))::bigint as j,
        s.ts + least(
            case
                when pg_temp.u(s.i, 'event.late') < 0.1
                    then interval '1 hour' * exp(ln(96) * pg_temp.u(s.i, 'event.delay'))
                else interval '1 second' * (0.2 + 30 * power(pg_temp.u(s.i, 'event.delay'), 3))
            end,
            (%(anchor)s::timestamptz - s.ts) * 0.999
        ) as received
    from
        pg_temp.slots(
            %(d0)s, %(d1)s, %(events_per_day)s, %(first_day)s, %(ndays)s,
            %(start)s::timestamptz, %(anchor)s::timestamptz, 'event.time'
        ) as s
    offset 0
) as e
