-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as evaluation_metric_id,
    run_id as workflow_run_id,
    organization_id,
    node_key,
    metric_name,
    metric_value,
    created_at
from {{ source('ops', 'evaluation_metric') }}
