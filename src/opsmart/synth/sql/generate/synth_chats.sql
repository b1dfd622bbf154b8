-- The chat sessions of a chunk of days, made once into pg_temp.synth_chats for the
-- session, its messages and its chain analysis. A session has ended when its last
-- message is half an hour old.
with

drawn as (
    select
        s.i,
        pg_temp.id('chat', s.i) as id,
        s.ts as started_at,
        pg_temp.u(s.i, 'chat_session.anonymous') < 0.1 as anonymous,
        floor(%(active)s * power(pg_temp.u(s.i, 'chat_session.user'), 2))::bigint as j,
        case when pg_temp.u(s.i, 'chat_session.type') < 0.6 then 'chain_analysis' else 'chat' end as type,
        2 + floor(11 * pg_temp.u(s.i, 'chat_session.messages'))::integer as messages,
        interval '1 second' * (5 + 120 * pg_temp.u(s.i, 'chat_session.gap')) as gap
    from
        pg_temp.slots(
            %(d0)s, %(d1)s, %(chat_sessions_per_day)s, %(first_day)s, %(ndays)s,
            %(start)s::timestamptz, %(anchor)s::timestamptz, 'chat_session.time'
        ) as s
    offset 0
)

select
    c.i,
    c.id,
    c.anonymous,
    case when not c.anonymous then (%(user_ids)s::uuid[])[c.j + 1] end as user_id,
    case when not c.anonymous then (%(user_org_ids)s::uuid[])[c.j + 1] else ops.anonymous_organization() end
        as organization_id,
    c.type,
    c.messages,
    c.gap,
    c.started_at,
    case
        when c.started_at + c.gap * c.messages + interval '30 minutes' < %(anchor)s::timestamptz
            then c.started_at + c.gap * c.messages
    end as ended_at
from drawn as c
