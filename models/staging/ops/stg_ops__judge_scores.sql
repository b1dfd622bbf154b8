-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as judge_score_id,
    analysis_run_id,
    organization_id,
    criterion_id as judge_criterion_id,
    score,
    created_at
from {{ source('ops', 'judge_score') }}
