-- What members did (vocabulary audit_actions), the busiest members most.
select
    a.ts,
    (%(user_ids)s::uuid[])[a.j + 1] as actor_user_id,
    (%(user_org_ids)s::uuid[])[a.j + 1] as organization_id,
    a.action,
    split_part(a.action, '.', 1) as entity_type,
    pg_temp.id('audited', a.i)::text as entity_id,
    jsonb_build_object('state', 'before') as before_state,
    jsonb_build_object('state', 'after') as after_state,
    a.ts as created_at
from (
    select
        s.i,
        s.ts,
        floor(%(active)s * power(pg_temp.u(s.i, 'audit.user'), 2))::bigint as j,
        pg_temp.pick(%(audit_actions)s, power(pg_temp.u(s.i, 'audit.action'), 1.5)) as action
    from pg_temp.slots(
        %(d0)s, %(d1)s, %(audit_entries_per_day)s, %(first_day)s, %(ndays)s,
        %(start)s::timestamptz, %(anchor)s::timestamptz, 'audit.time'
    ) as s
) as a
