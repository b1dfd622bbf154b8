-- The copied analysis runs, moved in time.
insert into ops.analysis_run (
    id, organization_id, user_id, prompt_id, experiment_run_id, llm_model, status,
    started_at, finished_at, meta, created_at, updated_at
)
select
    n.new_id,
    r.organization_id,
    r.user_id,
    r.prompt_id,
    r.experiment_run_id,
    r.llm_model,
    r.status,
    r.started_at + n.shift as started_at,
    r.finished_at + n.shift as finished_at,
    r.meta,
    r.created_at + n.shift as created_at,
    %(now)s as updated_at
from bench_new_runs as n
inner join ops.analysis_run as r on n.old_id = r.id
