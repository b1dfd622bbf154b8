-- New runs in the last hour: a third queued, a third running, a third succeeded (with
-- metrics and judge scores).
create temp table mutate_run on commit drop as
with

drawn as (
    select
        k.k,
        %(now)s::timestamptz - interval '1 hour' * pg_temp.u(k.k, 'new_run.created') as created_at,
        floor(%(members)s * power(pg_temp.u(k.k, 'new_run.member'), 2))::bigint as rn
    from generate_series(0, %(n)s - 1) as k (k)
)

select
    d.k,
    d.created_at,
    pg_temp.id('run', d.k) as id,
    case when pg_temp.u(d.k, 'new_run.anonymous') >= 0.05 then m.organization_id else ops.anonymous_organization() end
        as organization_id,
    case when pg_temp.u(d.k, 'new_run.anonymous') >= 0.05 then m.user_id end as user_id,
    (array['queued', 'running', 'succeeded'])[1 + mod(d.k, 3)] as status,
    case when mod(d.k, 3) > 0 then least(%(now)s::timestamptz, d.created_at + interval '3 seconds') end as started_at,
    case when mod(d.k, 3) = 2 then least(%(now)s::timestamptz, d.created_at + interval '25 seconds') end as finished_at,
    pg_temp.overall_score(d.k) as overall
from drawn as d
inner join mutate_member as m on d.rn = m.rn
order by d.k
