-- Login sessions: up to five per user with an email, spread over the period.
select
    pg_temp.id('session', s.i) as id,
    pg_temp.id('user', s.j) as user_id,
    md5(%(seed_text)s || ':jwt:' || s.i) as jwt_id,
    s.created as created_at,
    s.created + interval '30 days' as expires_at
from (
    select
        j * 16 + n as i,
        j,
        %(start)s::timestamptz
        + (%(anchor)s::timestamptz - %(start)s::timestamptz) * pg_temp.u(j * 16 + n, 'session.created') as created
    from generate_series(0, %(users)s - 1) as j
    cross join lateral generate_series(0, floor(5 * pg_temp.u(j, 'session.count'))::integer) as n
    where not pg_temp.is_anonymous(j, %(orgs)s)
) as s
