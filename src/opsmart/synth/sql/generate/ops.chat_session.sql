-- Chat sessions (pg_temp.synth_chats).
select
    c.id,
    c.user_id,
    c.organization_id,
    c.type,
    c.started_at,
    c.ended_at,
    c.started_at as created_at,
    coalesce(c.ended_at, c.started_at) as updated_at
from pg_temp.synth_chats as c
