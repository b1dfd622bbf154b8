-- Organizations: two enterprise founders, then teams and free plans.
with

named as (
    select
        o.o,
        pg_temp.pick(%(org_words)s, pg_temp.u(o.o, 'organization.word')) || ' '
        || pg_temp.pick(%(org_suffixes)s, pg_temp.u(o.o, 'organization.suffix')) as name
    from generate_series(0, %(orgs)s - 1) as o (o)
)

select
    pg_temp.id('org', n.o) as id,
    n.name,
    lower(replace(n.name, ' ', '-')) || '-' || n.o as slug,
    jsonb_build_object(
        'plan', case
            when n.o < 2 then 'enterprise'
            when pg_temp.u(n.o, 'organization.plan') < 0.4 then 'team'
            else 'free'
        end,
        'region', pg_temp.pick(%(regions)s, pg_temp.u(n.o, 'organization.region'))
    ) as settings,
    pg_temp.org_created(n.o, %(start)s) as created_at,
    pg_temp.org_created(n.o, %(start)s) as updated_at
from named as n
