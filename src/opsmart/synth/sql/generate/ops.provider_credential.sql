-- LLM provider credentials (vocabulary providers, with the share of organizations that
-- hold each): credential o * 8 + n is organization o's of provider n.
with

providers as (
    select
        x.provider,
        x.chance,
        x.n - 1 as n
    from unnest(%(providers)s::text[], %(provider_shares)s::float8[]) with ordinality as x (provider, chance, n)
),

held as (
    select
        o.o,
        p.provider,
        o.o * 8 + p.n as i
    from generate_series(0, %(orgs)s - 1) as o (o)
    cross join providers as p
    where pg_temp.u(o.o * 8 + p.n, 'credential.held') < p.chance
)

select
    pg_temp.id('credential', h.i) as id,
    pg_temp.id('org', h.o) as organization_id,
    h.provider,
    'enc:v1:' || encode(sha256(convert_to(%(seed_text)s || ':credential:' || h.i, 'UTF8')), 'base64')
        as credential_ref,
    'kms:opsmart:2025-01' as encryption_key_id,
    jsonb_build_object('default_model', pg_temp.pick(%(models)s, pg_temp.u(h.i, 'credential.model'))) as meta,
    pg_temp.org_created(h.o, %(start)s) + interval '2 days' as created_at,
    pg_temp.org_created(h.o, %(start)s) + interval '2 days' as updated_at
from held as h
