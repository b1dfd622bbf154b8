-- Users: one in twenty anonymous (no email, no name), the rest with an email.
with

people as (
    select
        j.j,
        pg_temp.is_anonymous(j.j, %(orgs)s) as anonymous,
        pg_temp.pick(%(first_names)s, pg_temp.u(j.j, 'user.first_name')) as first_name,
        pg_temp.pick(%(last_names)s, pg_temp.u(j.j, 'user.last_name')) as last_name
    from generate_series(0, %(users)s - 1) as j (j)
)

select
    pg_temp.id('user', p.j) as id,
    case
        when not p.anonymous
            then
                lower(p.first_name || '.' || p.last_name) || p.j || '@'
                || pg_temp.pick(%(domains)s, pg_temp.u(p.j, 'user.domain'))
    end as email,
    case when not p.anonymous then p.first_name || ' ' || p.last_name end as name,
    case
        when not p.anonymous and pg_temp.u(p.j, 'user.avatar') < 0.6
            then 'https://avatars.example.com/' || left(md5(p.j::text), 16) || '.png'
    end as avatar_url,
    pg_temp.user_created(p.j, %(start)s) as created_at,
    pg_temp.user_created(p.j, %(start)s) as updated_at
from people as p
