-- One organization's analyses per day over the last 30 days: volume, outcomes, judge score, p95 duration.
with

runs as (
    select
        id,
        status,
        started_at,
        finished_at
    from ops.analysis_run
    where organization_id = %(org)s and started_at >= %(since_30d)s::timestamp at time zone 'UTC'
),

judge as (
    select
        s.analysis_run_id,
        sum(s.score) as score_sum,
        count(*) as score_count
    from ops.judge_score as s
    where s.analysis_run_id in (select runs.id from runs)
    group by 1
)

select
    (r.started_at at time zone 'UTC')::date as day,
    count(*) as analyses,
    count(*) filter (where r.status = 'succeeded') as succeeded,
    count(*) filter (where r.status = 'failed') as failed,
    round(sum(j.score_sum) / nullif(sum(j.score_count), 0), 6) as avg_judge_score,
    percentile_cont(0.95) within group (
        order by extract(epoch from r.finished_at - r.started_at)::double precision
    ) as p95_duration_s
from runs as r
left join judge as j on r.id = j.analysis_run_id
group by 1
order by 1
