-- The new succeeded runs' judge scores, one per criterion (key run * 8 + criterion number).
insert into ops.judge_score (analysis_run_id, criterion_id, score, evidence, created_at, updated_at)
with c as (
    select
        jc.id,
        row_number() over (order by jc.key) as n
    from ops.judge_criterion as jc
)

select
    r.id as analysis_run_id,
    c.id as criterion_id,
    pg_temp.judge_score(r.k * 8 + c.n, r.overall) as score,
    '{}'::jsonb as evidence,
    r.finished_at as created_at,
    r.finished_at as updated_at
from mutate_run as r
cross join c
where r.status = 'succeeded'
order by r.k, c.n
