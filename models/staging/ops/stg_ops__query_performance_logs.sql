-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as query_performance_log_id,
    query_name,
    endpoint,
    organization_id,
    duration_ms,
    rows_returned,
    ok as is_ok,
    measured_at
from {{ source('ops', 'query_performance_log') }}
