-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as message_id,
    session_id as chat_session_id,
    organization_id,
    role as message_role,
    ts as sent_at
from {{ source('ops', 'message') }}
