-- The copied runs' judge scores.
insert into ops.judge_score (
    analysis_run_id, organization_id, criterion_id, score, comment, evidence, created_at, updated_at
)
select
    n.new_id,
    s.organization_id,
    s.criterion_id,
    s.score,
    s.comment,
    s.evidence,
    s.created_at + n.shift as created_at,
    %(now)s as updated_at
from bench_new_runs as n
inner join ops.judge_score as s on n.old_id = s.analysis_run_id
