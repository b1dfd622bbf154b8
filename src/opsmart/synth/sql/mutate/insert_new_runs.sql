insert into ops.analysis_run (
    id, organization_id, user_id, llm_model, status, started_at, finished_at, meta, created_at, updated_at
)
select
    id,
    organization_id,
    user_id,
    pg_temp.run_model(k) as llm_model,
    status,
    started_at,
    finished_at,
    '{"trigger": "api"}'::jsonb as meta,
    created_at,
    coalesce(finished_at, started_at, created_at) as updated_at
from mutate_run
order by k
