-- The analysis runs of a chunk of days, made once into pg_temp.synth_runs for the run
-- and its children. In-flight runs are the recent ones: queued in the last `win`,
-- running in the two before.
with

slots as (
    select
        s.i,
        s.ts,
        pg_temp.u(s.i, 'analysis_run.anonymous') < 0.05 as anonymous,
        floor(%(active)s * power(pg_temp.u(s.i, 'analysis_run.user'), 2))::bigint as j,
        pg_temp.u(s.i, 'analysis_run.status') as status_draw,
        %(anchor)s::timestamptz - s.ts as age,
        interval '24 hours' * greatest(0.0104, 4.0 / %(runs_per_day)s) as win
    from
        pg_temp.slots(
            %(d0)s, %(d1)s, %(runs_per_day)s, %(first_day)s, %(ndays)s,
            %(start)s::timestamptz, %(anchor)s::timestamptz, 'analysis_run.time'
        ) as s
    offset 0
),

drawn as (
    select
        r.i,
        r.ts,
        r.anonymous,
        r.j,
        case when not r.anonymous then pg_temp.user_org(r.j, %(orgs)s) end as o,
        case
            when r.age < r.win then 'queued'
            when r.age < 3 * r.win and r.status_draw < 0.8 then 'running'
            when r.status_draw < 0.82 then 'succeeded'
            when r.status_draw < 0.93 then 'failed'
            else 'cancelled'
        end as status,
        r.ts + interval '1 second' * (0.5 + exp(ln(2) + pg_temp.z(r.i, 'analysis_run.start_delay'))) as start_at,
        interval '1 second' * exp(ln(20) + 0.8 * pg_temp.z(r.i, 'analysis_run.duration')) as duration,
        pg_temp.overall_score(r.i) as overall
    from slots as r
    offset 0
),

started as (
    select
        r.*,
        case
            when r.status = 'queued' then null
            when r.status = 'cancelled' and pg_temp.u(r.i, 'analysis_run.cancelled_unstarted') < 0.3 then null
            else least(r.start_at, %(anchor)s::timestamptz)
        end as started_at
    from drawn as r
    offset 0
)

select
    r.i,
    pg_temp.id('run', r.i) as id,
    r.anonymous,
    r.j,
    r.o,
    case when not r.anonymous then (%(org_ids)s::uuid[])[r.o + 1] else ops.anonymous_organization() end
        as organization_id,
    case when not r.anonymous then (%(user_ids)s::uuid[])[r.j + 1] end as user_id,
    r.status,
    r.overall,
    r.ts as created_at,
    r.started_at,
    case
        when r.status in ('succeeded', 'failed') or (r.started_at is not null and r.status = 'cancelled')
            then least(r.started_at + r.duration, %(anchor)s::timestamptz)
    end as finished_at
from started as r
