-- A batch of events in one statement, the way a busy writer inserts them.
insert into ops.event (organization_id, user_id, source, feature_key, occurred_at, payload)
select
    t.o,
    t.u,
    t.s,
    t.f,
    %(now)s::timestamptz - t.i * interval '1 millisecond',
    t.p::jsonb
from unnest(
    %(organizations)s::uuid[],
    %(users)s::uuid[],
    %(sources)s::text[],
    %(features)s::text[],
    %(payloads)s::text[]
) with ordinality as t (o, u, s, f, p, i)
