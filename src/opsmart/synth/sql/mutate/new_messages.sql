-- New messages in the fifty newest chat sessions, in the last half hour.
insert into ops.message (session_id, role, content, ts, created_at)
with

newest as (
    select
        cs.id,
        cs.started_at,
        row_number() over (order by cs.started_at desc, cs.id asc) - 1 as rn
    from ops.chat_session as cs
),

drawn as (
    select
        k.k,
        floor(least(%(sessions)s, 50) * pg_temp.u(k.k, 'new_message.session'))::bigint as rn,
        %(now)s::timestamptz - interval '30 minutes' * pg_temp.u(k.k, 'new_message.time') as drawn_at
    from generate_series(0, %(n)s - 1) as k (k)
)

select
    s.id as session_id,
    case when mod(d.k, 2) = 0 then 'user' else 'assistant' end as role,
    pg_temp.message_line(d.k) as content,
    greatest(s.started_at, d.drawn_at) as ts,
    greatest(s.started_at, d.drawn_at) as created_at
from drawn as d
inner join newest as s on d.rn = s.rn
order by d.k
