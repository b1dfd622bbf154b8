-- New events from the members left: a tenth arrive late (occurred up to 20 days ago).
insert into ops.event (organization_id, user_id, source, feature_key, occurred_at, received_at, payload, created_at)
with

drawn as (
    select
        k.k,
        pg_temp.u(k.k, 'new_event.late') >= 0.9 as late,
        floor(%(members)s * power(pg_temp.u(k.k, 'new_event.member'), 2))::bigint as rn
    from generate_series(0, %(n)s - 1) as k (k)
),

timed as (
    select
        d.*,
        %(now)s::timestamptz - interval '24 hours' * case
            when d.late then 1 + 19 * pg_temp.u(d.k, 'new_event.age')
            else pg_temp.u(d.k, 'new_event.age')
        end as occurred
    from drawn as d
),

received as (
    select
        t.*,
        case
            when t.late then %(now)s::timestamptz - interval '10 minutes' * pg_temp.u(t.k, 'new_event.delay')
            else least(
                %(now)s::timestamptz, t.occurred + interval '1 second' * (0.2 + 30 * pg_temp.u(t.k, 'new_event.delay'))
            )
        end as received_at
    from timed as t
)

select
    m.organization_id,
    m.user_id,
    pg_temp.event_source(r.k) as source,
    pg_temp.event_feature(r.k) as feature_key,
    r.occurred as occurred_at,
    r.received_at,
    jsonb_build_object('client', pg_temp.event_client(r.k), 'late', r.late) as payload,
    r.received_at as created_at
from received as r
inner join mutate_member as m on r.rn = m.rn
order by r.k
