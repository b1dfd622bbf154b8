-- A session's messages, one every `gap` (key session * 16 + m): it opens with the user
-- (or a system prompt), then the assistant (or a tool) and the user take turns.
with

sent as (
    select
        c.i,
        c.id,
        c.organization_id,
        m.m,
        c.i * 16 + m.m as k,
        c.started_at + c.gap * m.m as ts
    from pg_temp.synth_chats as c
    cross join lateral generate_series(0, c.messages - 1) as m (m)
)

select
    s.id as session_id,
    s.organization_id,
    case
        when s.m = 0 then case when pg_temp.u(s.i, 'message.first_role') < 0.3 then 'system' else 'user' end
        when mod(s.m, 2) = 1 then case when pg_temp.u(s.k, 'message.role') < 0.1 then 'tool' else 'assistant' end
        else 'user'
    end as role,
    pg_temp.message_line(s.k) as content,
    s.ts,
    s.ts as created_at
from sent as s
where s.ts < %(anchor)s::timestamptz
