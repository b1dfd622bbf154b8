-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as workflow_run_id,
    organization_id,
    user_id,
    status,
    started_at,
    finished_at
from {{ source('ops', 'workflow_run') }}
