-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as analysis_metric_id,
    analysis_run_id,
    organization_id,
    key as metric_key,
    value_num,
    created_at
from {{ source('ops', 'analysis_metric') }}
