-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as analysis_run_id,
    organization_id,
    user_id,
    prompt_id,
    experiment_run_id,
    llm_model,
    status,
    started_at,
    finished_at,
    updated_at
from {{ source('ops', 'analysis_run') }}
