-- Each organization's creation, by its founder.
select
    pg_temp.org_created(o, %(start)s) as ts,
    case when o < %(users)s then pg_temp.id('user', o) end as actor_user_id,
    pg_temp.id('org', o) as organization_id,
    'organization.created' as action,
    'organization' as entity_type,
    pg_temp.id('org', o)::text as entity_id,
    null::jsonb as before_state,
    jsonb_build_object('index', o) as after_state,
    pg_temp.org_created(o, %(start)s) as created_at
from generate_series(0, %(orgs)s - 1) as o
