-- Copies of every modulus-th chat message (the newest first, at most %(messages)s).
insert into ops.message (session_id, organization_id, role, content, ts)
select
    session_id,
    organization_id,
    role,
    content,
    public.bench_moment(id, %(modulus)s, %(now)s, %(late)s) as ts
from ops.message
where mod(id, %(modulus)s) = 0
order by id desc
limit %(messages)s
