-- Every user is a member of their own organization (membership j * 2); some of a second
-- one too (j * 2 + 1).
with

memberships as (
    select
        j.j,
        n.n,
        j.j * 2 + n.n as i,
        case
            when n.n = 0 then pg_temp.user_org(j.j, %(orgs)s)
            when %(orgs)s > 1 and pg_temp.u(j.j, 'membership.has_second') < 0.15
                then mod(
                    pg_temp.user_org(j.j, %(orgs)s) + 1
                    + floor(pg_temp.u(j.j, 'membership.second') * (%(orgs)s - 1))::integer,
                    %(orgs)s
                )
        end as o
    from generate_series(0, %(users)s - 1) as j (j)
    cross join generate_series(0, 1) as n (n)
),

joined as (
    select
        m.*,
        pg_temp.user_created(m.j, %(start)s)
        + interval '1 hour' * (1 + 200 * pg_temp.u(m.i, 'membership.joined')) as joined_at
    from memberships as m
    where m.o is not null
)

select
    pg_temp.id('membership', m.i) as id,
    pg_temp.id('org', m.o) as organization_id,
    pg_temp.id('user', m.j) as user_id,
    case
        when m.j < %(orgs)s and m.n = 0 then 'owner'
        when pg_temp.u(m.i, 'membership.role') < 0.1 then 'admin'
        when pg_temp.u(m.i, 'membership.role') < 0.8 then 'member'
        else 'viewer'
    end as role,
    case
        when m.j < %(orgs)s and m.n = 0 then 'active'
        when pg_temp.u(m.i, 'membership.status') < 0.9 then 'active'
        when pg_temp.u(m.i, 'membership.status') < 0.97 then 'invited'
        else 'removed'
    end as status,
    m.joined_at as created_at,
    m.joined_at as updated_at
from joined as m
