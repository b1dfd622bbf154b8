-- One flat select, no import CTE: PostgreSQL never pulls a view with a WITH
-- clause up into the query that reads it (_staging__models.yml).
select
    id as organization_member_id,
    organization_id,
    user_id,
    role as member_role,
    status as member_status,
    created_at
from {{ source('ops', 'organization_user') }}
