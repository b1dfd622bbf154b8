-- mart.analysis_daily by hand: runs per organization and UTC day of their start, with their
-- scores summed per run first (sums and counts, so the day's mean is exact), then per day.
create table bench_baseline.analysis_daily as
with

metric_sums as (
    select
        analysis_run_id,
        sum(value_num) filter (where key = 'overall_score') as overall_sum,
        count(value_num) filter (where key = 'overall_score') as overall_count,
        sum(value_num) filter (where key = 'semantic_entropy') as entropy_sum,
        count(value_num) filter (where key = 'semantic_entropy') as entropy_count
    from ops.analysis_metric
    where key in ('overall_score', 'semantic_entropy') and value_num is not null
    group by 1
),

judge_sums as (
    select
        analysis_run_id,
        sum(score) as judge_sum,
        count(*) as judge_count
    from ops.judge_score
    group by 1
)

select
    r.organization_id,
    (r.started_at at time zone 'UTC')::date as day,
    count(*) as analyses,
    count(*) filter (where r.status = 'succeeded') as succeeded,
    count(*) filter (where r.status = 'failed') as failed,
    count(*) filter (where r.status = 'cancelled') as cancelled,
    round(sum(m.overall_sum) / nullif(sum(m.overall_count), 0), 6) as avg_overall,
    round(sum(m.entropy_sum) / nullif(sum(m.entropy_count), 0), 6) as avg_entropy,
    round(sum(j.judge_sum) / nullif(sum(j.judge_count), 0), 6) as avg_judge_score,
    percentile_cont(0.95) within group (
        order by extract(epoch from r.finished_at - r.started_at)::double precision
    ) as p95_duration_s,
    sum(m.overall_sum) as overall_score_sum,
    coalesce(sum(m.overall_count), 0) as overall_score_count,
    sum(j.judge_sum) as judge_score_sum,
    coalesce(sum(j.judge_count), 0) as judge_score_count
from ops.analysis_run as r
left join metric_sums as m on r.id = m.analysis_run_id
left join judge_sums as j on r.id = j.analysis_run_id
where r.started_at is not null
group by 1, 2
