-- Copies of every modulus-th event (the newest first, at most %(events)s of them; NULL: all).
insert into ops.event (
    organization_id, user_id, source, feature_key, occurred_at, received_at, payload
)
select
    organization_id,
    user_id,
    source,
    feature_key,
    public.bench_moment(id, %(modulus)s, %(now)s, %(late)s) as occurred_at,
    %(now)s as received_at,
    payload
from ops.event
where mod(id, %(modulus)s) = 0
order by id desc
limit %(events)s
