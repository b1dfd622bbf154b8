-- API keys: one to four per organization (the three biggest have three more); only hashes stored.
select
    pg_temp.id('api_key', k.i) as id,
    pg_temp.id('org', k.o) as organization_id,
    case when k.o < %(users)s then pg_temp.id('user', k.o) end as user_id,
    pg_temp.pick(%(api_key_names)s, pg_temp.u(k.i, 'api_key.name')) || '-' || k.n as name,
    'sha256$' || encode(sha256(convert_to(%(seed_text)s || ':api_key:' || k.i, 'UTF8')), 'hex') as key_hash,
    jsonb_build_array(
        pg_temp.pick(%(scopes)s, pg_temp.u(k.i, 'api_key.scope')),
        pg_temp.pick(%(scopes)s, pg_temp.u(k.i, 'api_key.second_scope'))
    ) as scopes,
    case when pg_temp.u(k.i, 'api_key.expires') < 0.5 then k.created + interval '365 days' end as expires_at,
    pg_temp.u(k.i, 'api_key.revoked') < 0.1 as is_revoked,
    k.created as created_at,
    k.created as updated_at
from (
    select
        o * 64 + n as i,
        o,
        n,
        pg_temp.org_created(o, %(start)s)
        + interval '24 hours' * (400 * pg_temp.u(o * 64 + n, 'api_key.created')) as created
    from generate_series(0, %(orgs)s - 1) as o
    cross join lateral generate_series(
        0, floor(3 * pg_temp.u(o, 'api_key.count'))::integer + case when o < 3 then 3 else 0 end
    ) as n
) as k
