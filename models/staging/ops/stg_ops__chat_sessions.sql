-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as chat_session_id,
    user_id,
    organization_id,
    type as session_type,
    started_at,
    ended_at
from {{ source('ops', 'chat_session') }}
