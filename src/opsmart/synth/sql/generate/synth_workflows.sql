-- The workflow runs of a chunk of days, made once into pg_temp.synth_workflows for the
-- run, its nodes and its evaluation metrics. The recent ones are still running.
with

drawn as (
    select
        s.i,
        pg_temp.id('workflow_run', s.i) as id,
        s.ts as started_at,
        pg_temp.u(s.i, 'workflow_run.anonymous') < 0.05 as anonymous,
        floor(%(active)s * power(pg_temp.u(s.i, 'workflow_run.user'), 2))::bigint as j,
        case
            when
                %(anchor)s::timestamptz - s.ts
                < interval '24 hours' * greatest(0.03, 8.0 / %(workflow_runs_per_day)s)
                then 'running'
            when pg_temp.u(s.i, 'workflow_run.status') < 0.88 then 'success'
            when pg_temp.u(s.i, 'workflow_run.status') < 0.96 then 'failed'
            else 'cancelled'
        end as status,
        interval '1 second' * exp(ln(40) + 0.7 * pg_temp.z(s.i, 'workflow_run.duration')) as duration
    from
        pg_temp.slots(
            %(d0)s, %(d1)s, %(workflow_runs_per_day)s, %(first_day)s, %(ndays)s,
            %(start)s::timestamptz, %(anchor)s::timestamptz, 'workflow_run.time'
        ) as s
    offset 0
)

select
    w.i,
    w.id,
    w.anonymous,
    case when not w.anonymous then (%(user_org_ids)s::uuid[])[w.j + 1] else ops.anonymous_organization() end
        as organization_id,
    case when not w.anonymous then (%(user_ids)s::uuid[])[w.j + 1] end as user_id,
    w.status,
    w.started_at,
    w.duration,
    case when w.status != 'running' then least(w.started_at + w.duration, %(anchor)s::timestamptz) end as finished_at
from drawn as w
