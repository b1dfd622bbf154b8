-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as organization_id,
    name as organization_name,
    slug as organization_slug,
    settings ->> 'plan' as plan,
    settings ->> 'region' as region,
    created_at
from {{ source('ops', 'organization') }}
