-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as event_id,
    organization_id,
    user_id,
    source as event_source,
    feature_key,
    occurred_at,
    received_at,
    payload
from {{ source('ops', 'event') }}
